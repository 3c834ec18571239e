import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// The ledger's own facts (the latest "now", counts, backups), the journal's chain and approval requests.
extension SQLiteLedger {
    // MARK: The ledger's own facts

    package func latestNow() throws -> (iso8601: String, instant: Int64)? {
        try read { db in
            guard let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'latest_now'") else { return nil }
            let parts = text.split(separator: " ")
            guard parts.count == 2, let instant = Int64(parts[1]) else { return nil }
            return (String(parts[0]), instant)
        }
    }

    package func recordNow(iso8601: String, instant: Int64) throws {
        try write(deferred: false) { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('latest_now', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: ["\(iso8601) \(instant)"])
        }
    }

    /// Appends entries after the journal's head, each hashed onto the one before. The head is read
    /// from the journal once and then kept (``journalTail``) while changes succeed: a batch's entries
    /// chain on each other. Bound and stepped directly: one entry per file of a day of small files.
    func appendJournal(_ entries: [JournalEntry], _ db: Database) throws {
        var (seq, previous) = try journalTail ?? Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1"))
            .map { ($0[0], $0[1]) } ?? (0, JournalChain.genesis)
        let insert = try db.cachedStatement(sql: """
            INSERT INTO journal (seq, at, operator, action, subject, employer, detail, hash) VALUES (?,?,?,?,?,?,?,?)
            """)
        let handle = insert.sqliteStatement
        for e in entries {
            seq += 1
            previous = JournalChain.hash(previous: previous, seq: seq, e)
            sqlite3_bind_int64(handle, 1, seq)
            for (i, text) in [e.at, e.operatorID, e.action, e.subject].enumerated() { sqlite3_bind_text(handle, Int32(i + 2), text, -1, sqliteTransient) }
            if let employer = e.employer { sqlite3_bind_text(handle, 6, employer, -1, sqliteTransient) } else { sqlite3_bind_null(handle, 6) }
            sqlite3_bind_text(handle, 7, e.detail, -1, sqliteTransient)
            sqlite3_bind_text(handle, 8, previous, -1, sqliteTransient)
            try Self.step(insert, db)
        }
        journalTail = (seq, previous)
    }


    static func journalRecord(_ row: Row) -> JournalRecord {
        JournalRecord(seq: row["seq"], entry: JournalEntry(at: row["at"], operatorID: row["operator"], action: row["action"],
                                                           subject: row["subject"], employer: row["employer"], detail: row["detail"]),
                      hash: row["hash"])
    }

    package func journal(employer: EmployerID?, from: CivilDate?, to: CivilDate?) throws -> [JournalRecord] {
        var sql = "SELECT * FROM journal WHERE 1"
        var args: StatementArguments = []
        if let employer { sql += " AND employer = ?"; args += [employer] }
        // `at` is agency time in ISO 8601: its first ten characters are the day.
        if let from { sql += " AND substr(at, 1, 10) >= ?"; args += [from] }
        if let to { sql += " AND substr(at, 1, 10) <= ?"; args += [to] }
        return try read { db in try Row.fetchAll(db, sql: sql + " ORDER BY seq", arguments: args).map(Self.journalRecord) }
    }

    package func verifyJournal() throws -> JournalVerdict {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM journal ORDER BY rowid")
            return JournalChain.verify(AnySequence { AnyIterator { try? rows.next().map(Self.journalRecord) } })
        }
    }

    package func journalHead() throws -> (seq: Int64, hash: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").map { ($0[0], $0[1]) }
        }
    }

    static func approvalRequest(_ row: Row) -> ApprovalRequest {
        var r = ApprovalRequest(id: row["id"], kind: row["kind"], subject: row["subject"], employer: row["employer"], payload: row["payload"],
                                requestedBy: row["requested_by"], requestedAt: row["requested_at"])
        r.state = ApprovalRequest.State(rawValue: row["state"]) ?? .pending
        r.decidedBy = row["decided_by"]
        r.decidedAt = row["decided_at"]
        r.reason = row["reason"]
        return r
    }

    package func request(id: String) throws -> ApprovalRequest? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM requests WHERE id = ?", arguments: [id]).map(Self.approvalRequest) }
    }

    package func requests(state: ApprovalRequest.State) throws -> [ApprovalRequest] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM requests WHERE state = ? ORDER BY no", arguments: [state.rawValue]).map(Self.approvalRequest)
        }
    }

    package func nextRequestNumber() throws -> Int {
        try read { db in (try Int.fetchOne(db, sql: "SELECT MAX(no) FROM requests") ?? 0) + 1 }
    }

    package func meta(_ key: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    package func outputCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outputs") ?? 0 }
    }

    /// A consistent copy of the ledger at `path`, taken with SQLite's online backup from one read
    /// transaction: `run` and `watch` go on writing meanwhile, and the copy is the ledger as of one
    /// commit. The copy is not made durable here (the caller renames it into place).
    package func backup(to path: String) throws -> LedgerCounts {
        let destination = try DatabaseQueue(path: path)
        try queue.backup(to: destination)
        let counts = try destination.read { db in try Self.counts(db) }
        try destination.close()
        return counts
    }

    /// What a ledger holds, for a backup's manifest and its verification.
    package func counts() throws -> LedgerCounts { try read { db in try Self.counts(db) } }

    static func counts(_ db: Database) throws -> LedgerCounts {
        LedgerCounts(
            schemaVersion: try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
            files: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files") ?? 0,
            declarations: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM declarations") ?? 0,
            debitMessages: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM debit_messages") ?? 0,
            outputs: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outputs") ?? 0,
            latestNow: try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'latest_now'")?.split(separator: " ").first.map(String.init))
    }
}
