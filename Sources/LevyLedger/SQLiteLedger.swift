import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// The embedded ledger: one SQLite file (`.levy/ledger.sqlite`) through GRDB, WAL, synchronous=FULL.
package final class SQLiteLedger: Ledger, @unchecked Sendable {
    let queue: DatabaseQueue
    package let path: String

    /// Opens (creating if needed) and migrates the ledger.
    /// - Throws: `DatabaseError` when the file is not a readable levy ledger.
    package init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        // A batch of small declarations shares one transaction, left open between them (``apply(_:)``).
        config.allowsUnsafeTransactions = true
        if !readOnly {
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode=WAL")
                try db.execute(sql: "PRAGMA synchronous=FULL")
                // A savepoint's statement journal (the pages it changes, as they were) stays in memory: in
                // a temp file it cost 134,552 pwrites (276 MB) for 2,000 small files when each file had
                // one. Only a change that is not deferred runs in a savepoint now, and it is small.
                // SQLite's sorter does not spill to disk under this setting: no query may need a large
                // temp B-tree (see `otherRostersInPersonOrder`).
                try db.execute(sql: "PRAGMA temp_store=MEMORY")
                // The WAL is copied back into the database every 8,000 pages (32 MiB) rather than
                // SQLite's 1,000: a page changed by several batches is copied once, not once per
                // 1,000 pages. A day of 20,000 small files: ledger stage 3.5-3.7 -> 3.0-3.2 s.
                try db.execute(sql: "PRAGMA wal_autocheckpoint=8000")
            }
        }
        if !readOnly {
            // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database
            // file's mode, and they hold the same data.
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 { fchmod(fd, 0o600); close(fd) }
            for suffix in ["-wal", "-shm"] { chmod(path + suffix, 0o600) }
        }
        queue = try DatabaseQueue(path: path, configuration: config)
        try Self.refuseNewer(queue, path: path)
        if readOnly {
            // Read as it is: a ledger an older levy wrote has not got what this one reads.
            let version = try queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
            if version < Self.schemaVersion {
                throw LedgerError("\(path): ledger written by an older levy (version \(version); this levy reads version \(Self.schemaVersion)) — run `levy run` once on this root to bring it up to date (it keeps everything), then try again")
            }
        }
        if !readOnly {
            try Self.migrator.migrate(queue)
            try queue.writeWithoutTransaction { db in
                if try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 < Self.schemaVersion {
                    try db.execute(sql: "PRAGMA user_version = \(Self.schemaVersion)")
                }
            }
        }
    }

    /// The schema this levy writes (`PRAGMA user_version`): the number of its migrations.
    package static let schemaVersion = 9

    /// A ledger that a newer levy has written to may hold what this one does not know how to keep:
    /// it is never written to (nor migrated "back").
    static func refuseNewer(_ queue: DatabaseQueue, path: String) throws {
        let (version, unknown) = try queue.read { db -> (Int, [String]) in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            guard try db.tableExists("grdb_migrations") else { return (version, []) }
            let known = Set(migrator.migrations)
            return (version, try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").filter { !known.contains($0) })
        }
        if version > schemaVersion || !unknown.isEmpty {
            let shown = version > schemaVersion ? "version \(version)" : "migrations \(unknown.joined(separator: ", "))"
            throw LedgerError("\(path): ledger written by a newer levy (\(shown); this levy knows version \(schemaVersion)) — run the newer levy on this root, or restore a backup made by this version; levy never writes to a newer ledger")
        }
    }

    package static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE files (
                  id INTEGER PRIMARY KEY,
                  sha256 TEXT NOT NULL, folder TEXT NOT NULL, name TEXT NOT NULL,
                  received_at TEXT NOT NULL, received_date TEXT NOT NULL, outcome TEXT NOT NULL,
                  employer_id TEXT, period TEXT, declaration_id TEXT, report_path TEXT,
                  inbox_path TEXT NOT NULL, archive_path TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0);
                -- identity of an input: its bytes and the folder it came from, processed once
                CREATE UNIQUE INDEX files_identity ON files(sha256, folder) WHERE outcome IN ('accepted','rejected','applied');
                CREATE INDEX files_date ON files(received_date);
                CREATE TABLE declarations (
                  no INTEGER PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE, employer_id TEXT NOT NULL, period TEXT NOT NULL, seq INTEGER NOT NULL,
                  state TEXT NOT NULL, headcount INTEGER NOT NULL, total_base_fen INTEGER NOT NULL,
                  employer_fen INTEGER NOT NULL, employee_fen INTEGER NOT NULL, total_fen INTEGER NOT NULL,
                  contributions TEXT NOT NULL, collection TEXT NOT NULL, due TEXT NOT NULL, due_date TEXT NOT NULL,
                  received_at TEXT NOT NULL, supersedes TEXT,
                  paid_fen INTEGER NOT NULL DEFAULT 0, late_fee_fen INTEGER NOT NULL DEFAULT 0, paid_at TEXT, channel TEXT,
                  debit_date TEXT, debit_msg_id TEXT, fail_reason TEXT,
                  UNIQUE(employer_id, period, seq));
                CREATE INDEX declarations_current ON declarations(employer_id, period, state);
                CREATE INDEX declarations_period ON declarations(period, state);
                CREATE TABLE roster (
                  decl_no INTEGER NOT NULL, person_key INTEGER NOT NULL, change INTEGER NOT NULL, base_fen INTEGER NOT NULL,
                  PRIMARY KEY(decl_no, person_key)) WITHOUT ROWID;
                CREATE INDEX roster_person ON roster(person_key);
                CREATE TABLE outputs (
                  path TEXT PRIMARY KEY, content BLOB, written INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE debit_messages (
                  msg_id TEXT PRIMARY KEY, bank_code TEXT NOT NULL, collection_date TEXT NOT NULL, path TEXT NOT NULL);
                CREATE TABLE debit_transactions (
                  msg_id TEXT NOT NULL, declaration_id TEXT NOT NULL, amount_fen INTEGER NOT NULL,
                  status TEXT NOT NULL, reason TEXT, PRIMARY KEY(msg_id, declaration_id)) WITHOUT ROWID;
                CREATE INDEX debit_tx_decl ON debit_transactions(declaration_id);
                CREATE TABLE events (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
                -- window days whose debit cut is done (even when there was nothing to send)
                CREATE TABLE cuts (collection_date TEXT PRIMARY KEY);
                """)
        }
        m.registerMigration("v2") { db in
            // Monotonic counters for metrics (rows read, processing time), bumped in the same transaction
            // as the file they count.
            try db.execute(sql: "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
        }
        m.registerMigration("v3") { db in
            // A declaration's roster as packed blocks of persons (one row per 4,096 persons instead of
            // one per person), and one index row per insured person for the insured-elsewhere check:
            // a 1M-person declaration costs one B-tree insert per person instead of two, and a third
            // of the pages.
            try db.execute(sql: """
                CREATE TABLE roster_blocks (
                  decl_no INTEGER NOT NULL, block INTEGER NOT NULL, entries BLOB NOT NULL,
                  PRIMARY KEY(decl_no, block)) WITHOUT ROWID;
                CREATE TABLE insured (
                  person_key INTEGER NOT NULL, decl_no INTEGER NOT NULL,
                  PRIMARY KEY(person_key, decl_no)) WITHOUT ROWID;
                """)
            // Each old roster is rewritten by the same writer as a new one (blocks and `insured` rows).
            let declarations = try Int64.fetchAll(db, sql: "SELECT DISTINCT decl_no FROM roster ORDER BY decl_no")
            for no in declarations {
                let rows = try Row.fetchCursor(db, sql: "SELECT person_key, change, base_fen FROM roster WHERE decl_no = ? ORDER BY person_key",
                                               arguments: [no])
                var writer = try RosterBlockWriter(db, declaration: no)
                while let row = try rows.next() {
                    try writer.append(RosterEntry(personKey: row[0], change: RosterChange(rawValue: row[1]) ?? .continuing, baseFen: row[2]))
                }
                try writer.finish()
            }
            try db.execute(sql: "DROP TABLE roster")
        }
        m.registerMigration("v4") { db in
            // What is still to do after a commit (outputs to write, inputs to archive) is looked up on
            // every file and every look of the watch: partial indexes hold only those few rows, where
            // a scan of a year's `files` made a day of 20,000 small files quadratic.
            try db.execute(sql: """
                CREATE INDEX files_unarchived ON files(sha256, folder) WHERE archived = 0;
                CREATE INDEX outputs_pending ON outputs(path) WHERE written = 0;
                """)
        }
        m.registerMigration("v5") { db in
            // An output's content is kept only until the output is written, in a table of its own, and
            // deleted then: set to NULL in place, it left the 4 KiB pages that had held two receipts each
            // almost empty and never reused (80 MB of a 147 MB ledger after 20,000 small files), and the
            // NULLs rewrote those pages. `outputs` keeps every path levy ever wrote (rejection report
            // names must not repeat), one B-tree keyed by path. The contents are a rowid table: in a
            // WITHOUT ROWID one, a row over ~1,000 bytes spills to an overflow page of its own.
            try db.execute(sql: """
                CREATE TABLE output_contents (path TEXT PRIMARY KEY, content BLOB NOT NULL);
                INSERT INTO output_contents (path, content) SELECT path, COALESCE(content, x'') FROM outputs WHERE written = 0;
                CREATE TABLE output_paths (path TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT INTO output_paths (path) SELECT path FROM outputs;
                DROP TABLE outputs;
                ALTER TABLE output_paths RENAME TO outputs;
                """)
        }
        m.registerMigration("v6") { db in
            // What levy must remember about itself: the latest "now" it acted on (time never runs back).
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        }
        m.registerMigration("v7") { db in
            // The hash-chained journal of business state changes (SPEC §10); it takes over from `events`.
            try db.execute(sql: """
                CREATE TABLE journal (
                  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL, action TEXT NOT NULL,
                  subject TEXT NOT NULL, employer TEXT, detail TEXT NOT NULL, hash TEXT NOT NULL);
                CREATE INDEX journal_employer ON journal(employer, seq);
                """)
        }
        m.registerMigration("v8") { db in
            // Manual operations waiting for a second operator's approval (four eyes, SPEC §10).
            try db.execute(sql: """
                CREATE TABLE requests (
                  no INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, subject TEXT NOT NULL, employer TEXT,
                  payload TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at TEXT NOT NULL, state TEXT NOT NULL,
                  decided_by TEXT, decided_at TEXT, reason TEXT);
                CREATE INDEX requests_state ON requests(state, no);
                """)
        }
        m.registerMigration("v9") { db in
            // The bank's money (SPEC §9): what a declaration has been charged and paid, the bank's
            // credit, and every movement of money or of what is owed, day by day, for the reconciliation.
            try db.execute(sql: """
                ALTER TABLE declarations ADD COLUMN fee_charged_fen INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE declarations ADD COLUMN fee_basis INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE declarations ADD COLUMN fee_through TEXT;
                ALTER TABLE declarations ADD COLUMN settled_on TEXT;
                ALTER TABLE declarations ADD COLUMN confirmed_on TEXT;
                ALTER TABLE declarations ADD COLUMN reversed_fen INTEGER NOT NULL DEFAULT 0;
                -- The payments of each declaration (paid, late fee charged, reversed), for statements and reversals.
                CREATE TABLE money (
                  id INTEGER PRIMARY KEY, day TEXT NOT NULL, kind TEXT NOT NULL, bank TEXT, declaration_id TEXT NOT NULL,
                  employer_id TEXT NOT NULL, amount_fen INTEGER NOT NULL, ref TEXT, fee_fen INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX money_declaration ON money(declaration_id);
                CREATE INDEX money_day ON money(day, kind);
                -- Every movement summed by day, kind and bank ('' for none): the reconciliation reads these
                -- few rows, never a year of movements.
                CREATE TABLE money_daily (
                  day TEXT NOT NULL, kind TEXT NOT NULL, bank TEXT NOT NULL, fen INTEGER NOT NULL,
                  PRIMARY KEY(day, kind, bank)) WITHOUT ROWID;
                CREATE TABLE bank_exceptions (
                  id INTEGER PRIMARY KEY, day TEXT NOT NULL, kind TEXT NOT NULL, bank TEXT NOT NULL, declaration_id TEXT NOT NULL,
                  amount_fen INTEGER NOT NULL, expected_fen INTEGER, since TEXT NOT NULL, file TEXT, note TEXT);
                CREATE INDEX bank_exceptions_day ON bank_exceptions(day);
                -- Debits waiting for the bank: in flight, or confirmed and not yet credited.
                CREATE INDEX declarations_awaiting_bank ON declarations(debit_date)
                  WHERE state = 'in_flight' OR (state = 'paid' AND channel = 'debit' AND settled_on IS NULL);
                -- Declarations in force with something owed: what the books are checked against each day.
                CREATE INDEX declarations_owed ON declarations(employer_id)
                  WHERE \(owedCondition);
                -- A ledger from before: its paid debits count as settled, its fees as charged when paid,
                -- and its history becomes movements, so that its balance holds from the first day.
                UPDATE declarations SET settled_on = substr(paid_at, 1, 10), confirmed_on = substr(paid_at, 1, 10)
                  WHERE state = 'paid' AND channel = 'debit';
                UPDATE declarations SET fee_charged_fen = late_fee_fen WHERE state = 'paid';
                INSERT INTO money (day, kind, declaration_id, employer_id, amount_fen)
                  SELECT substr(received_at, 1, 10), 'declared', id, employer_id, total_fen FROM declarations;
                INSERT INTO money (day, kind, declaration_id, employer_id, amount_fen)
                  SELECT substr(received_at, 1, 10), 'withdrawn', id, employer_id, total_fen FROM declarations
                  WHERE state IN ('withdrawn', 'superseded');
                INSERT INTO money (day, kind, declaration_id, employer_id, amount_fen)
                  SELECT COALESCE(substr(paid_at, 1, 10), substr(received_at, 1, 10)), 'late_fee', id, employer_id, late_fee_fen FROM declarations
                  WHERE state = 'paid' AND late_fee_fen > 0;
                INSERT INTO money (day, kind, bank, declaration_id, employer_id, amount_fen, ref, fee_fen)
                  SELECT COALESCE(substr(paid_at, 1, 10), substr(received_at, 1, 10)), 'paid',
                    CASE channel WHEN 'debit' THEN (SELECT bank_code FROM debit_messages WHERE msg_id = debit_msg_id) END,
                    id, employer_id, paid_fen, 'RP-' || id, late_fee_fen
                  FROM declarations WHERE state = 'paid';
                INSERT INTO money_daily (day, kind, bank, fen)
                  SELECT day, kind, COALESCE(bank, ''), SUM(amount_fen) FROM money GROUP BY day, kind, COALESCE(bank, '');
                DELETE FROM money WHERE kind NOT IN ('paid', 'late_fee', 'reversed');
                """)
        }
        return m
    }

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

    /// The journal's last entry as this connection wrote it in the transaction under way; nil when it
    /// must be read again (at each transaction's start, and after any failed change).
    private var journalTail: (seq: Int64, hash: String)?

    static func journalRecord(_ row: Row) -> JournalRecord {
        JournalRecord(seq: row["seq"], entry: JournalEntry(at: row["at"], operatorID: row["operator"], action: row["action"],
                                                           subject: row["subject"], employer: row["employer"], detail: row["detail"]),
                      hash: row["hash"])
    }

    package func journal(employer: String?, from: String?, to: String?) throws -> [JournalRecord] {
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

    // MARK: Mutations

    /// Runs a change in the open batch transaction (`deferred`: left open for the next ``barrier()``),
    /// or in its own transaction, committed with fsync — which also commits a batch open before it.
    ///
    /// A deferred change is not wrapped in a savepoint: one makes SQLite copy every page the change
    /// touches to a statement journal (153 MB of writes for a 1M-person roster; ~10% of a day of small
    /// files' time). So a deferred change that throws rolls back the whole open batch, as a crash
    /// before its commit would: the caller drops what it staged for the batch (``Ledger/apply(_:)``).
    /// A change that is not deferred runs in a savepoint of an open batch and is rolled back alone.
    private func write(deferred: Bool, counters: [String: Int64] = [:], daily: [DailyKey: Fen] = [:], _ body: (Database) throws -> Void) throws {
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

    /// Counters of the changes in the open batch transaction (touched only inside `queue`).
    private var batchCounters: [String: Int64] = [:]
    /// The open batch's movements summed by day, kind and bank, for `money_daily` (touched only inside `queue`).
    private var batchDaily: [DailyKey: Fen] = [:]
    /// How many deferred changes the open batch transaction holds (touched only inside `queue`).
    private var batchChanges = 0

    private static func add(_ counters: [String: Int64], _ db: Database) throws {
        guard !counters.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value
            """)
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) { try statement.execute(arguments: [name, value]) }
    }

    /// A read: inside the batch transaction as it is (it sees the batch's own changes); otherwise in a
    /// read transaction of its own.
    private func read<T>(_ body: (Database) throws -> T) throws -> T {
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
                                     d.employerFen, d.employeeFen, d.totalFen, d.contributionsJSON, d.collection, d.due,
                                     d.dueDate, d.receivedAt, d.supersedes])
                var writer = try RosterBlockWriter(db, declaration: db.lastInsertedRowID)
                while let entry = try roster.next() { try writer.append(entry) }
                try writer.finish()
            }
            for d in change.declarationUpdates {
                try db.cachedStatement(sql: """
                    UPDATE declarations SET state = ?, collection = ?, paid_fen = ?, late_fee_fen = ?, paid_at = ?, channel = ?,
                      debit_date = ?, debit_msg_id = ?, fail_reason = ?, fee_charged_fen = ?, fee_basis = ?, fee_through = ?,
                      settled_on = ?, confirmed_on = ?, reversed_fen = ? WHERE id = ?
                    """).execute(arguments: [d.state.rawValue, d.collection, d.paidFen, d.lateFeeFen, d.paidAt, d.channel, d.debitDate,
                                     d.debitMsgID, d.failReason, d.feeChargedFen, d.feeBasis, d.feeThrough, d.settledOn,
                                     d.confirmedOn, d.reversedFen, d.id])
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

    /// A row of `money_daily`: the movements of one day, kind and bank ('' for none).
    struct DailyKey: Hashable, Comparable {
        let day: String, kind: String, bank: String
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
            // Grouped along the (period, state) index and summed here: a GROUP BY state alone sorted every
            // declaration in memory (20 MB for 500,000).
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

    package func files(receivedDate: String, outcomes: [FileOutcome]) throws -> [FileRecord] {
        let list = outcomes.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM files WHERE received_date = ? AND outcome IN (\(list)) ORDER BY id",
                             arguments: [receivedDate]).map(Self.fileRecord)
        }
    }

    package static let filesOfDayWithOutcome = "SELECT COUNT(*) FROM files WHERE received_date = ? AND outcome = ?"

    package func dayFigures(day: String) throws -> DayFigures {
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
        fail_reason, fee_charged_fen, fee_basis, fee_through, settled_on, confirmed_on, reversed_fen
        """

    static func declarationRecord(_ row: Row) -> DeclarationRecord {
        var d = DeclarationRecord(
            id: row[0], employerID: row[1], period: row[2], seq: row[3],
            state: DeclarationState(rawValue: row[4]) ?? .accepted, headcount: row[5],
            totalBaseFen: row[6], employerFen: row[7], employeeFen: row[8],
            totalFen: row[9], contributionsJSON: row[10], collection: row[11],
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

    package func currentDeclaration(employer: String, period: String) throws -> DeclarationRecord? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT \(Self.declarationColumns) FROM declarations WHERE employer_id = ? AND period = ? AND state IN (\(Self.currentStates))
                ORDER BY seq DESC LIMIT 1
                """), arguments: [employer, period]).map(Self.declarationRecord)
        }
    }

    package func nextSequence(employer: String, period: String) throws -> Int {
        try read { db in
            (try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM declarations WHERE employer_id = ? AND period = ?"),
                              arguments: [employer, period]) ?? 0) + 1
        }
    }

    package func periods(states: [DeclarationState]) throws -> [String] {
        let list = states.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return try read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT period FROM declarations WHERE state IN (\(list)) ORDER BY period")
        }
    }

    package func declarations(states: [DeclarationState], period: String?) throws -> [DeclarationRecord] {
        let list = states.map { "'\($0.rawValue)'" }.joined(separator: ",")
        return try read { db in
            if let period {
                // One state at a time: each is read from the (period, state) index in `no` order, where
                // `state IN (…) ORDER BY no` sorted the period's rows in a temp B-tree.
                return try states.flatMap { state in
                    try Row.fetchAll(db.cachedStatement(sql: Self.declarationsOfPeriodInState), arguments: [period, state.rawValue])
                        .map(Self.declarationRecord)
                }
            }
            return try Row.fetchAll(db, sql: "SELECT \(Self.declarationColumns) FROM declarations WHERE state IN (\(list)) ORDER BY no")
                .map(Self.declarationRecord)
        }
    }

    package static let declarationsOfPeriodInState = "SELECT \(declarationColumns) FROM declarations WHERE period = ? AND state = ? ORDER BY no"

    package func previousDeclaration(employer: String, before period: String) throws -> Int64? {
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
    package func withRosterReaders<T>(previous: Int64?, period: String, except employer: String, additions: Int,
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
    static func insuredElsewhere(_ keys: [Int64], period: String, except employer: String, _ db: Database) throws -> [Int64: String] {
        let statement = try db.cachedStatement(sql: insuredElsewhereSQL)
        let handle = statement.sqliteStatement
        var found: [Int64: String] = [:]
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

    package func hasArrears(employer: String) throws -> Bool {
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

    package func debitMessages(collectionDate: String) throws -> [DebitMessage] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT msg_id FROM debit_messages WHERE collection_date = ? ORDER BY msg_id",
                                arguments: [collectionDate]).compactMap { try Self.message(db, msgID: $0) }
        }
    }

    package func status(period: String?) throws -> [PeriodStatus] {
        try read { db in
            var sql = "SELECT period, state, COUNT(*) AS n, SUM(total_fen) AS s FROM declarations"
            var args: StatementArguments = []
            if let period { sql += " WHERE period = ?"; args = [period] }
            sql += " GROUP BY period, state ORDER BY period"
            var result: [String: PeriodStatus] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: args) {
                let p: String = row["period"]
                guard let state = DeclarationState(rawValue: row["state"]) else { continue }
                result[p, default: PeriodStatus(period: p)].counts[state] = row["n"]
                result[p, default: PeriodStatus(period: p)].sums[state] = row["s"]
            }
            if let period, result[period] == nil { result[period] = PeriodStatus(period: period) }
            return result.values.sorted { $0.period < $1.period }
        }
    }

    package func cutDone(collectionDate: String) throws -> Bool {
        try read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM cuts WHERE collection_date = ?"), arguments: [collectionDate]) ?? false
        }
    }

    // MARK: The bank's money

    package func moneyTotals(day: String) throws -> [(kind: MoneyKind, bank: String?, fen: Fen)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT kind, bank, fen FROM money_daily WHERE day = ? ORDER BY kind, bank", arguments: [day]).compactMap { row in
                let bank: String = row[1]
                return MoneyKind(rawValue: row[0]).map { (kind: $0, bank: bank.isEmpty ? nil : bank, fen: row[2]) }
            }
        }
    }

    package func receivable(before day: String) throws -> Fen {
        let signed = MoneyKind.allCases.filter { $0.receivableSign != 0 }
            .map { "WHEN '\($0.rawValue)' THEN \($0.receivableSign)" }.joined(separator: " ")
        return try read { db in
            try Fen.fetchOne(db, sql: "SELECT COALESCE(SUM(fen * CASE kind \(signed) ELSE 0 END), 0) FROM money_daily WHERE day < ?",
                             arguments: [day]) ?? 0
        }
    }

    package func receivableOutstanding() throws -> Fen {
        try read { db in
            try Fen.fetchOne(db, sql: """
                SELECT COALESCE(SUM(total_fen + fee_charged_fen - paid_fen), 0) FROM declarations INDEXED BY declarations_owed
                WHERE \(Self.owedCondition)
                """) ?? 0
        }
    }

    package func bankExceptions(day: String) throws -> [BankException] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bank_exceptions WHERE day = ? ORDER BY id", arguments: [day]).compactMap { row in
                guard let kind = BankException.Kind(rawValue: row["kind"]) else { return nil }
                return BankException(day: row["day"], kind: kind, bank: row["bank"], declarationID: row["declaration_id"],
                                     amountFen: row["amount_fen"], expectedFen: row["expected_fen"], since: row["since"],
                                     file: row["file"], note: row["note"])
            }
        }
    }

    package func awaitingBank(collectedOnOrBefore day: String) throws -> [DebitStanding] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.standingColumns) FROM declarations INDEXED BY declarations_awaiting_bank
                WHERE (state = 'in_flight' OR (state = 'paid' AND channel = 'debit' AND settled_on IS NULL)) AND debit_date <= ?
                ORDER BY debit_date, id
                """, arguments: [day]).map(Self.standing)
        }
    }

    static let standingColumns = "id, employer_id, state, channel, total_fen, paid_fen, debit_msg_id, settled_on, debit_date, confirmed_on"

    static func standing(_ row: Row) -> DebitStanding {
        DebitStanding(id: row[0], employerID: row[1], state: DeclarationState(rawValue: row[2]) ?? .accepted, channel: row[3],
                      totalFen: row[4], paidFen: row[5], debitMsgID: row[6], settledOn: row[7], debitDate: row[8], confirmedOn: row[9])
    }

    package func settleConfirmedDebits(_ credits: [(id: String, amountFen: Fen, day: String)], bank: String) throws -> Set<String> {
        var settled: Set<String> = []
        guard !credits.isEmpty else { return settled }
        try write(deferred: true) { db in
            // 300 credits a statement: each row of VALUES is matched through the id index and updated
            // in place, and RETURNING says which matched — one statement instead of a read and a write each.
            var from = 0
            while from < credits.count {
                let part = credits[from..<min(from + 300, credits.count)]
                let sql = """
                    UPDATE declarations SET settled_on = v.column3
                    FROM (VALUES \(Array(repeating: "(?,?,?)", count: part.count).joined(separator: ","))) AS v
                    WHERE declarations.id = v.column1 AND declarations.total_fen = v.column2 AND declarations.state = 'paid'
                      AND declarations.channel = 'debit' AND declarations.settled_on IS NULL
                      AND declarations.debit_msg_id IN (SELECT msg_id FROM debit_messages WHERE bank_code = ?)
                    RETURNING declarations.id
                    """
                var arguments: [(any DatabaseValueConvertible)?] = []
                arguments.reserveCapacity(3 * part.count + 1)
                for c in part { arguments += [c.id, c.amountFen, c.day] }
                arguments.append(bank)
                let ids = try String.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments))
                while let id = try ids.next() { settled.insert(id) }
                from += part.count
            }
        }
        return settled
    }

    package func debitMessageIDs(bank: String) throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT msg_id FROM debit_messages WHERE bank_code = ?", arguments: [bank])) }
    }

    package func movements(declarationID: String) throws -> [MoneyMovement] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM money WHERE declaration_id = ? ORDER BY id"), arguments: [declarationID])
                .compactMap { row in
                    guard let kind = MoneyKind(rawValue: row["kind"]) else { return nil }
                    return MoneyMovement(day: row["day"], kind: kind, bank: row["bank"], declarationID: row["declaration_id"],
                                         employerID: row["employer_id"], amountFen: row["amount_fen"], ref: row["ref"], feeFen: row["fee_fen"])
                }
        }
    }

    package func declarations(employer: String, from: String, to: String) throws -> [DeclarationRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.declarationColumns) FROM declarations WHERE employer_id = ? AND period BETWEEN ? AND ? AND state IN (\(Self.currentStates))
                ORDER BY period, seq
                """, arguments: [employer, from, to]).map(Self.declarationRecord)
        }
    }

    package func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }.filter { $0 != "ok" }
    }
}

