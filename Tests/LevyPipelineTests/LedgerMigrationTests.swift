import LevyTestSupport
import Foundation
import GRDB
import LevyDomain
@testable import LevyLedger
import LevyPipeline
import Testing

/// Ledger v3 keeps rosters as packed blocks plus an `insured` index. A ledger written by an older
/// levy (one `roster` row per person) is migrated on open, and reads back exactly as before.
@Suite struct LedgerMigrationTests {
    func declare(_ db: Database, id: String, employer: String, period: String, state: String) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO declarations (id, employer_id, period, seq, state, headcount, total_base_fen, employer_fen, employee_fen,
              total_fen, contributions, collection, due, due_date, received_at)
            VALUES (?, ?, ?, 1, ?, 0, 0, 0, 0, 0, '{}', 'debit', '', '', '')
            """, arguments: [id, employer, period, state])
        return db.lastInsertedRowID
    }

    @Test func aV2LedgerWithRosterRowsMigratesToBlocksAndReadsTheSame() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ledger.sqlite").path
        // 10,000 persons at employer A (every 7th removed), so the roster spans three blocks.
        let keys = (0..<10_000).map { Int64(11010519800101000) + Int64($0) * 13 }
        var a: Int64 = 0
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteLedger.migrator.migrate(queue, upTo: "v2")
            try queue.write { db in
                a = try declare(db, id: "A-1", employer: "A", period: "2026-10", state: "paid")
                let b = try declare(db, id: "B-1", employer: "B", period: "2026-10", state: "superseded")
                for (i, key) in keys.enumerated().reversed() {
                    try db.execute(sql: "INSERT INTO roster (decl_no, person_key, change, base_fen) VALUES (?,?,?,?)",
                                   arguments: [a, key, i % 7 == 0 ? 2 : 0, 500_000 + i])
                }
                try db.execute(sql: "INSERT INTO roster (decl_no, person_key, change, base_fen) VALUES (?,?,0,1)", arguments: [b, keys[1]])
            }
        }
        let ledger = try LedgerStore.open(.ledgerFile(path))
        #expect(try ledger.integrityCheck().isEmpty)
        let expected = keys.enumerated().filter { $0.offset % 7 != 0 }.map(\.element)
        for additions in [1, 5_000] {  // the probe path and the merge path
            let (previous, elsewhere) = try ledger.withRosterReaders(previous: a, period: "2026-10", except: "C", additions: additions) { readers in
                var read: [Int64] = []
                while let key = try readers.previous?() { read.append(key) }
                let elsewhere = try [keys[0], keys[1], keys[2], keys[9_999] + 1].map { try readers.insuredElsewhere($0) }
                return (read, elsewhere)
            }
            #expect(previous == expected, "additions \(additions)")
            // keys[0] was removed at A; keys[1] is on A's roster (B's declaration was superseded); one unknown.
            #expect(elsewhere == [nil, "A", "A", nil], "additions \(additions)")
        }
        // A small file's persons looked up together (64 to a query) answer as the one-by-one probe does,
        // across chunks, for removed, present and unknown persons, and for a key outside the candidates.
        let candidates = Array(keys[0..<150]) + [keys[9_999] + 1]
        let asked = candidates + [keys[300]]
        func answers(_ candidates: [Int64]?) throws -> [String?] {
            try ledger.withRosterReaders(previous: nil, period: "2026-10", except: "C", additions: asked.count,
                                         candidates: candidates) { readers in try asked.map { try readers.insuredElsewhere($0) } }
        }
        let together = try answers(candidates), oneByOne = try answers(nil)
        #expect(together == oneByOne)
        // On A's roster: the 150 first persons but the 22 removed (0, 7, …, 147), and keys[300]; not the unknown key.
        #expect(together.compactMap { $0 }.count == 150 - 22 + 1)
    }

    /// Ledger v5 keeps an output's content only until it is written, in `output_contents`. A v4 ledger's
    /// outputs migrate: the unwritten ones keep their content (recovery still writes them), the written
    /// ones keep their path (a rejection report's name is never used twice), and nothing else changes.
    @Test func aV4LedgerKeepsItsPendingOutputsAndTheNamesItUsed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-mig5-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ledger.sqlite"
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteLedger.migrator.migrate(queue, upTo: "v4")
            try queue.write { db in
                try db.execute(sql: "INSERT INTO outputs (path, content, written) VALUES ('Outbox/a.json', ?, 0)", arguments: [Data("a".utf8)])
                try db.execute(sql: "INSERT INTO outputs (path, content, written) VALUES ('Outbox/b.json', NULL, 1)")
                try db.execute(sql: "INSERT INTO outputs (path, content, written) VALUES ('Outbox/empty.txt', NULL, 0)")
            }
        }
        let ledger = try LedgerStore.open(.ledgerFile(path))
        #expect(try ledger.integrityCheck().isEmpty)
        #expect(try ledger.pendingOutputs().map { "\($0.path)=\(String(decoding: $0.content, as: UTF8.self))" } == ["Outbox/a.json=a", "Outbox/empty.txt="])
        #expect(try ledger.outputExists(path: "Outbox/b.json") && ledger.outputExists(path: "Outbox/a.json"))
        #expect(try !ledger.outputExists(path: "Outbox/c.json"))
        try ledger.markWritten(paths: ["Outbox/a.json", "Outbox/empty.txt"])
        #expect(try ledger.pendingOutputs().isEmpty)
        #expect(try ledger.outputExists(path: "Outbox/a.json"))
        // Written again (a day's summary is), an output is pending again with its new content.
        var change = LedgerChange()
        change.outputs = [PendingOutput(path: "Outbox/a.json", content: Array("a2".utf8)), PendingOutput(path: "Outbox/none", content: [])]
        try ledger.apply(change)
        #expect(try ledger.pendingOutputs().map { "\($0.path)=\(String(decoding: $0.content, as: UTF8.self))" } == ["Outbox/a.json=a2", "Outbox/none="])
    }

    /// `temp_store` is MEMORY (savepoint journals), under which SQLite's sorter never spills: the queries
    /// that read many rows must not sort in a temp B-tree. Their plans, on a ledger with rows and stats.
    @Test func largeReadsNeedNoTempBTree() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-plan-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try LedgerStore.open(.ledgerFile(dir + "/ledger.sqlite"))  // creates and migrates
        let queue = try DatabaseQueue(path: dir + "/ledger.sqlite")
        try queue.write { db in
            for i in 0..<300 {
                let no = try declare(db, id: "E\(i)-1", employer: "E\(i)", period: i % 2 == 0 ? "2026-10" : "2026-11",
                                     state: ["accepted", "failed", "paid", "overdue"][i % 4])
                try db.execute(sql: "INSERT INTO insured (person_key, decl_no) VALUES (?, ?)", arguments: [Int64(110_105_198_001_010_000 + i), no])
                try db.execute(sql: """
                    INSERT INTO files (sha256, folder, name, received_at, received_date, outcome, archived, inbox_path, archive_path)
                    VALUES (?, 'F', 'f.csv', '2026-11-02T09:00:00+08:00', '2026-11-02', ?, 1, 'Inbox/f.csv', 'archive/f.csv')
                    """, arguments: ["h\(i)", ["accepted", "rejected", "duplicate"][i % 3]])
            }
            try db.execute(sql: "ANALYZE")
        }
        let queries = [SQLiteLedger.otherRostersInPersonOrder, SQLiteLedger.declarationsOfPeriodInState, SQLiteLedger.filesOfDayWithOutcome]
        try queue.read { db in
            for sql in queries {
                // Each takes two values (period or day, then employer, state or outcome).
                let plan: [String] = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["2026-11", "accepted"]).map { $0["detail"] }
                #expect(!plan.isEmpty)
                #expect(!plan.joined().contains("TEMP B-TREE"), "\(sql): \(plan)")
            }
        }
    }
}

/// Ledger v9 adds the bank's money (SPEC §9). A v8 ledger's history becomes movements, so that its
/// first reconciliation balances; a read-only command on it says to run levy once first.
@Suite struct MoneyMigrationTests {
    /// Typed values are stored as the text every report prints, as an earlier levy stored them: a
    /// ledger reads the same in the sqlite3 shell, and one written by hand in that text reads back typed.
    @Test func daysPeriodsAndEmployersAreStoredAsTheirText() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "a.csv", csv(Sample.restaurant, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-03T10:00:00")
        let id = try #require(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: "2026-11")).id
        let queue = try DatabaseQueue(path: root.file(".levy/ledger.sqlite"))
        let stored = try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT employer_id, period, due_date FROM declarations WHERE id = ?", arguments: [id])
        }
        #expect(stored?[0] as String? == Sample.restaurant && stored?[1] as String? == "2026-11" && stored?[2] as String? == "2026-11-10")
        try queue.write { db in try db.execute(sql: "INSERT INTO settlements (declaration_id, settled_on) VALUES (?, '2026-11-07')", arguments: [id]) }
        try queue.close()
        let d = try #require(try root.ledger().declaration(id: id))
        #expect(d.settledOn == CivilDate(year: 2026, month: 11, day: 7) && d.dueDate == CivilDate(year: 2026, month: 11, day: 10))
        #expect(d.employerID.text == Sample.restaurant && d.period == Period(year: 2026, month: 11))
    }

    /// Ledger v10 keeps a credit's settlement and the debits awaiting the bank in narrow tables of their
    /// own: a v9 ledger's settled and unsettled debits read the same after the migration, and go on.
    @Test func aV9LedgerKeepsItsSettlementsAndTheDebitsAwaitingTheBank() throws {
        let bank = BankMoneyTests()
        let root = try bank.debited()
        let software = bank.id(Sample.softwareCo), trading = bank.id(Sample.tradingCo)
        try bank.acsc(root, "R1", [software: "ACSC", trading: "ACSC"])
        let credits = try BankSimulator.credits(for: root.file(bank.debitFile))
        try bank.notify(root, "N1", credits.filter { $0.endToEndID == software })
        try root.run("2026-11-07T09:00:00")
        #expect(try root.ledger().awaitingBank(collectedOnOrBefore: "2026-11-30").map(\.id) == [trading])
        // Back to what a v9 levy wrote: the settlement a column of the declaration, a partial index for the rest.
        let queue = try DatabaseQueue(path: root.file(".levy/ledger.sqlite"))
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: """
                ALTER TABLE declarations ADD COLUMN settled_on TEXT;
                UPDATE declarations SET settled_on = (SELECT settled_on FROM settlements WHERE declaration_id = declarations.id);
                CREATE INDEX declarations_awaiting_bank ON declarations(debit_date)
                  WHERE state = 'in_flight' OR (state = 'paid' AND channel = 'debit' AND settled_on IS NULL);
                DROP TABLE settlements;
                DROP TABLE awaiting_bank;
                DROP INDEX declarations_period_fen;
                DELETE FROM grdb_migrations WHERE identifier = 'v10';
                PRAGMA user_version = 9;
                """)
            #expect(try String.fetchAll(db, sql: "SELECT id FROM declarations WHERE settled_on IS NOT NULL") == [software])
        }
        try queue.close()
        #expect(try LevyPipelineTests.levy(["status", "--root", root.path]).status == 1)
        try root.run("2026-11-08T09:00:00")
        let ledger = try root.ledger()
        #expect(try ledger.declaration(id: software)?.settledOn == "2026-11-07")
        #expect(try ledger.declaration(id: trading)?.settledOn == nil)
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").map(\.id) == [trading])
        // The trading company's credit settles it; the software company's again is a duplicate.
        try bank.notify(root, "N2", booked: "2026-11-09", credits)
        try root.run("2026-11-09T09:00:00")
        let after = try root.ledger()
        #expect(try after.declaration(id: trading)?.settledOn == "2026-11-09")
        #expect(try after.awaitingBank(collectedOnOrBefore: "2026-11-30").isEmpty)
        let report = try bank.reconciliation(root, "2026-11-09")
        #expect(bank.exceptions(report).map { $0["kind"] as? String } == ["duplicate_credit"])
        #expect(report["balanced"] as? Bool == true)
    }

    @Test func aV8LedgerGetsItsHistoryAsMovementsAndBalances() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "a.csv", csv(Sample.restaurant, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.softwareCo, "b.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[1], "李四", "7000", "")]))
        try root.run("2026-11-03T10:00:00")
        let levy = try root.levy()
        _ = try levy.counter.pay(employer: Sample.restaurant, period: "2026-11",
                                  amount: Yuan.format(levy.amountDue(try #require(try levy.ledger.currentDeclaration(employer: Sample.restaurant, period: "2026-11")),
                                                                     on: "2026-11-03").principal),
                                  now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T11:00:00")))
        // Back to what a v8 levy would have written: no v9 columns' facts, no movements.
        let path = root.file(".levy/ledger.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            for table in ["money", "money_daily", "bank_exceptions", "settlements", "awaiting_bank"] { try db.execute(sql: "DROP TABLE \(table)") }
            for index in ["declarations_owed", "declarations_period_fen"] { try db.execute(sql: "DROP INDEX \(index)") }
            for column in ["fee_charged_fen", "fee_basis", "fee_through", "confirmed_on", "reversed_fen"] {
                try db.execute(sql: "ALTER TABLE declarations DROP COLUMN \(column)")
            }
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier IN ('v9', 'v10')")
            try db.execute(sql: "PRAGMA user_version = 8")
        }
        try queue.close()
        let status = try LevyPipelineTests.levy(["status", "--root", root.path])
        #expect(status.status == 1)
        #expect(status.stderr.contains("older levy") && status.stderr.contains("levy run"), "\(status.stderr)")
        try root.run("2026-11-04T10:00:00")
        let report = try root.json("Outbox/reports/reconciliation-2026-11-04.json")
        #expect(report["balanced"] as? Bool == true)
        #expect(report["receivable_open_fen"] as? Int == Int(try root.ledger().receivableOutstanding()))
        #expect(try LevyPipelineTests.levy(["status", "--root", root.path]).status == 0)
    }
}
