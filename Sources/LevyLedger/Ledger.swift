import LevyDomain

/// The state of a declaration in the ledger.
package enum DeclarationState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Accepted, waiting for a debit or a counter payment.
    case accepted
    /// In a pain.008 sent to the bank, no answer yet.
    case inFlight = "in_flight"
    case paid
    /// Past the due date and unpaid (late declaration, or debits exhausted).
    case overdue
    /// The bank refused the debit for a final reason: pay at the counter.
    case failed
    case withdrawn
    /// Replaced by a newer declaration for the same employer and period.
    case superseded

    /// States that count as the employer's current declaration of a period.
    package static let current: [DeclarationState] = [.accepted, .inFlight, .paid, .overdue, .failed]
}

/// How a file ended.
package enum FileOutcome: String, Sendable, Hashable, Codable, CaseIterable {
    case accepted, rejected, duplicate, quarantined, applied
}

/// A processed input, as the ledger remembers it.
package struct FileRecord: Sendable, Hashable {
    package var sha256: String
    package var folder: String
    package var name: String
    package var receivedAt: String
    package var receivedDate: CivilDate
    package var outcome: FileOutcome
    package var employerID: EmployerID?
    package var period: Period?
    package var declarationID: String?
    package var reportPath: String?
    package var inboxPath: String
    package var archivePath: String

    package init(sha256: String, folder: String, name: String, receivedAt: String, receivedDate: CivilDate, outcome: FileOutcome,
                 employerID: EmployerID? = nil, period: Period? = nil, declarationID: String? = nil, reportPath: String? = nil,
                 inboxPath: String, archivePath: String) {
        self.sha256 = sha256
        self.folder = folder
        self.name = name
        self.receivedAt = receivedAt
        self.receivedDate = receivedDate
        self.outcome = outcome
        self.employerID = employerID
        self.period = period
        self.declarationID = declarationID
        self.reportPath = reportPath
        self.inboxPath = inboxPath
        self.archivePath = archivePath
    }
}

/// A declaration and its amounts.
package struct DeclarationRecord: Sendable, Hashable {
    package var id: String
    package var employerID: EmployerID
    package var period: Period
    package var seq: Int
    package var state: DeclarationState
    package var headcount: Int
    package var totalBaseFen: Fen
    package var employerFen: Fen
    package var employeeFen: Fen
    package var totalFen: Fen
    /// JSON of the per-insurance amounts, as on the receipt.
    package var contributionsJSON: String
    package var collection: CollectionMode
    /// The instant payment is due (agency time, as on the receipt), and its day.
    package var due: String
    package var dueDate: CivilDate
    package var receivedAt: String
    package var supersedes: String?
    package var paidFen: Fen
    package var lateFeeFen: Fen
    package var paidAt: String?
    package var channel: PaymentChannel?
    /// Collection date of the debit file it is in flight in (or was last sent in).
    package var debitDate: CivilDate?
    package var debitMsgID: String?
    package var failReason: String?
    /// Late fee charged so far (at each payment, for the days up to it); part of what is owed.
    package var feeChargedFen: Fen = 0
    /// Fen × days of unpaid contributions counted up to ``feeThrough``: the fee charged is this times
    /// the daily rate, rounded once, so part-payments add no rounding of their own.
    package var feeBasis: Int64 = 0
    /// The last day the fee was counted to (nil: the due day, nothing counted yet).
    package var feeThrough: CivilDate?
    /// The booking day of the bank's credit for a debit (camt.054), once it came.
    package var settledOn: CivilDate?
    /// The day a pain.002 said the debit was paid (`ACSC`/`ACCP`).
    package var confirmedOn: CivilDate?
    /// What was paid and then taken back (a reversed counter payment, a debit returned after settlement).
    package var reversedFen: Fen = 0

    /// A debit the bank has not finished with: in flight (no pain.002 yet), or confirmed and not yet
    /// credited on the agency's account (SPEC §9).
    package var isAwaitingBank: Bool { state == .inFlight || (state == .paid && channel == .debit && settledOn == nil) }

    package init(id: String, employerID: EmployerID, period: Period, seq: Int, state: DeclarationState, headcount: Int,
                 totalBaseFen: Fen, employerFen: Fen, employeeFen: Fen, totalFen: Fen, contributionsJSON: String,
                 collection: CollectionMode, due: String, dueDate: CivilDate, receivedAt: String, supersedes: String?) {
        self.id = id
        self.employerID = employerID
        self.period = period
        self.seq = seq
        self.state = state
        self.headcount = headcount
        self.totalBaseFen = totalBaseFen
        self.employerFen = employerFen
        self.employeeFen = employeeFen
        self.totalFen = totalFen
        self.contributionsJSON = contributionsJSON
        self.collection = collection
        self.due = due
        self.dueDate = dueDate
        self.receivedAt = receivedAt
        self.supersedes = supersedes
        self.paidFen = 0
        self.lateFeeFen = 0
    }
}

