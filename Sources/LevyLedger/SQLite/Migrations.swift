import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// The ledger's schema, one migration per version, and the refusal to touch a newer one.
extension SQLiteLedger {
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
        m.registerMigration("v10") { db in
            // A bank's credit is a narrow fact of its own, not a rewrite of its declaration's wide row
            // (~700 bytes: settling 500,000 debits wrote 350 MB of pages). The debits the bank has not yet
            // answered or credited are a narrow table too, which settling empties.
            try db.execute(sql: """
                CREATE TABLE settlements (declaration_id TEXT PRIMARY KEY, settled_on TEXT NOT NULL) WITHOUT ROWID;
                INSERT INTO settlements (declaration_id, settled_on) SELECT id, settled_on FROM declarations WHERE settled_on IS NOT NULL;
                -- With what a credit is matched against (a confirmed debit of this amount, in a file sent to
                -- the bank), so that settling reads no declaration row. No index on debit_date: the lists of
                -- unanswered debits scan these few narrow rows, and settling 500,000 debits deleted as many
                -- index entries too (a quarter of its time).
                CREATE TABLE awaiting_bank (
                  declaration_id TEXT PRIMARY KEY, debit_date TEXT NOT NULL, total_fen INTEGER NOT NULL,
                  debit_msg_id TEXT, confirmed INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO awaiting_bank (declaration_id, debit_date, total_fen, debit_msg_id, confirmed)
                  SELECT id, debit_date, total_fen, debit_msg_id, state = 'paid' FROM declarations
                  WHERE (state = 'in_flight' OR (state = 'paid' AND channel = 'debit' AND settled_on IS NULL)) AND debit_date IS NOT NULL;
                DROP INDEX declarations_awaiting_bank;
                ALTER TABLE declarations DROP COLUMN settled_on;
                -- Counts and sums by period and state (the metrics, `levy status`) from the index alone: through
                -- declarations_period they read every declaration's wide row (0.18 s for 500,000, on each run).
                CREATE INDEX declarations_period_fen ON declarations(period, state, total_fen);
                """)
        }
        return m
    }
}
