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
            // Committed and written, not yet durable: the inputs are still where they were.
            #expect(levy.batch.archives.count == 2)
            #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
            #expect(root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
            #expect(try root.receipts(Sample.softwareCo).count == 1)
            #expect(try root.ledger().pendingOutputs().count == 4)  // receipt .json and .txt, twice
            // levy "crashes" here: the batch is never finished.
        }
        // The next run finishes what was left and takes nothing twice.
        let levy = try root.levy()
        try levy.run(now: now)
        #expect(levy.batch.isEmpty)
        #expect(!root.exists("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
        #expect(!root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
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
        #expect(try root.ledger().integrityCheck().isEmpty)
    }
}
