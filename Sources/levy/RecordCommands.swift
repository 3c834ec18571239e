import ArgumentParser
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline

/// Commands that show or keep records: the rules in force, backups, the journal, statements.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Work with Rules/.", subcommands: [RulesCheck.self])
}

struct RulesCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Validate Rules/ and print the parameters in force per period.")
    @OptionGroup var options: RootOptions

    func run() throws {
        let root = options.levyRoot
        try failing(root) {
            print(try loadRules(root).summaryText(), terminator: "")
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
        let root = options.levyRoot
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
        let root = options.levyRoot
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
        let root = options.levyRoot
        try failing(root) {
            switch try JournalReport.verify(root: root) {
            case let .intact(count, head):
                print("journal intact: \(count) entries, head \(head.map { "seq \($0.seq) hash \($0.hash)" } ?? "none (empty journal)")")
            case let .broken(seq, reason):
                throw LevyError(.journalBroken, "journal broken at entry \(seq): \(reason)",
                                fix: "keep the ledger as evidence and compare with a backup (levy backup verify) and the journal_head of the daily summaries",
                                file: root.ledger)
            }
        }
    }
}

struct AuditLog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Print journal entries, oldest first.")
    @OptionGroup var options: RootOptions
    @Option(help: "Only this employer's entries.") var employer: String?
    @Option(help: "From this day (YYYY-MM-DD, agency time).") var from: CivilDate?
    @Option(help: "To this day, inclusive (YYYY-MM-DD).") var to: CivilDate?
    @Flag(help: "One JSON array of entries.") var json = false

    func run() throws {
        let root = options.levyRoot
        try failing(root) {
            let records = try JournalReport.entries(root: root, employer: employer.map { EmployerID(unchecked: $0.uppercased()) },
                                                     from: from, to: to)
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
        let root = options.levyRoot
        try failing(root) {
            _ = try loadRules(root)
            let review = try DailyReview.of(CivilDate(date)!, ledger: try JournalReport.ledger(root))
            let path = try review.write(to: root)
            print(review.text + "\n(\(path), .txt, .html)")
        }
    }
}
