import ArgumentParser
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import ServiceLifecycle
import UnixSignals

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Do all work due now (returns, declarations, debit cuts, notices, reports), then exit.")
    @OptionGroup var options: RootOptions
    @Option(name: .customLong("as-of"), help: "Fix \"now\" in the agency's timezone, e.g. 2026-11-10T16:59:00.")
    var asOf: AsOf?
    @Flag(help: "Print the day's summary as JSON.")
    var json = false
    @Flag(help: "Print wall and CPU time and peak memory to stderr at the end.")
    var stats = false

    func run() throws {
        let root = options.levyRoot
        try withStats(stats) {
            try failing(root) {
                let loaded = try loadRules(root)
                let now = try loaded.now(asOf: asOf)
                let (lock, holder) = try RootLock.acquire(root)
                guard let lock else {
                    print("levy: another levy (pid \(holder)) is working on \(root.path); nothing done — it will pick up everything")
                    return
                }
                try withExtendedLifetime(lock) {
                    let levy = try Levy.start(root: root, loaded: loaded, logger: options.logger())
                    levy.intake.showsProgress = options.logFormat == .text
                    try levy.run(now: now)
                }
                if json, let data = FileManager.default.contents(atPath: root.path("Outbox/reports/summary-\(now.date).json")) {
                    writeAll(1, data)
                }
            }
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Process new files as they arrive and cut debits at batch times; SIGINT/SIGTERM stop cleanly.")
    @OptionGroup var options: RootOptions
    @Option(help: "Seconds between two looks at the inbox.")
    var interval: Double = 2
    @Option(help: "Pretend it is this agency time for the whole watch (drills and tests), e.g. 2026-11-06T17:30:00.")
    var asOf: AsOf?

    func run() async throws {
        let root = options.levyRoot
        // A parent may hand us a mask with these blocked (seen with Foundation's Process): unblock them
        // so the service group's signal sources hear them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        let logger = options.logger()
        let (loaded, fixedNow) = try failing(root) {
            let loaded = try loadRules(root)
            return (loaded, try asOf.map { try loaded.now(asOf: $0) })
        }
        let service = WatchService(root: root, loaded: loaded, interval: interval, fixedNow: fixedNow, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            _ = try failing(root) { throw error }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What is pending, debited, paid, overdue, per period.")
    @OptionGroup var options: RootOptions
    @Option(help: "Only this period (YYYY-MM).")
    var period: Period?
    @Flag(help: "Print JSON.")
    var json = false
    @Option(name: .customLong("as-of"), help: "Fix \"now\" (agency time) for the next cut.") var asOf: AsOf?

    func run() throws {
        let root = options.levyRoot
        try failing(root) {
            let loaded = try loadRules(root)
            let now = try loaded.now(asOf: asOf)
            let ledger = FileManager.default.fileExists(atPath: root.ledger) ? try LedgerStore.open(.ledgerFile(root.ledger), readOnly: true) : nil
            let report = try StatusReport.of(root: root, loaded: loaded, ledger: ledger, period: period, now: now)
            if json { writeAll(1, jsonBytes(report)) } else { print(report.text(period: period), terminator: "") }
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate declaration files without keeping anything (exit 0 accepted, 3 rejected).")
    @OptionGroup var options: RootOptions
    @Argument(help: "Declaration files (.csv or .xml).") var files: [String]
    @Option(help: "Check as if dropped in this employer's folder.") var employer: String?
    @Option(name: .customLong("as-of"), help: "Fix \"now\" (agency time).") var asOf: AsOf?
    @Flag(help: "Print the reports as JSON.") var json = false
    @Flag(help: "Print wall and CPU time and peak memory to stderr at the end.") var stats = false

    func run() throws {
        let root = options.levyRoot
        let rejected: Bool = try withStats(stats) {
            try failing(root) {
                let loaded = try loadRules(root)
                let ledger = FileManager.default.fileExists(atPath: root.ledger) ? try LedgerStore.open(.ledgerFile(root.ledger), readOnly: true) : nil
                let now = try loaded.now(asOf: asOf)
                let folderEmployer = try FileCheck.folderEmployer(employer, rules: loaded.rules)
                var anyRejected = false
                for file in files {
                    let result = try FileCheck.of(path: file, loaded: loaded, ledger: ledger, now: now, folderEmployer: folderEmployer, showsProgress: !json)
                    if json { writeAll(1, jsonBytes(result)) } else { print(result.text, terminator: "") }
                    anyRejected = anyRejected || !result.accepted
                }
                return anyRejected
            }
        }
        if rejected { throw ExitCode(3) }
    }
}
