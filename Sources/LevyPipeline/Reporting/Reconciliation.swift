import Foundation
import LevyDomain
import LevyLedger

/// `Outbox/reports/reconciliation-YYYY-MM-DD.json/.txt/.html` (SPEC §9): the day's money per bank, what
/// the bank said that levy did not apply, and the balance of what employers owe, which must hold to the fen.
struct ReconciliationReport: Encodable {
    struct Bank: Encodable {
        var bankCode: String
        var name: String
        var sentFen: Fen = 0
        var confirmedFen: Fen = 0
        var rejectedFen: Fen = 0
        var creditedFen: Fen = 0
        var reversedFen: Fen = 0
        enum CodingKeys: String, CodingKey {
            case bankCode = "bank_code", name, sentFen = "sent_fen", confirmedFen = "confirmed_fen", rejectedFen = "rejected_fen"
            case creditedFen = "credited_fen", reversedFen = "reversed_fen"
        }
    }

    struct Exception: Encodable {
        var kind: String
        var bankCode: String
        var declarationID: String
        var amountFen: Fen
        var expectedFen: Fen?
        var since: String
        var file: String?
        var note: String?
        enum CodingKeys: String, CodingKey {
            case kind, bankCode = "bank_code", declarationID = "declaration_id", amountFen = "amount_fen", expectedFen = "expected_fen"
            case since, file, note
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(bankCode, forKey: .bankCode)
            try c.encode(declarationID, forKey: .declarationID)
            try c.encode(amountFen, forKey: .amountFen)
            try c.encode(expectedFen, forKey: .expectedFen)  // null when there is nothing to expect
            try c.encode(since, forKey: .since)
            try c.encodeIfPresent(file, forKey: .file)
            try c.encodeIfPresent(note, forKey: .note)
        }
    }

    var date: String
    var asOf: String
    var banks: [Bank]
    var exceptions: [Exception]
    var receivableOpenFen: Fen
    var declaredFen: Fen
    var lateFeeFen: Fen
    var paidFen: Fen
    var reversedFen: Fen
    var withdrawnFen: Fen
    var receivableCloseFen: Fen
    /// What the declarations themselves say is owed (contributions and fees charged, less paid).
    var outstandingFen: Fen
    var balanced: Bool

    enum CodingKeys: String, CodingKey {
        case date, asOf = "as_of", banks, exceptions, receivableOpenFen = "receivable_open_fen", declaredFen = "declared_fen"
        case lateFeeFen = "late_fee_fen", paidFen = "paid_fen", reversedFen = "reversed_fen", withdrawnFen = "withdrawn_fen"
        case receivableCloseFen = "receivable_close_fen", outstandingFen = "outstanding_fen", balanced
    }
}

extension DailyReporting {
    /// The day's reconciliation, from the ledger's movements (derived: the same ledger gives the same report).
    func reconciliation(now: AgencyTime) throws -> ReconciliationReport {
        let day = now.date
        var banks: [String: ReconciliationReport.Bank] = [:]
        for code in loaded.rules.banks.keys { banks[code] = .init(bankCode: code, name: loaded.rules.banks[code]!.name) }
        var sums: [MoneyKind: Fen] = [:]
        for (kind, bank, fen) in try ledger.moneyTotals(day: day) {
            sums[kind, default: 0] += fen
            guard let bank else { continue }
            var b = banks[bank] ?? .init(bankCode: bank, name: bank)
            switch kind {
            case .sent: b.sentFen += fen
            case .confirmed: b.confirmedFen += fen
            case .rejected: b.rejectedFen += fen
            case .credited: b.creditedFen += fen
            case .reversed: b.reversedFen += fen
            default: break
            }
            banks[bank] = b
        }
        let open = try ledger.receivable(before: day)
        let close = open + sums[.declared, default: 0] + sums[.lateFee, default: 0] - sums[.paid, default: 0]
            + sums[.reversed, default: 0] - sums[.withdrawn, default: 0]
        let outstanding = try ledger.receivableOutstanding()
        var exceptions = try ledger.bankExceptions(day: day).map {
            ReconciliationReport.Exception(kind: $0.kind.rawValue, bankCode: $0.bank, declarationID: $0.declarationID, amountFen: $0.amountFen,
                                           expectedFen: $0.expectedFen, since: $0.since.description, file: $0.file, note: $0.note)
        }
        exceptions += try loaded.awaitingAnswers(ledger, now: now).map {
            ReconciliationReport.Exception(kind: $0.kind.rawValue, bankCode: $0.bank, declarationID: $0.declarationID, amountFen: $0.amountFen,
                                           expectedFen: $0.expectedFen, since: $0.since.description, file: nil, note: $0.note)
        }
        return ReconciliationReport(
            date: day.description, asOf: now.iso8601, banks: banks.keys.sorted().map { banks[$0]! }, exceptions: exceptions,
            receivableOpenFen: open, declaredFen: sums[.declared, default: 0], lateFeeFen: sums[.lateFee, default: 0],
            paidFen: sums[.paid, default: 0], reversedFen: sums[.reversed, default: 0], withdrawnFen: sums[.withdrawn, default: 0],
            receivableCloseFen: close, outstandingFen: outstanding, balanced: close == outstanding)
    }

