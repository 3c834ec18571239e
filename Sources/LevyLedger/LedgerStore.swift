import Foundation

/// Where "the ledger" is opened: the only place that knows which backend a location names. A file
/// URL (a root's `.levy/ledger.sqlite`) is the embedded SQLite ledger; a `postgres://` URL will be
/// the PostgreSQL ledger of SPEC §12 when that backend is built (it is refused until then).
package enum LedgerStore {
    /// Opens (creating and migrating, unless `readOnly`) the ledger at `location`.
    /// - Throws: ``LedgerError`` for a location no backend serves; the backend's own errors (see
    ///   ``LedgerFault``) for a ledger that cannot be opened.
    package static func open(_ location: URL, readOnly: Bool = false) throws -> any Ledger {
        try sqlite(location, readOnly: readOnly)
    }

    /// A consistent copy of the ledger at `location`, taken while levy goes on writing, as a file at
    /// `path` (not yet durable: the caller renames it into place); with what it holds.
    package static func backup(_ location: URL, to path: String) throws -> LedgerCounts {
        try sqlite(location, readOnly: true).backup(to: path)
    }

    static func sqlite(_ location: URL, readOnly: Bool) throws -> SQLiteLedger {
        switch location.scheme?.lowercased() {
        case "file", nil:
            return try SQLiteLedger(path: location.path, readOnly: readOnly)
        case "postgres", "postgresql":
            throw LedgerError("\(location.host ?? "postgres"): this levy has no PostgreSQL ledger yet (SPEC §12) — use the root's SQLite ledger")
        case let scheme?:
            throw LedgerError("\(location): levy cannot open a ledger at a \(scheme): location — give a file path or a postgres:// URL")
        }
    }
}

extension URL {
    /// The ledger file at a path, as ``LedgerStore`` opens it.
    package static func ledgerFile(_ path: String) -> URL { URL(fileURLWithPath: path) }
}
