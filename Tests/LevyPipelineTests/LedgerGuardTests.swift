import LevyTestSupport
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
        #expect(try levy(["pay", Sample.restaurant, nov, "--amount", "999999", "--root", root.path, "--as-of", "2027-11-12T10:00:00"]).status == 1)
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

/// `levy backup` under a busy `watch`: the copy is one consistent moment of the ledger, verifies,
/// and restoring it is what README's procedure says.
@Suite(.serialized) struct BackupTests {
    @Test func aBackupTakenDuringABusyWatchIsConsistentAndRestores() throws {
        let root = try TestRoot()
        var lines = ""
        var employers: [String] = []
        for i in 0..<240 {
            let id = EmployerID.withCheckCharacter("913703\(String(format: "%03d", i))MA3C5X12")!.text
            employers.append(id)
            lines += "\(id),备份单位\(i),1,ICBC01,62220200002\(String(format: "%05d", i)),M-B-\(i),2025-01-01\n"
        }
        let rules = root.file("Rules/employers.csv")
        try (String(contentsOfFile: rules, encoding: .utf8) + lines).write(toFile: rules, atomically: true, encoding: .utf8)
        let watch = try startLevy(["watch", "--root", root.path, "--interval", "0.2", "--as-of", "2026-11-04T10:00:00"])
        defer { if watch.isRunning { watch.terminate(); watch.waitUntilExit() } }
        var backups: [String] = []
        for (i, id) in employers.enumerated() {
            // Delivered as the README says: written as .part, then renamed in.
            let rel = "Inbox/declarations/\(id)/d.csv"
            try root.write(rel + ".part", csv(id, "2026-11", [(Sample.person(5_000 + i), "员工", "\(6000 + i).00", "")]))
            rename(root.file(rel + ".part"), root.file(rel))
            if i % 80 == 40 {
                // Once the watch has made its ledger (its first receipt is out).
                for _ in 0..<600 where root.files(under: "Outbox/receipts").isEmpty { usleep(50_000) }
                let r = try levy(["backup", "--root", root.path, "--to", root.file("backups"), "--as-of", "2026-11-04T10:00:\(10 + i / 80)"])
                #expect(r.status == 0, "\(r.stderr)")
                backups.append(root.file("backups/levy-ledger-20261104-1000\(10 + i / 80).sqlite"))
            }
        }
        // Wait for the watch to take every file, then stop it.
        for _ in 0..<600 where !root.files(under: "Inbox/declarations").isEmpty { usleep(100_000) }
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        watch.terminate()
        watch.waitUntilExit()
        #expect(watch.terminationStatus == 0)

        for backup in backups {
            let v = try levy(["backup", "verify", backup])
            #expect(v.status == 0, "\(v.stderr)")
            // One moment of the ledger: every accepted file has its declaration and every declaration its file.
            let copy = try LedgerStore.open(.ledgerFile(backup), readOnly: true)
            let declared = Set(try copy.declarations(states: DeclarationState.allCases, period: nil).map(\.id))
            let files = Set(try copy.files(receivedDate: "2026-11-04", outcomes: [.accepted]).compactMap(\.declarationID))
            #expect(declared == files)
            #expect(declared.count < employers.count, "taken while the watch was busy")
        }
        // A damaged copy is caught.
        let damaged = root.file("backups/damaged.sqlite")
        try FileManager.default.copyItem(atPath: backups[0], toPath: damaged)
        try FileManager.default.copyItem(atPath: backups[0] + ".manifest.json", toPath: damaged + ".manifest.json")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged))
        try handle.seek(toOffset: 5_000)
        try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
        try handle.close()
        let bad = try levy(["backup", "verify", damaged])
        #expect(bad.status == 1 && bad.stderr.contains("SHA-256"), "\(bad.stderr)")

        // Restored over the newer ledger, the busy-time copy is refused: it is older than the outbox.
        let ledger = root.file(".levy/ledger.sqlite")
        let current = root.file("current.sqlite")
        #expect(try levy(["backup", "--root", root.path, "--to", root.file("backups"), "--as-of", "2026-11-04T11:00:00"]).status == 0)
        try FileManager.default.copyItem(atPath: root.file("backups/levy-ledger-20261104-110000.sqlite"), toPath: current)
        for suffix in ["", "-wal", "-shm"] { unlink(ledger + suffix) }
        try FileManager.default.copyItem(atPath: backups[0], toPath: ledger)
        let refused = try levy(["run", "--root", root.path, "--as-of", "2026-11-04T12:00:00"])
        #expect(refused.status == 1 && refused.stderr.contains("is older than this root's outputs"), "\(refused.stderr)")
        // Restored from the copy taken once the watch was done: levy goes on, nothing is redone.
        let before = root.files(under: "Outbox/receipts")
        for suffix in ["", "-wal", "-shm"] { unlink(ledger + suffix) }
        try FileManager.default.copyItem(atPath: current, toPath: ledger)
        let resumed = try levy(["run", "--root", root.path, "--as-of", "2026-11-04T12:00:00"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(root.files(under: "Outbox/receipts") == before)
        #expect(try LedgerStore.open(.ledgerFile(ledger), readOnly: true).declarations(states: [.accepted], period: nil).count == employers.count)
    }
}
