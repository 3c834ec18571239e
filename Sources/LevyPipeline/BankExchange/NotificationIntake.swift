import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// Why a notification was not applied as a whole (the ledger is left as it was).
struct NotificationRefused: Error {
    let message: String
}

extension Levy {
    /// How many notification lines go to the ledger in one deferred change (the whole file still
    /// commits or rolls back as one).
    static let notificationChunk = 4096

    /// Applies a camt.054 notification (SPEC §9) as it streams: credits settle debited declarations,
    /// returns after settlement reverse them, anything else is kept as an exception for the day's
    /// reconciliation. The whole file is one transaction: a file that turns out broken, forged or not
    /// for the agency's account is quarantined with the ledger unchanged.
    func intakeNotification(_ file: BankFile, now: AgencyTime) throws {
        let bankCode = file.entry.folder
        guard let bank = loaded.rules.banks[bankCode] else { return }
        try finishBatch()
        var state = NotificationState(file: file)
        var ledgerFailure: (any Error)?
        let result = Camt054.read(.fd(file.fd), schema: schemas.camt054, account: { account in
            account == bank.creditorAccount ? nil
                : "账户 \(account) 不是本中心在 \(bankCode) 的收款账户 / Ntfctn/Acct \(account) is not the agency's creditor_account at \(bankCode) (Rules/banks.yaml)"
        }, entry: { entry in
            do {
                try self.apply(entry, bank: bankCode, state: &state, now: now)
                if state.pending >= Levy.notificationChunk { try self.flushNotificationChunk(&state) }
                return nil
            } catch {
                ledgerFailure = error
                return "账本错误 / ledger error: \(error)"
            }
        })
        let refused: String?
        switch result {
        case .failure(let problem): refused = problem.message
        case .success: refused = changedSinceHashed(file) ? "" : nil
        }
        if let refused {
            // Nothing of it stays: the chunks already in the open transaction are rolled back.
            if state.flushed > 0 { discardOpenBatch() }
            if let ledgerFailure { throw ledgerFailure }
            if refused.isEmpty { return }  // changed while read: taken again on the next look
            try quarantine(file.entry, kind: "bank", now: now, reason: "银行通知无法使用，账本未作任何更改 / Notification not applied, nothing changed: \(refused)")
            return
        }
        guard case .success(let (msgID, entries)) = result else { return }
        var last = state.change
        last.declarationUpdates = state.touched.keys.sorted().map { state.touched[$0]! }
        last.deferSync = false
        last.file = file.record(.applied, now: now)
        last.journal.append(journalEntry("bank_notification_applied", subject: "\(bankCode)/\(file.entry.name)", employer: nil, at: now,
                                         JournalDetail().with("bank", bankCode).with("msg_id", msgID).with("sha256", file.sha256)
                                             .with("entries", Int64(entries)).with("credited_fen", state.creditedFen)
                                             .with("reversed_fen", state.reversedFen).with("exceptions", Int64(state.exceptions))))
        do { try ledger.apply(last) } catch {
            discardOpenBatch()
            throw error
        }
        try flushOutputs()
        try archive(inboxRel: file.inboxRel, to: file.archiveRel, sha256: file.sha256, folder: bankCode)
        logger.info("bank notification applied", metadata: [
            "bank": "\(bankCode)", "file": "\(file.entry.name)", "msg_id": "\(msgID)", "entries": "\(entries)",
            "credited_fen": "\(state.creditedFen)", "reversed_fen": "\(state.reversedFen)", "exceptions": "\(state.exceptions)",
        ])
    }

    /// Rolls back the ledger's open transaction (the notification's chunks applied so far).
    func discardOpenBatch() {
        var undo = LedgerChange()
        undo.deferSync = true
        undo.confirm = { throw NotificationRefused(message: "rolled back") }
        try? ledger.apply(undo)
    }

    func flushNotificationChunk(_ state: inout NotificationState) throws {
        var change = state.change
        change.declarationUpdates = state.touched.keys.sorted().map { state.touched[$0]! }
        change.deferSync = true
        try ledger.apply(change)
        state.flushed += 1
        state.change = LedgerChange()
        state.touched = [:]
        state.pending = 0
    }

