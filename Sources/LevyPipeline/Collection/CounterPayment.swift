import Foundation
import LevyDomain
import LevyLedger

extension WorkplaceJob {
    /// The receipt of one payment for a declaration: `<id>-payment` (`RP-<id>`), then `<id>-payment-2`
    /// (`RP-<id>-2`) for the next part-payment or a payment after a reversal: a receipt is never written over.
    /// - Parameters: `paid` this payment, `feePart` the part of it that paid the late fee, `remaining`
    ///   what is still owed after it.
    func paymentReceipt(_ d: DeclarationRecord, paid: Fen, feePart: Fen, remaining: Fen) throws -> (number: String, outputs: [PendingOutput]) {
        let (base, number) = try nextFreeName("Outbox/receipts/\(d.employerID)/\(d.id)-payment", number: "RP-\(d.id)")
        let employer = loaded.rules.employer(d.employerID)
        let contributions = (try? JSONDecoder().decode([String: ContributionAmounts].self, from: Data(d.contributionsJSON.utf8))) ?? [:]
        var instructions = d.channel == .debit ? "已通过委托扣款缴纳 / Paid by direct debit" : "已在经办窗口缴纳 / Paid at the service counter"
        if remaining > 0 {
            instructions += "；尚欠 \(Yuan.format(remaining)) 元，未缴社保费继续按日计收滞纳金 / \(Yuan.format(remaining)) yuan is still owed: the late fee keeps accruing on the unpaid contributions"
        }
        var receipt = Receipt(
            receiptNo: number, kind: "payment", employerID: d.employerID.text, employerName: employer?.name ?? "",
            period: d.period.description, declarationID: d.id, headcount: d.headcount, totalWageBaseFen: d.totalBaseFen,
            employerFen: d.employerFen, employeeFen: d.employeeFen, totalFen: d.totalFen, contributions: contributions,
            warnings: [], warningsOmitted: nil, collection: d.collection.rawValue, due: d.due, supersedes: d.supersedes,
            receivedAt: d.receivedAt, file: nil, sha256: nil, instructions: instructions,
            paidFen: paid, lateFeeFen: feePart, paidAt: d.paidAt, channel: d.channel?.rawValue)
        receipt.remainingFen = remaining
        return (number, [PendingOutput(path: base + ".json", content: receipt.jsonBytes),
                         PendingOutput(path: base + ".txt", content: Array(receipt.text.utf8))])
    }

    /// The first of `base`, `base-2`, `base-3`… whose `.json` levy has not written, with its number.
    func nextFreeName(_ base: String, number: String) throws -> (path: String, number: String) {
        let n = try writtenVersions(base) + 1
        return n == 1 ? (base, number) : ("\(base)-\(n)", "\(number)-\(n)")
    }

    /// How many of `base`, `base-2`, `base-3`… levy has written.
    func writtenVersions(_ base: String) throws -> Int {
        var n = 0
        while try ledger.outputExists(path: (n == 0 ? base : "\(base)-\(n + 1)") + ".json") { n += 1 }
        return n
    }

    /// What an employer owes for a declaration on a given day: unpaid contributions and late fee.
    package func amountDue(_ d: DeclarationRecord, on day: CivilDate) -> (principal: Fen, fee: Fen) {
        let owed = d.owed(on: day, dailyRate: loaded.rules.lateFeeDailyRate)
        return (owed.contributions, owed.fee)
    }
}

/// The service counter (经办窗口): payments taken there, withdrawals, reversals of a payment
/// recorded in error, and the second operator's approval or refusal of those that need one (SPEC §10).
package struct ServiceCounter: WorkplaceJob {
    package let workplace: Workplace
}

extension ServiceCounter {
    /// Records a payment made at the service counter (`levy pay`). The amount must be exactly what is
    /// owed that day. Over Rules `approvals.counter_payment_over` it is a request until approved.
    /// - Returns: the receipt's path, or the request's id.
    /// - Throws: ``LevyError`` saying the amount due, or why nothing can be paid.
    package func pay(employer: String, period: String, amount: String, now: AgencyTime) throws -> ManualOutcome {
        try manualOperation(now: now) {
            let operation = try counterPayment(employer: employer, period: period, amount: amount, now: now)
            return try applyOrRequest(operation, now: now)
        }
    }

