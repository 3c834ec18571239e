import Foundation

/// Work handed to the machine's other core while this thread goes on with the next file: a day of
/// small files is a few milliseconds of work per file, about half of it in the kernel (creating the
/// receipts' temp files and folders) and in reading and checking the file, neither of which needs
/// the ledger. One serial queue: jobs run one at a time, in the order they were given.
final class SecondCore: @unchecked Sendable {
    private let queue = DispatchQueue(label: "levy.second-core", qos: .userInitiated)
    private let lock = NSLock()
    private var failure: (any Error)?

    /// Runs `job` on the other core after every job given before it. What it throws is kept for
    /// ``drain()``.
    func run(_ job: @escaping @Sendable () throws -> Void) {
        queue.async { [self] in
            do { try job() } catch { lock.withLock { if failure == nil { failure = error } } }
        }
    }

    /// Waits until every job given so far has run; gives the first error among them (once).
    func drain() -> (any Error)? {
        queue.sync {}
        return lock.withLock {
            defer { failure = nil }
            return failure
        }
    }
}