/// One person on a declaration's roster.
package struct RosterEntry: Sendable, Hashable {
    package var personKey: Int64
    package var change: RosterChange
    package var baseFen: Fen
    package init(personKey: Int64, change: RosterChange, baseFen: Fen) {
        self.personKey = personKey
        self.change = change
        self.baseFen = baseFen
    }
}

/// A declaration's roster, streamed in ascending person order (never all in memory).
package struct RosterSource: @unchecked Sendable {
    /// The next entry, nil at the end. Keys strictly ascending.
    package let next: () throws -> RosterEntry?
    package init(next: @escaping () throws -> RosterEntry?) { self.next = next }
    package init(_ entries: [RosterEntry]) {
        var iterator = entries.sorted { $0.personKey < $1.personKey }.makeIterator()
        self.next = { iterator.next() }
    }
}

/// What the roster check reads from the ledger, as streams, inside one read transaction.
package struct RosterReaders {
    /// The next key of the previous roster (removals left out), ascending; nil when there is none.
    package var previous: (() throws -> Int64?)?
    /// The other employer on whose current roster for the period a person is. Asked with ascending keys.
    package var insuredElsewhere: (Int64) throws -> String?
    package init(previous: (() throws -> Int64?)?, insuredElsewhere: @escaping (Int64) throws -> String?) {
        self.previous = previous
        self.insuredElsewhere = insuredElsewhere
    }
}

/// An output levy intends to write: recorded with the state change, written after commit.
package struct PendingOutput: Sendable, Hashable {
    /// Path relative to the root, e.g. `Outbox/receipts/…/X.json`.
    package var path: String
    package var content: [UInt8]
    package init(path: String, content: [UInt8]) {
        self.path = path
        self.content = content
    }
}

/// A debit file sent to a bank and what it holds.
package struct DebitMessage: Sendable, Hashable {
    package var msgID: String
    package var bankCode: String
    package var collectionDate: CivilDate
    package var path: String
    package var transactions: [DebitTransaction]
    package init(msgID: String, bankCode: String, collectionDate: CivilDate, path: String, transactions: [DebitTransaction]) {
        self.msgID = msgID
        self.bankCode = bankCode
        self.collectionDate = collectionDate
        self.path = path
        self.transactions = transactions
    }
}

package struct DebitTransaction: Sendable, Hashable {
    package var declarationID: String
    package var amountFen: Fen
    package var status: String
    package var reason: String?
    package init(declarationID: String, amountFen: Fen, status: String = "sent", reason: String? = nil) {
        self.declarationID = declarationID
        self.amountFen = amountFen
        self.status = status
        self.reason = reason
    }
}

/// What a movement of money or of what is owed is (SPEC §9). The first five make the receivable
/// balance; the rest are the bank's side, reported per bank.
package enum MoneyKind: String, Sendable, Hashable, CaseIterable {
    /// A declaration accepted: owed.
    case declared
    /// A declaration withdrawn or replaced: no longer owed.
    case withdrawn
    /// A late fee charged (at a payment, for the days up to it).
    case lateFee = "late_fee"
    /// Money received for a declaration (debit or counter).
    case paid
    /// A payment taken back (owed again).
    case reversed
    /// Debits sent in a pain.008, confirmed or rejected by a pain.002, credited by a camt.054.
    case sent, confirmed, rejected, credited

    /// Kept one by one (a declaration's payment history); the others only as the day's sums.
    package var isPayment: Bool { self == .paid || self == .lateFee || self == .reversed }

    /// Its sign in `receivable_open + declared + late_fee − paid + reversed − withdrawn = receivable_close`.
    package var receivableSign: Int64 {
        switch self {
        case .declared, .lateFee, .reversed: 1
        case .paid, .withdrawn: -1
        case .sent, .confirmed, .rejected, .credited: 0
        }
    }
}

