import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// Every mutation: one change in one transaction, small declarations in a batch left open until the
/// next barrier, and what marks a batch's outputs written and inputs archived.
extension SQLiteLedger {
    // MARK: Mutations

    /// Runs a change in the open batch transaction (`deferred`: left open for the next ``barrier()``),
    /// or in its own transaction, committed with fsync — which also commits a batch open before it.
    ///
    /// A deferred change is not wrapped in a savepoint: one makes SQLite copy every page the change
    /// touches to a statement journal — as many bytes again as the change itself, for a change that is
    /// most of a batch's work. So a deferred change that throws rolls back the whole open batch, as a crash
    /// before its commit would: the caller drops what it staged for the batch (``Ledger/apply(_:)``).
    /// A change that is not deferred runs in a savepoint of an open batch and is rolled back alone.
    func write(deferred: Bool, counters: [String: Int64] = [:], daily: [DailyKey: Fen] = [:], _ body: (Database) throws -> Void) throws {
        try queue.inDatabase { db in
            // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR…): a
            // batch that vanished must never be mistaken for one that the next commit makes durable.
            if batchChanges > 0 && !db.isInsideTransaction {
                batchChanges = 0
                batchCounters = [:]
                batchDaily = [:]
                journalTail = nil
                throw LedgerError("the ledger rolled back the open batch of declarations after an error (a full disk?) — nothing of it was kept; run levy again to take its files")
            }
            // Between transactions another levy (a clerk's `levy pay` beside the watch) may append
            // to the journal: its tail is read again at the start of each.
            if !db.isInsideTransaction { journalTail = nil }
            if deferred {
                if !db.isInsideTransaction { try db.beginTransaction(.immediate) }
                do { try body(db) } catch {
                    batchCounters = [:]
                    batchDaily = [:]
                    batchChanges = 0
                    journalTail = nil
                    try? db.rollback()
                    throw error
                }
                // A batch's counters and daily sums are summed here and written once, in the transaction that commits it.
                batchCounters.merge(counters, uniquingKeysWith: +)
                batchDaily.merge(daily, uniquingKeysWith: +)
                batchChanges += 1
                return
            }
            guard db.isInsideTransaction else {
                do {
                    try db.inTransaction {
                        try body(db)
                        try Self.add(counters, db)
                        try Self.add(daily, db)
                        return .commit
                    }
                } catch {
                    journalTail = nil
                    throw error
                }
                return
            }
            // A failure inside the savepoint undoes this change alone and leaves the batch open (or,
            // when SQLite rolled the whole transaction back, the next write says so).
            do { try db.inSavepoint { try body(db); return .commit } } catch {
                journalTail = nil
                throw error
            }
            batchCounters.merge(counters, uniquingKeysWith: +)
            batchDaily.merge(daily, uniquingKeysWith: +)
            defer {
                batchCounters = [:]
                batchDaily = [:]
                batchChanges = 0
            }
            do {
                try Self.add(batchCounters, db)
                try Self.add(batchDaily, db)
                try db.commit()
            } catch {
                // The batch is gone with the failed commit: the caller drops what it staged for it.
                journalTail = nil
                if db.isInsideTransaction { try? db.rollback() }
                throw error
            }
        }
    }


