import Foundation
import LevyLedger

/// An error levy reports to the person running it: a stable code (for runbooks, scripts and the
/// console), what is wrong, where (the file, and its line when there is one), and what to do. The
/// exit status follows from the code's kind (SPEC §2): bad usage 64, anything else 1.
///
/// Declaration findings (`E-…`/`W-…` in reports) are not errors: a rejected file is normal business.
/// These are what stops a command. `errno` is kept when a system call failed, so that a full disk is
/// told apart from a permission problem wherever it surfaced (``explained(_:root:)``).
package struct LevyError: Error, Sendable, CustomStringConvertible {
    package let code: Code
    /// What is wrong, naming what it is about.
    package let message: String
    /// What to do about it.
    package let fix: String?
    /// The file it is about (a path, or a root-relative name), and the line in it.
    package let file: String?
    package let line: Int?
    package let errno: Int32?

    package init(_ code: Code, _ message: String, fix: String? = nil, file: String? = nil, line: Int? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.file = file
        self.line = line
        self.errno = errno
    }

    /// The message and the fix, as the operator reads them after the code.
    package var description: String { fix.map { "\(message) — fix: \($0)" } ?? message }

    /// What kind of trouble it is, which decides the exit status.
    package enum Kind: Sendable {
        /// The command was given something it cannot take: exit 64 (EX_USAGE).
        case usage
        /// Understood, and refused by the agency's rules or the ledger's state: exit 1.
        case refused
        /// levy could not do its work (rules, ledger, disk, a schema): exit 1, inbox untouched.
        case failure
    }

    package var kind: Kind { code.kind }
    package var exitStatus: Int32 { kind == .usage ? 64 : 1 }

    /// The stable codes. A code never changes meaning; new trouble gets a new code.
    package enum Code: String, Sendable, CaseIterable {
        // Bad usage (exit 64).
        case badArgument = "USAGE-ARGUMENT"
        case unknownOperator = "USAGE-OPERATOR"
        // Refused (exit 1).
        case missingReason = "OP-REASON-MISSING"
        case unknownEmployer = "OP-EMPLOYER-UNKNOWN"
        case noDeclaration = "OP-DECLARATION-MISSING"
        case alreadyPaid = "OP-ALREADY-PAID"
        case debitInFlight = "OP-DEBIT-IN-FLIGHT"
        case overpayment = "OP-OVERPAYMENT"
        case declarationLocked = "E-DECL-LOCKED"
        case notReversible = "OP-NOT-REVERSIBLE"
        case unknownRequest = "OP-REQUEST-UNKNOWN"
        case requestDecided = "OP-REQUEST-DECIDED"
        case notAllowed = "OP-NOT-ALLOWED"
        case rootBusy = "OP-ROOT-BUSY"
        case timeBackwards = "OP-TIME-BACKWARDS"
        // levy could not work (exit 1).
        case rules = "LEVY-RULES"
        case noSuchFile = "LEVY-FILE-MISSING"
        case ledgerMissing = "LEVY-LEDGER-MISSING"
        case ledgerRefused = "LEVY-LEDGER-REFUSED"
        case ledgerOlder = "LEVY-LEDGER-OLDER"
        case ledgerReadOnly = "LEVY-LEDGER-READONLY"
        case ledgerCorrupt = "LEVY-LEDGER-CORRUPT"
        case ledgerCannotOpen = "LEVY-LEDGER-OPEN"
        case ledgerIO = "LEVY-LEDGER-IO"
        case ledgerBusy = "LEVY-LEDGER-BUSY"
        case ledgerOther = "LEVY-LEDGER"
        case diskFull = "LEVY-DISK-FULL"
        case permission = "LEVY-PERMISSION"
        case pathInTheWay = "LEVY-PATH-IN-THE-WAY"
        case outputConflict = "LEVY-OUTPUT-CONFLICT"
        case system = "LEVY-SYSTEM"
        case schema = "LEVY-SCHEMA"
        case debitFileInvalid = "LEVY-DEBIT-FILE-INVALID"
        case backupInvalid = "LEVY-BACKUP-INVALID"
        case journalBroken = "LEVY-JOURNAL-BROKEN"
        case encodingUnavailable = "LEVY-ENCODING"
        case spillDamaged = "LEVY-SPILL"

        package var kind: Kind {
            if rawValue.hasPrefix("USAGE-") { return .usage }
            if rawValue.hasPrefix("OP-") || self == .declarationLocked { return .refused }
            return .failure
        }
    }

    /// A system call's failure on `path`: the call's reason, and what to do.
    package static func system(_ what: String, _ path: String, errno code: Int32 = Glibc.errno, fix: String) -> LevyError {
        let full = code == ENOSPC || code == EDQUOT
        return LevyError(full ? .diskFull : code == EACCES || code == EPERM ? .permission : .system,
                         "\(what) \(path): \(String(cString: strerror(code)))", fix: fix, file: path, errno: code)
    }

    /// Any error as levy reports it: levy's own as they are, bad rules with their file and line, the
    /// ledger's and the file system's explained (``explained(_:root:)``), anything else as a failure.
    package static func reported(_ error: any Error, root: Root?) -> LevyError {
        if let e = error as? RulesError {
            return LevyError(.rules, "bad rule: \(e.file)\(e.line.map { ":\($0)" } ?? ""): \(e.problem)", fix: e.fix, file: e.file, line: e.line)
        }
        let shown = root.map { explained(error, root: $0) } ?? error
        if let e = shown as? LevyError { return e }
        if let e = shown as? LedgerError { return LevyError(.ledgerRefused, e.message) }
        return LevyError(.system, "\(shown)")
    }

    /// Whether an error is the disk (or its quota) being full, wherever levy met it: a write, a
    /// rename's folder, or the ledger's journal.
    package static func isDiskFull(_ error: any Error) -> Bool {
        if let e = error as? LevyError, let code = e.errno { return code == ENOSPC || code == EDQUOT }
        if LedgerFault(error) == .diskFull { return true }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain && ns.code == NSFileWriteOutOfSpaceError { return true }
        if ns.domain == NSPOSIXErrorDomain && (ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT)) { return true }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError { return isDiskFull(underlying) }
        return false
    }

    /// An operational error as an operator reads it: a full disk says which file system and how much
    /// is free; the ledger's own errors name the ledger and the fix; Foundation's file errors name the
    /// path. Anything else keeps its own message.
    package static func explained(_ error: any Error, root: Root) -> any Error {
        if isDiskFull(error) || (LedgerFault(error) == .io && FileSystemSpace.isNearlyFull(root.state)) {
            // SQLite reports a full disk met while sizing its shared-memory file as an I/O error.
            return diskFull(root: root, cause: error)
        }
        if let e = error as? LevyError { return e }
        if let e = error as? LedgerError { return LevyError(.ledgerRefused, e.message) }
        if let fault = LedgerFault(error) { return ledgerError(fault, error, path: root.ledger) }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain, let path = ns.userInfo[NSFilePathErrorKey] as? String {
            switch ns.code {
            case NSFileWriteFileExistsError:
                return LevyError(.pathInTheWay, "\(path) is in the way: levy needs a folder there and found a file",
                                 fix: "move the file away (keep it if it is evidence) and run levy again", file: path)
            case NSFileWriteNoPermissionError, NSFileReadNoPermissionError:
                return LevyError(.permission, "\(path): permission denied", fix: "give the user levy runs as write access to the root's folders", file: path)
            default:
                return LevyError(.system, "\(path): \(ns.localizedDescription)", fix: "check the path and its permissions", file: path)
            }
        }
        return error
    }

    /// The disk holding the root is full: nothing of the unfinished batch was published or archived
    /// (its files are still in the inbox), and the operator is told where the space is missing.
    package static func diskFull(root: Root, cause: any Error) -> LevyError {
        let (mount, free, inodes) = FileSystemSpace.of(root.state)
        let freeText = (free.map { FileSystemSpace.format($0) } ?? "unknown") + (inodes.map { " and room for \($0) more files (inodes)" } ?? "")
        return LevyError(.diskFull, """
            disk full: the file system holding \(root.state) (mounted at \(mount)) has \(freeText) free (\(cause)); \
            nothing of the unfinished batch was published or archived and its files are still in the inbox
            """, fix: """
            free space on \(mount), then run levy again
            """, file: root.state, errno: ENOSPC)
    }

    /// What a ledger error means for the operator.
    static func ledgerError(_ fault: LedgerFault, _ error: any Error, path: String) -> LevyError {
        let what: String, code: Code
        switch fault {
        case .readOnly:
            code = .ledgerReadOnly
            what = "the ledger is read-only — give the user levy runs write access to \(path) and its folder (.levy/), including the -wal and -shm files"
        case .corrupt:
            code = .ledgerCorrupt
            what = "the ledger is damaged or not a levy ledger — stop levy, keep the damaged file as evidence, and restore the last backup (README, \"Backups and restore\"; `levy backup verify FILE` checks one)"
        case .cannotOpen:
            code = .ledgerCannotOpen
            what = "the ledger cannot be opened — check that .levy/ exists, is a folder, and is writable by the user levy runs as"
        case .io:
            code = .ledgerIO
            what = "the disk failed while reading or writing the ledger — check the disk (dmesg), then run levy again; restore the last backup if it keeps failing"
        case .busy:
            code = .ledgerBusy
            what = "the ledger is held by another program (an sqlite3 shell?) — close it and run levy again"
        case .diskFull, .other:
            code = fault == .diskFull ? .diskFull : .ledgerOther
            what = "the ledger refused the change — check the disk, verify the last backup (`levy backup verify`) and report this message"
        }
        return LevyError(code, "\(path): \(error)", fix: what, file: path)
    }
}