/// One movement, recorded in the transaction of the change that makes it, on the agency's day.
package struct MoneyMovement: Sendable, Hashable {
    package var day: CivilDate
    package var kind: MoneyKind
    /// The bank it went through (debits, bank flows); nil at the counter or for what is owed.
    package var bank: String?
    package var declarationID: String
    /// Nil only for a bank's flow summed over many declarations (the day's credits of a notification).
    package var employerID: EmployerID?
    package var amountFen: Fen
    /// The receipt, debit file or bank file it comes from.
    package var ref: String?
    /// Of a payment: the part that paid the late fee.
    package var feeFen: Fen = 0
    package init(day: CivilDate, kind: MoneyKind, bank: String? = nil, declarationID: String, employerID: EmployerID?, amountFen: Fen,
                 ref: String? = nil, feeFen: Fen = 0) {
        self.day = day
        self.kind = kind
        self.bank = bank
        self.declarationID = declarationID
        self.employerID = employerID
        self.amountFen = amountFen
        self.ref = ref
        self.feeFen = feeFen
    }
}

/// What a bank's notification says that levy did not apply (SPEC §9), kept for the finance office.
package struct BankException: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable, CaseIterable {
        case unknownReference = "unknown_reference", amountMismatch = "amount_mismatch", notDebited = "not_debited"
        case duplicateCredit = "duplicate_credit", unanswered, confirmedNotCredited = "confirmed_not_credited"
    }
    package var day: CivilDate
    package var kind: Kind
    package var bank: String
    package var declarationID: String
    package var amountFen: Fen
    package var expectedFen: Fen?
    package var since: CivilDate
    /// The bank file, and what levy made of the line.
    package var file: String?
    package var note: String?
    package init(day: CivilDate, kind: Kind, bank: String, declarationID: String, amountFen: Fen, expectedFen: Fen?, since: CivilDate,
                 file: String? = nil, note: String? = nil) {
        self.day = day
        self.kind = kind
        self.bank = bank
        self.declarationID = declarationID
        self.amountFen = amountFen
        self.expectedFen = expectedFen
        self.since = since
        self.file = file
        self.note = note
    }
}

/// What a bank's notification needs to know of a declaration to match a credit (SPEC §9): read for each
/// of hundreds of thousands of lines, so only these columns.
package struct DebitStanding: Sendable, Hashable {
    package var id: String
    package var employerID: EmployerID
    package var state: DeclarationState
    package var channel: PaymentChannel?
    package var totalFen: Fen
    package var paidFen: Fen
    package var debitMsgID: String?
    package var settledOn: CivilDate?
    /// The collection date of its debit, and the day a pain.002 confirmed it.
    package var debitDate: CivilDate?
    package var confirmedOn: CivilDate?
    package init(id: String, employerID: EmployerID, state: DeclarationState, channel: PaymentChannel?, totalFen: Fen, paidFen: Fen,
                 debitMsgID: String?, settledOn: CivilDate?, debitDate: CivilDate? = nil, confirmedOn: CivilDate? = nil) {
        self.debitDate = debitDate
        self.confirmedOn = confirmedOn
        self.id = id
        self.employerID = employerID
        self.state = state
        self.channel = channel
        self.totalFen = totalFen
        self.paidFen = paidFen
        self.debitMsgID = debitMsgID
        self.settledOn = settledOn
    }
}

/// Counts and sums per state for one period (`levy status`).
package struct PeriodStatus: Sendable, Hashable {
    package var period: Period
    package var counts: [DeclarationState: Int] = [:]
    package var sums: [DeclarationState: Fen] = [:]
    package init(period: Period) { self.period = period }
}

