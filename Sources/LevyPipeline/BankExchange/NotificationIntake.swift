import CSystemCalls
import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// Why a notification was not applied as a whole (the ledger is left as it was).
struct NotificationRefused: Error {
    let message: String
}

extension BankExchange {

    /// Applies a camt.054 notification (SPEC §9) as it streams: credits settle debited declarations,
    /// returns after settlement reverse them, anything else is kept as an exception for the day's
    /// reconciliation. The whole file is one transaction: a file that turns out broken, forged or not
    /// for the agency's account is quarantined with the ledger unchanged.
    func intakeNotification(_ file: BankFile, now: AgencyTime) throws {
        let bankCode = file.entry.folder
        guard let bank = loaded.rules.banks[bankCode] else { return }
        try publisher.finishBatch()
        // The schema is checked on the other core while this one matches and records the lines; the
        // commit waits for its verdict.
        let validation = AsideBankValidation(.fd(file.fd), schema: try Levy.schema(.camt054))
        var (result, state, ledgerFailure) = readNotification(.fd(file.fd), schema: nil, bank: bankCode, creditorAccount: bank.creditorAccount,
                                                              file: file, now: now, flushing: true)
        if case .success = result, let invalid = validation.problem() { result = .failure(invalid) }
        let refused: String?
        switch result {
        case .failure(let problem): refused = problem.message
        case .success: refused = changedSinceHashed(file) ? "" : nil
        }
        if let refused {
            // Nothing of it stays: what is already in the open transaction is rolled back.
            discardOpenBatch()
            if let ledgerFailure { throw ledgerFailure }
            if refused.isEmpty { return }  // changed while read: taken again on the next look
            try quarantine(file.entry, kind: "bank", now: now, reason: "银行通知无法使用，账本未作任何更改 / Notification not applied, nothing changed: \(refused)")
            return
        }
        guard case .success(let (msgID, entries)) = result else { return }
        var last = state.finishedChange(now: now)
        last.deferSync = false
        last.file = file.record(.applied, now: now)
        last.journal.append(journalEntry("bank_notification_applied", subject: "\(bankCode)/\(file.entry.name)", employer: nil, at: now,
                                         JournalDetail().with("bank", bankCode).with("msg_id", msgID).with("sha256", file.sha256)
                                             .with("entries", Int64(entries)).with("settled", Int64(state.settledCount))
                                             .with("credited_fen", state.creditedFen).with("reversed_fen", state.reversedFen)
                                             .with("exceptions", Int64(state.exceptions))))
        do { try ledger.apply(last) } catch {
            discardOpenBatch()
            throw error
        }
        try publisher.flushOutputs()
        try publisher.archive(inboxRel: file.inboxRel, to: file.archiveRel, sha256: file.sha256, folder: bankCode)
        logger.info("bank notification applied", metadata: [
            "bank": "\(bankCode)", "file": "\(file.entry.name)", "msg_id": "\(msgID)", "entries": "\(entries)",
            "credited_fen": "\(state.creditedFen)", "reversed_fen": "\(state.reversedFen)", "exceptions": "\(state.exceptions)",
        ])
    }

