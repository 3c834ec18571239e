import ArgumentParser
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Logging
import ServiceLifecycle
import UnixSignals

@main
struct LevyCommand: AsyncParsableCommand {
    /// Everything levy creates is readable by its group at most (outbox 0640, ledger 0600). A log
    /// reader that goes away (`levy run 2>&1 | head`) costs the rest of the log, never the run:
    /// a write to a closed pipe fails with EPIPE instead of killing levy mid-file.
    static func main() async {
        umask(0o027)
        signal(SIGPIPE, SIG_IGN)
        await Self.main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "levy",
        abstract: "Social-insurance contribution collection: declarations in, receipts, debits and notices out.",
        subcommands: [Run.self, Watch.self, Status.self, Pay.self, Withdraw.self, Check.self, RulesCommand.self, Backup.self, Audit.self, Reverse.self, Approve.self, Refuse.self, Approvals.self, StatementCommand.self])
}

struct RootOptions: ParsableArguments {
    @Option(help: "The levy root (Inbox/, Outbox/, Rules/, .levy/).")
    var root: String = FileManager.default.currentDirectoryPath
    @Option(help: "Log lines as text (people) or json (one object per line, for log shippers).")
    var logFormat: LogFormat = .text

    mutating func validate() throws { levy.logFormat = logFormat }
}

/// Runs a body, turning levy's own failures into exit 1 with a message that says what is wrong,
/// where, and what to do (a full disk, the ledger's errors and file-system errors explained for
/// the root's operator).
func failing<T>(_ root: Root? = nil, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode {
        throw e
    } catch let e as RulesError {
        writeAll(2, "levy: bad rule: \(e)\n".utf8)
        throw ExitCode(1)
    } catch {
        let shown = root.map { LevyError.explained(error, root: $0) } ?? error
        writeAll(2, "levy: \(shown)\n".utf8)
        throw ExitCode(1)
    }
}

/// `--as-of`: a date-time in the agency's timezone (`2026-11-10T16:59:00`, `…T16:59` or a day).
/// A value that is not one is bad usage (exit 64), said before anything is opened.
struct AsOf: ExpressibleByArgument {
    let text: String
    init?(argument: String) {
        guard AgencyClock.wallClock(argument) != nil else { return nil }
        text = argument
    }
}

extension LoadedRules {
    func now(asOf: AsOf?) throws -> AgencyTime { try now(asOf: asOf?.text) }
}

/// Checks and loads Rules/; from then on the log's times are the agency's.
func loadRules(_ root: Root) throws -> LoadedRules {
    let loaded = try RulesLoader.load(from: root.rules)
    LogClock.use(loaded.clock.timeZone)
    return loaded
}

/// How levy logs: `text` for people at a terminal, `json` (one object per line) for log shippers.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

nonisolated(unsafe) var logFormat = LogFormat.text