/// SQLite copies a text bound with this destructor before the bind returns (C's `SQLITE_TRANSIENT`).
nonisolated(unsafe) let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Writes a declaration's roster as `roster_blocks` rows of up to 4,096 persons, 16 bytes each
/// (person key, then base in fen shifted left by 2 with the change in the low bits, little-endian),
/// in ascending key order, and an `insured` row for each person not removed — 128 to a statement,
/// which halves SQLite's per-statement cost against one row per step.
struct RosterBlockWriter {
    static let perBlock = 4096
    static let insuredPerStatement = 128
    static let tailSizes = [32, 16, 4, 1]
    /// The statements' text, made once (a small file's roster was building it on every declaration).
    static let insertInsured: [Int: String] = Dictionary(uniqueKeysWithValues: ([insuredPerStatement] + tailSizes).map { size in
        (size, "INSERT INTO insured (person_key, decl_no) VALUES " + Array(repeating: "(?,?)", count: size).joined(separator: ","))
    })
    let declaration: Int64
    let blockInsert: Statement
    let insuredInsert: Statement
    let db: Database
    var words: [Int64] = []
    var insured: [Int64] = []
    var block: Int64 = 0

    init(_ db: Database, declaration: Int64) throws {
        self.db = db
        self.declaration = declaration
        blockInsert = try db.cachedStatement(sql: "INSERT INTO roster_blocks (decl_no, block, entries) VALUES (?,?,?)")
        insuredInsert = try db.cachedStatement(sql: Self.insertInsured[Self.insuredPerStatement]!)
        words.reserveCapacity(Self.perBlock * 2)
        insured.reserveCapacity(Self.insuredPerStatement)
    }