    /// Reads a notification and works out its change: applied to the ledger chunk by chunk in the open
    /// transaction when `flushing` (the caller commits or rolls back), or only built (``previewNotification``).
    func readNotification(_ input: XMLInput, schema: XMLSchema?, bank bankCode: String, creditorAccount: String, file: BankFile,
                          now: AgencyTime, flushing: Bool) -> (Result<(msgID: String, entries: Int), ReturnProblem>, NotificationState, (any Error)?) {
        // This thread parses; the lines are matched and recorded on another, a chunk at a time in the
        // order read (the schema is checked on a third): each waits for the others only when it is ahead.
        let matching = AsideMatching(NotificationState(file: file, bank: bankCode, now: now), nice: tuning.matchingNice) { state, lines, last in
            try self.match(lines, state: &state)
            if flushing && !last { try self.flushNotificationChunk(&state) }
        }
        let chunk = tuning.notificationChunk
        var waiting: [(CamtEntry, CamtDetail)] = []
        waiting.reserveCapacity(chunk)
        var result = Camt054.read(input, schema: schema, account: { account in
            account == creditorAccount ? nil
                : "账户 \(account) 不是本中心在 \(bankCode) 的收款账户 / Ntfctn/Acct \(account) is not the agency's creditor_account at \(bankCode) (Rules/banks.yaml)"
        }, transaction: { entry, detail in
            guard entry.isBooked else { return nil }  // not on the account yet: not money
            waiting.append((entry, detail))
            guard waiting.count >= chunk else { return nil }
            defer {
                waiting = []
                waiting.reserveCapacity(chunk)
            }
            return matching.submit(waiting).map(Self.ledgerProblem)
        })
        // The last lines are matched, not flushed: the caller records them with the file's own change.
        if case .success = result { matching.submit(waiting, last: true) }
        let (state, ledgerFailure) = matching.finish()
        if case .success = result, let ledgerFailure { result = .failure(ReturnProblem(Self.ledgerProblem(ledgerFailure))) }
        return (result, state, ledgerFailure)
    }

    /// Why a notification stopped when the ledger failed under it.
    static func ledgerProblem(_ error: any Error) -> String { "账本错误 / ledger error: \(error)" }

    /// What a notification would change, without changing anything (the fuzzer's view of the intake).
    package func previewNotification(_ input: XMLInput, bank: String, now: AgencyTime) -> Result<LedgerChange, ReturnProblem> {
        guard let account = loaded.rules.banks[bank]?.creditorAccount else { return .failure(ReturnProblem("unknown bank \(bank)")) }
        let file = BankFile(entry: InboxEntry(folder: bank, name: "preview.xml", path: "", mtime: 0, size: 0), fd: -1, sha256: "", size: 0,
                            inboxRel: "", archiveRel: "")
        // The real intake, its settlements rolled back at the end: what is previewed is what would be done.
        guard let schema = try? Levy.schema(.camt054) else { return .failure(ReturnProblem("camt.054.001.02.xsd does not compile")) }
        let (result, state, failure) = readNotification(input, schema: schema, bank: bank, creditorAccount: account, file: file,
                                                        now: now, flushing: false)
        discardOpenBatch()
        if let failure { return .failure(ReturnProblem("\(failure)")) }
        switch result {
        case .failure(let problem): return .failure(problem)
        case .success: return .success(state.finishedChange(now: now))
        }
    }

    /// Rolls back the ledger's open transaction (the notification's chunks applied so far).
    func discardOpenBatch() {
        var undo = LedgerChange()
        undo.deferSync = true
        undo.confirm = { throw NotificationRefused(message: "rolled back") }
        try? ledger.apply(undo)
    }

    func flushNotificationChunk(_ state: inout NotificationState) throws {
        var change = state.finishedChange(now: state.now)
        change.deferSync = true
        try ledger.apply(change)
        state.flushed += 1
        state.change = LedgerChange()
        state.touched = [:]
        state.credited = [:]
    }

