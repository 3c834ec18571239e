import Foundation
import LevyDomain

/// One small CSV file of the inbox read and checked on the other core (``Levy/lookahead(_:now:)``)
/// while the file before it goes through the ledger: opened as the intake opens a file (a regular
/// file, never through a symlink), scanned, and checked up to what only the ledger knows. Whether it
/// is a duplicate, the rosters and the locks are asked in its turn, on the intake's thread, after
/// every file before it is in the ledger. Reading has no effect, so a file read ahead and then not
/// taken (not yet complete in a watch, or a stop) is only let go.
final class Lookahead: @unchecked Sendable {
    let entry: InboxEntry
    /// When the read began (the file's processing-latency metric starts here).
    let started = DispatchTime.now()
    private let fileCheck: DeclarationFileCheck
    private let employer: Employer
    private let group = DispatchGroup()
    /// Written by the other core before it leaves `group`; read only after it.
    private var fd: Int32 = -1
    private var result: Result<(scanned: ScannedFile, outcome: DeclarationFileCheck.Outcome), any Error>?
    private var handedOver = false

    init(entry: InboxEntry, fileCheck: DeclarationFileCheck, employer: Employer) {
        self.entry = entry
        self.fileCheck = fileCheck
        self.employer = employer
        group.enter()
    }

    /// On the other core. Leaves no result when the file is gone, not a regular file, or no longer
    /// small: the intake then takes it the usual way and says why.
    func read() {
        defer { group.leave() }
        var st = stat()
        guard lstat(entry.path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return }
        guard let (opened, size) = openRegularFile(entry.path) else { return }
        guard ReadingPlan.readsAhead(size: size, fileCheck: fileCheck) else {
            close(opened)
            return
        }
        fd = opened
        result = Result {
            let scanned = try scanFile(fd: opened)
            let outcome = try fileCheck.check(fd: opened, name: entry.name, scanned: scanned, folderEmployer: employer,
                                              completing: false)
            return (scanned, outcome)
        }
    }

    /// Waits for the read and hands over the open file (the caller closes it), its scan and its check;
    /// nil when there is nothing read ahead to use.
    func take() throws -> (fd: Int32, scanned: ScannedFile, outcome: DeclarationFileCheck.Outcome)? {
        group.wait()
        guard !handedOver, let result else { return nil }
        handedOver = true
        do {
            let read = try result.get()
            return (fd, read.scanned, read.outcome)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Waits for the read and lets the file go (not admitted, or the intake stopped).
    func discard() {
        group.wait()
        if !handedOver && fd >= 0 { close(fd) }
        handedOver = true
    }
}