    /// The hot loop of a large declaration: bind and step directly (no boxed arguments per row).
    mutating func append(_ entry: RosterEntry) throws {
        words.append(entry.personKey.littleEndian)
        words.append((entry.baseFen << 2 | Int64(entry.change.rawValue)).littleEndian)
        if entry.change != .removed {
            insured.append(entry.personKey)
            if insured.count == Self.insuredPerStatement { try flushInsured() }
        }
        if words.count == Self.perBlock * 2 { try flush() }
    }

    mutating func finish() throws {
        if !words.isEmpty { try flush() }
        // The last persons (all of a small declaration's): 32, 16, 4 to a statement, then one by one.
        var start = 0
        for size in Self.tailSizes {
            let statement = try db.cachedStatement(sql: Self.insertInsured[size]!)
            while insured.count - start >= size {
                try insert(insured[start..<start + size], with: statement)
                start += size
            }
        }
        insured.removeAll()
    }

    private mutating func flushInsured() throws {
        try insert(insured[...], with: insuredInsert)
        insured.removeAll(keepingCapacity: true)
    }

    private func insert(_ keys: ArraySlice<Int64>, with statement: Statement) throws {
        let handle = statement.sqliteStatement
        for (i, key) in keys.enumerated() {
            sqlite3_bind_int64(handle, Int32(2 * i + 1), key)
            sqlite3_bind_int64(handle, Int32(2 * i + 2), declaration)
        }
        try step(statement)
    }