    /// Matches a chunk of lines against the ledger, in the order of the file. The lines that settle a
    /// confirmed debit — nearly all of them — are settled by the ledger together (in the open batch);
    /// each other line reads its declaration and is recorded one by one.
    func match(_ lines: [(CamtEntry, CamtDetail)], state: inout NotificationState) throws {
        guard !lines.isEmpty else { return }
        if state.bankMessages == nil { state.bankMessages = try ledger.debitMessageIDs(bank: state.bank) }
        // Only a credit that is the chunk's first line about its declaration may be settled ahead of the
        // lines before it: no earlier line can have changed that declaration.
        var seen: Set<String> = []
        seen.reserveCapacity(lines.count)
        var together: [(id: String, amountFen: Fen, day: CivilDate)] = []
        together.reserveCapacity(lines.count)
        var ahead: [Bool] = []
        ahead.reserveCapacity(lines.count)
        for (entry, detail) in lines {
            let id = detail.endToEndID
            let first = !id.isEmpty && seen.insert(id).inserted && state.touched[id] == nil
            ahead.append(first && entry.isCredit && detail.amountFen != nil)
            if ahead.last! { together.append((id, detail.amountFen!, state.bookingDay(of: entry))) }
        }
        let settled = try ledger.settleConfirmedDebits(together, bank: state.bank)
        var creditedToday: Fen = 0, count = 0, next = 0
        for (line, (entry, detail)) in lines.enumerated() {
            let isSettled = ahead[line] && settled[next]
            if ahead[line] { next += 1 }
            if isSettled {
                creditedToday += detail.amountFen ?? 0
                count += 1
            } else {
                // Read from the ledger's open transaction: a debit settled above reads as settled.
                try match(detail, of: entry, state: &state)
            }
        }
        state.credit(creditedToday, on: state.now.date, count: count)
    }

    /// One line levy could not settle with the others: a payment, a reversal, or an exception.
    func match(_ detail: CamtDetail, of entry: CamtEntry, state: inout NotificationState) throws {
        let bank = state.bank, now = state.now
        let booked = state.bookingDay(of: entry)
        let day = now.date
        let amount = detail.amountFen ?? 0
        func exception(_ kind: BankException.Kind, expected: Fen?, _ note: String) {
            state.change.exceptions.append(BankException(day: day, kind: kind, bank: bank, declarationID: detail.endToEndID,
                                                         amountFen: amount, expectedFen: expected, since: booked,
                                                         file: state.file.entry.name, note: note))
            state.exceptions += 1
        }
        let id = detail.endToEndID
        guard !id.isEmpty, var d = try state.touched[id] ?? ledger.declaration(id: id) else {
            exception(.unknownReference, expected: nil, entry.isCredit
                      ? "没有这笔扣款 / no declaration with this EndToEndId (line \(detail.line))"
                      : "退回的款项不对应任何申报 / a debit for no known declaration (line \(detail.line))")
            return
        }
        let debitedHere = d.debitMsgID.map { state.bankMessages?.contains($0) ?? false } ?? false
        if entry.isCredit {
            let paidByDebit = d.state == .paid && d.channel == .debit
            guard debitedHere, d.state == .inFlight || paidByDebit else {
                return exception(.notDebited, expected: nil, "该申报未在本行扣款 / the declaration was not debited at this bank (\(d.state.rawValue))")
            }
            guard d.settledOn == nil else {
                return exception(.duplicateCredit, expected: d.totalFen, "已于 \(d.settledOn!) 入账 / already credited on \(d.settledOn!)")
            }
            guard amount == d.totalFen else {
                return exception(.amountMismatch, expected: d.totalFen, "入账金额与扣款金额不符 / credited amount differs from the debit")
            }
            if d.state == .inFlight {
                // No pain.002 said so: the credit is the bank's word that the debit was paid.
                let collectionDay = d.debitDate ?? now.date
                let paidAt = loaded.clock.at(collectionDay, loaded.rules.schedule.cutoffTime).iso8601
                _ = d.pay(d.outstandingFen, on: collectionDay, at: paidAt, channel: .debit, dailyRate: loaded.rules.lateFeeDailyRate)
                let (number, receipt) = try paymentReceipt(d, paid: amount, feePart: 0, remaining: d.outstandingFen)
                state.change.outputs.append(contentsOf: receipt)
                state.change.money.append(MoneyMovement(day: day, kind: .paid, bank: bank, declarationID: d.id, employerID: d.employerID,
                                                        amountFen: amount, ref: number))
                state.change.journal.append(journalEntry("debit_paid", subject: d.id, employer: d.employerID.text, at: now,
                                                         JournalDetail().with("msg_id", d.debitMsgID ?? "").with("status", "BOOK")
                                                             .with("paid_fen", amount)))
            }
            d.settledOn = booked
            state.credit(amount, on: day)
        } else {
            guard let reason = detail.returnReason, !reason.isEmpty else {
                return exception(.unknownReference, expected: nil, "借记没有退回原因 / a debit without a return reason (RtrInf/Rsn/Cd)")
            }
            guard debitedHere, d.state == .paid, d.channel == .debit else {
                return exception(.notDebited, expected: nil, "退回的申报未经扣款缴费 / a return for a declaration not paid by debit (\(d.state.rawValue))")
            }
            guard amount == d.paidFen else {
                return exception(.amountMismatch, expected: d.paidFen, "退回金额与扣款金额不符 / returned amount differs from the debit")
            }
            try reverseDebit(&d, amount: amount, reason: reason, state: &state)
        }
        state.touched[id] = d
    }