    private static func add(_ counters: [String: Int64], _ db: Database) throws {
        guard !counters.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
            """)
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) { try statement.execute(arguments: [name, value]) }
    }

    /// A read: inside the batch transaction as it is (it sees the batch's own changes); otherwise in a
    /// read transaction of its own.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.inDatabase { db in
            if db.isInsideTransaction { return try body(db) }
            return try db.readOnly {
                var result: T?
                try db.inTransaction(.deferred) { result = try body(db); return .commit }
                return result!
            }
        }
    }

    package func apply(_ change: LedgerChange) throws {
        var daily: [DailyKey: Fen] = [:]
        for m in change.money { daily[DailyKey(day: m.day, kind: m.kind.rawValue, bank: m.bank ?? ""), default: 0] += m.amountFen }
        try write(deferred: change.deferSync, counters: change.counters, daily: daily) { db in
            if let f = change.file {
                try db.cachedStatement(sql: """
                    INSERT INTO files (sha256, folder, name, received_at, received_date, outcome, employer_id, period,
                      declaration_id, report_path, inbox_path, archive_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                    """).execute(arguments: [f.sha256, f.folder, f.name, f.receivedAt, f.receivedDate, f.outcome.rawValue, f.employerID,
                                     f.period, f.declarationID, f.reportPath, f.inboxPath, f.archivePath])
            }
            if let (d, roster) = change.newDeclaration {
                try db.cachedStatement(sql: """
                    INSERT INTO declarations (id, employer_id, period, seq, state, headcount, total_base_fen, employer_fen,
                      employee_fen, total_fen, contributions, collection, due, due_date, received_at, supersedes)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                    """).execute(arguments: [d.id, d.employerID, d.period, d.seq, d.state.rawValue, d.headcount, d.totalBaseFen,
                                     d.employerFen, d.employeeFen, d.totalFen, d.contributionsJSON, d.collection.rawValue, d.due,
                                     d.dueDate, d.receivedAt, d.supersedes])
                var writer = try RosterBlockWriter(db, declaration: db.lastInsertedRowID)
                while let entry = try roster.next() { try writer.append(entry) }
                try writer.finish()
            }
            for d in change.declarationUpdates {
                try db.cachedStatement(sql: """
                    UPDATE declarations SET state = ?, collection = ?, paid_fen = ?, late_fee_fen = ?, paid_at = ?, channel = ?,
                      debit_date = ?, debit_msg_id = ?, fail_reason = ?, fee_charged_fen = ?, fee_basis = ?, fee_through = ?,
                      confirmed_on = ?, reversed_fen = ? WHERE id = ?
                    """).execute(arguments: [d.state.rawValue, d.collection.rawValue, d.paidFen, d.lateFeeFen, d.paidAt, d.channel, d.debitDate,
                                     d.debitMsgID, d.failReason, d.feeChargedFen, d.feeBasis, d.feeThrough,
                                     d.confirmedOn, d.reversedFen, d.id])
                try Self.recordBankStanding(of: d, db)
            }
            for m in change.money where m.kind.isPayment {
                try db.cachedStatement(sql: """
                    INSERT INTO money (day, kind, bank, declaration_id, employer_id, amount_fen, ref, fee_fen) VALUES (?,?,?,?,?,?,?,?)
                    """).execute(arguments: [m.day, m.kind.rawValue, m.bank, m.declarationID, m.employerID, m.amountFen, m.ref, m.feeFen])
            }
            for e in change.exceptions {
                try db.cachedStatement(sql: """
                    INSERT INTO bank_exceptions (day, kind, bank, declaration_id, amount_fen, expected_fen, since, file, note)
                    VALUES (?,?,?,?,?,?,?,?,?)
                    """).execute(arguments: [e.day, e.kind.rawValue, e.bank, e.declarationID, e.amountFen, e.expectedFen, e.since, e.file, e.note])
            }
            if let m = change.debitMessage {
                try db.execute(sql: "INSERT INTO debit_messages (msg_id, bank_code, collection_date, path) VALUES (?,?,?,?)",
                               arguments: [m.msgID, m.bankCode, m.collectionDate, m.path])
                for t in m.transactions {
                    try db.execute(sql: "INSERT INTO debit_transactions (msg_id, declaration_id, amount_fen, status, reason) VALUES (?,?,?,?,?)",
                                   arguments: [m.msgID, t.declarationID, t.amountFen, t.status, t.reason])
                }
            }
            for (msgID, t) in change.transactionUpdates {
                try db.execute(sql: "UPDATE debit_transactions SET status = ?, reason = ? WHERE msg_id = ? AND declaration_id = ?",
                               arguments: [t.status, t.reason, msgID, t.declarationID])
            }
            for o in change.outputs { try Self.record(o, db) }
            if let day = change.cutDone {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO cuts (collection_date) VALUES (?)").execute(arguments: [day])
            }
            if let r = change.request {
                try db.execute(sql: """
                    INSERT INTO requests (id, kind, subject, employer, payload, requested_by, requested_at, state, decided_by, decided_at, reason)
                    VALUES (?,?,?,?,?,?,?,?,?,?,?)
                    ON CONFLICT(id) DO UPDATE SET state = excluded.state, decided_by = excluded.decided_by,
                      decided_at = excluded.decided_at, reason = excluded.reason
                    """, arguments: [r.id, r.kind, r.subject, r.employer, r.payload, r.requestedBy, r.requestedAt, r.state.rawValue,
                                     r.decidedBy, r.decidedAt, r.reason])
            }
            if !change.journal.isEmpty { try appendJournal(change.journal, db) }
            for (key, value) in change.meta {
                try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                    .execute(arguments: [key, value])
            }
            try change.confirm?()
        }
    }

    /// Keeps a declaration's narrow bank facts in step with its record: its settlement (the day the
    /// bank credited its debit; only a reversal takes one away) and whether it awaits the bank (a debit
    /// in flight, or confirmed and not yet credited; only a declaration once debited can).
    private static func recordBankStanding(of d: DeclarationRecord, _ db: Database) throws {
        if let day = d.settledOn {
            try db.cachedStatement(sql: """
                INSERT INTO settlements (declaration_id, settled_on) VALUES (?, ?)
                ON CONFLICT(declaration_id) DO UPDATE SET settled_on = excluded.settled_on WHERE settled_on IS NOT excluded.settled_on
                """).execute(arguments: [d.id, day])
        } else if d.reversedFen != 0 {
            try db.cachedStatement(sql: "DELETE FROM settlements WHERE declaration_id = ?").execute(arguments: [d.id])
        }
        guard let debitDate = d.debitDate else { return }
        if d.isAwaitingBank {
            try db.cachedStatement(sql: """
                INSERT INTO awaiting_bank (declaration_id, debit_date, total_fen, debit_msg_id, confirmed) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(declaration_id) DO UPDATE SET debit_date = excluded.debit_date, total_fen = excluded.total_fen,
                  debit_msg_id = excluded.debit_msg_id, confirmed = excluded.confirmed
                WHERE debit_date IS NOT excluded.debit_date OR total_fen IS NOT excluded.total_fen
                  OR debit_msg_id IS NOT excluded.debit_msg_id OR confirmed IS NOT excluded.confirmed
                """).execute(arguments: [d.id, debitDate, d.totalFen, d.debitMsgID, d.state == .paid])
        } else {
            try db.cachedStatement(sql: "DELETE FROM awaiting_bank WHERE declaration_id = ?").execute(arguments: [d.id])
        }
    }

    /// A row of `money_daily`: the movements of one day, kind and bank ('' for none).
    struct DailyKey: Hashable, Comparable {
        let day: CivilDate, kind: String, bank: String
        static func < (a: DailyKey, b: DailyKey) -> Bool { (a.day, a.kind, a.bank) < (b.day, b.kind, b.bank) }
    }

    private static func add(_ daily: [DailyKey: Fen], _ db: Database) throws {
        guard !daily.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO money_daily (day, kind, bank, fen) VALUES (?,?,?,?) ON CONFLICT(day, kind, bank) DO UPDATE SET fen = fen + excluded.fen
            """)
        for key in daily.keys.sorted() { try upsert.execute(arguments: [key.day, key.kind, key.bank, daily[key]!]) }
    }

