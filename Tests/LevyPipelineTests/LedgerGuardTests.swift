import Foundation
import GRDB
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// levy refuses to work on the wrong ledger (deleted, empty, restored from an older backup, written
/// by a newer levy) and at a time earlier than it already acted on; it never writes a receipt or a
/// debit file over with other bytes. Each through the real binary, as an operator would meet it.
@Suite(.serialized) struct LedgerGuardTests {
    let nov = "2026-11"

    /// A month to the debit cut of November 6th: three employers declared, two debited.
    func monthToTheCut() throws -> TestRoot {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T10:00:00"]).status == 0)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)
        #expect(root.exists("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml"))
        return root
    }

    func outbox(_ root: TestRoot) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for f in root.files(under: "Outbox") where !f.hasPrefix("reports/") {
            result[f] = try Data(contentsOf: URL(fileURLWithPath: root.file("Outbox/\(f)")))
        }
        return result
    }

    @Test(arguments: ["deleted", "empty"])
    func aLostLedgerIsNeverStartedOverOnARootWithOutputs(how: String) throws {
        let root = try monthToTheCut()
        let before = try outbox(root)
        let ledger = root.file(".levy/ledger.sqlite")
        for suffix in ["", "-wal", "-shm"] { unlink(ledger + suffix) }
        if how == "empty" { FileManager.default.createFile(atPath: ledger, contents: Data()) }
        try root.drop(Sample.softwareCo, "a2.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "7000", "")]))
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:40:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains(".levy/ledger.sqlite is \(how == "deleted" ? "missing" : "empty")"), "\(r.stderr)")
        #expect(r.stderr.contains("restore the ledger from the latest backup"), "\(r.stderr)")
        #expect(try outbox(root) == before, "nothing in the outbox changed")
        #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/a2.csv"), "the inbox is untouched")
        var st = stat()
        #expect(how == "empty" ? stat(ledger, &st) == 0 && st.st_size == 0 : stat(ledger, &st) != 0, "no ledger was created")
    }

    @Test func aReceiptOrDebitFileIsNeverWrittenOverWithOtherBytes() throws {
        let root = try TestRoot()
        let path = root.file("Outbox/receipts/\(Sample.softwareCo)/X.json")
        try DurableFile.write(Array("one".utf8), to: path)
        try DurableFile.write(Array("one".utf8), to: path)  // the same bytes again: a re-run after a crash
        #expect(throws: LevyError.self) { try DurableFile.write(Array("two".utf8), to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "one")
        #expect(root.files(under: "Outbox/receipts").count == 1, "no temp file left: \(root.files(under: "Outbox/receipts"))")
        // A report of the day is rewritten as the day goes on.
        let report = root.file("Outbox/reports/summary-2026-11-02.json")
        try DurableFile.write(Array("a".utf8), to: report)
        try DurableFile.write(Array("b".utf8), to: report)
        #expect(try String(contentsOfFile: report, encoding: .utf8) == "b")
    }

    @Test(arguments: ["user_version", "migration"])
    func aLedgerFromANewerLevyIsNeverWrittenTo(how: String) throws {
        let root = try monthToTheCut()
        let path = root.file(".levy/ledger.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { db in
                if how == "user_version" {
                    try db.execute(sql: "PRAGMA user_version = 99")
                } else {
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
                }
            }
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        try root.drop(Sample.buildingCo, "c.csv", csv(Sample.buildingCo, nov, [(Sample.persons[3], "赵六", "7000", "")]))
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-07T10:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("ledger written by a newer levy (\(how == "user_version" ? "version 99" : "migrations v99")"), "\(r.stderr)")
        #expect(root.exists("Inbox/declarations/\(Sample.buildingCo)/c.csv"))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == size)
    }

    @Test func aLedgerRestoredFromAnOlderBackupIsRefusedNamingWhatIsNewer() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T10:00:00"]).status == 0)
        #expect(try levy(["backup", "--root", root.path, "--to", root.file("backups"), "--as-of", "2026-11-03T11:00:00"]).status == 0)
        let backup = root.file("backups/levy-ledger-20261103-110000.sqlite")
        #expect(try levy(["backup", "verify", backup]).status == 0)
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-04T10:00:00"]).status == 0)
        // The operator restores the older backup over the newer ledger.
        let ledger = root.file(".levy/ledger.sqlite")
        for suffix in ["", "-wal", "-shm"] { unlink(ledger + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: ledger)
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-04T11:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("is older than this root's outputs"), "\(r.stderr)")
        #expect(r.stderr.contains("Outbox/receipts/\(Sample.tradingCo)/\(Sample.tradingCo)-202611-01.json"), "names what is newer: \(r.stderr)")
    }

    @Test func timeNeverRunsBackwardsInTheLedger() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-12T10:00:00"]).status == 0)  // late: overdue
        let id = "\(Sample.restaurant)-202611-01"
        // A payment dated before the declaration was received: refused, nothing paid.
        let pay = try levy(["pay", Sample.restaurant, nov, "--amount", "1", "--root", root.path, "--as-of", "2026-10-01T10:00:00"])
        #expect(pay.status == 1)
        #expect(pay.stderr.contains("time cannot run backwards") && pay.stderr.contains("2026-11-12T10:00:00+08:00"), "\(pay.stderr)")
        #expect(try root.ledger().declaration(id: id)?.state == .overdue)
        // A mistyped date refused for another reason does not move levy's time forward.
        #expect(try levy(["pay", Sample.restaurant, nov, "--amount", "1", "--root", root.path, "--as-of", "2027-11-12T10:00:00"]).status == 1)
        #expect(try levy(["status", "--root", root.path, "--as-of", "2026-10-01T10:00:00"]).status == 0, "read-only commands may look back")

        // A debit cut for a collection date already past is never made.
        let other = try TestRoot()
        try other.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", other.path, "--as-of", "2026-11-09T17:30:00"]).status == 0)
        try other.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        #expect(try levy(["run", "--root", other.path, "--as-of", "2026-11-09T18:00:00"]).status == 0)
        let back = try levy(["run", "--root", other.path, "--as-of", "2026-11-06T17:30:00"])
        #expect(back.status == 1)
        #expect(!other.exists("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml"))
        let withdraw = try levy(["withdraw", Sample.tradingCo, nov, "--root", other.path, "--as-of", "2026-11-08T10:00:00"])
        #expect(withdraw.status == 1 && withdraw.stderr.contains("time cannot run backwards"), "\(withdraw.stderr)")
        #expect(try levy(["run", "--root", other.path, "--as-of", "2026-11-09T18:00:00"]).status == 0, "the same time again is fine")
    }
}