    /// A debit taken back after it was paid (SPEC §9): a reversal receipt, owed again — overdue past its
    /// due date, with the late fee as if never paid — and a `debit_reversed` notice. Never debited again.
    func reverseDebit(_ d: inout DeclarationRecord, amount: Fen, reason: String, state: inout NotificationState) throws {
        let now = state.now
        let paidOn = d.debitDate ?? now.date
        let isAfterDue = loaded.rules.schedule.isAfterDue(now, period: d.period)
        let id = d.id
        let paymentNo = try state.change.money.last { $0.kind == .paid && $0.declarationID == id }?.ref
            ?? ledger.movements(declarationID: d.id).last { $0.kind == .paid }?.ref ?? "RP-\(d.id)"
        d.undoPayment(amount, feePart: 0, paidOn: paidOn, isAfterDue: isAfterDue)
        d.failReason = reason
        let described = "\(reason): \(ReasonCodes.describe(reason))"
        let (base, number) = try nextFreeName("Outbox/receipts/\(d.employerID)/\(d.id)-reversal", number: "RV-\(d.id)")
        let receipt = ReversalReceipt(receiptNo: number, employerID: d.employerID.text, employerName: loaded.rules.employer(d.employerID)?.name ?? "",
                                      period: d.period.description, declarationID: d.id, reversedReceiptNo: paymentNo, reversedFen: amount,
                                      reason: described, reversedAt: now.iso8601, owedFen: d.outstandingFen, state: d.state.rawValue)
        state.change.outputs.append(PendingOutput(path: base + ".json", content: receipt.jsonBytes))
        state.change.outputs.append(PendingOutput(path: base + ".txt", content: Array(receipt.text.utf8)))
        state.change.outputs.append(contentsOf: notice(d, kind: "debit_reversed", reason: "debit_reversed:\(described)", now: now))
        state.change.money.append(MoneyMovement(day: now.date, kind: .reversed, bank: state.bank, declarationID: d.id,
                                                employerID: d.employerID, amountFen: amount, ref: paymentNo))
        state.change.journal.append(journalEntry("debit_reversed", subject: d.id, employer: d.employerID.text, at: now,
                                                 JournalDetail().with("receipt_no", paymentNo).with("reversed_fen", amount).with("reason", reason)
                                                     .with("file", state.file.entry.name)))
        state.reversedFen += amount
    }
}

/// What a notification being applied holds between its chunks.
struct NotificationState {
    let file: BankFile
    let bank: String
    let now: AgencyTime
    /// The change being filled, and the declarations it changes (the ledger does not see them yet).
    var change = LedgerChange()
    var touched: [String: DeclarationRecord] = [:]
    /// The debit files sent to this bank: a line is about a debit of this bank only if it was in one.
    var bankMessages: Set<String>?
    /// Credited this chunk, by day: one movement per day for the bank's column of the reconciliation.
    var credited: [CivilDate: Fen] = [:]
    /// Chunks already in the ledger's open transaction.
    var flushed = 0
    var settledCount = 0
    var creditedFen: Fen = 0
    var reversedFen: Fen = 0
    var exceptions = 0