    /// An output to write: its path, kept for good, and its content, kept until it is written.
    /// Bound directly (two per accepted file).
    static func record(_ output: PendingOutput, _ db: Database) throws {
        let path = try db.cachedStatement(sql: "INSERT OR IGNORE INTO outputs (path) VALUES (?)")
        let content = try db.cachedStatement(sql: "INSERT OR REPLACE INTO output_contents (path, content) VALUES (?, ?)")
        sqlite3_bind_text(path.sqliteStatement, 1, output.path, -1, sqliteTransient)
        try step(path, db)
        sqlite3_bind_text(content.sqliteStatement, 1, output.path, -1, sqliteTransient)
        try output.content.withUnsafeBytes { raw in
            // SQLITE_STATIC (nil): the bytes stay put until the step inside this closure is done.
            _ = sqlite3_bind_blob(content.sqliteStatement, 2, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), nil)
            try step(content, db)
        }
    }

    /// Steps a statement bound by hand to its end, and resets it.
    static func step(_ statement: Statement, _ db: Database) throws {
        let rc = sqlite3_step(statement.sqliteStatement)
        sqlite3_reset(statement.sqliteStatement)
        guard rc == SQLITE_DONE else { throw failure(rc, db, sql: statement.sql) }
    }

    /// The error of a statement stepped by hand, with SQLite's message.
    static func failure(_ rc: Int32, _ db: Database, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
    }

    package func metrics() throws -> LedgerMetrics {
        try read { db in
            var m = LedgerMetrics()
            for row in try Row.fetchAll(db, sql: "SELECT outcome, COUNT(*) FROM files GROUP BY outcome") {
                m.files[row[0]] = row[1]
            }
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { m.counters[row[0]] = row[1] }
            for row in try Row.fetchAll(db, sql: """
                SELECT m.bank_code, COUNT(*), SUM(t.amount_fen) FROM debit_transactions t JOIN debit_messages m ON m.msg_id = t.msg_id
                GROUP BY m.bank_code ORDER BY m.bank_code
                """) {
                m.debits.append((bank: row[0], transactions: row[1], fen: row[2]))
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT status, COALESCE(reason, ''), COUNT(*) FROM debit_transactions WHERE status != 'sent'
                GROUP BY status, reason ORDER BY status, reason
                """) {
                m.returns.append((status: row[0], reason: row[1], count: row[2]))
            }
            // Grouped along the (period, state, total_fen) index, which covers the query, and summed here: a
            // GROUP BY state alone sorted every declaration in memory (20 MB for 500,000).
            var byState: [String: (count: Int, fen: Fen)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*), SUM(total_fen) FROM declarations GROUP BY period, state") {
                let state: String = row[0]
                byState[state, default: (0, 0)].count += row[1]
                byState[state, default: (0, 0)].fen += row[2]
            }
            for state in byState.keys.sorted() { m.declarations.append((state: state, count: byState[state]!.count, fen: byState[state]!.fen)) }
            return m
        }
    }

    package func markArchived(sha256: String, folder: String) throws {
        try finishBatch(written: [], archived: [(sha256, folder)])
    }


    package func barrier() throws {
        // A commit in FULL mode fsyncs the WAL: it commits the open batch, and makes every commit before it durable.
        try write(deferred: false, counters: ["durability_barriers": 1]) { _ in }
    }

    /// Marks outputs written and inputs archived. Lost in a power cut, they cost only a rewrite of the same
    /// outputs (``Publisher/recover()``), so the commit is not fsynced alone: the next barrier covers it.
    package func finishBatch(written: [String], archived: [(sha256: String, folder: String)]) throws {
        guard !written.isEmpty || !archived.isEmpty else { return }
        let alone = try queue.inDatabase { db in
            if db.isInsideTransaction { return false }
            try db.execute(sql: "PRAGMA synchronous=NORMAL")
            return true
        }
        defer { if alone { try? queue.inDatabase { try $0.execute(sql: "PRAGMA synchronous=FULL") } } }
        try write(deferred: !alone) { db in
            let output = try db.cachedStatement(sql: "DELETE FROM output_contents WHERE path = ?")
            for p in written { try output.execute(arguments: [p]) }
            let file = try db.cachedStatement(sql: "UPDATE files SET archived = 1 WHERE sha256 = ? AND folder = ? AND archived = 0")
            for a in archived { try file.execute(arguments: [a.sha256, a.folder]) }
        }
    }

    package func markWritten(paths: [String]) throws {
        try finishBatch(written: paths, archived: [])
    }
}