    /// One entry: each of its transactions applied or kept as an exception.
    func apply(_ entry: CamtEntry, bank: String, state: inout NotificationState, now: AgencyTime) throws {
        guard entry.isBooked else { return }  // not on the account yet: not money
        let booked = entry.bookingDate ?? now.date.description
        let day = now.date.description
        for detail in entry.details {
            state.pending += 1
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
                continue
            }
            let debitedHere = d.debitMsgID != nil && loaded.rules.employer(d.employerID)?.mandate?.bankCode == bank
            if entry.isCredit {
                let paidByDebit = d.state == .paid && d.channel == "debit"
                guard debitedHere, d.state == .inFlight || paidByDebit else {
                    exception(.notDebited, expected: nil, "该申报未在本行扣款 / the declaration was not debited at this bank (\(d.state.rawValue))")
                    continue
                }
                guard d.settledOn == nil else {
                    exception(.duplicateCredit, expected: d.totalFen, "已于 \(d.settledOn!) 入账 / already credited on \(d.settledOn!)")
                    continue
                }
                guard amount == d.totalFen else {
                    exception(.amountMismatch, expected: d.totalFen, "入账金额与扣款金额不符 / credited amount differs from the debit")
                    continue
                }
                if d.state == .inFlight {
                    // No pain.002 said so: the credit is the bank's word that the debit was paid.
                    let collectionDay = d.debitDate.flatMap(CivilDate.init) ?? now.date
                    let paidAt = loaded.clock.at(collectionDay, loaded.rules.schedule.cutoffTime).iso8601
                    _ = d.pay(d.outstandingFen, on: collectionDay, at: paidAt, channel: "debit", dailyRate: loaded.rules.lateFeeDailyRate)
                    let (number, receipt) = try paymentReceipt(d, paid: amount, feePart: 0, remaining: d.outstandingFen)
                    state.change.outputs.append(contentsOf: receipt)
                    state.change.money.append(MoneyMovement(day: day, kind: .paid, bank: bank, declarationID: d.id, employerID: d.employerID,
                                                            amountFen: amount, ref: number))
                    state.change.journal.append(journalEntry("debit_paid", subject: d.id, employer: d.employerID, at: now,
                                                             JournalDetail().with("msg_id", d.debitMsgID ?? "").with("status", "BOOK")
                                                                 .with("paid_fen", amount)))
                }
                d.settledOn = booked
                state.change.money.append(MoneyMovement(day: day, kind: .credited, bank: bank, declarationID: d.id, employerID: d.employerID,
                                                        amountFen: amount, ref: state.file.entry.name))
                state.creditedFen += amount
            } else {
                guard let reason = detail.returnReason, !reason.isEmpty else {
                    exception(.unknownReference, expected: nil, "借记没有退回原因 / a debit without a return reason (RtrInf/Rsn/Cd)")
                    continue
                }
                guard debitedHere, d.state == .paid, d.channel == "debit" else {
                    exception(.notDebited, expected: nil, "退回的申报未经扣款缴费 / a return for a declaration not paid by debit (\(d.state.rawValue))")
                    continue
                }
                let paid = d.paidFen
                guard amount == paid else {
                    exception(.amountMismatch, expected: paid, "退回金额与扣款金额不符 / returned amount differs from the debit")
                    continue
                }
                try reverseDebit(&d, amount: amount, reason: reason, bank: bank, state: &state, now: now)
            }
            state.touched[id] = d
        }
    }

    /// A debit taken back after it was paid (SPEC §9): a reversal receipt, owed again — overdue past its
    /// due date, with the late fee as if never paid — and a `debit_reversed` notice. Never debited again.
    func reverseDebit(_ d: inout DeclarationRecord, amount: Fen, reason: String, bank: String, state: inout NotificationState,
                      now: AgencyTime) throws {
        let paidOn = d.debitDate.flatMap(CivilDate.init) ?? now.date
        let isAfterDue = Period(d.period).map { loaded.rules.schedule.isAfterDue(now, period: $0) } ?? false
        let id = d.id
        let paymentNo = try state.change.money.last { $0.kind == .paid && $0.declarationID == id }?.ref
            ?? ledger.movements(declarationID: d.id).last { $0.kind == .paid }?.ref ?? "RP-\(d.id)"
        d.undoPayment(amount, feePart: 0, paidOn: paidOn, isAfterDue: isAfterDue)
        d.failReason = reason
        let described = "\(reason): \(ReasonCodes.describe(reason))"
        let (base, number) = try nextFreeName("Outbox/receipts/\(d.employerID)/\(d.id)-reversal", number: "RV-\(d.id)")
        let receipt = ReversalReceipt(receiptNo: number, employerID: d.employerID, employerName: loaded.rules.employer(d.employerID)?.name ?? "",
                                      period: d.period, declarationID: d.id, reversedReceiptNo: paymentNo, reversedFen: amount,
                                      reason: described, reversedAt: now.iso8601, owedFen: d.outstandingFen, state: d.state.rawValue)
        state.change.outputs.append(PendingOutput(path: base + ".json", content: receipt.jsonBytes))
        state.change.outputs.append(PendingOutput(path: base + ".txt", content: Array(receipt.text.utf8)))
        state.change.outputs.append(contentsOf: notice(d, kind: "debit_reversed", reason: "debit_reversed:\(described)", now: now))
        let day = now.date.description
        state.change.money.append(MoneyMovement(day: day, kind: .reversed, bank: bank, declarationID: d.id, employerID: d.employerID,
                                                amountFen: amount, ref: paymentNo))
        state.change.journal.append(journalEntry("debit_reversed", subject: d.id, employer: d.employerID, at: now,
                                                 JournalDetail().with("receipt_no", paymentNo).with("reversed_fen", amount).with("reason", reason)
                                                     .with("file", state.file.entry.name)))
        state.reversedFen += amount
    }
}

/// What a notification being applied holds between its chunks.
struct NotificationState {
    let file: BankFile
    /// The change being filled, and the declarations it changes (the ledger does not see them yet).
    var change = LedgerChange()
    var touched: [String: DeclarationRecord] = [:]
    var pending = 0
    /// Chunks already in the ledger's open transaction.
    var flushed = 0
    var creditedFen: Fen = 0
    var reversedFen: Fen = 0
    var exceptions = 0
    init(file: BankFile) { self.file = file }
}
