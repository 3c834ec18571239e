import LevyTestSupport
import Foundation
import GRDB
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// The journal (SPEC §10): one hash-chained entry per business state change, in the change's own
/// transaction; `levy audit verify` names the first entry edited, deleted, moved or inserted.
@Suite(.serialized) struct JournalTests {
    let nov = "2026-11"

    /// A month: declarations (one replaced, one withdrawn, one rejected), the debit cut, the bank's
    /// answer (paid, refused for good), a counter payment after the due date.
    func month() throws -> TestRoot {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        try root.drop(Sample.buildingCo, "c.csv", csv(Sample.buildingCo, nov, [(Sample.persons[3], "赵六", "7000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T10:00:00"]).status == 0)
        try root.drop(Sample.softwareCo, "a2.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6500", "")]))
        try root.drop(Sample.tradingCo, "bad.csv", csv(Sample.tradingCo, nov, [("370102900101123", "旧号", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-04T10:00:00"]).status == 0)
        #expect(try levy(["withdraw", Sample.buildingCo, nov, "--root", root.path, "--as-of", "2026-11-04T11:00:00", "--operator", "C001"]).status == 0)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)
        let file = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        let answer = try BankSimulator.returnFile(for: file, reportID: "RET-1") { id in id.hasPrefix(Sample.softwareCo) ? "ACSC" : "RJCT:AC04" }
        try root.write("Inbox/bank/ICBC01/ret.xml", answer)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-09T09:00:00"]).status == 0)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-11T09:00:00"]).status == 0)
        // The restaurant pays at the counter on the 12th: contributions plus two days' late fee.
        let d = try #require(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov))
        let levyObject = try root.levy()
        let (principal, fee) = levyObject.amountDue(d, on: CivilDate(year: 2026, month: 11, day: 12))
        let pay = try levy(["pay", Sample.restaurant, nov, "--amount", Yuan.format(principal + fee), "--root", root.path,
                            "--as-of", "2026-11-12T10:00:00", "--operator", "C002"])
        #expect(pay.status == 0, "\(pay.stderr)")
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-12T10:30:00"]).status == 0)
        return root
    }

    func log(_ root: TestRoot, _ extra: [String] = []) throws -> [[String: Any]] {
        let r = try levy(["audit", "log", "--root", root.path, "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
    }

    @Test func everyChangeOfAMonthIsJournaledAndTheChainVerifies() throws {
        let root = try month()
        let entries = try log(root)
        let actions = entries.compactMap { $0["action"] as? String }
        for action in ["rules_changed", "declaration_accepted", "declaration_replaced", "file_rejected", "declaration_withdrawn",
                       "debit_cut", "debit_paid", "debit_failed", "declaration_overdue", "counter_payment"] {
            #expect(actions.contains(action), "\(action) journaled: \(actions)")
        }
        #expect(entries.map { $0["seq"] as? Int } == Array(1...entries.count).map { Optional($0) })
        let withdrawn = try #require(entries.first { $0["action"] as? String == "declaration_withdrawn" })
        #expect(withdrawn["operator"] as? String == "C001" && withdrawn["at"] as? String == "2026-11-04T11:00:00+08:00")
        let paid = try #require(entries.first { $0["action"] as? String == "counter_payment" })
        #expect(paid["operator"] as? String == "C002")
        #expect(entries.filter { $0["operator"] as? String == "levy" }.count == entries.count - 2, "automatic work is operator levy")
        // No unmasked person ID anywhere in the journal.
        let text = try levy(["audit", "log", "--root", root.path]).stdout
        for person in Sample.persons { #expect(!text.contains(person)) }
        #expect(!text.contains("370102900101123"))

        let verify = try levy(["audit", "verify", "--root", root.path])
        #expect(verify.status == 0, "\(verify.stderr)")
        let head = try #require(entries.last)
        #expect(verify.stdout.contains("\(entries.count) entries") && verify.stdout.contains(head["hash"] as? String ?? "?"))
        // The day's summary pins the head.
        let summary = try root.json("Outbox/reports/summary-2026-11-12.json")
        let pinned = try #require(summary["journal_head"] as? [String: Any])
        #expect(pinned["seq"] as? Int == head["seq"] as? Int && pinned["hash"] as? String == head["hash"] as? String)
        // Filters.
        let restaurant = try log(root, ["--employer", Sample.restaurant])
        #expect(!restaurant.isEmpty && restaurant.allSatisfy { $0["employer"] as? String == Sample.restaurant })
        let fourth = try log(root, ["--from", "2026-11-04", "--to", "2026-11-04"])
        #expect(!fourth.isEmpty && fourth.allSatisfy { ($0["at"] as? String)?.hasPrefix("2026-11-04") == true })
        #expect(try levy(["audit", "log", "--root", root.path, "--from", "soon"]).status == 64)
    }

    /// What someone with an SQLite shell could do to the journal, and what `audit verify` says.
    @Test(arguments: ["edit", "delete", "reorder", "insert"])
    func aTamperedJournalIsCaughtAtTheFirstEntryTouched(how: String) throws {
        let root = try month()
        let count = try log(root).count
        let queue = try DatabaseQueue(path: root.file(".levy/ledger.sqlite"))
        let target: Int64 = 5
        try queue.write { db in
            switch how {
            case "edit":
                try db.execute(sql: "UPDATE journal SET detail = replace(detail, '\"total_fen\":', '\"total_fen\":1') WHERE seq = ?", arguments: [target])
            case "delete":
                try db.execute(sql: "DELETE FROM journal WHERE seq = ?", arguments: [target])
            case "reorder":
                // Two entries' places swapped, each keeping its own hash.
                try db.execute(sql: "UPDATE journal SET seq = -1 WHERE seq = ?", arguments: [target])
                try db.execute(sql: "UPDATE journal SET seq = ? WHERE seq = ?", arguments: [target, target + 1])
                try db.execute(sql: "UPDATE journal SET seq = ? WHERE seq = -1", arguments: [target + 1])
            default:
                // A forged entry at the end, hashed as levy would but onto a made-up previous hash.
                let forged = JournalEntry(at: "2026-11-12T11:00:00+08:00", operatorID: "C002", action: "counter_payment",
                                          subject: "X", employer: Sample.tradingCo, detail: "{}")
                try db.execute(sql: "INSERT INTO journal (seq, at, operator, action, subject, employer, detail, hash) VALUES (?,?,?,?,?,?,?,?)",
                               arguments: [Int64(count + 1), forged.at, forged.operatorID, forged.action, forged.subject, forged.employer,
                                           forged.detail, JournalChain.hash(previous: JournalChain.genesis, seq: Int64(count + 1), forged)])
            }
        }
        try queue.close()
        let r = try levy(["audit", "verify", "--root", root.path])
        #expect(r.status == 1)
        let first = how == "insert" ? Int64(count + 1) : (how == "delete" ? target + 1 : target)
        #expect(r.stderr.contains("journal broken at entry \(first):"), "\(how): \(r.stderr)")
    }

    @Test func aChangeAndItsEntryAreOneTransaction() throws {
        // Every declaration the ledger holds has its entry, and every entry its declaration.
        let root = try month()
        let ledger = try root.ledger()
        let declared = Set(try ledger.declarations(states: DeclarationState.allCases, period: nil).map(\.id))
        let journaled = Set(try ledger.journal(employer: nil, from: nil, to: nil)
            .filter { ["declaration_accepted", "declaration_replaced"].contains($0.entry.action) }.map(\.entry.subject))
        #expect(declared == journaled)
    }
}

extension JournalTests {
    /// A clerk's `levy pay` between two looks of a running watch: both append to one chain.
    @Test func aWatchAndAClerkShareOneChain() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        let watch = try startLevy(["watch", "--root", root.path, "--interval", "0.2", "--as-of", "2026-11-03T10:00:00"])
        defer { if watch.isRunning { watch.terminate(); watch.waitUntilExit() } }
        for _ in 0..<300 where try root.receipts(Sample.restaurant).isEmpty { usleep(50_000) }
        let d = try #require(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov))
        let pay = try levy(["pay", Sample.restaurant, nov, "--amount", Yuan.format(d.totalFen), "--root", root.path,
                            "--as-of", "2026-11-03T10:00:00", "--operator", "C001"])
        #expect(pay.status == 0, "\(pay.stderr)")
        // The watch goes on taking files after the clerk's entry.
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        for _ in 0..<300 where try root.receipts(Sample.softwareCo).isEmpty { usleep(50_000) }
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        watch.terminate()
        watch.waitUntilExit()
        let actions = try root.ledger().journal(employer: nil, from: nil, to: nil).map(\.entry.action)
        #expect(actions.suffix(2) == ["counter_payment", "declaration_accepted"], "\(actions)")
        #expect(try levy(["audit", "verify", "--root", root.path]).status == 0)
    }
}
