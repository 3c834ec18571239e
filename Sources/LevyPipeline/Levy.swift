import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// What every job of levy's day works with on one root: its rules, its ledger, its log, the
/// publisher that makes outputs appear, and who is acting (the journal names them).
package final class Workplace: @unchecked Sendable {
    package let root: Root
    package let loaded: LoadedRules
    package let ledger: any Ledger
    package let logger: Logger
    /// Work handed to the other core: the next small files read ahead, a batch's temp files, syncs and renames.
    let background: BackgroundWork
    /// What makes outputs appear and inputs leave the inbox, durably and in batches.
    let publisher: Publisher
    /// Who the journal says did this work: `levy` for automatic work, else the operator of a manual
    /// command (`--operator`).
    var operatorID = "levy"
    /// Which inbox entries may be taken now (`watch` admits only files that stopped changing, declarations
    /// and bank files alike); nil = all.
    package var admits: ((InboxEntry) -> Bool)?
    /// The knobs of how fast levy works (``Tuning``); none changes what a run produces.
    package var tuning = Tuning()

    init(root: Root, loaded: LoadedRules, ledger: any Ledger, logger: Logger) {
        self.root = root
        self.loaded = loaded
        self.ledger = ledger
        self.logger = logger
        background = BackgroundWork()
        publisher = Publisher(root: root, ledger: ledger, background: background)
    }
}

/// One of the jobs the agency names — declaration intake, the bank exchange, the debit cut, the
/// service counter, the day's reports — done at a ``Workplace``. What they share (the journal's
/// entries, notices and receipts, quarantine, the ledger's guards) is written once, on this protocol.
package protocol WorkplaceJob {
    var workplace: Workplace { get }
}

extension WorkplaceJob {
    package var root: Root { workplace.root }
    package var loaded: LoadedRules { workplace.loaded }
    package var ledger: any Ledger { workplace.ledger }
    package var publisher: Publisher { workplace.publisher }
    var logger: Logger { workplace.logger }
    var operatorID: String { workplace.operatorID }
    var tuning: Tuning { workplace.tuning }
}

/// levy on one root: the spine of a run — admit "now", finish what a crash left, take the bank's
/// files, take the declarations, cut debits and mark what fell due, write the day's reports — over
/// the jobs that do each part. `levy run`, `levy watch` and the manual commands all start here.
package final class Levy: WorkplaceJob {
    package let workplace: Workplace
    /// Declarations from `Inbox/declarations/`, checked, accepted or rejected.
    package let intake: DeclarationIntake
    /// Bank returns (pain.002) and notifications (camt.054) from `Inbox/bank/`.
    package let bank: BankExchange
    /// Debit cuts on window days, and what falls due.
    let debitCut: DebitCut
    /// Counter payments, withdrawals, reversals, and the four-eyes requests behind them.
    package let counter: ServiceCounter
    /// The day's summary, arrears, reconciliation and metrics.
    let reporting: DailyReporting

    /// The knobs of how fast levy works (``Workplace/tuning``): tests set them here.
    package var tuning: Tuning {
        get { workplace.tuning }
        set { workplace.tuning = newValue }
    }

    package init(root: Root, loaded: LoadedRules, ledger: any Ledger, logger: Logger) {
        workplace = Workplace(root: root, loaded: loaded, ledger: ledger, logger: logger)
        intake = DeclarationIntake(workplace)
        bank = BankExchange(workplace)
        debitCut = DebitCut(workplace: workplace)
        counter = ServiceCounter(workplace: workplace)
        reporting = DailyReporting(workplace: workplace)
    }

    var background: BackgroundWork { workplace.background }

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
    /// Does all work due now, in this order: "now" admitted (never before the ledger's latest), what a
    /// crash left finished, the Rules in force journaled, the bank's files (their answers decide what
    /// is owed), the declarations, the debit cut and what fell due, the day's reports.
    package func run(now: AgencyTime) throws {
        publisher.beginRun()
        try admit(now: now)
        try publisher.recover()
        try journalRulesInForce(now: now)
        try bank.intakeBankFiles(now: now)
        try intake.intakeDeclarations(now: now)
        try StageClock.measure(.outputs) {
            try debitCut.collect(now: now)
            try reporting.writeDailyReports(now: now)
            try reporting.writeMetrics(now: now, speed: intake.speed)
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