/// A change to the ledger made atomically: the state change and the outputs it produces.
package struct LedgerChange: Sendable {
    package var file: FileRecord?
    package var newDeclaration: (record: DeclarationRecord, roster: RosterSource)?
    package var declarationUpdates: [DeclarationRecord] = []
    package var debitMessage: DebitMessage?
    package var transactionUpdates: [(msgID: String, transaction: DebitTransaction)] = []
    package var outputs: [PendingOutput] = []
    /// Movements of money and of what is owed (the reconciliation is their sum).
    package var money: [MoneyMovement] = []
    /// Lines of a bank's notification that were not applied.
    package var exceptions: [BankException] = []
    /// The journal's entries for this change, appended in its transaction.
    package var journal: [JournalEntry] = []
    /// A request recorded, or one decided (by its id), in the same transaction.
    package var request: ApprovalRequest?
    /// Facts of the ledger's own to set (`meta`), in the same transaction.
    package var meta: [String: String] = [:]
    /// Records that the debit cut of this collection date is done.
    package var cutDone: CivilDate?
    /// Amounts added to named counters (metrics), in the same transaction.
    package var counters: [String: Int64] = [:]
    /// Part of a batch: the change joins the batch's open transaction, committed (with fsync) by the next
    /// ``Ledger/barrier()`` or the next change that is not deferred. Until then no other connection sees
    /// it and a crash forgets it; the pipeline keeps the change's input in the inbox and its outputs
    /// unpublished until the barrier, so a crash or a power loss can only make levy process them again.
    /// A deferred change that fails takes the whole open batch with it (no savepoint around each change):
    /// the pipeline then drops what it staged for the batch, as a crash before the barrier would.
    package var deferSync = false
    /// Checked last, inside the change's transaction, once everything else is written: if it throws,
    /// the change is rolled back (with its open batch, when deferred) and the error is rethrown. The
    /// pipeline writes a large XML declaration while the other core still validates it, and waits for
    /// the verdict here.
    package var confirm: (@Sendable () throws -> Void)?

    package init() {}
}

/// What a day's summary counts (`Outbox/reports/summary-YYYY-MM-DD.json`).
package struct DayFigures: Sendable, Hashable {
    /// Files received that day, by outcome.
    package var files: [FileOutcome: Int] = [:]
    /// Total of the declarations accepted that day and still standing (not superseded or withdrawn).
    package var acceptedFen: Fen = 0
    /// Declarations for which a payment was recorded that day (a debit confirmed or credited, the
    /// counter), and the money received.
    package var paid = 0
    package var paidFen: Fen = 0
    package init() {}
}

/// What the metrics file is made of: totals since the ledger began.
package struct LedgerMetrics: Sendable {
    package var files: [String: Int] = [:]
    package var counters: [String: Int64] = [:]
    package var debits: [(bank: String, transactions: Int, fen: Fen)] = []
    package var returns: [(status: String, reason: String, count: Int)] = []
    package var declarations: [(state: String, count: Int, fen: Fen)] = []
    package init() {}
}

/// A manual operation waiting for (or decided by) a second operator (SPEC §10).
package struct ApprovalRequest: Sendable, Hashable {
    package enum State: String, Sendable, Hashable { case pending, approved, refused }
    package var id: String
    package var kind: String
    /// What the operation is about (a declaration or receipt), and its employer.
    package var subject: String
    package var employer: String?
    /// The operation's arguments, as a JSON object.
    package var payload: String
    package var requestedBy: String
    package var requestedAt: String
    package var state: State
    package var decidedBy: String?
    package var decidedAt: String?
    package var reason: String?

    package init(id: String, kind: String, subject: String, employer: String?, payload: String, requestedBy: String, requestedAt: String) {
        self.id = id
        self.kind = kind
        self.subject = subject
        self.employer = employer
        self.payload = payload
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = .pending
    }
}

