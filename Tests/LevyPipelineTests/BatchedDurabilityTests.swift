import Foundation
import LevyDomain
import LevyLedger
@testable import LevyPipeline
import Testing

/// Accepted declarations are made durable in batches: one ledger fsync, then the outputs, then the
/// inputs leave the inbox. Until its batch is finished an input stays in the inbox, so a crash (or a
/// power loss) can only make levy look at it again — and a re-run neither loses nor repeats it.
@Suite struct BatchedDurabilityTests {
    @Test func anInputLeavesTheInboxOnlyWhenItsBatchIsDurable() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        let now = try #require(try root.levy().loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        do {
            let levy = try root.levy()
            try levy.recover()
            let (folders, _) = listInbox(levy.root.declarationsInbox)
            for entry in folders.values.flatMap({ $0 }) { try levy.intakeDeclaration(entry, now: now) }
            // In the batch's open transaction, outputs staged, not yet durable: nobody else sees the
            // declarations, no receipt is in place, the inputs are still where they were.
            #expect(levy.batch.archives.count == 2)
            #expect(levy.batch.staged.count == 4)  // receipt .json and .txt, twice
            #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
            #expect(root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
            #expect(try root.receipts(Sample.softwareCo).isEmpty)
            #expect(levy.batch.staged.allSatisfy { FileManager.default.fileExists(atPath: $0.temp) })
            let other = try SQLiteLedger(path: root.file(".levy/ledger.sqlite"), readOnly: true)
            #expect(try other.declarations(states: DeclarationState.current, period: "2026-11").isEmpty)
            #expect(try other.pendingOutputs().isEmpty)
            // levy "crashes" here: the batch is never finished (its connection closes, its transaction is gone).
        }
        // The next run finishes what was left and takes nothing twice.
        let levy = try root.levy()
        try levy.run(now: now)
        #expect(levy.batch.isEmpty)
        #expect(!root.exists("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
        #expect(!root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(root.files(under: "Outbox").allSatisfy { !$0.hasSuffix(".tmp") })  // the crashed batch's temps are gone
        #expect(try root.ledger().pendingOutputs().isEmpty)
        #expect(try root.ledger().filesNotArchived().isEmpty)
        let declared = try root.ledger().declarations(states: DeclarationState.current, period: "2026-11")
        #expect(declared.count == 2)
    }

    /// A batch smaller than the files of a run: every batch is finished, none is left behind.
    @Test func manyBatchesInOneRun() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        try root.drop(Sample.tradingCo, "c.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "7000", "")]))
        let levy = try root.levy()
        levy.batchSize = 1
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
        #expect(levy.batch.isEmpty)
        #expect(try root.files(under: "Inbox/declarations/\(Sample.tradingCo)").isEmpty)
        #expect(try root.receipts(Sample.tradingCo).count == 2)  // b, then c replacing it
        #expect(try root.ledger().filesNotArchived().isEmpty)
        // One barrier per batch of one file, each counted in the transaction it commits.
        #expect(try root.ledger().metrics().counters["durability_barriers", default: 0] >= 3)
        #expect(try root.ledger().integrityCheck().isEmpty)
    }

    /// Inside one batch, later files see the earlier ones (same open transaction): a person just declared
    /// by another employer is insured elsewhere, a byte-identical copy is a duplicate. A rejection
    /// finishes the batch before it and stands alone; the metrics count every file once.
    @Test func laterFilesOfABatchSeeTheEarlierOnes() throws {
        let root = try TestRoot()
        // Folders are taken in order: trading (9135…), software (9137…0), building (9137…2).
        try root.drop(Sample.tradingCo, "e.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""),
                                                                                  (Sample.persons[1], "李四", "7000", "")]))
        let building = csv(Sample.buildingCo, "2026-11", [(Sample.persons[2], "王五", "6000", "")])
        try root.drop(Sample.buildingCo, "d.csv", building)
        try root.drop(Sample.buildingCo, "f.csv", building)
        let levy = try root.levy()
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))

        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(codes(try root.rejection(Sample.softwareCo)).contains("E-PERSON-INSURED-ELSEWHERE"))
        #expect(try root.receipts(Sample.buildingCo).count == 1)
        #expect(codes(try root.rejection(Sample.buildingCo)) == ["E-FILE-DUPLICATE"])
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(root.files(under: "Outbox").allSatisfy { !$0.hasSuffix(".tmp") })
        let ledger = try root.ledger()
        #expect(try ledger.pendingOutputs().isEmpty)
        #expect(try ledger.filesNotArchived().isEmpty)
        let metrics = try ledger.metrics()
        #expect(metrics.counters["processing_files"] == 4)
        #expect(metrics.counters["rows_read"] == 4)  // 1 + 2 + 1; the duplicate is not read
        #expect(metrics.files["accepted"] == 2 && metrics.files["rejected"] == 1 && metrics.files["duplicate"] == 1)
    }
}