func makeLogger() -> Logger {
    var logger = Logger(label: "levy") { label -> any LogHandler in
        LogLineHandler(label: label, form: logFormat == .json ? .json : .text)
    }
    logger.logLevel = ProcessInfo.processInfo.environment["LEVY_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

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
        let start = DispatchTime.now()
        if stats { StageClock.enable() }
        defer { if stats { writeAll(2, (ProcessStats.since(start).line + "\n" + StageClock.line + "\n").utf8) } }
        let root = Root(path: options.root)
        try failing(root) {
            let loaded = try loadRules(root)
            let now = try loaded.now(asOf: asOf)
            let (lock, holder) = try RootLock.acquire(root)
            guard let lock else {
                print("levy: another levy (pid \(holder)) is working on \(root.path); nothing done — it will pick up everything")
                return
            }
            try withExtendedLifetime(lock) {
                let levy = try Levy.start(root: root, loaded: loaded, logger: makeLogger())
                levy.showsProgress = logFormat == .text
                try levy.run(now: now)
            }
            let summary = root.path("Outbox/reports/summary-\(now.date).json")
            if json, let data = FileManager.default.contents(atPath: summary) {
                writeAll(1, data)
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
        let root = Root(path: options.root)
        // A parent may hand us a mask with these blocked (seen with Foundation's Process): unblock them
        // so the service group's signal sources hear them.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        let logger = makeLogger()
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
    var period: String?
    @Flag(help: "Print JSON.")
    var json = false
    @Option(name: .customLong("as-of"), help: "Fix \"now\" (agency time) for the next cut.") var asOf: AsOf?

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            let loaded = try loadRules(root)
            let now = try loaded.now(asOf: asOf)
            let ledger = FileManager.default.fileExists(atPath: root.ledger) ? try LedgerStore.open(.ledgerFile(root.ledger), readOnly: true) : nil
            let report = try StatusReport.of(root: root, loaded: loaded, ledger: ledger, period: period, now: now)
            if json { writeAll(1, jsonBytes(report)) } else { print(report.text(period: period), terminator: "") }
        }
    }
}

/// The options every manual money operation takes (SPEC §10): who does it, and when.
struct ManualOptions: ParsableArguments {
    @Option(name: .customLong("as-of"), help: "When it happened (agency time), e.g. 2026-11-12T10:00:00.") var asOf: AsOf?
    @Option(help: "The operator doing it (Rules/operators.csv; the journal names them).") var `operator`: String?
}

/// Runs a manual operation under the root's lock (waiting for a running watch's look): the operator
/// checked against Rules/operators.csv (unknown or missing: exit 64), the work done as `--as-of`,
/// and what happened printed: the work's result, or the request that waits for approval.
func manualCommand(_ options: RootOptions, _ manual: ManualOptions, what: String,
                   _ body: (Levy, AgencyTime) throws -> ManualOutcome) throws {
    let root = Root(path: options.root)
    try failing(root) {
        let loaded = try loadRules(root)
        if let operators = loaded.operators {
            guard let id = manual.operator else {
                writeAll(2, "levy: --operator is required: Rules/operators.csv lists who may do manual operations — give your operator id\n".utf8)
                throw ExitCode(64)
            }
            guard operators[id] != nil else {
                writeAll(2, "levy: unknown operator '\(id)': not in Rules/operators.csv — check the id, or ask a supervisor to add the operator\n".utf8)
                throw ExitCode(64)
            }
        }
        let now = try loaded.now(asOf: manual.asOf)
        let (lock, holder) = try RootLock.acquire(root, wait: true)
        guard let lock else { throw LevyError("another levy (pid \(holder)) holds \(root.path)") }
        let outcome = try withExtendedLifetime(lock) {
            try body(try Levy.start(root: root, loaded: loaded, logger: makeLogger()).manual(by: manual.operator), now)
        }
        switch outcome {
        case .done(let result): print("\(what): \(result)")
        case .requested(let id):
            print("request \(id): \(what) waits for a second operator's approval — levy approve \(id) --operator ID (or levy refuse \(id) --operator ID --reason …)")
        }
    }
}

struct Pay: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record a payment made at the service counter (contributions plus late fee as of that day).")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "Employer (unified social credit code).") var employer: String
    @Argument(help: "Period, YYYY-MM.") var period: String
    @Option(help: "Amount paid in yuan, e.g. 1234.56.") var amount: String

    func run() throws {
        try manualCommand(options, manual, what: "paid: receipt") { levy, now in
            try levy.payAtCounter(employer: employer.uppercased(), period: period, amount: amount, now: now)
        }
    }
}

struct Withdraw: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a declaration, only while no debit is in flight or paid.")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "Employer (unified social credit code).") var employer: String
    @Argument(help: "Period, YYYY-MM.") var period: String

    func run() throws {
        try manualCommand(options, manual, what: "withdrawn") { levy, now in
            try levy.withdraw(employer: employer.uppercased(), period: period, now: now)
        }
    }
}

struct Reverse: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Undo a counter payment recorded in error (冲正): the declaration is owed again.")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "The payment receipt's number, RP-<declaration id>.") var receiptNo: String
    @Option(help: "Why the payment was recorded in error.") var reason: String

    func run() throws {
        try manualCommand(options, manual, what: "reversed: receipt") { levy, now in
            try levy.reverse(receiptNo: receiptNo, reason: reason, now: now)
        }
    }
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve another operator's request (reviewer or supervisor; supervisor for reversals).")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "The request's id, REQ-…") var request: String

    func run() throws {
        try manualCommand(options, manual, what: "approved \(request), done") { levy, now in try levy.approve(request, now: now) }
    }
}