/// What a ledger holds, in counts: a backup's manifest says them, and its verification checks them.
package struct LedgerCounts: Sendable, Hashable, Codable {
    package var schemaVersion: Int
    package var files: Int
    package var declarations: Int
    package var debitMessages: Int
    package var outputs: Int
    package var latestNow: String?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "ledger_version", files, declarations, debitMessages = "debit_messages", outputs, latestNow = "latest_now"
    }
}

/// The ledger seam: SQLite now (``SQLiteLedger``), PostgreSQL later, one contract test suite for both
/// (`Tests/LevyLedgerTests`). Opened by ``LedgerStore/open(_:readOnly:)``, never built by its callers.
///
/// Every mutation goes through ``apply(_:)`` in one transaction, so a crash leaves either all of a
/// change or none of it; the outputs it records are written by the pipeline after commit. What the
/// ledger answers is split by what it does for the user — declarations and rosters
/// (``DeclarationLedger``), collection (``CollectionLedger``), the bank's money (``BankLedger``),
/// reporting (``ReportingLedger``), operators and the journal (``JournalLedger``) — and the batch
/// durability of the pipeline is kept apart from all of them (``LedgerDurability``).
package protocol Ledger: DeclarationLedger, CollectionLedger, BankLedger, ReportingLedger, JournalLedger, LedgerDurability {
    /// Records a change — a declaration, a debit file, the bank's answer, a payment, a request — with
    /// its outputs and journal entries, all or nothing.
    func apply(_ change: LedgerChange) throws
}

/// Declarations and rosters: the files taken, the declaration in force, whose roster a person is on.
package protocol DeclarationLedger: Sendable {
    func file(sha256: String, folder: String) throws -> FileRecord?
    func declaration(id: String) throws -> DeclarationRecord?
    func currentDeclaration(employer: EmployerID, period: Period) throws -> DeclarationRecord?
    func nextSequence(employer: EmployerID, period: Period) throws -> Int
    /// Declarations in one of the states: of one period, state by state in the order given and by
    /// number within each; of every period, by number.
    func declarations(states: [DeclarationState], period: Period?) throws -> [DeclarationRecord]
    /// An employer's declarations in force for periods from `from` to `to` (inclusive), by period.
    func declarations(employer: EmployerID, from: Period, to: Period) throws -> [DeclarationRecord]
    /// The periods that have a declaration in one of the states, ascending.
    func periods(states: [DeclarationState]) throws -> [Period]
    /// The employer's last accepted declaration before `period` (`no`), whose roster a new one is checked against.
    func previousDeclaration(employer: EmployerID, before period: Period) throws -> Int64?
    /// Streams for the roster merge: the roster of declaration `previous` and the other employers'
    /// rosters of `period`. `additions` is how many persons will be asked about (to pick a strategy).
    /// `candidates` (ascending keys, optional): persons that may be asked about — a small file's
    /// persons — looked up together instead of one query per person.
    func withRosterReaders<T>(previous: Int64?, period: Period, except employer: EmployerID, additions: Int,
                              candidates: [Int64]?, _ body: (RosterReaders) throws -> T) throws -> T
}

/// Collection: the debit cut's files, arrears, and a declaration's money.
package protocol CollectionLedger: Sendable {
    func hasArrears(employer: EmployerID) throws -> Bool
    func debitMessage(msgID: String) throws -> DebitMessage?
    func debitMessages(collectionDate: CivilDate) throws -> [DebitMessage]
    func cutDone(collectionDate: CivilDate) throws -> Bool
    /// A declaration's movements, in order.
    func movements(declarationID: String) throws -> [MoneyMovement]
}

/// The bank's money (SPEC §9): what a bank's answers and notifications are matched against.
package protocol BankLedger: Sendable {
    /// Debits the bank has not fully answered — in flight, or paid by a pain.002 with no credit yet —
    /// collected on or before a day.
    func awaitingBank(collectedOnOrBefore day: CivilDate) throws -> [DebitStanding]
    /// Settles, in the open batch (as a deferred change), each credit that is for exactly the amount of a
    /// debit sent to `bank`, confirmed paid and not settled yet; returns, credit by credit, whether it
    /// settled. The others are left as they were, for the caller to look at one by one. Of two credits
    /// for one debit, one settles it.
    func settleConfirmedDebits(_ credits: [(id: String, amountFen: Fen, day: CivilDate)], bank: String) throws -> [Bool]
    /// The MsgIds of the debit files sent to a bank.
    func debitMessageIDs(bank: String) throws -> Set<String>
    /// The notification lines not applied on a day.
    func bankExceptions(day: CivilDate) throws -> [BankException]
}

