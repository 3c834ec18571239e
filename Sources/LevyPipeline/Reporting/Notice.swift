import Foundation
import LevyDomain
import LevyLedger

/// A debit-failed or overdue-fee notice to an employer (SPEC §7).
package struct Notice: Encodable, Sendable {
    var kind: String
    var employerID: String
    var period: String
    var declarationID: String
    var unpaidFen: Fen
    var lateFeeFen: Fen
    var asOf: String
    var dailyFeeFen: Fen
    var reason: String
    var due: String
    var totalToPayFen: Fen
    var instructions: String

    enum CodingKeys: String, CodingKey {
        case kind, employerID = "employer_id", period, declarationID = "declaration_id", unpaidFen = "unpaid_fen"
        case lateFeeFen = "late_fee_fen", asOf = "as_of", dailyFeeFen = "daily_fee_fen", reason, due
        case totalToPayFen = "total_to_pay_fen", instructions
    }

    var text: String {
        let title = switch kind {
        case "overdue": "社会保险费逾期缴费通知 / Overdue contribution notice"
        case "debit_reversed": "委托扣款被退回通知 / Direct debit reversed by the bank"
        default: "委托扣款失败通知 / Direct debit failed"
        }
        return [
            title, String(repeating: "=", count: 60),
            "单位 employer:            \(employerID)",
            "所属期 period:            \(period)",
            "申报编号 declaration id:  \(declarationID)",
            "原因 reason:              \(reason)",
            "缴费截止 due:             \(due)",
            "欠缴金额 unpaid:          \(yuanText(unpaidFen)) 元",
            "截至 \(asOf) 滞纳金 late fee so far: \(yuanText(lateFeeFen)) 元",
            "此后每日滞纳金 per further day:   \(yuanText(dailyFeeFen)) 元",
            "今日应缴合计 to pay today:        \(yuanText(totalToPayFen)) 元",
            instructions,
        ].joined(separator: "\n") + "\n"
    }
}

extension WorkplaceJob {
    /// The notice telling an employer to pay at the counter, with the fee so far and per further day.
    func notice(_ d: DeclarationRecord, kind: String, reason: String, now: AgencyTime) -> [PendingOutput] {
        let rate = loaded.rules.lateFeeDailyRate
        let owed = d.owed(on: now.date, dailyRate: rate)
        let notice = Notice(
            kind: kind, employerID: d.employerID.text, period: d.period.description, declarationID: d.id, unpaidFen: owed.contributions,
            lateFeeFen: owed.fee, asOf: now.iso8601, dailyFeeFen: LateFee.dailyFee(unpaid: owed.contributions, dailyRate: rate),
            reason: reason, due: d.due, totalToPayFen: owed.total,
            instructions: "请到经办窗口缴纳社保费及滞纳金（按日 \(rate) 计，自截止日次日起至缴费当日）/ Pay the contributions and the late fee (\(rate) a day from the day after the due date to the payment day) at the service counter")
        let base = "Outbox/notices/\(d.employerID)/\(d.id)-\(kind == "debit_failed" ? "debit-failed" : kind.replacingOccurrences(of: "_", with: "-"))"
        return [PendingOutput(path: base + ".json", content: jsonBytes(notice)),
                PendingOutput(path: base + ".txt", content: Array(notice.text.utf8))]
    }

    func overdueNotice(_ d: DeclarationRecord, reason: String, now: AgencyTime) -> [PendingOutput] {
        notice(d, kind: "overdue", reason: reason, now: now)
    }
}