    /// Checks a counter payment and builds its change, as of `now` (not applied).
    func counterPayment(employer: String, period: String, amount: String, now: AgencyTime) throws -> ManualOperation {
        guard let p = Period(period) else { throw LevyError(.badArgument, "period '\(period)' is not YYYY-MM", fix: "write it like 2026-11") }
        guard let known = loaded.rules.employer(employer) else {
            throw LevyError(.unknownEmployer, "employer \(employer) is not in Rules/employers.csv", fix: "check the credit code")
        }
        guard let d = try ledger.currentDeclaration(employer: known.id, period: p) else {
            throw LevyError(.noDeclaration, "employer \(employer) has no declaration for \(p)", fix: "it must declare first (Inbox/declarations/\(employer)/)")
        }
        switch d.state {
        case .paid: throw LevyError(.alreadyPaid, "declaration \(d.id) is already paid (\(d.paidAt ?? ""))", fix: "nothing to pay; see its payment receipt in Outbox/receipts/\(employer)/")
        case .inFlight: throw LevyError(.debitInFlight, "declaration \(d.id) has a direct debit in flight (\(d.debitMsgID ?? ""))", fix: "wait for the bank's answer before taking money at the counter")
        default: break
        }
        guard case .success(let paid) = Yuan.parse(amount), paid > 0 else {
            throw LevyError(.badArgument, "--amount '\(amount)' is not an amount in yuan above zero", fix: "write it like 1234.56")
        }
        let (principal, fee) = amountDue(d, on: now.date)
        guard paid <= principal + fee else {
            throw LevyError(.overpayment, "amount \(Yuan.format(paid)) is more than what \(employer) owes for \(p) on \(now.date): \(Yuan.format(principal + fee)) yuan (contributions \(Yuan.format(principal)) + late fee \(Yuan.format(fee)))", fix: "take at most \(Yuan.format(principal + fee)); a smaller amount is a part-payment")
        }
        var record = d
        let (feePart, charged, remaining) = record.pay(paid, on: now.date, at: now.iso8601, channel: .counter, dailyRate: loaded.rules.lateFeeDailyRate)
        // A declaration paid in part is finished at the counter: a debit would take the whole amount again.
        if remaining > 0 { record.collection = .counter }
        var change = LedgerChange()
        change.declarationUpdates.append(record)
        let (number, receipt) = try paymentReceipt(record, paid: paid, feePart: feePart, remaining: remaining)
        change.outputs.append(contentsOf: receipt)
        let day = now.date
        if charged > 0 {
            change.money.append(MoneyMovement(day: day, kind: .lateFee, declarationID: d.id, employerID: d.employerID, amountFen: charged, ref: number))
        }
        change.money.append(MoneyMovement(day: day, kind: .paid, declarationID: d.id, employerID: d.employerID, amountFen: paid,
                                          ref: number, feeFen: feePart))
        change.journal.append(journalEntry("counter_payment", subject: d.id, employer: d.employerID.text, at: now,
                                           JournalDetail().with("receipt_no", number).with("paid_fen", paid).with("contributions_fen", paid - feePart)
                                               .with("late_fee_fen", feePart).with("remaining_fen", remaining)))
        return ManualOperation(kind: .counterPayment, subject: d.id, employer: employer, amount: paid, change: change,
                               result: receipt[0].path, payload: ["employer": employer, "period": p.description, "amount": Yuan.format(paid)])
    }

    /// Deletes a declaration (`levy withdraw`) while no debit is in flight or paid; with Rules
    /// `approvals.withdraw`, a request until approved.
    package func withdraw(employer: String, period: String, now: AgencyTime) throws -> ManualOutcome {
        try manualOperation(now: now) { try applyOrRequest(try withdrawal(employer: employer, period: period, now: now), now: now) }
    }

    func withdrawal(employer: String, period: String, now: AgencyTime) throws -> ManualOperation {
        guard let p = Period(period) else { throw LevyError(.badArgument, "period '\(period)' is not YYYY-MM", fix: "write it like 2026-11") }
        guard let id = EmployerID(registered: employer), let d = try ledger.currentDeclaration(employer: id, period: p) else {
            throw LevyError(.noDeclaration, "employer \(employer) has no declaration for \(p) to withdraw", fix: "check the employer and the period (`levy status --period \(p)`)")
        }
        guard d.state != .inFlight && d.state != .paid && d.paidFen == 0 else {
            let why = d.state == .inFlight ? "has a debit in flight" : (d.state == .paid ? "is paid" : "is paid in part")
            throw LevyError(.declarationLocked, "declaration \(d.id) \(why)", fix: "it can no longer be withdrawn; corrections go through the service counter")
        }
        var record = d
        record.state = .withdrawn
        var change = LedgerChange()
        change.declarationUpdates.append(record)
        // No longer owed: its contributions, and a fee charged before a payment that was reversed.
        change.money.append(MoneyMovement(day: now.date, kind: .withdrawn, declarationID: d.id, employerID: d.employerID,
                                          amountFen: d.outstandingFen))
        change.journal.append(journalEntry("declaration_withdrawn", subject: d.id, employer: d.employerID.text, at: now,
                                           JournalDetail().with("period", d.period.description).with("total_fen", d.totalFen).with("state_before", d.state.rawValue)))
        return ManualOperation(kind: .withdraw, subject: d.id, employer: employer, amount: d.totalFen, change: change, result: d.id,
                               payload: ["employer": employer, "period": p.description])
    }