/// Reporting: status, the day's figures, the books' balance, metrics.
package protocol ReportingLedger: Sendable {
    func status(period: Period?) throws -> [PeriodStatus]
    /// The files received on a day with one of the given outcomes, in the order they were taken.
    func files(receivedDate: CivilDate, outcomes: [FileOutcome]) throws -> [FileRecord]
    /// The day's figures for its summary, counted in the ledger: a year of declarations is not read for them.
    func dayFigures(day: CivilDate) throws -> DayFigures
    /// The day's movements summed by kind and bank.
    func moneyTotals(day: CivilDate) throws -> [(kind: MoneyKind, bank: String?, fen: Fen)]
    /// What employers owed at the end of the day before `day`: the sum of every movement before it.
    func receivable(before day: CivilDate) throws -> Fen
    /// What employers owe now, from the declarations themselves: contributions and fees charged, less
    /// what was paid, over every declaration in force.
    func receivableOutstanding() throws -> Fen
    func metrics() throws -> LedgerMetrics
    func integrityCheck() throws -> [String]
    /// What the ledger holds, for a backup's manifest and its verification.
    func counts() throws -> LedgerCounts
}

/// Operators and the journal (SPEC §10), and the ledger's own facts.
package protocol JournalLedger: Sendable {
    /// The latest "now" levy has acted on (agency time, and its instant in seconds since 1970): a
    /// command that changes state at an earlier time is refused.
    func latestNow() throws -> (iso8601: String, instant: Int64)?
    func recordNow(iso8601: String, instant: Int64) throws
    /// The journal's entries, in order: of one employer, between two days (inclusive), or all.
    func journal(employer: EmployerID?, from: CivilDate?, to: CivilDate?) throws -> [JournalRecord]
    /// Recomputes the whole chain.
    func verifyJournal() throws -> JournalVerdict
    /// The last entry's number and hash (nil: an empty journal).
    func journalHead() throws -> (seq: Int64, hash: String)?
    /// A fact of the ledger's own (`meta`): the latest "now", the Rules' fingerprint.
    func meta(_ key: String) throws -> String?
    /// Approval requests: one by id, or those in a state (oldest first); the next free number.
    func request(id: String) throws -> ApprovalRequest?
    func requests(state: ApprovalRequest.State) throws -> [ApprovalRequest]
    func nextRequestNumber() throws -> Int
}

/// The pipeline's durability, not a business question: outputs recorded and still to write, inputs
/// still to archive, the open batch's barrier (docs/DESIGN.md, "Batched durability").
package protocol LedgerDurability: Sendable {
    func filesNotArchived() throws -> [FileRecord]
    func markArchived(sha256: String, folder: String) throws
    func pendingOutputs() throws -> [PendingOutput]
    func markWritten(paths: [String]) throws
    func outputExists(path: String) throws -> Bool
    /// How many outputs levy has recorded in this ledger (it only grows): a ledger restored from a
    /// backup older than the outbox has fewer than levy noted beside it.
    func outputCount() throws -> Int
    /// Commits the open batch (changes with ``LedgerChange/deferSync``) and makes every earlier commit durable.
    func barrier() throws
    /// After a batch's outputs are durable and its inputs archived: one transaction marks them all
    /// (not fsynced alone: losing it costs a rewrite of the same outputs).
    func finishBatch(written: [String], archived: [(sha256: String, folder: String)]) throws
}

extension DeclarationLedger {
    package func withRosterReaders<T>(previous: Int64?, period: Period, except employer: EmployerID, additions: Int,
                                      _ body: (RosterReaders) throws -> T) throws -> T {
        try withRosterReaders(previous: previous, period: period, except: employer, additions: additions, candidates: nil, body)
    }
}
