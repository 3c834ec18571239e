import Foundation
import LevyDomain
import LevyLedger

/// `levy audit review --date D` (事后监督): every manual operation of one day, with its operator,
/// approver and amount, and the day's totals, for a reviewer to sign off.
/// Written to `Outbox/reports/review-YYYY-MM-DD.json/.txt/.html`.
package struct DailyReview: Sendable {
    package struct Operation: Sendable {
        var seq: Int64
        var at: String
        var operatorID: String
        var action: String
        var subject: String
        var employer: String?
        var approvedBy: String?
        var request: String?
        var amountFen: Fen?
        var detail: String
    }

    package var date: String
    package var operations: [Operation]

    /// The manual operations of a day: journal entries not made by levy itself.
    package static func of(_ day: CivilDate, ledger: any Ledger) throws -> DailyReview {
        let entries = try ledger.journal(employer: nil, from: day, to: day).filter { $0.entry.operatorID != "levy" }
        return DailyReview(date: day.description, operations: entries.map { r in
            let detail = (try? JSONSerialization.jsonObject(with: Data(r.entry.detail.utf8))) as? [String: Any] ?? [:]
            let amount = ["paid_fen", "reversed_fen", "total_fen", "amount_fen"].lazy.compactMap { (detail[$0] as? NSNumber)?.int64Value }.first
            return Operation(seq: r.seq, at: r.entry.at, operatorID: r.entry.operatorID, action: r.entry.action, subject: r.entry.subject,
                             employer: r.entry.employer, approvedBy: detail["approved_by"] as? String, request: detail["request"] as? String,
                             amountFen: amount, detail: r.entry.detail)
        })
    }

    /// Operations by action, and the money that changed hands at the counter that day.
    var totals: (byAction: [String: Int], paidFen: Fen, reversedFen: Fen) {
        var byAction: [String: Int] = [:]
        var paid: Fen = 0, reversed: Fen = 0
        for op in operations {
            byAction[op.action, default: 0] += 1
            if op.action == "counter_payment" { paid += op.amountFen ?? 0 }
            if op.action == "counter_payment_reversed" { reversed += op.amountFen ?? 0 }
        }
        return (byAction, paid, reversed)
    }

    var jsonBytes: [UInt8] {
        let t = totals
        return JSONValue.object([
            ("date", .string(date)),
            ("operations", .array(operations.map { op in
                .object([("action", .string(op.action)), ("amount_fen", op.amountFen.map(JSONValue.int) ?? .null),
                         ("approved_by", .optional(op.approvedBy)), ("at", .string(op.at)), ("detail", .string(op.detail)),
                         ("employer", .optional(op.employer)), ("operator", .string(op.operatorID)), ("request", .optional(op.request)),
                         ("seq", .int(op.seq)), ("subject", .string(op.subject))])
            })),
            ("totals", .object([("by_action", .object(t.byAction.keys.sorted().map { ($0, .int(t.byAction[$0]!)) })),
                                ("operations", .int(operations.count)), ("paid_fen", .int(t.paidFen)), ("reversed_fen", .int(t.reversedFen))])),
        ]).bytes
    }

    package var text: String {
        let t = totals
        var lines = ["柜面业务事后监督 / Next-day review of manual operations — \(date)", String(repeating: "=", count: 60)]
        if operations.isEmpty { lines.append("当日无人工业务 / No manual operations that day.") }
        for op in operations {
            lines.append("\(op.seq)  \(op.at)  \(op.operatorID)\(op.approvedBy.map { " (复核 approved by \($0))" } ?? "")  \(op.action)  \(op.subject)"
                         + (op.amountFen.map { "  \(Yuan.format($0)) 元" } ?? ""))
        }
        lines.append("")
        lines.append("合计 totals: \(operations.count) 笔 operations; 柜面收款 paid \(Yuan.format(t.paidFen)) 元; 冲正 reversed \(Yuan.format(t.reversedFen)) 元")
        for action in t.byAction.keys.sorted() { lines.append("  \(action): \(t.byAction[action]!)") }
        lines.append("")
        lines.append("复核人签字 reviewed by: ____________    日期 date: ____________")
        return lines.joined(separator: "\n") + "\n"
    }

    var html: String {
        let t = totals
        var rows = ""
        for op in operations {
            rows += "<tr><td class=\"num\">\(op.seq)</td><td>\(HTML.escape(op.at))</td><td>\(HTML.escape(op.operatorID))</td><td>\(HTML.escape(op.approvedBy ?? ""))</td>"
                + "<td>\(HTML.escape(op.action))</td><td>\(HTML.shown(op.subject))</td><td class=\"num\">\(op.amountFen.map { Yuan.format($0) } ?? "")</td></tr>\n"
        }
        let body = """
            <h1>柜面业务事后监督 Next-day review — \(HTML.escape(date))</h1>
            <p>\(operations.count) 笔人工业务 manual operations · 柜面收款 paid \(Yuan.format(t.paidFen)) 元 · 冲正 reversed \(Yuan.format(t.reversedFen)) 元</p>
            <table><tr><th>seq</th><th>时间 at</th><th>经办 operator</th><th>复核 approved by</th><th>业务 action</th><th>对象 subject</th><th>金额 amount (元)</th></tr>
            \(rows)</table>
            <p>复核人签字 reviewed by: ____________ &nbsp; 日期 date: ____________</p>
            """
        return HTML.page(title: "levy review \(date)", body: body)
    }

    /// Writes the three files; gives the JSON's path.
    package func write(to root: Root) throws -> String {
        let base = "Outbox/reports/review-\(date)"
        try DurableFile.write(jsonBytes, to: root.path(base + ".json"))
        try DurableFile.write(Array(text.utf8), to: root.path(base + ".txt"))
        try DurableFile.write(Array(html.utf8), to: root.path(base + ".html"))
        return base + ".json"
    }
}
