import Foundation

/// Work handed to the machine's other core while this thread goes on with the next file: a day of
/// small files is a few milliseconds of work per file, about half of it in the kernel (creating the
/// receipts' temp files and folders) and in reading and checking the file, neither of which needs
/// the ledger. Jobs given with ``run(_:)`` run one at a time, in the order they were given; a batch
/// to publish (``publish(unlessFailed:_:)``) waits for them on a thread of its own, as it mostly
/// waits for the disk, and must not hold up the next file's read.
final class BackgroundWork: @unchecked Sendable {
    private let queue = DispatchQueue(label: "levy.background", qos: .userInitiated)
    private let publisher = DispatchQueue(label: "levy.background.publish", qos: .userInitiated)
    private let reader = DispatchQueue(label: "levy.background.read-ahead", qos: .userInitiated)
    private let lock = NSLock()
    private var failure: (any Error)?

    /// Runs `job` on the other core after every job given before it. What it throws is kept for
    /// ``drain()``.
    func run(_ job: @escaping @Sendable () throws -> Void) {
        queue.async { [self] in perform(job) }
    }

    /// Runs `job` (a read ahead, which keeps its own result) on the other core, in order with other
    /// reads but not behind the jobs given with ``run(_:)``: the intake waits for the next file's read,
    /// and it must not wait behind the staging of the file before it as well (temp files and folders
    /// made in the kernel, the slowest job of the other core).
    func readAhead(_ job: @escaping @Sendable () -> Void) {
        reader.async(execute: job)
    }

    /// Runs `job` once every job given with ``run(_:)`` so far has run, unless one of them (or an
    /// earlier `job`) failed since the last ``drain()``: then `otherwise` runs instead (a batch whose
    /// outputs could not all be staged is not published). Such jobs run one at a time, in order.
    func publish(unlessFailed otherwise: @escaping @Sendable () -> Void, _ job: @escaping @Sendable () throws -> Void) {
        let ready = DispatchSemaphore(value: 0)
        queue.async { ready.signal() }
        publisher.async { [self] in
            ready.wait()
            guard lock.withLock({ failure == nil }) else { return otherwise() }
            perform(job)
        }
    }

    /// Waits until every job given so far has run; gives the first error among them (once).
    func drain() -> (any Error)? {
        queue.sync {}
        publisher.sync {}
        return lock.withLock {
            defer { failure = nil }
            return failure
        }
    }

    private func perform(_ job: () throws -> Void) {
        do { try job() } catch { lock.withLock { if failure == nil { failure = error } } }
    }
}