struct Refuse: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Refuse another operator's request, saying why.")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "The request's id, REQ-…") var request: String
    @Option(help: "Why it is refused (the clerk is told).") var reason: String

    func run() throws {
        try manualCommand(options, manual, what: "refused") { levy, now in .done(try levy.refuse(request, reason: reason, now: now)) }
    }
}

struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the requests waiting for approval.")
    @OptionGroup var options: RootOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            _ = try loadRules(root)
            let pending = try JournalReport.ledger(root).requests(state: .pending)
            if json {
                writeAll(1, JournalReport.requestsJSON(pending))
            } else if pending.isEmpty {
                print("No requests wait for approval.")
            } else {
                for r in pending {
                    print("\(r.id)\t\(r.kind)\t\(r.subject)\t\(r.payload)\trequested by \(r.requestedBy) at \(r.requestedAt)")
                }
            }
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
        let start = DispatchTime.now()
        if stats { StageClock.enable() }
        defer { if stats { writeAll(2, (ProcessStats.since(start).line + "\n" + StageClock.line + "\n").utf8) } }
        let root = Root(path: options.root)
        let rejected: Bool = try failing(root) {
            let loaded = try loadRules(root)
            let ledger: (any Ledger)? = FileManager.default.fileExists(atPath: root.ledger) ? try LedgerStore.open(.ledgerFile(root.ledger), readOnly: true) : nil
            let now = try loaded.now(asOf: asOf)
            var folderEmployer: Employer?
            if let employer {
                guard let e = loaded.rules.employer(employer.uppercased()) else {
                    throw LevyError("--employer \(employer) is not in Rules/employers.csv — check the credit code")
                }
                folderEmployer = e
            }
            var anyRejected = false
            for file in files {
                let result = try checkFile(file, loaded: loaded, ledger: ledger, now: now, folderEmployer: folderEmployer)
                anyRejected = anyRejected || !result
            }
            return anyRejected
        }
        if rejected { throw ExitCode(3) }
    }

    func checkFile(_ path: String, loaded: LoadedRules, ledger: (any Ledger)?, now: AgencyTime, folderEmployer: Employer?) throws -> Bool {
        let name = (path as NSString).lastPathComponent
        var st = stat()
        guard lstat(path, &st) == 0 else { throw LevyError("\(path): no such file — give the path of a declaration") }
        var fileCheck = DeclarationFileCheck(rules: loaded.rules, schema: loaded.declarationSchema, now: now, ledger: ledger)
        fileCheck.showsProgress = !json
        fileCheck.validationAsideBytes = 1 << 20
        var findings = FindingList()
        var outcome: DeclarationFileCheck.Outcome?
        var sha = ""
        if (st.st_mode & S_IFMT) != S_IFREG {
            findings.add(Finding(code: .fileType, value: name, message: "不是普通文件（符号链接或特殊文件）/ Not a regular file: give the file itself"))
        } else {
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { throw LevyError("\(path): cannot open (\(String(cString: strerror(errno))))") }
            defer { close(fd) }
            let (scanned, checked) = try fileCheck.scanAndCheck(fd: fd, name: name, folderEmployer: folderEmployer) { _ in true }
            let settled = try fileCheck.settle(checked!, fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer)
            sha = scanned.sha256
            outcome = settled
            findings = settled.check.findings
        }
        let accepted = !findings.hasErrors
        let report = RejectionReport(file: name, sha256: sha, employerID: outcome?.check.employer?.id.text,
                                     period: outcome?.check.period?.description, receivedAt: now.iso8601, findings: findings,
                                     encoding: outcome?.encoding)
        if json {
            writeAll(1, Data(jsonBytes(CheckResult(accepted: accepted, report: report,
                                                                       totals: outcome.map { CheckTotals($0.check.totals) }))))
        } else if accepted, let check = outcome?.check {
            print("\(name): 可以受理 accepted — \(check.totals.headcount) 人 persons, 缴费基数 wage base \(Yuan.format(check.totals.totalBaseFen)), 应缴 total \(Yuan.format(check.totals.totalFen)) (单位 employer \(Yuan.format(check.totals.employerFen)), 个人 employee \(Yuan.format(check.totals.employeeFen)))")
            for w in findings.warnings { print("  " + w.textLine) }
        } else {
            print(report.text)
        }
        return accepted
    }
}