    func writeReconciliation(now: AgencyTime) throws {
        let report = try reconciliation(now: now)
        let base = root.path("Outbox/reports/reconciliation-\(report.date)")
        try DurableFile.write(jsonBytes(report), to: base + ".json")
        try DurableFile.write(Array(report.text.utf8), to: base + ".txt")
        try DurableFile.write(Array(ReconciliationPage.render(report, agency: loaded.rules.agencyName).utf8), to: base + ".html")
    }
}

extension ReconciliationReport {
    static let kindNames: [String: String] = [
        "unknown_reference": "无法识别的款项", "amount_mismatch": "金额不符", "not_debited": "未扣款的款项",
        "duplicate_credit": "重复入账", "unanswered": "银行未答复", "confirmed_not_credited": "已确认未入账",
    ]

    var text: String {
        var lines = ["社会保险费收入对账表 / Daily reconciliation  \(date)", String(repeating: "=", count: 60), "截至 as of: \(asOf)", ""]
        lines.append("应收余额 receivable (fen)")
        lines.append("  期初 receivable_open_fen:    \(receivableOpenFen)")
        lines.append("  + 申报 declared_fen:          \(declaredFen)")
        lines.append("  + 滞纳金 late_fee_fen:        \(lateFeeFen)")
        lines.append("  − 实收 paid_fen:              \(paidFen)")
        lines.append("  + 冲正退回 reversed_fen:      \(reversedFen)")
        lines.append("  − 撤回替换 withdrawn_fen:     \(withdrawnFen)")
        lines.append("  = 期末 receivable_close_fen:  \(receivableCloseFen)")
        lines.append("  账面欠缴 outstanding_fen:     \(outstandingFen)")
        lines.append(balanced ? "  账实相符 balanced: true" : "  账实不符 balanced: false — 请核查 / investigate")
        lines.append("")
        lines.append("银行 bank        sent_fen  confirmed_fen  rejected_fen  credited_fen  reversed_fen")
        for b in banks {
            lines.append("\(b.bankCode.rightPadded(12)) \(String(b.sentFen).leftPadded(12)) \(String(b.confirmedFen).leftPadded(14)) \(String(b.rejectedFen).leftPadded(13)) \(String(b.creditedFen).leftPadded(13)) \(String(b.reversedFen).leftPadded(13))")
        }
        lines.append("")
        lines.append("例外 exceptions (\(exceptions.count))")
        for e in exceptions {
            lines.append("  [\(e.kind)] \(Self.kindNames[e.kind] ?? "") \(e.bankCode) \(e.declarationID.isEmpty ? "-" : e.declarationID) amount_fen=\(e.amountFen)\(e.expectedFen.map { " expected_fen=\($0)" } ?? "") since=\(e.since)\(e.note.map { " — \($0)" } ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The reconciliation as a page for the finance office: exceptions first, then the balance, then the banks.
enum ReconciliationPage {
    static func render(_ r: ReconciliationReport, agency: String) -> String {
        var b = "<h1>\(HTML.escape(agency)) 社会保险费收入对账表 / Daily reconciliation \(HTML.escape(r.date))</h1>\n"
        b += "<p class=\"muted\">截至 as of \(HTML.escape(r.asOf))</p>\n"
        b += "<h2 id=\"exceptions\">例外 Exceptions (\(r.exceptions.count))</h2>\n"
        if r.exceptions.isEmpty {
            b += "<p>无 / none</p>\n"
        } else {
            b += "<table><tr><th>类型 kind</th><th>银行 bank</th><th>申报 declaration</th><th>金额 amount</th><th>应为 expected</th><th>自 since</th><th>说明 note</th></tr>\n"
            for e in r.exceptions {
                b += "<tr class=\"bad\"><td class=\"code\">\(HTML.escape(e.kind))<br>\(HTML.escape(ReconciliationReport.kindNames[e.kind] ?? ""))</td>"
                b += "<td class=\"code\">\(HTML.escape(e.bankCode))</td><td class=\"code\">\(HTML.escape(e.declarationID))</td>"
                b += "<td class=\"num\" data-fen=\"\(e.amountFen)\">\(HTML.yuan(e.amountFen))</td>"
                b += "<td class=\"num\">\(e.expectedFen.map(HTML.yuan) ?? "")</td><td>\(HTML.escape(e.since))</td><td>\(HTML.escape(e.note ?? ""))</td></tr>\n"
            }
            b += "</table>\n"
        }
        b += "<h2>应收余额 Receivable balance</h2>\n<table>\n"
        for (label, fen) in [("期初 receivable_open", r.receivableOpenFen), ("+ 申报 declared", r.declaredFen), ("+ 滞纳金 late_fee", r.lateFeeFen),
                             ("− 实收 paid", r.paidFen), ("+ 冲正退回 reversed", r.reversedFen), ("− 撤回替换 withdrawn", r.withdrawnFen),
                             ("= 期末 receivable_close", r.receivableCloseFen), ("账面欠缴 outstanding", r.outstandingFen)] {
            b += "<tr><th>\(label)</th><td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td></tr>\n"
        }
        b += "<tr\(r.balanced ? "" : " class=\"bad\"")><th>账实相符 balanced</th><td id=\"balanced\">\(r.balanced)</td></tr>\n</table>\n"
        b += "<h2>银行 Banks</h2>\n<table><tr><th>银行 bank</th><th>扣款发出 sent</th><th>回执确认 confirmed</th><th>回执拒绝 rejected</th><th>入账 credited</th><th>退回 reversed</th></tr>\n"
        for bank in r.banks {
            b += "<tr><td>\(HTML.escape(bank.bankCode)) \(HTML.escape(bank.name))</td>"
            for fen in [bank.sentFen, bank.confirmedFen, bank.rejectedFen, bank.creditedFen, bank.reversedFen] {
                b += "<td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td>"
            }
            b += "</tr>\n"
        }
        b += "</table>\n"
        return HTML.page(title: "对账 reconciliation \(r.date)", body: b)
    }
}

extension LoadedRules {
    /// Debits the bank has not answered in time (SPEC §9): `unanswered` (no final pain.002 status and no
    /// credit) and `confirmed_not_credited` (an `ACSC` no camt.054 credit followed), once
    /// `bank_returns.answer_within_days` working days after the collection date have ended.
    package func awaitingAnswers(_ ledger: any Ledger, now: AgencyTime) throws -> [BankException] {
        let calendar = rules.schedule.calendar
        /// The last day the bank may answer a debit collected on `collected`.
        func deadline(_ collected: CivilDate) -> CivilDate {
            var day = collected
            var left = answerWithinDays
            while left > 0 {
                day = day.adding(days: 1)
                if calendar.isWorkingDay(day) { left -= 1 }
            }
            return day
        }
        // The latest collection date whose answer is overdue today: only debits up to it are read.
        var latest = now.date.adding(days: -1)
        while deadline(latest) >= now.date { latest = latest.adding(days: -1) }
        var late: [BankException] = []
        for d in try ledger.awaitingBank(collectedOnOrBefore: latest) {
            guard let collected = d.debitDate,
                  let bank = rules.employer(d.employerID)?.mandate?.bankCode else { continue }
            let last = deadline(collected)
            if d.state == .inFlight {
                late.append(BankException(day: now.date, kind: .unanswered, bank: bank, declarationID: d.id, amountFen: d.totalFen,
                                          expectedFen: nil, since: collected,
                                          note: "扣款 \(collected) 发出，银行至 \(last) 仍未答复 / debited on \(collected), no answer by \(last)"))
            } else {
                late.append(BankException(day: now.date, kind: .confirmedNotCredited, bank: bank, declarationID: d.id,
                                          amountFen: d.paidFen, expectedFen: nil, since: d.confirmedOn ?? collected,
                                          note: "银行回执已确认扣款，至 \(last) 未见入账 / confirmed paid, not credited by \(last)"))
            }
        }
        return late
    }
}
