import Foundation
import LevyDomain
import Logging
import ServiceLifecycle
import Synchronization

/// `levy watch` as a swift-service-lifecycle `Service`: looks at the inboxes whenever inotify says
/// something arrived (and every `interval` seconds as the safety net), takes the files that are
/// complete, and cuts debit files when their time comes — the same `Levy.run` as `levy run`.
///
/// Graceful shutdown (SIGTERM/SIGINT through a `ServiceGroup`, or task cancellation) finishes the
/// file in hand and starts no other. The work itself is blocking file and SQLite I/O, so it runs on
/// a thread of its own rather than on one of the few threads of Swift's cooperative pool.
package final class WatchService: Service, Sendable {
    package let root: Root
    package let loaded: LoadedRules
    package let interval: Double
    /// `--as-of`: the watch pretends it is always this time (drills and tests).
    package let fixedNow: AgencyTime?
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    package init(root: Root, loaded: LoadedRules, interval: Double, fixedNow: AgencyTime?, logger: Logger) {
        self.root = root
        self.loaded = loaded
        self.interval = interval
        self.fixedNow = fixedNow
        self.logger = logger
    }

    package func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [self] in
                    do {
                        try watchUntilStopped()
                        done.resume()
                    } catch {
                        done.resume(throwing: error)
                    }
                }
                thread.name = "levy-watch"
                thread.start()
            }
        } onCancelOrGracefulShutdown: { [self] in
            requestStop()
        }
    }

    /// Finish the file in hand, start no other, leave the loop.
    package func requestStop() {
        if !stopping.exchange(true, ordering: .relaxed) {
            logger.info("stop requested: finishing the file in hand, starting no other")
        }
    }

    private var stopRequested: Bool { stopping.load(ordering: .relaxed) }

    /// The watch loop. The root lock is taken per look, not for the watch's life: `levy pay`,
    /// `withdraw` or a manual `run` can work between two looks, and a look waits for them by
    /// skipping a turn.
    private func watchUntilStopped() throws {
        var levy: Levy?
        var previous: [String: String] = [:]
        var busySince: String?
        try root.prepare()
        // inotify wakes the watch when a file arrives; the interval stays as the safety net.
        let watcher = InboxWatcher(inboxes: [root.declarationsInbox, root.bankInbox])
        var unstable = false
        logger.info("watching", metadata: ["root": "\(root.path)", "inotify": "\(watcher != nil)"])
        while !stopRequested {
            let (lock, holder) = try RootLock.acquire(root)
            if let lock {
                busySince = nil
                try withExtendedLifetime(lock) {
                    let current = try levy ?? Levy.start(root: root, loaded: loaded, logger: logger)
                    levy = current
                    let seen = Self.inboxFingerprints(root)
                    let renamedIn = watcher?.take() ?? []
                    var taken = Set<String>()
                    // Complete: the same size and mtime on two looks, renamed in, or a .done marker.
                    // After a stop request the file in hand is finished and no other is started.
                    current.workplace.admits = { [self] entry in
                        let complete = previous[entry.path] == "\(entry.size):\(entry.mtime)" || renamedIn.contains(entry.path)
                            || FileManager.default.fileExists(atPath: entry.path + ".done")
                        let take = complete && !stopRequested
                        if take { taken.insert(entry.path) }
                        return take
                    }
                    try current.run(now: fixedNow ?? current.loaded.clock.now)
                    // Files seen but not yet stable: look again soon rather than after the whole interval.
                    unstable = seen.keys.contains { !taken.contains($0) }
                    previous = seen
                }
            } else if busySince != holder {
                busySince = holder
                logger.info("root busy: another levy is working on it; next look in \(interval) s", metadata: ["pid": "\(holder)"])
            }
            // Sleep in short slices so a stop is noticed at once; an inbox event ends the sleep early.
            let pause = unstable ? min(interval, 0.5) : interval
            var slept = 0.0
            while slept < pause && !stopRequested {
                if let watcher {
                    if watcher.wait(timeout: 0.1) { break }
                } else {
                    usleep(100_000)
                }
                slept += 0.1
            }
        }
        logger.info("stopped cleanly")
    }

    /// Size and mtime of every file in the inboxes, to tell a file still being written from a complete one.
    static func inboxFingerprints(_ root: Root) -> [String: String] {
        var result: [String: String] = [:]
        for dir in [root.declarationsInbox, root.bankInbox] {
            let (folders, strays) = listInbox(dir)
            for e in folders.values.flatMap({ $0 }) + strays { result[e.path] = "\(e.size):\(e.mtime)" }
        }
        return result
    }
}
