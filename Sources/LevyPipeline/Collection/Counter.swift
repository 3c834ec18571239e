import Foundation
import LevyDomain
import LevyLedger

extension Levy {
    /// The payment receipt of a paid declaration.
    func paymentReceipt(_ d: DeclarationRecord) -> [PendingOutput] {
        let employer = loaded.rules.employer(d.employerID)
        let contributions = (try? JSONDecoder().decode([String: ContributionAmounts].self, from: Data(d.contributionsJSON.utf8))) ?? [:]
        let receipt = Receipt(
            receiptNo: "RP-\(d.id)", kind: "payment", employerID: d.employerID, employerName: employer?.name ?? "",
            period: d.period, declarationID: d.id, headcount: d.headcount, totalWageBaseFen: d.totalBaseFen,
            employerFen: d.employerFen, employeeFen: d.employeeFen, totalFen: d.totalFen, contributions: contributions,
            warnings: [], warningsOmitted: nil, collection: d.collection, due: d.due, supersedes: d.supersedes,
            receivedAt: d.receivedAt, file: nil, sha256: nil,
            instructions: d.channel == "debit" ? "已通过委托扣款缴纳 / Paid by direct debit" : "已在经办窗口缴纳 / Paid at the service counter",
            paidFen: d.paidFen, lateFeeFen: d.lateFeeFen, paidAt: d.paidAt, channel: d.channel)
        let base = "Outbox/receipts/\(d.employerID)/\(d.id)-payment"
        return [PendingOutput(path: base + ".json", content: receipt.jsonBytes),
                PendingOutput(path: base + ".txt", content: Array(receipt.text.utf8))]
    }

    /// What an employer owes for a declaration on a given day: principal and late fee.
    package func amountDue(_ d: DeclarationRecord, on day: CivilDate) -> (principal: Fen, fee: Fen) {
        let fee = LateFee.fee(unpaid: d.totalFen, dailyRate: loaded.rules.lateFeeDailyRate, due: CivilDate(d.dueDate)!, on: day)
        return (d.totalFen, fee)
    }

    /// Records a payment made at the service counter (`levy pay`). The amount must be exactly what is owed that day.
    /// - Returns: the receipt's path.
    /// - Throws: ``LevyError`` saying the amount due, or why nothing can be paid.
    package func payAtCounter(employer: String, period: String, amount: String, now: AgencyTime) throws -> String {
        try manualOperation(now: now) { try recordCounterPayment(employer: employer, period: period, amount: amount, now: now) }
    }

    func recordCounterPayment(employer: String, period: String, amount: String, now: AgencyTime) throws -> String {
        guard let p = Period(period) else { throw LevyError("period '\(period)' is not YYYY-MM — write it like 2026-11") }
        guard loaded.rules.employer(employer) != nil else {
            throw LevyError("employer \(employer) is not in Rules/employers.csv — check the credit code")
        }
        guard let d = try ledger.currentDeclaration(employer: employer, period: p.description) else {
            throw LevyError("employer \(employer) has no declaration for \(p) — it must declare first (Inbox/declarations/\(employer)/)")
        }
        switch d.state {
        case .paid: throw LevyError("declaration \(d.id) is already paid (\(d.paidAt ?? "")) — nothing to pay; see Outbox/receipts/\(employer)/\(d.id)-payment.txt")
        case .inFlight: throw LevyError("declaration \(d.id) has a direct debit in flight (\(d.debitMsgID ?? "")) — wait for the bank's answer before taking money at the counter")
        default: break
        }
        guard case .success(let paid) = Yuan.parse(amount) else {
            throw LevyError("--amount '\(amount)' is not an amount in yuan — write it like 1234.56")
        }
        let (principal, fee) = amountDue(d, on: now.date)
        guard paid == principal + fee else {
            throw LevyError("amount \(Yuan.format(paid)) does not match what \(employer) owes for \(p) on \(now.date): \(Yuan.format(principal + fee)) yuan (contributions \(Yuan.format(principal)) + late fee \(Yuan.format(fee))) — take exactly \(Yuan.format(principal + fee))")
        }
        var record = d
        record.state = .paid
        record.paidFen = paid
        record.lateFeeFen = fee
        record.paidAt = now.iso8601
        record.channel = "counter"
        var change = LedgerChange()
        change.declarationUpdates.append(record)
        change.outputs.append(contentsOf: paymentReceipt(record))
        change.journal.append(journalEntry("counter_payment", subject: d.id, employer: d.employerID, at: now,
                                           JournalDetail().with("paid_fen", paid).with("contributions_fen", principal).with("late_fee_fen", fee)))
        try ledger.apply(change)
        try flushOutputs()
        return "Outbox/receipts/\(employer)/\(d.id)-payment.json"
    }

    /// Deletes a declaration (`levy withdraw`) while no debit is in flight or paid.
    package func withdraw(employer: String, period: String, now: AgencyTime) throws -> String {
        try manualOperation(now: now) { try withdrawDeclaration(employer: employer, period: period, now: now) }
    }

    func withdrawDeclaration(employer: String, period: String, now: AgencyTime) throws -> String {
        guard let p = Period(period) else { throw LevyError("period '\(period)' is not YYYY-MM — write it like 2026-11") }
        guard let d = try ledger.currentDeclaration(employer: employer, period: p.description) else {
            throw LevyError("employer \(employer) has no declaration for \(p) to withdraw")
        }
        guard d.state != .inFlight && d.state != .paid else {
            throw LevyError("E-DECL-LOCKED: declaration \(d.id) \(d.state == .paid ? "is paid" : "has a debit in flight") — it can no longer be withdrawn; corrections go through the service counter")
        }
        var record = d
        record.state = .withdrawn
        var change = LedgerChange()
        change.declarationUpdates.append(record)
        change.journal.append(journalEntry("declaration_withdrawn", subject: d.id, employer: d.employerID, at: now,
                                           JournalDetail().with("period", d.period).with("total_fen", d.totalFen).with("state_before", d.state.rawValue)))
        try ledger.apply(change)
        return d.id
    }
}