    /// Undoes a counter payment recorded in error (`levy reverse`, 冲正): the declaration is owed again
    /// (overdue, with the late fee from the day after the due day, once past it); a reversal receipt
    /// says so. With Rules `approvals.reversal`, a request until a supervisor approves.
    package func reverse(receiptNo: String, reason: String, now: AgencyTime) throws -> ManualOutcome {
        try manualOperation(now: now) { try applyOrRequest(try reversal(receiptNo: receiptNo, reason: reason, now: now), now: now) }
    }

    func reversal(receiptNo: String, reason: String, now: AgencyTime) throws -> ManualOperation {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw LevyError(.missingReason, "a reversal needs a --reason", fix: "give --reason \"…\" saying why the payment was recorded in error")
        }
        var id = String(receiptNo.drop { $0 != "-" }.dropFirst())
        guard receiptNo.hasPrefix("RP-"), !id.isEmpty else {
            throw LevyError(.badArgument, "'\(receiptNo)' is not a payment receipt number", fix: "it looks like RP-<declaration id>, as on the payment receipt")
        }
        if try ledger.declaration(id: id) == nil, let cut = id.lastIndex(of: "-") { id = String(id[..<cut]) }  // RP-<id>-2
        guard let d = try ledger.declaration(id: id) else {
            throw LevyError(.noDeclaration, "no declaration for receipt \(receiptNo)", fix: "check the number on the payment receipt")
        }
        // The payment in force: the last counter payment not reversed yet.
        let movements = try ledger.movements(declarationID: d.id)
        let reversed = Set(movements.filter { $0.kind == .reversed }.compactMap(\.ref))
        guard let payment = movements.last(where: { $0.kind == .paid && !reversed.contains($0.ref ?? "") }) else {
            throw LevyError(.notReversible, "receipt \(receiptNo): declaration \(d.id) has no payment in force", fix: "only a counter payment recorded in error is reversed")
        }
        guard payment.bank == nil else {
            throw LevyError(.notReversible, "receipt \(receiptNo): declaration \(d.id) is paid by direct debit", fix: "only a counter payment recorded in error is reversed; a debit is reversed by the bank (camt.054)")
        }
        guard payment.ref == receiptNo else {
            throw LevyError(.notReversible, "receipt \(receiptNo) is not the payment in force for \(d.id) (that is \(payment.ref ?? ""))", fix: "reverse the payment in force")
        }
        var record = d
        let isAfterDue = loaded.rules.schedule.isAfterDue(now, period: d.period)
        record.undoPayment(payment.amountFen, feePart: payment.feeFen, paidOn: payment.day, isAfterDue: isAfterDue)
        var change = LedgerChange()
        change.declarationUpdates.append(record)
        let (base, number) = try nextFreeName("Outbox/receipts/\(d.employerID)/\(d.id)-reversal", number: "RV-\(d.id)")
        let receipt = ReversalReceipt(receiptNo: number, employerID: d.employerID.text, employerName: loaded.rules.employer(d.employerID)?.name ?? "",
                                      period: d.period.description, declarationID: d.id, reversedReceiptNo: receiptNo, reversedFen: payment.amountFen,
                                      reason: reason, reversedAt: now.iso8601, owedFen: record.outstandingFen, state: record.state.rawValue)
        change.outputs.append(PendingOutput(path: base + ".json", content: receipt.jsonBytes))
        change.outputs.append(PendingOutput(path: base + ".txt", content: Array(receipt.text.utf8)))
        change.money.append(MoneyMovement(day: now.date, kind: .reversed, declarationID: d.id, employerID: d.employerID,
                                          amountFen: payment.amountFen, ref: receiptNo, feeFen: payment.feeFen))
        change.journal.append(journalEntry("counter_payment_reversed", subject: d.id, employer: d.employerID.text, at: now,
                                           JournalDetail().with("receipt_no", receiptNo).with("reversed_fen", payment.amountFen).with("reason", reason)))
        return ManualOperation(kind: .reversal, subject: d.id, employer: d.employerID.text, amount: payment.amountFen, change: change, result: base + ".json",
                               payload: ["receipt_no": receiptNo, "reason": reason])
    }
}
