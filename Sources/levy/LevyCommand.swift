import ArgumentParser
import Foundation
import LevyDomain
import LevyPipeline
import Logging

/// The `levy` command line: it parses, calls the library, and prints. Every piece of work — the
/// run, a check, a payment, a report — is done in LevyPipeline, where the tests reach it too.
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

    var levyRoot: Root { Root(path: root) }

    /// levy's logger, in the chosen form; `LEVY_LOG` (trace … critical) sets the level, info by default.
    func logger() -> Logger {
        var logger = Logger(label: "levy") { [logFormat] label -> any LogHandler in
            LogLineHandler(label: label, form: logFormat == .json ? .json : .text)
        }
        logger.logLevel = ProcessInfo.processInfo.environment["LEVY_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}

/// How levy logs: `text` for people at a terminal, `json` (one object per line) for log shippers.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Runs a body; what it throws is printed as levy reports errors — `levy: CODE: what is wrong — fix: what
/// to do` — and the exit status follows from the error's kind (``LevyError/exitStatus``: 64 bad usage, 1
/// otherwise).
func failing<T>(_ root: Root? = nil, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode {
        throw e
    } catch {
        let e = LevyError.reported(error, root: root)
        writeAll(2, "levy: \(e.code.rawValue): \(e)\n".utf8)
        throw ExitCode(e.exitStatus)
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

/// `--period`: a contribution period (`2026-11`); anything else is bad usage (exit 64).
extension Period: ExpressibleByArgument {
    package init?(argument: String) { self.init(argument) }
}

/// `--from`, `--to`: a day (`2026-11-06`); anything else is bad usage (exit 64).
extension CivilDate: ExpressibleByArgument {
    package init?(argument: String) { self.init(argument) }
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

/// `--stats`: wall and CPU time, peak memory and the stages' times, on stderr at the end.
func withStats<T>(_ on: Bool, _ body: () throws -> T) rethrows -> T {
    let start = DispatchTime.now()
    if on { StageClock.enable() }
    defer { if on { writeAll(2, (ProcessStats.since(start).line + "\n" + StageClock.line + "\n").utf8) } }
    return try body()
}
