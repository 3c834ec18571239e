import GRDB

/// What kind of trouble a ledger error is, for the operator's message: callers match on this, not
/// on a backend's own error type (SQLite's result codes now, PostgreSQL's SQLSTATEs later).
package enum LedgerFault: Sendable, Hashable {
    case diskFull, readOnly, corrupt, cannotOpen, io, busy, other

    /// The fault of a ledger error; nil when `error` did not come from the ledger's database.
    package init?(_ error: any Error) {
        guard let e = error as? DatabaseError else { return nil }
        switch e.resultCode {
        case .SQLITE_FULL: self = .diskFull
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: self = .readOnly
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: self = .corrupt
        case .SQLITE_CANTOPEN: self = .cannotOpen
        case .SQLITE_IOERR: self = .io
        case .SQLITE_BUSY, .SQLITE_LOCKED: self = .busy
        default: self = .other
        }
    }
}

/// The ledger's own refusals: what levy's rules about its ledger forbid, said with the fix.
package struct LedgerError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
