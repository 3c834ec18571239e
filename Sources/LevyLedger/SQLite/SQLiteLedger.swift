import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// The embedded ledger: one SQLite file (`.levy/ledger.sqlite`) through GRDB, WAL, synchronous=FULL.
final class SQLiteLedger: Ledger, @unchecked Sendable {
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
                // SQLite's 1,000: a page changed by several batches (the roster's indexes, the day's
                // sums) is copied once, not once per 1,000 pages.
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
    package static let schemaVersion = 10

    /// The journal's last entry as this connection wrote it in the transaction under way; nil when it
    /// must be read again (at each transaction's start, and after any failed change).
    var journalTail: (seq: Int64, hash: String)?

    /// Counters of the changes in the open batch transaction (touched only inside `queue`).
    var batchCounters: [String: Int64] = [:]

    /// The open batch's movements summed by day, kind and bank, for `money_daily` (touched only inside `queue`).
    var batchDaily: [DailyKey: Fen] = [:]

    /// How many deferred changes the open batch transaction holds (touched only inside `queue`).
    var batchChanges = 0
}
