import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// Files, declarations and rosters, debit messages and the status by period.
extension SQLiteLedger {
    // MARK: Queries

    static func fileRecord(_ row: Row) -> FileRecord {
        FileRecord(sha256: row["sha256"], folder: row["folder"], name: row["name"], receivedAt: row["received_at"],
                   receivedDate: row["received_date"], outcome: FileOutcome(rawValue: row["outcome"]) ?? .rejected,
                   employerID: row["employer_id"], period: row["period"], declarationID: row["declaration_id"],
                   reportPath: row["report_path"], inboxPath: row["inbox_path"], archivePath: row["archive_path"])
    }

    /// Asked for every file (is it a duplicate?), and nearly always answered no: the question is bound
    /// and stepped directly, and only a file found is read through GRDB's `Row` (which cost as much as
    /// the query itself).
    package func file(sha256: String, folder: String) throws -> FileRecord? {
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT id FROM files WHERE sha256 = ? AND folder = ? AND outcome IN ('accepted','rejected','applied') LIMIT 1
                """)
            let handle = statement.sqliteStatement
            sqlite3_bind_text(handle, 1, sha256, -1, sqliteTransient)
            sqlite3_bind_text(handle, 2, folder, -1, sqliteTransient)
            let rc = sqlite3_step(handle)
            let id = rc == SQLITE_ROW ? sqlite3_column_int64(handle, 0) : nil
            sqlite3_reset(handle)
            guard rc == SQLITE_ROW || rc == SQLITE_DONE else { throw Self.failure(rc, db, sql: statement.sql) }
            guard let id else { return nil }
            return try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM files WHERE id = ?"), arguments: [id]).map(Self.fileRecord)
        }
    }

    package func filesNotArchived() throws -> [FileRecord] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM files INDEXED BY files_unarchived WHERE archived = 0 ORDER BY id").map(Self.fileRecord) }
    }

    package func files(receivedDate: CivilDate, outcomes: [FileOutcome]) throws -> [FileRecord] {
        let list = outcomes.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM files WHERE received_date = ? AND outcome IN (\(list)) ORDER BY id",
                             arguments: [receivedDate]).map(Self.fileRecord)
        }
    }

    package static let filesOfDayWithOutcome = "SELECT COUNT(*) FROM files WHERE received_date = ? AND outcome = ?"

    package func dayFigures(day: CivilDate) throws -> DayFigures {
        try read { db in
            var figures = DayFigures()
            // One count per outcome from the (received_date) index: no GROUP BY sort of the day's files.
            for outcome in FileOutcome.allCases {
                let n = try Int.fetchOne(db.cachedStatement(sql: Self.filesOfDayWithOutcome), arguments: [day, outcome.rawValue]) ?? 0
                if n > 0 { figures.files[outcome] = n }
            }
            // The day's accepted files lead to their declarations (an index each): a year of declarations
            // is not scanned on every look of the watch.
            figures.acceptedFen = try Fen.fetchOne(db, sql: """
                SELECT COALESCE(SUM(d.total_fen), 0) FROM files f JOIN declarations d ON d.id = f.declaration_id
                WHERE f.received_date = ? AND f.outcome = 'accepted' AND d.state NOT IN ('superseded', 'withdrawn')
                """, arguments: [day]) ?? 0
            // Paid that day: the payments levy recorded that day (a debit confirmed, a credit, the counter).
            if let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(DISTINCT declaration_id), COALESCE(SUM(amount_fen), 0) FROM money WHERE day = ? AND kind = 'paid'
                """, arguments: [day]) {
                figures.paid = row[0]
                figures.paidFen = row[1]
            }
            return figures
        }
    }

    package func pendingOutputs() throws -> [PendingOutput] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT path, content FROM output_contents ORDER BY path").map {
                let data: Data = $0["content"] ?? Data()
                return PendingOutput(path: $0["path"], content: [UInt8](data))
            }
        }
    }

    package func outputExists(path: String) throws -> Bool {
        try read { db in try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM outputs WHERE path = ?"), arguments: [path]) ?? false }
    }

    /// The columns a ``DeclarationRecord`` is read from, in the order ``declarationRecord(_:)`` decodes
    /// them by position (a lookup by name lowercases the name each time: a fifth of a notification's time).
    static let declarationColumns = """
        id, employer_id, period, seq, state, headcount, total_base_fen, employer_fen, employee_fen, total_fen, contributions, \
        collection, due, due_date, received_at, supersedes, paid_fen, late_fee_fen, paid_at, channel, debit_date, debit_msg_id, \
        fail_reason, fee_charged_fen, fee_basis, fee_through, \(settledOnColumn), confirmed_on, reversed_fen
        """

    /// A declaration's settlement day, from the narrow table a bank's credit writes (read beside its row).
    static let settledOnColumn = "(SELECT settled_on FROM settlements WHERE declaration_id = declarations.id)"

    static func declarationRecord(_ row: Row) -> DeclarationRecord {
        var d = DeclarationRecord(
            id: row[0], employerID: row[1], period: row[2], seq: row[3],
            state: DeclarationState(rawValue: row[4]) ?? .accepted, headcount: row[5],
            totalBaseFen: row[6], employerFen: row[7], employeeFen: row[8],
            totalFen: row[9], contributionsJSON: row[10], collection: CollectionMode(rawValue: row[11]) ?? .counter,
            due: row[12], dueDate: row[13], receivedAt: row[14], supersedes: row[15])
        d.paidFen = row[16]
        d.lateFeeFen = row[17]
        d.paidAt = row[18]
        d.channel = row[19]
        d.debitDate = row[20]
        d.debitMsgID = row[21]
        d.failReason = row[22]
        d.feeChargedFen = row[23]
        d.feeBasis = row[24]
        d.feeThrough = row[25]
        d.settledOn = row[26]
        d.confirmedOn = row[27]
        d.reversedFen = row[28]
        return d
    }

    /// Declarations in force with something owed (the `declarations_owed` index holds only these).
    static let owedCondition = "total_fen + fee_charged_fen - paid_fen != 0 AND state IN ('accepted','in_flight','paid','overdue','failed')"

    static let currentStates = DeclarationState.current.map { "'\($0.rawValue)'" }.joined(separator: ",")

    package func declaration(id: String) throws -> DeclarationRecord? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.declarationColumns) FROM declarations WHERE id = ?"), arguments: [id]).map(Self.declarationRecord)
        }
    }

    package func currentDeclaration(employer: EmployerID, period: Period) throws -> DeclarationRecord? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT \(Self.declarationColumns) FROM declarations WHERE employer_id = ? AND period = ? AND state IN (\(Self.currentStates))
                ORDER BY seq DESC LIMIT 1
                """), arguments: [employer, period]).map(Self.declarationRecord)
        }
    }

    package func nextSequence(employer: EmployerID, period: Period) throws -> Int {
        try read { db in
            (try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM declarations WHERE employer_id = ? AND period = ?"),
                              arguments: [employer, period]) ?? 0) + 1
        }
    }

    package func periods(states: [DeclarationState]) throws -> [Period] {
        try read { db in try Self.periods(states: states, db) }
    }

    /// A loose scan of the (period, state) index: one seek to each period and one to its first
    /// declaration in `states` — a few dozen seeks, where `SELECT DISTINCT period … WHERE state IN (…)`
    /// read an index entry per declaration on every look of the watch.
    static func periods(states: [DeclarationState], _ db: Database) throws -> [Period] {
        let list = states.map { "'\($0.rawValue)'" }.joined(separator: ",")
        let next = try db.cachedStatement(sql: "SELECT period FROM declarations WHERE period > ? ORDER BY period LIMIT 1")
        let holds = try db.cachedStatement(sql: "SELECT 1 FROM declarations WHERE period = ? AND state IN (\(list)) LIMIT 1")
        var found: [Period] = []
        var after = ""
        while let period = try String.fetchOne(next, arguments: [after]) {
            if try Bool.fetchOne(holds, arguments: [period]) ?? false, let p = Period(period) { found.append(p) }
            after = period
        }
        return found
    }

    /// Declarations in `states`, of one period or of all: read period by period and state by state
    /// from the (period, state) index, each in `no` order — never a scan of every declaration.
    package func declarations(states: [DeclarationState], period: Period?) throws -> [DeclarationRecord] {
        try read { db in
            let periods = try period.map { [$0] } ?? Self.periods(states: states, db)
            return try periods.flatMap { period in
                try states.flatMap { state in
                    try Row.fetchAll(db.cachedStatement(sql: Self.declarationsOfPeriodInState), arguments: [period, state.rawValue])
                        .map(Self.declarationRecord)
                }
            }
        }
    }

    package static let declarationsOfPeriodInState = "SELECT \(declarationColumns) FROM declarations WHERE period = ? AND state = ? ORDER BY no"

    package func previousDeclaration(employer: EmployerID, before period: Period) throws -> Int64? {
        try read { db in
            try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT no FROM declarations WHERE employer_id = ? AND period < ? AND state IN (\(Self.currentStates))
                ORDER BY period DESC, seq DESC LIMIT 1
                """), arguments: [employer, period])
        }
    }

    /// Few additions are looked up one by one (`insured` is keyed by person); many (an employer's first
    /// declaration) are merged with the period's other rosters read in person order, which SQLite sorts
    /// in bounded memory.
    package func withRosterReaders<T>(previous: Int64?, period: Period, except employer: EmployerID, additions: Int,
                                      candidates: [Int64]?, _ body: (RosterReaders) throws -> T) throws -> T {
        try read { db in
            var previousReader: (() throws -> Int64?)?
            if let previous {
                var blocks = RosterBlockReader(try Data.fetchCursor(
                    db, sql: "SELECT entries FROM roster_blocks WHERE decl_no = ? ORDER BY block", arguments: [previous]))
                previousReader = {
                    while let entry = try blocks.next() {
                        if entry.change != .removed { return entry.personKey }
                    }
                    return nil
                }
            }
            let elsewhere: (Int64) throws -> String?
            if additions > 2_000 {
                let rows = try Row.fetchCursor(db, sql: Self.otherRostersInPersonOrder, arguments: [period, employer])
                var current: (key: Int64, employer: String)?
                var started = false
                elsewhere = { key in
                    if !started, let row = try rows.next() { current = (row[0], row[1]) }
                    started = true
                    while let c = current, c.key < key {
                        current = try rows.next().map { ($0[0], $0[1]) }
                    }
                    return current.flatMap { $0.key == key ? $0.employer : nil }
                }
            } else {
                let statement = try db.cachedStatement(sql: """
                    SELECT d.employer_id FROM insured i CROSS JOIN declarations d ON d.no = i.decl_no
                    WHERE i.person_key = ? AND d.period = ? AND d.employer_id != ?
                      AND d.state IN (\(Self.currentStates)) LIMIT 1
                    """)
                // CROSS JOIN keeps `insured` outside: a seek by person, not a scan of the period's declarations
                // (which made each probe cost O(employers) and a day of small files quadratic).
                let probe = { (key: Int64) in try String.fetchOne(statement, arguments: [key, period, employer]) }
                if let candidates, !candidates.isEmpty {
                    // A small file's persons, 64 to a query (unused slots hold -1, never a key); rows come
                    // in (person, declaration) order, so the first per person is what the probe returns.
                    let found = try Self.insuredElsewhere(candidates, period: period, except: employer, db)
                    let asked = Set(candidates)
                    elsewhere = { key in asked.contains(key) ? found[key] : try probe(key) }
                } else {
                    elsewhere = probe
                }
            }
            return try body(RosterReaders(previous: previousReader, insuredElsewhere: elsewhere))
        }
    }

    static let probeWidth = 64

    /// Every person on another employer's current roster of a period, in person order: read by walking
    /// `insured` in key order. No ledger query may sort in a temp B-tree (an in-memory sorter does not
    /// spill, as `temp_store` is MEMORY); `LedgerMigrationTests` checks the plans of the large ones.
    package static let otherRostersInPersonOrder = """
        SELECT i.person_key, d.employer_id FROM insured i JOIN declarations d ON d.no = i.decl_no
        WHERE d.period = ? AND d.employer_id != ? AND d.state IN (\(currentStates))
        ORDER BY i.person_key
        """

    static let insuredElsewhereSQL = """
        SELECT i.person_key, d.employer_id FROM insured i CROSS JOIN declarations d ON d.no = i.decl_no
        WHERE i.person_key IN (\(Array(repeating: "?", count: probeWidth).joined(separator: ",")))
          AND d.period = ? AND d.employer_id != ? AND d.state IN (\(currentStates))
        """

    /// Bound and stepped directly: asked for every small file, where boxing 66 arguments and decoding
    /// rows through `Row` cost more than the query.
    static func insuredElsewhere(_ keys: [Int64], period: Period, except employer: EmployerID, _ db: Database) throws -> [Int64: String] {
        let statement = try db.cachedStatement(sql: insuredElsewhereSQL)
        let handle = statement.sqliteStatement
        var found: [Int64: String] = [:]
        let period = period.description, employer = employer.text
        for start in stride(from: 0, to: keys.count, by: probeWidth) {
            for slot in 0..<probeWidth {
                sqlite3_bind_int64(handle, Int32(slot + 1), start + slot < keys.count ? keys[start + slot] : -1)
            }
            sqlite3_bind_text(handle, Int32(probeWidth + 1), period, -1, sqliteTransient)
            sqlite3_bind_text(handle, Int32(probeWidth + 2), employer, -1, sqliteTransient)
            defer { sqlite3_reset(handle) }
            while true {
                let rc = sqlite3_step(handle)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw failure(rc, db, sql: insuredElsewhereSQL) }
                let key = sqlite3_column_int64(handle, 0)
                if found[key] == nil, let text = sqlite3_column_text(handle, 1) { found[key] = String(cString: text) }
            }
        }
        return found
    }

    package func hasArrears(employer: EmployerID) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM declarations WHERE employer_id = ? AND state IN ('overdue','failed') LIMIT 1"),
                              arguments: [employer]) ?? false
        }
    }

    package func debitMessage(msgID: String) throws -> DebitMessage? {
        try read { db in try Self.message(db, msgID: msgID) }
    }

    static func message(_ db: Database, msgID: String) throws -> DebitMessage? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM debit_messages WHERE msg_id = ?"), arguments: [msgID]) else { return nil }
        let txs = try Row.fetchAll(db, sql: "SELECT * FROM debit_transactions WHERE msg_id = ? ORDER BY declaration_id",
                                   arguments: [msgID]).map {
            DebitTransaction(declarationID: $0["declaration_id"], amountFen: $0["amount_fen"], status: $0["status"], reason: $0["reason"])
        }
        return DebitMessage(msgID: row["msg_id"], bankCode: row["bank_code"], collectionDate: row["collection_date"],
                            path: row["path"], transactions: txs)
    }

    package func debitMessages(collectionDate: CivilDate) throws -> [DebitMessage] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT msg_id FROM debit_messages WHERE collection_date = ? ORDER BY msg_id",
                                arguments: [collectionDate]).compactMap { try Self.message(db, msgID: $0) }
        }
    }

    package func status(period: Period?) throws -> [PeriodStatus] {
        try read { db in
            var sql = "SELECT period, state, COUNT(*) AS n, SUM(total_fen) AS s FROM declarations"
            var args: StatementArguments = []
            if let period { sql += " WHERE period = ?"; args = [period] }
            sql += " GROUP BY period, state ORDER BY period"
            var result: [Period: PeriodStatus] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: args) {
                let p: Period = row["period"]
                guard let state = DeclarationState(rawValue: row["state"]) else { continue }
                result[p, default: PeriodStatus(period: p)].counts[state] = row["n"]
                result[p, default: PeriodStatus(period: p)].sums[state] = row["s"]
            }
            if let period, result[period] == nil { result[period] = PeriodStatus(period: period) }
            return result.values.sorted { $0.period < $1.period }
        }
    }

    package func cutDone(collectionDate: CivilDate) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM cuts WHERE collection_date = ?"), arguments: [collectionDate]) ?? false
        }
    }
}