    private mutating func flush() throws {
        let handle = blockInsert.sqliteStatement
        sqlite3_bind_int64(handle, 1, declaration)
        sqlite3_bind_int64(handle, 2, block)
        // SQLITE_STATIC (nil): the bytes stay put until the step inside this closure is done.
        try words.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, 3, raw.baseAddress, Int32(raw.count), nil)
            try step(blockInsert)
        }
        words.removeAll(keepingCapacity: true)
        block += 1
    }

    private func step(_ statement: Statement) throws { try SQLiteLedger.step(statement, db) }
}

/// Reads `roster_blocks` rows back as entries, in key order.
struct RosterBlockReader {
    let blocks: DatabaseValueCursor<Data>
    var current: [Int64] = []
    var index = 0

    init(_ blocks: DatabaseValueCursor<Data>) { self.blocks = blocks }

    mutating func next() throws -> RosterEntry? {
        while index >= current.count {
            guard let data = try blocks.next() else { return nil }
            current = data.withUnsafeBytes { raw in
                (0..<raw.count / 8).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            index = 0
        }
        let key = current[index], packed = current[index + 1]
        index += 2
        return RosterEntry(personKey: key, change: RosterChange(rawValue: UInt8(packed & 3)) ?? .continuing, baseFen: packed >> 2)
    }
}
