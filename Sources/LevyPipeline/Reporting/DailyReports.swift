import Foundation
import LevyDomain
import LevyLedger

/// `Outbox/reports/summary-YYYY-MM-DD.json`: what happened on one day.
package struct DailySummary: Encodable, Sendable {
    var date: String
    var asOf: String
    var filesReceived = 0
    var accepted = 0
    var rejected = 0
    var duplicates = 0
    var quarantined = 0
    var bankReturns = 0
    var acceptedFen: Fen = 0
    var debitFiles = 0
    var debited = 0
    var debitedFen: Fen = 0
    var paid = 0
    var paidFen: Fen = 0
    var overdue = 0
    var overdueFen: Fen = 0
    /// The journal's last entry when the summary was written: a copy kept elsewhere pins the history.
    var journalHead: JournalHead?

    struct JournalHead: Encodable, Sendable {
        var seq: Int64
        var hash: String
    }

    enum CodingKeys: String, CodingKey {
        case date, asOf = "as_of", filesReceived = "files_received", accepted, rejected, duplicates, quarantined
        case bankReturns = "bank_returns", acceptedFen = "accepted_fen", debitFiles = "debit_files", debited
        case debitedFen = "debited_fen", paid, paidFen = "paid_fen", overdue, overdueFen = "overdue_fen", journalHead = "journal_head"
    }
}

/// `Outbox/reports/arrears-YYYY-MM-DD.json`: every employer in arrears with the fee as of that day.
struct ArrearsReport: Encodable {
    struct Entry: Encodable {
        var employerID: String
        var period: String
        var declarationID: String
        var unpaidFen: Fen
        var lateFeeFen: Fen
        var dailyFeeFen: Fen
        var due: String
        enum CodingKeys: String, CodingKey {
            case employerID = "employer_id", period, declarationID = "declaration_id", unpaidFen = "unpaid_fen"
            case lateFeeFen = "late_fee_fen", dailyFeeFen = "daily_fee_fen", due
        }
    }
    var date: String
    var asOf: String
    var totalUnpaidFen: Fen
    var totalLateFeeFen: Fen
    var employers: [Entry]
    enum CodingKeys: String, CodingKey {
        case date, asOf = "as_of", totalUnpaidFen = "total_unpaid_fen", totalLateFeeFen = "total_late_fee_fen", employers
    }
}

/// The day's reports, written with every run: the summary, the arrears list, the reconciliation of
/// the books with the bank's money (SPEC §9), and the metrics file.
struct DailyReporting: WorkplaceJob {
    let workplace: Workplace
}

extension DailyReporting {
    /// Rewrites the day's summary and arrears list from the ledger (derived, so always the same for the same ledger).
    func writeDailyReports(now: AgencyTime) throws {
        let day = now.date
        var s = DailySummary(date: day.description, asOf: now.iso8601)
        // Counted in the ledger: this runs on every look of the watch, and a year of declarations is
        // hundreds of thousands of rows.
        let figures = try ledger.dayFigures(day: day)
        s.accepted = figures.files[.accepted, default: 0]
        s.rejected = figures.files[.rejected, default: 0]
        s.duplicates = figures.files[.duplicate, default: 0]
        s.quarantined = figures.files[.quarantined, default: 0]
        s.bankReturns = figures.files[.applied, default: 0]
        s.filesReceived = s.accepted + s.rejected + s.duplicates + s.quarantined
        s.acceptedFen = figures.acceptedFen
        s.paid = figures.paid
        s.paidFen = figures.paidFen
        s.journalHead = try ledger.journalHead().map { .init(seq: $0.seq, hash: $0.hash) }
        let messages = try ledger.debitMessages(collectionDate: day)
        s.debitFiles = messages.count
        for m in messages {
            s.debited += m.transactions.count
            s.debitedFen += m.transactions.reduce(0) { $0 + $1.amountFen }
        }
        var arrears = ArrearsReport(date: day.description, asOf: now.iso8601, totalUnpaidFen: 0, totalLateFeeFen: 0, employers: [])
        for d in try ledger.declarations(states: [.overdue], period: nil) {
            // What is left of it: a part-payment's remainder keeps accruing the fee.
            let (unpaid, fee) = amountDue(d, on: now.date)
            s.overdue += 1
            s.overdueFen += unpaid
            arrears.employers.append(.init(employerID: d.employerID.text, period: d.period.description, declarationID: d.id, unpaidFen: unpaid,
                                           lateFeeFen: fee, dailyFeeFen: LateFee.dailyFee(unpaid: unpaid, dailyRate: loaded.rules.lateFeeDailyRate),
                                           due: d.due))
            arrears.totalUnpaidFen += unpaid
            arrears.totalLateFeeFen += fee
        }
        arrears.employers.sort { ($0.employerID, $0.period) < ($1.employerID, $1.period) }
        var banks: [SummaryPage.Bank] = []
        for m in messages.sorted(by: { $0.bankCode < $1.bankCode }) {
            banks.append(.init(code: m.bankCode, name: loaded.rules.banks[m.bankCode]?.name ?? m.bankCode,
                               transactions: m.transactions.count, fen: m.transactions.reduce(0) { $0 + $1.amountFen }))
        }
        var rejected: [SummaryPage.Rejected] = []
        for f in try ledger.files(receivedDate: day, outcomes: [.rejected, .duplicate]) {
            guard let json = f.reportPath else { continue }
            let report = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root.path(json))))) as? [String: Any]
            let codes = (report?["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            let page = String(json.dropFirst("Outbox/".count).dropLast(".json".count)) + ".html"
            let href = "../" + (page.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? page)
            rejected.append(.init(employerID: f.folder, file: f.name, href: href, codes: codes))
        }
        rejected.sort { ($0.employerID, $0.file) < ($1.employerID, $1.file) }
        try DurableFile.write(Array(SummaryPage.render(s, banks: banks, rejected: rejected, arrears: arrears).utf8),
                              to: root.path("Outbox/reports/summary-\(day).html"))
        try DurableFile.write(jsonBytes(s), to: root.path("Outbox/reports/summary-\(day).json"))
        try DurableFile.write(jsonBytes(arrears), to: root.path("Outbox/reports/arrears-\(day).json"))
        try writeReconciliation(now: now)
    }
}
