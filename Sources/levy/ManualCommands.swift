import ArgumentParser
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline

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
    let root = options.levyRoot
    try failing(root) {
        let loaded = try loadRules(root)
        try loaded.checkOperator(manual.operator)
        let now = try loaded.now(asOf: manual.asOf)
        let (lock, holder) = try RootLock.acquire(root, wait: true)
        guard let lock else { throw LevyError(.rootBusy, "another levy (pid \(holder)) holds \(root.path)", fix: "wait for it to finish, then try again") }
        let outcome = try withExtendedLifetime(lock) {
            try body(try Levy.start(root: root, loaded: loaded, logger: options.logger()).manual(by: manual.operator), now)
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
            try levy.counter.pay(employer: employer.uppercased(), period: period, amount: amount, now: now)
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
            try levy.counter.withdraw(employer: employer.uppercased(), period: period, now: now)
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
            try levy.counter.reverse(receiptNo: receiptNo, reason: reason, now: now)
        }
    }
}

struct Approve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve another operator's request (reviewer or supervisor; supervisor for reversals).")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "The request's id, REQ-…") var request: String

    func run() throws {
        try manualCommand(options, manual, what: "approved \(request), done") { levy, now in try levy.counter.approve(request, now: now) }
    }
}

struct Refuse: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Refuse another operator's request, saying why.")
    @OptionGroup var options: RootOptions
    @OptionGroup var manual: ManualOptions
    @Argument(help: "The request's id, REQ-…") var request: String
    @Option(help: "Why it is refused (the clerk is told).") var reason: String

    func run() throws {
        try manualCommand(options, manual, what: "refused") { levy, now in .done(try levy.counter.refuse(request, reason: reason, now: now)) }
    }
}

struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the requests waiting for approval.")
    @OptionGroup var options: RootOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let root = options.levyRoot
        try failing(root) {
            _ = try loadRules(root)
            let pending = try JournalReport.ledger(root).requests(state: .pending)
            writeAll(1, json ? JournalReport.requestsJSON(pending) : Array(JournalReport.requestsText(pending).utf8))
        }
    }
}
