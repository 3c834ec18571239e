import Foundation
import LevyLedger

/// A failure of levy itself (exit 1): what is wrong, where, and what to do.
///
/// `errno` is kept when a system call failed, so that a full disk is told apart from a permission
/// problem wherever it surfaced (``explained(_:root:)``).
package struct LevyError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package let errno: Int32?
    package init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }
    package var description: String { message }

    /// A system call's failure on `path`: the call's reason, and what to do.
    package static func system(_ what: String, _ path: String, errno code: Int32 = Glibc.errno, fix: String) -> LevyError {
        LevyError("\(what) \(path): \(String(cString: strerror(code))) — \(fix)", errno: code)
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
        if let e = error as? LedgerError { return LevyError(e.message) }
        if let fault = LedgerFault(error) { return ledgerError(fault, error, path: root.ledger) }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain, let path = ns.userInfo[NSFilePathErrorKey] as? String {
            switch ns.code {
            case NSFileWriteFileExistsError:
                return LevyError("\(path) is in the way: levy needs a folder there and found a file — move the file away (keep it if it is evidence) and run levy again")
            case NSFileWriteNoPermissionError, NSFileReadNoPermissionError:
                return LevyError("\(path): permission denied — give the user levy runs as write access to the root's folders")
            default:
                return LevyError("\(path): \(ns.localizedDescription) — check the path and its permissions")
            }
        }
        return error
    }

    /// The disk holding the root is full: nothing of the unfinished batch was published or archived
    /// (its files are still in the inbox), and the operator is told where the space is missing.
    package static func diskFull(root: Root, cause: any Error) -> LevyError {
        let (mount, free, inodes) = FileSystemSpace.of(root.state)
        let freeText = (free.map { FileSystemSpace.format($0) } ?? "unknown") + (inodes.map { " and room for \($0) more files (inodes)" } ?? "")
        return LevyError("""
            disk full: the file system holding \(root.state) (mounted at \(mount)) has \(freeText) free (\(cause)) — \
            nothing of the unfinished batch was published or archived and its files are still in the inbox; \
            free space on \(mount), then run levy again
            """, errno: ENOSPC)
    }

    /// What a ledger error means for the operator.
    static func ledgerError(_ fault: LedgerFault, _ error: any Error, path: String) -> LevyError {
        let what: String
        switch fault {
        case .readOnly:
            what = "the ledger is read-only — give the user levy runs write access to \(path) and its folder (.levy/), including the -wal and -shm files"
        case .corrupt:
            what = "the ledger is damaged or not a levy ledger — stop levy, keep the damaged file as evidence, and restore the last backup (README, \"Backups and restore\"; `levy backup verify FILE` checks one)"
        case .cannotOpen:
            what = "the ledger cannot be opened — check that .levy/ exists, is a folder, and is writable by the user levy runs as"
        case .io:
            what = "the disk failed while reading or writing the ledger — check the disk (dmesg), then run levy again; restore the last backup if it keeps failing"
        case .busy:
            what = "the ledger is held by another program (an sqlite3 shell?) — close it and run levy again"
        case .diskFull, .other:
            what = "the ledger refused the change — check the disk, verify the last backup (`levy backup verify`) and report this message"
        }
        return LevyError("\(path): \(error): \(what)")
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
