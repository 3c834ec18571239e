import Foundation
import LevyDomain
import LevyLedger

/// A statement of account (对账单, SPEC §9): one line per period of a year with what was declared,
/// paid, charged and taken back, so an employer can check it against its own books line by line.
/// `Outbox/statements/<employer_id>/<employer_id>-YYYY.json/.txt/.html`.
package struct Statement: Encodable, Sendable {
    package struct Line: Encodable, Sendable {
        var period: String
        var declarationID: String
        var due: String
        var declaredFen: Fen
        /// Every payment received for it, reversed ones included (they are in ``reversedFen``).
        var paidFen: Fen
        var paidOn: String?
        var channel: String?
        /// Late fee charged (at payments, for the days up to them).
        var lateFeeFen: Fen
        var reversedFen: Fen
        /// declared + late fee − paid + reversed.
        var outstandingFen: Fen
        /// The late fee accrued since, to be charged when it is paid (not part of what is outstanding yet).
        var accruingLateFeeFen: Fen
        var state: String
        enum CodingKeys: String, CodingKey {
            case period, declarationID = "declaration_id", due, declaredFen = "declared_fen", paidFen = "paid_fen", paidOn = "paid_on"
            case channel, lateFeeFen = "late_fee_fen", reversedFen = "reversed_fen", outstandingFen = "outstanding_fen"
            case accruingLateFeeFen = "accruing_late_fee_fen", state
        }
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(period, forKey: .period)
            try c.encode(declarationID, forKey: .declarationID)
            try c.encode(due, forKey: .due)
            try c.encode(declaredFen, forKey: .declaredFen)
            try c.encode(paidFen, forKey: .paidFen)
            try c.encode(paidOn, forKey: .paidOn)
            try c.encode(channel, forKey: .channel)
            try c.encode(lateFeeFen, forKey: .lateFeeFen)
            try c.encode(reversedFen, forKey: .reversedFen)
            try c.encode(outstandingFen, forKey: .outstandingFen)
            try c.encode(accruingLateFeeFen, forKey: .accruingLateFeeFen)
            try c.encode(state, forKey: .state)
        }
    }

    package struct Totals: Encodable, Sendable {
        var declaredFen: Fen = 0
        var paidFen: Fen = 0
        var lateFeeFen: Fen = 0
        var reversedFen: Fen = 0
        var outstandingFen: Fen = 0
        enum CodingKeys: String, CodingKey {
            case declaredFen = "declared_fen", paidFen = "paid_fen", lateFeeFen = "late_fee_fen", reversedFen = "reversed_fen"
            case outstandingFen = "outstanding_fen"
        }
    }

    var agency: String
    var employerID: String
    var employerName: String
    var year: Int
    var asOf: String
    var lines: [Line]
    var totals: Totals

    enum CodingKeys: String, CodingKey {
        case agency, employerID = "employer_id", employerName = "employer_name", year, asOf = "as_of", lines, totals
    }

    /// The statement of `employer` for `year`, from the ledger as of `now`.
    /// - Throws: ``LevyError`` when the employer is not in Rules/employers.csv.
    package static func of(employer: String, year: Int, loaded: LoadedRules, ledger: any Ledger, now: AgencyTime) throws -> Statement {
        guard let known = loaded.rules.employer(employer) else {
            throw LevyError(.unknownEmployer, "employer \(employer) is not in Rules/employers.csv", fix: "check the credit code")
        }
        let from = Period(year: year, month: 1), to = Period(year: year, month: 12)
        var lines: [Line] = []
        var totals = Totals()
        for d in try ledger.declarations(employer: known.id, from: from, to: to) {
            let accruing = d.owed(on: now.date, dailyRate: loaded.rules.lateFeeDailyRate).newCharge
            let line = Line(period: d.period.description, declarationID: d.id, due: d.due, declaredFen: d.totalFen, paidFen: d.paidFen + d.reversedFen,
                            paidOn: d.paidAt.map { String($0.prefix(10)) }, channel: d.channel?.rawValue, lateFeeFen: d.feeChargedFen,
                            reversedFen: d.reversedFen, outstandingFen: d.outstandingFen, accruingLateFeeFen: accruing, state: d.state.rawValue)
            totals.declaredFen += line.declaredFen
            totals.paidFen += line.paidFen
            totals.lateFeeFen += line.lateFeeFen
            totals.reversedFen += line.reversedFen
            totals.outstandingFen += line.outstandingFen
            lines.append(line)
        }
        return Statement(agency: loaded.rules.agencyName, employerID: known.id.text, employerName: known.name, year: year,
                         asOf: now.iso8601, lines: lines, totals: totals)
    }

    /// Writes the three files; returns the JSON's path relative to the root.
    package func write(to root: Root) throws -> String {
        let base = "Outbox/statements/\(employerID)/\(employerID)-\(year)"
        try DurableFile.write(jsonBytes(self), to: root.path(base + ".json"))
        try DurableFile.write(Array(text.utf8), to: root.path(base + ".txt"))
        try DurableFile.write(Array(html.utf8), to: root.path(base + ".html"))
        return base + ".json"
    }

    package var text: String {
        var out = ["\(agency)", "社会保险费对账单 / Statement of account \(year)", String(repeating: "=", count: 60),
                   "单位 employer: \(employerID) \(employerName)", "截至 as of: \(asOf)", "",
                   "所属期 period  申报编号 declaration_id            应缴 declared_fen  实缴 paid_fen  滞纳金 late_fee_fen  退回 reversed_fen  欠缴 outstanding_fen  缴费日 paid_on  渠道 channel"]
        for l in lines {
            out.append("\(l.period.rightPadded(14))\(l.declarationID.rightPadded(34))\(String(l.declaredFen).leftPadded(18))\(String(l.paidFen).leftPadded(15))\(String(l.lateFeeFen).leftPadded(21))\(String(l.reversedFen).leftPadded(19))\(String(l.outstandingFen).leftPadded(22))  \(l.paidOn ?? "-")  \(l.channel ?? "-")")
        }
        out.append("合计 totals".rightPadded(48) + "\(String(totals.declaredFen).leftPadded(18))\(String(totals.paidFen).leftPadded(15))\(String(totals.lateFeeFen).leftPadded(21))\(String(totals.reversedFen).leftPadded(19))\(String(totals.outstandingFen).leftPadded(22))")
        out.append("")
        out.append("金额单位：分 (fen)。欠缴 = 应缴 + 滞纳金 − 实缴 + 退回 / outstanding = declared + late fee − paid + reversed")
        return out.joined(separator: "\n") + "\n"
    }

    var html: String {
        var b = "<style>@page { size: A4; margin: 15mm; } @media print { body { margin: 0; } }</style>\n"
        b += "<h1>\(HTML.escape(agency))</h1>\n<h2>社会保险费对账单 / Statement of account \(year)</h2>\n"
        b += "<table><tr><th>单位 employer</th><td>\(HTML.escape(employerID)) \(HTML.escape(employerName))</td></tr>"
        b += "<tr><th>截至 as of</th><td>\(HTML.escape(asOf))</td></tr></table>\n"
        b += "<table><tr><th>所属期 period</th><th>申报编号 declaration</th><th>缴费截止 due</th><th>应缴 declared</th><th>实缴 paid</th>"
        b += "<th>缴费日 paid on</th><th>渠道 channel</th><th>滞纳金 late fee</th><th>退回 reversed</th><th>欠缴 outstanding</th></tr>\n"
        for l in lines {
            b += "<tr\(l.outstandingFen > 0 ? " class=\"bad\"" : "")><td>\(l.period)</td><td class=\"code\">\(HTML.escape(l.declarationID))</td>"
            b += "<td>\(HTML.escape(String(l.due.prefix(10))))</td>"
            for fen in [l.declaredFen, l.paidFen] { b += "<td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td>" }
            b += "<td>\(HTML.escape(l.paidOn ?? ""))</td><td>\(HTML.escape(l.channel ?? ""))</td>"
            for fen in [l.lateFeeFen, l.reversedFen, l.outstandingFen] { b += "<td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td>" }
            b += "</tr>\n"
        }
        b += "<tr><th colspan=\"3\">合计 totals</th>"
        for fen in [totals.declaredFen, totals.paidFen] { b += "<td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td>" }
        b += "<td></td><td></td>"
        for fen in [totals.lateFeeFen, totals.reversedFen, totals.outstandingFen] { b += "<td class=\"num\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td>" }
        b += "</tr>\n</table>\n<p class=\"muted\">金额单位：元。欠缴 = 应缴 + 滞纳金 − 实缴 + 退回 / outstanding = declared + late fee − paid + reversed</p>\n"
        return HTML.page(title: "对账单 \(employerID) \(year)", body: b)
    }
}
