import LevyTestSupport
import Foundation
import GRDB
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
            try levy.publisher.recover()
            let (folders, _) = listInbox(levy.root.declarationsInbox)
            for entry in folders.values.flatMap({ $0 }) { try levy.intake.intakeDeclaration(entry, now: now) }
            // In the batch's open transaction, outputs staged, not yet durable: nobody else sees the
            // declarations, no receipt is in place, the inputs are still where they were.
            #expect(levy.publisher.batch.archives.count == 2)
            #expect(levy.publisher.batch.staged.count == 4)  // receipt .json and .txt, twice
            #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
            #expect(root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
            #expect(try root.receipts(Sample.softwareCo).isEmpty)
            #expect(levy.workplace.background.drain() == nil)  // the temp files are written on the other core
            #expect(levy.publisher.batch.staged.allSatisfy { FileManager.default.fileExists(atPath: $0.temp) })
            let other = try LedgerStore.open(.ledgerFile(root.file(".levy/ledger.sqlite")), readOnly: true)
            #expect(try other.declarations(states: DeclarationState.current, period: "2026-11").isEmpty)
            #expect(try other.pendingOutputs().isEmpty)
            // levy "crashes" here: the batch is never finished (its connection closes, its transaction is gone).
        }
        // The next run finishes what was left and takes nothing twice.
        let levy = try root.levy()
        try levy.run(now: now)
        #expect(levy.publisher.batch.isEmpty)
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
        levy.tuning.batchSize = 1
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
        #expect(levy.publisher.batch.isEmpty)
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
    /// A deferred change runs without a savepoint (see `SQLiteLedger.write`): when it fails, the whole
    /// open batch goes with it, as a crash before the barrier would take it, and the next change opens
    /// a fresh batch. A change that is not deferred is rolled back alone; the batch before it commits.
    @Test func aFailedChangeTakesItsBatchAndLeavesNoTrace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-batch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try LedgerStore.open(.ledgerFile(dir + "/ledger.sqlite"))
        struct Broken: Error {}
        func change(_ id: String, seq: Int, failing: Bool) -> LedgerChange {
            var c = LedgerChange()
            let record = DeclarationRecord(
                id: id, employerID: "E", period: "2026-11", seq: seq, state: .accepted, headcount: 2, totalBaseFen: 1, employerFen: 1,
                employeeFen: 0, totalFen: 1, contributionsJSON: "{}", collection: .counter, due: "", dueDate: "2026-12-10", receivedAt: "",
                supersedes: nil)
            var left = [RosterEntry(personKey: 11, change: .continuing, baseFen: 1), RosterEntry(personKey: 12, change: .continuing, baseFen: 1)]
            c.newDeclaration = (record, RosterSource {
                if left.count == 1 && failing { throw Broken() }  // after one roster row is in
                return left.isEmpty ? nil : left.removeFirst()
            })
            c.outputs = [PendingOutput(path: "Outbox/\(id).json", content: Array(id.utf8))]
            c.journal = [JournalEntry(at: "2026-11-02T09:00:00+08:00", operatorID: "levy", action: "declaration_accepted", subject: id, detail: "{}")]
            c.counters = ["changes": 1]
            c.deferSync = true
            return c
        }
        #expect(throws: Broken.self) { try ledger.apply(change("first", seq: 1, failing: true)) }  // opens the batch, fails
        try ledger.apply(change("second", seq: 2, failing: false))  // opens a new batch
        #expect(throws: Broken.self) { try ledger.apply(change("third", seq: 3, failing: true)) }  // mid-batch: takes "second" too
        try ledger.apply(change("fourth", seq: 4, failing: false))  // a new batch again
        try ledger.apply(change("fifth", seq: 5, failing: false))
        var alone = change("sixth", seq: 6, failing: true)
        alone.deferSync = false
        #expect(throws: Broken.self) { try ledger.apply(alone) }  // in a savepoint: the batch stays open
        try ledger.barrier()
        let other = try LedgerStore.open(.ledgerFile(dir + "/ledger.sqlite"), readOnly: true)
        #expect(try other.declarations(states: DeclarationState.current, period: "2026-11").map(\.id).sorted() == ["fifth", "fourth"])
        #expect(try other.pendingOutputs().map(\.path).sorted() == ["Outbox/fifth.json", "Outbox/fourth.json"])
        #expect(try other.metrics().counters["changes"] == 2)
        #expect(try other.integrityCheck().isEmpty)
        // The journal went with the changes: the rolled-back ones left no entry, the chain holds.
        #expect(try other.journal(employer: nil, from: nil, to: nil).map(\.entry.subject) == ["fourth", "fifth"])
        if case .broken(let seq, let reason) = try other.verifyJournal() { Issue.record("journal broken at \(seq): \(reason)") }
    }

    /// A ledger change that fails in the middle of a batch (here a trigger of the real ledger refuses
    /// one declaration) takes the whole open batch with it: the run fails, the batch's temp files are
    /// removed, its inputs are still in the inbox, and no receipt of it is out; the batch before it
    /// (batches of 2) is finished. The next run takes the rest once, to the same outbox as a day
    /// without the failure.
    @Test func aChangeTheLedgerRefusesMidBatchIsRetakenByTheNextRun() throws {
        func dropDay(_ root: TestRoot) throws {
            for (i, employer) in [Sample.tradingCo, Sample.softwareCo, Sample.buildingCo, Sample.restaurant].enumerated() {
                try root.drop(employer, "d.csv", csv(employer, "2026-11", [(Sample.persons[i], "张三", "6000", "")]))
            }
        }
        let clean = try TestRoot(), root = try TestRoot()
        try dropDay(clean)
        try dropDay(root)
        let now = try #require(try root.levy().loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        let reference = try clean.levy()
        reference.tuning.batchSize = 2
        try reference.run(now: now)

        let queue = try DatabaseQueue(path: root.file(".levy/ledger.sqlite"))
        try queue.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse BEFORE INSERT ON declarations WHEN NEW.employer_id = '\(Sample.restaurant)'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
        }
        let levy = try root.levy()
        levy.tuning.batchSize = 2
        // Taken in folder order: trading, software (a batch, finished), building, restaurant (refused).
        #expect(throws: DatabaseError.self) { try levy.run(now: now) }
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.buildingCo).isEmpty)
        #expect(root.exists("Inbox/declarations/\(Sample.buildingCo)/d.csv"))
        #expect(root.exists("Inbox/declarations/\(Sample.restaurant)/d.csv"))
        #expect(root.files(under: "Outbox").allSatisfy { !$0.hasSuffix(".tmp") })
        #expect(try root.ledger().declarations(states: DeclarationState.current, period: "2026-11").count == 2)
        #expect(try root.ledger().filesNotArchived().isEmpty)

        try queue.write { try $0.execute(sql: "DROP TRIGGER refuse") }
        try root.levy().run(now: now)
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.ledger().pendingOutputs().isEmpty)
        #expect(try root.ledger().declarations(states: DeclarationState.current, period: "2026-11").count == 4)
        let outbox = { (r: TestRoot) in try r.files(under: "Outbox/receipts").map { try Data(contentsOf: URL(fileURLWithPath: r.file("Outbox/receipts/\($0)"))) } }
        #expect(try outbox(root) == outbox(clean))
        #expect(root.files(under: "Outbox/receipts") == clean.files(under: "Outbox/receipts"))
    }

    /// A large declaration finishes the batch before it and opens one of its own: the files before it
    /// are durable and out of the inbox before its long roster write, which, failing, takes no other.
    @Test func aLargeDeclarationStartsABatchOfItsOwn() throws {
        let root = try TestRoot()
        try root.drop(Sample.tradingCo, "small.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.softwareCo, "large.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[1], "李四", "6000", ""),
                                                                                      (Sample.persons[2], "王五", "7000", "")]))
        let levy = try root.levy()
        levy.tuning.largeRoster = 2
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        try levy.publisher.recover()
        let (folders, _) = listInbox(levy.root.declarationsInbox)
        func barriers() throws -> Int64 { try root.ledger().metrics().counters["durability_barriers", default: 0] }
        let before = try barriers()
        try levy.intake.intakeDeclaration(try #require(folders[Sample.tradingCo]?.first), now: now)
        #expect(levy.publisher.batch.archives.count == 1)
        #expect(try root.receipts(Sample.tradingCo).isEmpty)
        try levy.intake.intakeDeclaration(try #require(folders[Sample.softwareCo]?.first), now: now)
        // The small file's batch was finished first; the large one is alone in the open batch.
        #expect(levy.publisher.batch.archives.count == 1)
        #expect(levy.publisher.batch.archives.first?.from.hasSuffix("large.csv") == true)
        #expect(try barriers() == before + 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(!root.exists("Inbox/declarations/\(Sample.tradingCo)/small.csv"))
        #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/large.csv"))
        try levy.publisher.finishBatch()
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.ledger().filesNotArchived().isEmpty)
        #expect(try barriers() == before + 2)
    }
    /// Temp files are left only by a process that died: the first recovery of a process removes them
    /// wherever levy writes (deep in the Outbox, in the archive), never through a symlink and never a
    /// file that is not one of its temps; later looks of the same process do not walk the trees again.
    @Test func leftoverTempsAreSweptOncePerProcess() throws {
        let root = try TestRoot()
        let outside = try TestRoot()
        try outside.write("keep/.x.json.1.tmp", "not levy's")
        try root.write("Outbox/receipts/\(Sample.softwareCo)/.R.json.4242.tmp", "half a receipt")
        try root.write("Outbox/reports/.summary.json.7.tmp", "half a report")
        try root.write(".levy/archive/2026/11/02/declarations/\(Sample.softwareCo)/.a.csv.9.tmp", "half a move")
        try root.write("Outbox/receipts/\(Sample.softwareCo)/.hidden-note", "an operator's file")
        try root.write("Outbox/receipts/\(Sample.softwareCo)/R.json.tmp", "not a levy temp: no leading dot")
        try FileManager.default.createSymbolicLink(atPath: root.file("Outbox/receipts/link"), withDestinationPath: outside.file("keep"))
        let levy = try root.levy()
        try levy.publisher.recover()
        #expect(!root.exists("Outbox/receipts/\(Sample.softwareCo)/.R.json.4242.tmp"))
        #expect(!root.exists("Outbox/reports/.summary.json.7.tmp"))
        #expect(!root.exists(".levy/archive/2026/11/02/declarations/\(Sample.softwareCo)/.a.csv.9.tmp"))
        #expect(root.exists("Outbox/receipts/\(Sample.softwareCo)/.hidden-note"))
        #expect(root.exists("Outbox/receipts/\(Sample.softwareCo)/R.json.tmp"))
        #expect(outside.exists("keep/.x.json.1.tmp"), "a symlink is never followed")
        // The same process looks again: no walk (a temp appearing now is not from a crash of this process).
        try root.write("Outbox/reports/.later.json.8.tmp", "x")
        try levy.publisher.recover()
        #expect(root.exists("Outbox/reports/.later.json.8.tmp"))
        // A new process sweeps it.
        try root.levy().publisher.recover()
        #expect(!root.exists("Outbox/reports/.later.json.8.tmp"))
    }
}
