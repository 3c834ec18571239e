import Foundation
import LevyDomain
import LevyLedger

/// Self-contained HTML pages for people: no script, no external asset, inline CSS and SVG only,
/// so they open from a shared folder or an e-mail attachment and render the same everywhere.
enum HTML {
    static func escape(_ text: String) -> String { escapeMarkup(text) }

    /// Text shown from an employer's file: IDs masked, length bounded.
    static func shown(_ text: String, limit: Int = 200) -> String {
        let masked = PersonID.redactEmbedded(text)
        return escape(masked.count > limit ? String(masked.prefix(limit)) + "…" : masked)
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
        h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
        table { border-collapse: collapse; margin: .5em 0; }
        th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
        th { background: #f3f3f3; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.bad td { background: #fde8e8; } td.cell-bad { background: #f8b4b4; font-weight: bold; }
        .code { font-family: monospace; white-space: nowrap; }
        .muted { color: #777; }
        </style>
        </head>
        <body>
        \(body)
        </body>
        </html>

        """
    }

    static func yuan(_ fen: Fen) -> String { Yuan.format(fen) }
}

/// A row of the employer's file shown on the rejection page.
package struct OffendingRow {
    var line: Int
    var cells: [String]
    var problems: [Finding]
}

/// The readable rejection page: the problems, and the offending rows as sent with the bad cells marked.
enum RejectionPage {
    static func render(_ report: RejectionReport, findings: FindingList, header: [String], rows: [OffendingRow]) -> String {
        var b = "<h1>社会保险费申报退回 / Declaration rejected</h1>\n<table class=\"facts\">\n"
        func fact(_ k: String, _ v: String?) { if let v { b += "<tr><th>\(k)</th><td>\(HTML.escape(v))</td></tr>\n" } }
        fact("文件 file", report.file)
        fact("单位 employer", report.employerID)
        fact("所属期 period", report.period)
        fact("受理时间 received at", report.receivedAt)
        fact("SHA-256", report.sha256)
        b += "</table>\n"
        let errors = findings.sorted.filter(\.code.isError)
        b += "<h2 id=\"problems\">问题 problems: <span id=\"error-count\">\(errors.count + report.errorsOmitted)</span></h2>\n"
        b += "<p>请全部更正后重新提交整个文件 / Correct them all and send the whole file again.</p>\n"
        b += "<table id=\"problem-table\"><tr><th>行 line</th><th>代码 code</th><th>字段 field</th><th>值 value</th><th>说明 what to do</th></tr>\n"
        for f in errors {
            b += "<tr><td class=\"num\">\(f.line.map(String.init) ?? "")</td><td class=\"code\">\(f.code.rawValue)</td>"
            b += "<td>\(HTML.escape(f.field ?? ""))</td><td>\(HTML.shown(f.value ?? ""))</td><td>\(HTML.escape(f.message))</td></tr>\n"
        }
        b += "</table>\n"
        if report.errorsOmitted > 0 {
            b += "<p class=\"muted\">…另有 \(report.errorsOmitted) 个问题未列出 / \(report.errorsOmitted) more not listed</p>\n"
        }
        if !rows.isEmpty {
            b += "<h2>有问题的行 offending rows</h2>\n<table id=\"rows\">\n<tr><th>行 line</th>"
            for h in header { b += "<th>\(HTML.shown(h, limit: 40))</th>" }
            b += "</tr>\n"
            for row in rows {
                let badFields = Set(row.problems.compactMap(\.field))
                b += "<tr class=\"bad\" id=\"line-\(row.line)\"><td class=\"num\">\(row.line)</td>"
                for (i, cell) in row.cells.enumerated() {
                    let column = i < header.count ? DeclarationField(header: header[i].trimming(" \t\u{FEFF}"))?.rawValue : nil
                    let bad = column.map { badFields.contains($0) } ?? false
                    b += bad ? "<td class=\"cell-bad\">\(HTML.shown(cell))</td>" : "<td>\(HTML.shown(cell))</td>"
                }
                b += "</tr>\n"
            }
            b += "</table>\n"
        }
        return HTML.page(title: "申报退回 \(report.file)", body: b)
    }
}

/// `Outbox/reports/summary-YYYY-MM-DD.html`: the day at a glance.
enum SummaryPage {
    struct Bank { var code: String; var name: String; var transactions: Int; var fen: Fen }
    struct Rejected { var employerID: String; var file: String; var href: String; var codes: [String] }

    static func render(_ s: DailySummary, banks: [Bank], rejected: [Rejected], arrears: ArrearsReport) -> String {
        var b = "<h1>征缴日报 / Daily summary \(HTML.escape(s.date))</h1>\n<p class=\"muted\">截至 as of \(HTML.escape(s.asOf))</p>\n"
        b += "<h2>文件与申报 files and declarations</h2>\n<table id=\"counts\">\n"
        let counts: [(String, String, Int)] = [
            ("files_received", "收到文件 files received", s.filesReceived), ("accepted", "受理 accepted", s.accepted),
            ("rejected", "退回 rejected", s.rejected), ("duplicates", "重复 duplicates", s.duplicates),
            ("quarantined", "隔离 quarantined", s.quarantined), ("bank_returns", "银行回盘 bank returns", s.bankReturns),
            ("debited", "扣款笔数 debited", s.debited), ("paid", "已缴 paid", s.paid), ("overdue", "欠缴 overdue", s.overdue),
        ]
        for (key, label, n) in counts { b += "<tr><th>\(label)</th><td class=\"num\" id=\"\(key)\">\(n)</td></tr>\n" }
        let sums: [(String, String, Fen)] = [
            ("accepted_fen", "受理应缴 accepted (yuan)", s.acceptedFen), ("debited_fen", "发出扣款 debited (yuan)", s.debitedFen),
            ("paid_fen", "已缴 paid (yuan)", s.paidFen), ("overdue_fen", "欠缴 overdue (yuan)", s.overdueFen),
        ]
        for (key, label, fen) in sums { b += "<tr><th>\(label)</th><td class=\"num\" id=\"\(key)\" data-fen=\"\(fen)\">\(HTML.yuan(fen))</td></tr>\n" }
        b += "</table>\n"

        b += "<h2>按银行 per bank (debit files of the day)</h2>\n"
        if banks.isEmpty {
            b += "<p class=\"muted\">今日无扣款文件 / no debit file today</p>\n"
        } else {
            b += "<table id=\"banks\"><tr><th>银行 bank</th><th>笔数 transactions</th><th>金额 amount (yuan)</th></tr>\n"
            for bank in banks {
                b += "<tr><td>\(HTML.escape(bank.name)) <span class=\"code\">\(HTML.escape(bank.code))</span></td>"
                b += "<td class=\"num\">\(bank.transactions)</td><td class=\"num\" data-fen=\"\(bank.fen)\">\(HTML.yuan(bank.fen))</td></tr>\n"
            }
            b += "</table>\n"
        }

        b += "<h2>退回原因 rejections by code</h2>\n"
        var byCode: [String: Int] = [:]
        for r in rejected { for c in Set(r.codes) { byCode[c, default: 0] += 1 } }
        let codes = byCode.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        if codes.isEmpty {
            b += "<p class=\"muted\">今日无退回 / no rejection today</p>\n"
        } else {
            let maxCount = codes.map(\.value).max() ?? 1
            let rowHeight = 22, labelWidth = 230, barWidth = 300
            b += "<svg id=\"code-chart\" role=\"img\" aria-label=\"rejections by code\" width=\"\(labelWidth + barWidth + 60)\" height=\"\(codes.count * rowHeight + 4)\" xmlns=\"http://www.w3.org/2000/svg\">\n"
            for (i, entry) in codes.enumerated() {
                let y = i * rowHeight + 2
                let w = max(2, barWidth * entry.value / maxCount)
                b += "<text x=\"0\" y=\"\(y + 15)\" font-family=\"monospace\" font-size=\"13\">\(entry.key)</text>"
                b += "<rect x=\"\(labelWidth)\" y=\"\(y + 3)\" width=\"\(w)\" height=\"15\" fill=\"#c0392b\"><title>\(entry.key): \(entry.value)</title></rect>"
                b += "<text class=\"bar-count\" data-code=\"\(entry.key)\" x=\"\(labelWidth + w + 6)\" y=\"\(y + 15)\" font-size=\"13\">\(entry.value)</text>\n"
            }
            b += "</svg>\n"
        }
        if !rejected.isEmpty {
            b += "<table id=\"rejections\"><tr><th>单位 employer</th><th>文件 file</th><th>代码 codes</th></tr>\n"
            for r in rejected {
                b += "<tr><td class=\"code\">\(HTML.escape(r.employerID))</td><td><a href=\"\(HTML.escape(r.href))\">\(HTML.shown(r.file))</a></td>"
                b += "<td class=\"code\">\(Set(r.codes).sorted().joined(separator: " "))</td></tr>\n"
            }
            b += "</table>\n"
        }

        b += "<h2>欠缴单位 arrears</h2>\n"
        if arrears.employers.isEmpty {
            b += "<p class=\"muted\">无欠缴 / nobody in arrears</p>\n"
        } else {
            b += "<table id=\"arrears\"><tr><th>单位 employer</th><th>所属期 period</th><th>欠缴 unpaid (yuan)</th><th>滞纳金 late fee (yuan)</th><th>每日 per day (yuan)</th></tr>\n"
            for e in arrears.employers {
                b += "<tr><td class=\"code\">\(HTML.escape(e.employerID))</td><td>\(HTML.escape(e.period))</td>"
                b += "<td class=\"num\" data-fen=\"\(e.unpaidFen)\">\(HTML.yuan(e.unpaidFen))</td><td class=\"num\" data-fen=\"\(e.lateFeeFen)\">\(HTML.yuan(e.lateFeeFen))</td>"
                b += "<td class=\"num\">\(HTML.yuan(e.dailyFeeFen))</td></tr>\n"
            }
            b += "<tr><th colspan=\"2\">合计 total</th><td class=\"num\" id=\"arrears-unpaid\" data-fen=\"\(arrears.totalUnpaidFen)\">\(HTML.yuan(arrears.totalUnpaidFen))</td>"
            b += "<td class=\"num\" id=\"arrears-fee\" data-fen=\"\(arrears.totalLateFeeFen)\">\(HTML.yuan(arrears.totalLateFeeFen))</td><td></td></tr>\n</table>\n"
        }
        return HTML.page(title: "征缴日报 \(s.date)", body: b)
    }
}
