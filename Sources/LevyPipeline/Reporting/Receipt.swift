import Foundation
import LevyDomain
import LevyLedger

/// A receipt (回执) for an accepted declaration or a payment (SPEC §7).
package struct Receipt: Encodable, Sendable {
    package var receiptNo: String
    package var kind: String
    package var employerID: String
    package var employerName: String
    package var period: String
    package var declarationID: String
    package var headcount: Int
    package var totalWageBaseFen: Fen
    package var employerFen: Fen
    package var employeeFen: Fen
    package var totalFen: Fen
    package var contributions: [String: ContributionAmounts]
    package var warnings: [FindingJSON]
    package var warningsOmitted: Int?
    package var collection: String
    package var due: String
    package var supersedes: String?
    package var receivedAt: String
    package var file: String?
    package var sha256: String?
    package var instructions: String
    // Payment receipts
    package var paidFen: Fen?
    package var lateFeeFen: Fen?
    package var paidAt: String?
    package var channel: String?
    /// What is still owed after this payment (0: paid in full).
    package var remainingFen: Fen?

    enum CodingKeys: String, CodingKey {
        case receiptNo = "receipt_no", kind, employerID = "employer_id", employerName = "employer_name", period
        case declarationID = "declaration_id", headcount, totalWageBaseFen = "total_wage_base_fen"
        case employerFen = "employer_fen", employeeFen = "employee_fen", totalFen = "total_fen", contributions, warnings
        case warningsOmitted = "warnings_omitted", collection, due, supersedes, receivedAt = "received_at", file, sha256
        case instructions, paidFen = "paid_fen", lateFeeFen = "late_fee_fen", paidAt = "paid_at", channel, remainingFen = "remaining_fen"
    }
}

extension Receipt {
    /// The receipt's JSON: the same bytes as `jsonBytes(receipt)` (a test holds them equal), written
    /// without the generic encoder because every accepted file has one.
    package var jsonBytes: [UInt8] {
        var members: [(String, JSONValue)] = [
            ("receipt_no", .string(receiptNo)), ("kind", .string(kind)), ("employer_id", .string(employerID)),
            ("employer_name", .string(employerName)), ("period", .string(period)), ("declaration_id", .string(declarationID)),
            ("headcount", .int(headcount)), ("total_wage_base_fen", .int(totalWageBaseFen)), ("employer_fen", .int(employerFen)),
            ("employee_fen", .int(employeeFen)), ("total_fen", .int(totalFen)),
            ("contributions", Self.json(contributions)),
            ("warnings", .array(warnings.map(\.json))), ("collection", .string(collection)), ("due", .string(due)),
            ("received_at", .string(receivedAt)), ("instructions", .string(instructions)),
        ]
        // Optional members are left out when absent, as the synthesized Encodable does.
        if let warningsOmitted { members.append(("warnings_omitted", .int(warningsOmitted))) }
        if let supersedes { members.append(("supersedes", .string(supersedes))) }
        if let file { members.append(("file", .string(file))) }
        if let sha256 { members.append(("sha256", .string(sha256))) }
        if let paidFen { members.append(("paid_fen", .int(paidFen))) }
        if let lateFeeFen { members.append(("late_fee_fen", .int(lateFeeFen))) }
        if let paidAt { members.append(("paid_at", .string(paidAt))) }
        if let channel { members.append(("channel", .string(channel))) }
        if let remainingFen { members.append(("remaining_fen", .int(remainingFen))) }
        return JSONValue.object(members).bytes
    }

    /// Amounts by insurance as JSON, the same bytes as `jsonBytes(contributions)` (kept in the ledger too).
    package static func json(_ contributions: [String: ContributionAmounts]) -> JSONValue {
        .object(contributions.map { ($0.key, .object([("employer_fen", .int($0.value.employerFen)), ("employee_fen", .int($0.value.employeeFen))])) })
    }

    /// The receipt as people read it: Chinese first, English codes and labels alongside.
    package var text: String {
        var lines: [String] = []
        lines.append(kind == "payment" ? "社会保险费缴费回执 / Contribution payment receipt" : "社会保险费申报回执 / Contribution declaration receipt")
        lines.append(String(repeating: "=", count: 60))
        lines.append("回执编号 receipt no.:      \(receiptNo)")
        lines.append("单位 employer:             \(employerID) \(employerName)")
        lines.append("所属期 period:             \(period)")
        lines.append("申报编号 declaration id:   \(declarationID)")
        if let supersedes { lines.append("替换申报 supersedes:       \(supersedes)") }
        lines.append("参保人数 headcount:        \(headcount)")
        lines.append("缴费基数合计 wage base:    \(yuanText(totalWageBaseFen)) 元")
        lines.append("")
        lines.append("险种 insurance                 单位 employer      个人 employee")
        for insurance in Insurance.allCases {
            let a = contributions[insurance.rawValue] ?? ContributionAmounts()
            let label = "\(insurance.chinese) \(insurance.rawValue)"
            lines.append(label.rightPadded(28) + yuanText(a.employerFen).leftPadded(14) + yuanText(a.employeeFen).leftPadded(18))
        }
        lines.append("合计 total".rightPadded(28) + yuanText(employerFen).leftPadded(14) + yuanText(employeeFen).leftPadded(18))
        lines.append("应缴总额 total due:        \(yuanText(totalFen)) 元")
        lines.append("")
        if let paidFen {
            lines.append("实缴金额 paid:             \(yuanText(paidFen)) 元（含滞纳金 late fee \(yuanText(lateFeeFen ?? 0)) 元）")
            lines.append("缴费时间 paid at:          \(paidAt ?? "")")
            lines.append("缴费渠道 channel:          \(channel ?? "")")
            if let remainingFen { lines.append("尚欠金额 remaining:        \(yuanText(remainingFen)) 元") }
        }
        lines.append("缴费方式 collection:       \(collection)")
        lines.append("缴费截止 due:              \(due)")
        lines.append(instructions)
        lines.append("受理时间 received at:      \(receivedAt)")
        if let file { lines.append("申报文件 file:             \(file)") }
        if !warnings.isEmpty {
            lines.append("")
            lines.append("提示 warnings (\(warnings.count + (warningsOmitted ?? 0))):")
            for w in warnings { lines.append("  " + w.finding.textLine) }
            if let more = warningsOmitted, more > 0 { lines.append("  …另有 \(more) 条 / \(more) more") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// Spaces added (or the text cut) to `width` UTF-16 units, as `padding(toLength:withPad:startingAt:)`
    /// does, without bridging to NSString.
    func rightPadded(_ width: Int) -> String {
        let units = utf16.count
        if units == width { return self }
        if units > width { return String(utf16.prefix(width)) ?? String(prefix(width)) }
        return self + String(repeating: " ", count: width - units)
    }
}