    init(file: BankFile, bank: String, now: AgencyTime) {
        self.file = file
        self.bank = bank
        self.now = now
    }

    /// The day the bank booked an entry; none, the day levy reads it.
    func bookingDay(of entry: CamtEntry) -> CivilDate { entry.bookingDate ?? now.date }

    /// Records `count` credits of `amount` in all, by the day levy read them.
    mutating func credit(_ amount: Fen, on day: CivilDate, count: Int = 1) {
        guard count > 0 else { return }
        credited[day, default: 0] += amount
        creditedFen += amount
        settledCount += count
    }

    /// The chunk's change, with its declarations and what it credited.
    func finishedChange(now: AgencyTime) -> LedgerChange {
        var change = change
        change.declarationUpdates = touched.keys.sorted().map { touched[$0]! }
        for (day, fen) in credited.sorted(by: { $0.key < $1.key }) where fen > 0 {
            change.money.append(MoneyMovement(day: day, kind: .credited, bank: bank, declarationID: "", employerID: nil, amountFen: fen,
                                              ref: file.entry.name))
        }
        return change
    }
}

/// Matches and records a notification's lines on a thread of its own, chunk by chunk in the order they
/// were read, while the reading thread parses on. At most two chunks wait (memory stays flat); after
/// a ledger error nothing more is done, and the reader learns of it at its next chunk. The thread
/// yields its core to the other two (a higher nice value): the schema check is the longest of the
/// three, and matching catches up when it is done.
final class AsideMatching: @unchecked Sendable {
    typealias Lines = [(CamtEntry, CamtDetail)]
    private let condition = NSCondition()
    private var pending: [(lines: Lines, last: Bool)] = []
    private var closed = false
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var state: NotificationState
    private var failure: (any Error)?
    private let work: (inout NotificationState, Lines, _ last: Bool) throws -> Void

    init(_ state: NotificationState, nice: Int32, work: @escaping (inout NotificationState, Lines, _ last: Bool) throws -> Void) {
        self.state = state
        self.work = work
        Thread { [self] in run(nice: nice) }.start()
    }

    private var failed: (any Error)? { lock.withLock { failure } }

    private func run(nice: Int32) {
        _ = levy_set_thread_nice(nice)  // a hint: where it is refused, the thread runs at the process's own
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            guard !pending.isEmpty else {
                condition.unlock()
                break
            }
            let next = pending.removeFirst()
            condition.broadcast()
            condition.unlock()
            guard failed == nil else { continue }
            do { try work(&state, next.lines, next.last) } catch { lock.withLock { failure = error } }
        }
        done.signal()
    }

    /// Queues `lines` (the last ones with `last`, matched without the chunk's flush); returns the error
    /// that stopped the matching, if one did.
    @discardableResult
    func submit(_ lines: Lines, last: Bool = false) -> (any Error)? {
        if let failed { return failed }
        condition.lock()
        while pending.count >= 2 { condition.wait() }
        pending.append((lines, last))
        condition.broadcast()
        condition.unlock()
        return nil
    }

    /// Waits for every queued chunk (the thread ends): the state they left, and the error that stopped them.
    func finish() -> (NotificationState, (any Error)?) {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        done.wait()
        return (state, failed)
    }
}

/// A bank file's schema check on the other core, beside the pass that reads it (as an XML declaration's).
final class AsideBankValidation: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var issues: [XMLIssue] = []

    init(_ input: XMLInput, schema: XMLSchema) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            issues = BankFileReader.validate(input, schema: schema)
            done.signal()
        }
    }

    /// Waits for the verdict: nil when the file is valid.
    func problem() -> ReturnProblem? {
        done.wait()
        if let broken = issues.first(where: { $0.kind != .schema }) {
            return ReturnProblem("不是格式正确的 XML / not well-formed XML: line \(broken.line): \(broken.message)")
        }
        return issues.first.map { ReturnProblem("不符合 camt.054.001.02 / does not validate against camt.054.001.02: line \($0.line): \($0.message)") }
    }
}