struct CheckTotals: Encodable {
    var headcount: Int
    var totalWageBaseFen: Int64
    var employerFen: Int64
    var employeeFen: Int64
    var totalFen: Int64
    init(_ t: ContributionTotals) {
        headcount = t.headcount
        totalWageBaseFen = t.totalBaseFen
        employerFen = t.employerFen
        employeeFen = t.employeeFen
        totalFen = t.totalFen
    }
    enum CodingKeys: String, CodingKey {
        case headcount, totalWageBaseFen = "total_wage_base_fen", employerFen = "employer_fen", employeeFen = "employee_fen", totalFen = "total_fen"
    }
}

struct CheckResult: Encodable {
    var accepted: Bool
    var report: RejectionReport
    var totals: CheckTotals?
}

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Work with Rules/.", subcommands: [RulesCheck.self])
}

struct RulesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate Rules/ and print the parameters in force per period.")
    @OptionGroup var options: RootOptions

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            let loaded = try loadRules(root)
            let r = loaded.rules
            // The bank exchange's schemas too: a levy that could not check a debit file should say so now.
            let schemas = try Levy.compileBankSchemas()
            print("Rules OK — \(r.agencyName) (\(r.creditorID)), timezone \(r.timezone)")
            print("cutoff: day \(r.schedule.cutoffDay) at \(r.schedule.cutoffTime); debit window from day \(r.schedule.debitWindowFirstDay); late fee \(r.lateFeeDailyRate) a day; rounding \(r.rounding.rawValue); retry \(r.retryReasons.sorted().joined(separator: ",")); banks answer within \(loaded.answerWithinDays) working days")
            print("ISO 20022 schemas: " + schemas.joined(separator: ", ") + " compiled")
            print("employers: \(r.employers.count) (\(r.employers.values.filter { $0.mandate != nil }.count) with a debit mandate); banks: \(r.banks.keys.sorted().joined(separator: ", "))")
            for (i, p) in r.periods.enumerated() {
                let until = i + 1 < r.periods.count ? "until \(r.periods[i + 1].from.adding(months: -1))" : "onwards"
                print("")
                print("periods from \(p.from) \(until):")
                print("  wage base floor \(Yuan.format(p.floor)), ceiling \(Yuan.format(p.ceiling)), below floor: \(p.belowFloor.rawValue)")
                print("  pension \(p.pension.employer) / \(p.pension.employee); medical \(p.medical.employer) / \(p.medical.employee); unemployment \(p.unemployment.employer) / \(p.unemployment.employee); maternity \(p.maternity)")
                print("  work injury by class: " + p.workInjury.keys.sorted().map { "\($0): \(p.workInjury[$0]!)" }.joined(separator: ", "))
                let due = r.schedule.dueDay(of: p.from)
                print("  \(p.from): due \(due) \(r.schedule.cutoffTime); debit window \(r.schedule.debitWindow(of: p.from).map(\.description).joined(separator: ", "))")
            }
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the ledger consistently while levy works, with a manifest (README, \"Backups and restore\").",
        subcommands: [BackupTake.self, BackupVerify.self], defaultSubcommand: BackupTake.self)
}

struct BackupTake: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "take", abstract: "Copy the ledger into a folder, with its manifest.")
    @OptionGroup var options: RootOptions
    @Option(help: "The folder the copy goes to (best on another disk).") var to: String
    @Option(name: .customLong("as-of"), help: "Name the copy by this agency time instead of the clock's.") var asOf: AsOf?

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            let loaded = try loadRules(root)
            let (path, manifest) = try LedgerBackup.take(root: root, to: to, now: try loaded.now(asOf: asOf))
            print("backup: \(path) (\(manifest.bytes) bytes, sha256 \(manifest.sha256), \(manifest.counts.declarations) declarations, ledger version \(manifest.counts.schemaVersion))")
        }
    }
}

struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check a copy against its manifest (exit 0 good, 1 not).")
    @Argument(help: "The copy (levy-ledger-….sqlite).") var file: String

    func run() throws {
        try failing {
            let manifest = try LedgerBackup.verify(file)
            print("backup OK: \(file) taken \(manifest.takenAt), sha256 \(manifest.sha256), \(manifest.counts.declarations) declarations, \(manifest.counts.outputs) outputs, ledger version \(manifest.counts.schemaVersion)")
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The journal of business state changes (SPEC §10).",
                                                    subcommands: [AuditVerify.self, AuditLog.self, AuditReview.self])
}

struct StatementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "statement",
                                                    abstract: "An employer's statement of account (对账单) for a year, as JSON, text and a printable page.")
    @OptionGroup var options: RootOptions
    @Argument(help: "The employer's unified social credit code.") var employer: String
    @Option(help: "The year (default: the year of --as-of, or this year).") var year: Int?
    @Option(name: .customLong("as-of"), help: "Fix \"now\" (agency time): the statement is as of then.") var asOf: AsOf?

    func validate() throws {
        if let year, !(2000...2999).contains(year) { throw ValidationError("--year '\(year)' is not a year — write it like 2026") }
    }

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            let loaded = try loadRules(root)
            let now = try loaded.now(asOf: asOf)
            let statement = try Statement.of(employer: employer, year: year ?? now.date.year, loaded: loaded,
                                             ledger: try JournalReport.ledger(root), now: now)
            let path = try statement.write(to: root)
            print(statement.text + "\n(\(path), .txt, .html)")
        }
    }
}

struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Recompute the journal's hash chain (exit 0 intact, 1 not).")
    @OptionGroup var options: RootOptions

    func run() throws {
        let root = Root(path: options.root)
        let verdict = try failing(root) { try JournalReport.verify(root: root) }
        switch verdict {
        case .intact(let count, let head):
            print("journal intact: \(count) entries, head \(head.map { "seq \($0.seq) hash \($0.hash)" } ?? "none (empty journal)")")
        case .broken(let seq, let reason):
            writeAll(2, "levy: journal broken at entry \(seq): \(reason) — keep the ledger as evidence and compare with a backup (levy backup verify) and the journal_head of the daily summaries\n".utf8)
            throw ExitCode(1)
        }
    }
}

struct AuditLog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Print journal entries, oldest first.")
    @OptionGroup var options: RootOptions
    @Option(help: "Only this employer's entries.") var employer: String?
    @Option(help: "From this day (YYYY-MM-DD, agency time).") var from: String?
    @Option(help: "To this day, inclusive.") var to: String?
    @Flag(help: "One JSON array of entries.") var json = false

    func validate() throws {
        for (name, day) in [("--from", from), ("--to", to)] where day != nil && CivilDate(day!) == nil {
            throw ValidationError("\(name) '\(day!)' is not a day — write it like 2026-11-06")
        }
    }

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            let records = try JournalReport.entries(root: root, employer: employer?.uppercased(), from: from, to: to)
            writeAll(1, json ? JournalReport.json(records) : Array(JournalReport.text(records).utf8))
        }
    }
}

struct AuditReview: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "review",
                                                    abstract: "The next-day review (事后监督) of one day's manual operations, as JSON, text and HTML.")
    @OptionGroup var options: RootOptions
    @Option(help: "The day to review, YYYY-MM-DD (agency time).") var date: String

    func validate() throws {
        guard CivilDate(date) != nil else { throw ValidationError("--date '\(date)' is not a day — write it like 2026-11-12") }
    }

    func run() throws {
        let root = Root(path: options.root)
        try failing(root) {
            _ = try loadRules(root)
            let review = try DailyReview.of(CivilDate(date)!, ledger: try JournalReport.ledger(root))
            let path = try review.write(to: root)
            print(review.text + "\n(\(path), .txt, .html)")
        }
    }
}
