import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// Collection's clock: on a debit-window day at the cutoff time, one pain.008 per bank with what is
/// to be debited; after a due date, what is unpaid becomes overdue, with a notice.
struct DebitCut: WorkplaceJob {
    let workplace: Workplace
}

extension DebitCut {
    /// Collection work due at `now`: debit cuts on window days, then overdue transitions after due dates.
    /// The cut comes first: on the due day the last cut is at the cutoff time, the same moment the period falls due.
    func collect(now: AgencyTime) throws {
        try cutDebits(now: now)
        try markOverdue(now: now)
    }

    /// On a window day at or after the cutoff time: one pain.008 per bank with every accepted, unpaid,
    /// not-in-flight declaration of employers holding a mandate. Runs once per day (the ledger remembers).
    func cutDebits(now: AgencyTime) throws {
        let schedule = loaded.rules.schedule
        guard now.time >= schedule.cutoffTime, schedule.calendar.isWorkingDay(now.date),
              try !ledger.cutDone(collectionDate: now.date) else { return }
        let candidates = try ledger.declarations(states: [.accepted], period: nil).filter { d in
            // Nothing to collect from a declaration of removals only: a bank refuses a 0.00 debit.
            guard d.collection == .debit, d.totalFen > 0 else { return false }
            return schedule.debitWindow(of: d.period).contains(now.date)
        }
        let day = now.date
        let already = Set(try ledger.debitMessages(collectionDate: day).map(\.bankCode))
        var byBank: [String: [(DeclarationRecord, Employer)]] = [:]
        for d in candidates {
            guard let employer = loaded.rules.employer(d.employerID), let mandate = employer.mandate else { continue }
            byBank[mandate.bankCode, default: []].append((d, employer))
        }
        for bankCode in byBank.keys.sorted() where !already.contains(bankCode) {
            guard let bank = loaded.rules.banks[bankCode] else { continue }
            let items = byBank[bankCode]!.sorted { $0.0.id < $1.0.id }
            let msgID = "LEVY-\(bankCode)-\(now.date.compact)"
            let debits = items.map { d, e in
                DirectDebit(endToEndID: d.id, amountFen: d.totalFen, mandate: e.mandate!, debtorName: e.name,
                            debtorID: e.id.text, remittance: "社会保险费 \(d.period) \(d.id)")
            }
            let createdAt = "\(now.date)T\(schedule.cutoffTime)"
            let bytes = Pain008.render(msgID: msgID, createdAt: createdAt, collectionDate: now.date,
                                       creditorName: loaded.rules.agencyName, creditorID: loaded.rules.creditorID,
                                       bank: bank, debits: debits)
            let issues = try Levy.schema(.pain008).validate(document: bytes)
            guard issues.isEmpty else {
                throw LevyError(.debitFileInvalid, "the debit file \(msgID) does not validate against pain.008.001.02 (\(issues[0].message))", fix: "nothing was sent; check Rules/banks.yaml and employers.csv bank fields")
            }
            let path = "Outbox/debits/\(bankCode)/\(msgID).xml"
            var change = LedgerChange()
            change.debitMessage = DebitMessage(msgID: msgID, bankCode: bankCode, collectionDate: day, path: path,
                                               transactions: debits.map { DebitTransaction(declarationID: $0.endToEndID, amountFen: $0.amountFen) })
            for (var d, _) in items {
                d.state = .inFlight
                d.debitDate = day
                d.debitMsgID = msgID
                change.declarationUpdates.append(d)
                change.money.append(MoneyMovement(day: day, kind: .sent, bank: bankCode, declarationID: d.id, employerID: d.employerID,
                                                  amountFen: d.totalFen, ref: msgID))
            }
            change.outputs.append(PendingOutput(path: path, content: bytes))
            change.journal.append(journalEntry("debit_cut", subject: msgID, employer: nil, at: now,
                                               JournalDetail().with("bank", bankCode).with("collection_date", day.description)
                                                   .with("transactions", Int64(debits.count)).with("total_fen", debits.reduce(0) { $0 + $1.amountFen })))
            try ledger.apply(change)
            try publisher.flushOutputs()
            logger.info("debit file cut", metadata: ["bank": "\(bankCode)", "msg_id": "\(msgID)", "transactions": "\(debits.count)"])
        }
        var done = LedgerChange()
        done.cutDone = day
        try ledger.apply(done)
    }

    /// After a period's due date-time: accepted (unpaid, not in flight) and failed declarations become overdue,
    /// with a notice to pay at the counter.
    /// Only the periods already due are read: this runs on every look of the watch, and the month's
    /// accepted declarations waiting for their debit window are every employer's.
    func markOverdue(now: AgencyTime) throws {
        let schedule = loaded.rules.schedule
        let due = try ledger.periods(states: [.accepted, .failed]).filter { schedule.isAfterDue(now, period: $0) }
        for var d in try due.flatMap({ try ledger.declarations(states: [.accepted, .failed], period: $0) }) {
            guard d.totalFen > 0 else { continue }
            let reason = d.state == .failed ? "debit_failed:\(d.failReason ?? "")" : (d.collection == .debit ? "not_collected" : "not_paid_by_due_date")
            d.state = .overdue
            var change = LedgerChange()
            change.declarationUpdates.append(d)
            change.outputs.append(contentsOf: overdueNotice(d, reason: reason, now: now))
            change.journal.append(journalEntry("declaration_overdue", subject: d.id, employer: d.employerID.text, at: now,
                                               JournalDetail().with("reason", reason).with("unpaid_fen", d.totalFen)))
            try ledger.apply(change)
            try publisher.flushOutputs()
        }
    }
}

extension WorkplaceJob {
    /// The next window day after `day` whose cut has not happened yet, if any.
    func nextWindowDay(after day: CivilDate, period: Period, now: AgencyTime) throws -> CivilDate? {
        for d in loaded.rules.schedule.debitWindow(of: period) where d > day && d >= now.date {
            if d > now.date { return d }
            if try !ledger.cutDone(collectionDate: d) { return d }
        }
        return nil
    }
}

extension LoadedRules {
    /// When the next debit cut will happen: the first window day at or after `now` whose cut is not
    /// done yet (`isCut`), at the cutoff time; nil when no window day is within two months.
    package func nextCut(after now: AgencyTime, isCut: (CivilDate) throws -> Bool) rethrows -> AgencyTime? {
        let schedule = rules.schedule
        for offset in 0..<62 {
            let day = now.date.adding(days: offset)
            guard schedule.debitWindow(of: day.period).contains(day) else { continue }
            if offset == 0, try isCut(day) { continue }
            return clock.at(day, schedule.cutoffTime)
        }
        return nil
    }
}