/// Free space of the file system a path is on, for the disk-full message.
package enum FileSystemSpace {
    /// The mount point holding `path` (the highest folder on the same device) and the bytes an
    /// unprivileged writer may still use there.
    package static func of(_ path: String) -> (mount: String, free: Int64?, inodes: Int64?) {
        var existing = path
        var st = stat()
        while stat(existing, &st) != 0, existing != "/" { existing = parentFolder(existing) }
        let device = st.st_dev
        var mount = existing
        while mount != "/" {
            let parent = parentFolder(mount)
            var pst = stat()
            guard stat(parent, &pst) == 0, pst.st_dev == device else { break }
            mount = parent
        }
        var vfs = statvfs()
        guard statvfs(existing, &vfs) == 0 else { return (mount, nil, nil) }
        // A file system without an inode limit reports none at all.
        return (mount, Int64(vfs.f_bavail) * Int64(vfs.f_frsize), vfs.f_files > 0 ? Int64(vfs.f_favail) : nil)
    }

    /// Less than 1 MiB or 16 inodes left: what a full disk looks like to an error that does not say so.
    package static func isNearlyFull(_ path: String) -> Bool {
        let (_, free, inodes) = of(path)
        return (free.map { $0 < 1 << 20 } ?? false) || (inodes.map { $0 < 16 } ?? false)
    }

    package static func format(_ bytes: Int64) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes / 1024) KiB"
    }
}
