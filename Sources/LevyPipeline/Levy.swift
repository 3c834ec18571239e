import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// The pipeline over one root: intake, collection, bank exchange and reporting, on one ledger.
package final class Levy {
    package let root: Root
    package let loaded: LoadedRules
    package let ledger: any Ledger
    package let logger: Logger
    /// Which inbox entries may be taken now (`watch` admits only files that stopped changing); nil = all.
    package var admit: ((InboxEntry) -> Bool)?
    /// The knobs of how fast levy works (``Tuning``); none changes what a run produces.
    package var tuning = Tuning() { didSet { publisher.batchSize = tuning.batchSize } }
    /// Draw a progress bar for large files (the command line sets it; nothing is drawn unless stderr is a terminal).
    package var showsProgress = false
    /// Work handed to the other core: the next small files read ahead, a batch's temp files, syncs and renames.
    let background: BackgroundWork
    /// What makes outputs appear and inputs leave the inbox, durably and in batches.
    let publisher: Publisher
    /// What the speed machinery did in this process (written to the metrics with each run).
    package internal(set) var speed = SpeedCounters()
    /// Who the journal says did this levy's work: `levy` for automatic work, else the operator of a
    /// manual command (`--operator`).
    package var operatorID = "levy"
    /// When the file in hand was opened (for the processing-latency metric).
    var fileStarted = DispatchTime.now()

    package init(root: Root, loaded: LoadedRules, ledger: any Ledger, logger: Logger) {
        self.root = root
        self.loaded = loaded
        self.ledger = ledger
        self.logger = logger
        background = BackgroundWork()
        publisher = Publisher(root: root, ledger: ledger, background: background)
    }

    /// Opens a root for work: checks Rules (before anything is touched), prepares folders, opens the ledger.
    /// Callers that work on the root take the ``RootLock`` between the two (see ``start(root:loaded:logger:)``).
    /// - Throws: ``RulesError`` for bad rules, ``LevyError`` when the ledger cannot be opened.
    package static func start(root: Root, logger: Logger) throws -> Levy {
        try start(root: root, loaded: try RulesLoader.load(from: root.rules), logger: logger)
    }

    /// Prepares folders and opens (migrating) the ledger with rules already checked. Call it holding the lock:
    /// two first starts must not migrate the same ledger at once.
    package static func start(root: Root, loaded: LoadedRules, logger: Logger) throws -> Levy {
        try root.prepare()
        try LedgerGuard.checkBeforeOpening(root)
        let ledger: any Ledger
        do { ledger = try LedgerStore.open(.ledgerFile(root.ledger)) } catch { throw LevyError.explained(error, root: root) }
        try LedgerGuard.checkAfterOpening(root, ledger: ledger)
        return Levy(root: root, loaded: loaded, ledger: ledger, logger: logger)
    }

    /// The agency's "now": `--as-of` or the clock.
    package func now(asOf: String?) throws -> AgencyTime { try loaded.now(asOf: asOf) }

    /// Compiles every ISO 20022 schema of the bank exchange (`levy rules check`); returns their names.
    package static func compileBankSchemas() throws -> [String] {
        try BankSchemas.Kind.allCases.map { kind in
            _ = try schema(kind)
            return kind.rawValue
        }
    }

    /// An ISO 20022 schema, compiled on first use.
    /// - Throws: ``LevyError`` when it does not compile: the debit file or bank file that needed it is
    ///   neither sent nor read, and levy stops (exit 1).
    package static func schema(_ kind: BankSchemas.Kind) throws -> XMLSchema {
        do { return try BankSchemas.schema(kind) } catch {
            throw LevyError(.schema, "the ISO 20022 schema \(error) does not compile: levy will not send or read a bank file it cannot check", fix: "reinstall levy from a clean build")
        }
    }
}

extension LoadedRules {
    /// The agency's "now": `--as-of` or the clock.
    package func now(asOf: String?) throws -> AgencyTime {
        guard let asOf else { return clock.now }
        guard let t = clock.parseAsOf(asOf) else {
            throw LevyError(.badArgument, "--as-of '\(asOf)' is not a date-time", fix: "write it like 2026-11-10T16:59:00 (agency time, \(rules.timezone))")
        }
        return t
    }
}

extension Levy {
    /// Does all work due now: recovery, bank returns, declarations, collection, reports.
    package func run(now: AgencyTime) throws {
        publisher.beginRun()
        try admit(now: now)
        try publisher.recover()
        try journalRulesInForce(now: now)
        try intakeBankFiles(now: now)
        try intakeDeclarations(now: now)
        try StageClock.measure(.outputs) {
            try collect(now: now)
            try writeDailyReports(now: now)
            try writeMetrics(now: now)
        }
        try LedgerGuard.note(root, ledger: ledger, at: now)
    }
}

/// One levy at a time per root: an advisory lock the kernel releases when the process dies,
/// so a crashed run never leaves a stale lock behind.
package final class RootLock {
    let fd: Int32
    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, or returns nil (with the holder's pid) when another levy holds it.
    package static func acquire(_ root: Root, wait: Bool = false) throws -> (lock: RootLock?, holder: String) {
        try FileManager.default.createDirectory(atPath: root.state, withIntermediateDirectories: true)
        let fd = open(root.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LevyError.system("cannot open the lock file", root.lock, fix: "check permissions of .levy/ and free space") }
        if flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buf, 64, 0)
            close(fd)
            return (nil, n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimming(" \n") : "?")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pwrite(fd, pid, pid.count, 0)
        return (RootLock(fd: fd), "")
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

