import Foundation
import LevyDomain
import LevyPipeline
import Testing

/// The HTML pages people read, opened in a real headless browser (Debian's chromium): they render,
/// log no console error, and show the numbers the JSON reports say.
@Suite struct ReportPagesTests {
    static func chromium() throws -> String {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
                            "install Debian's chromium (apt-get install -y chromium): the report pages are tested in a real browser")
    }

    /// The DOM after the page loaded, and what the browser logged.
    static func render(_ path: String) throws -> (dom: String, log: String) {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("levy-chromium-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try chromium())
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                       "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom", URL(fileURLWithPath: path).absoluteString]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let dom = out.fileHandleForReading.readDataToEndOfFile()
        let log = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return (String(decoding: dom, as: UTF8.self), String(decoding: log, as: UTF8.self))
    }

    /// The text of the element with this id (a `td`, `span`…), from the rendered DOM.
    static func text(_ dom: String, id: String) -> String? {
        guard let start = dom.range(of: "id=\"\(id)\"") else { return nil }
        guard let open = dom[start.upperBound...].firstIndex(of: ">") else { return nil }
        let rest = dom[dom.index(after: open)...]
        guard let close = rest.firstIndex(of: "<") else { return nil }
        return String(rest[..<close])
    }

    static func noConsoleErrors(_ log: String) {
        let console = log.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(console.isEmpty, "browser console: \(console)")
    }

    @Test func summaryAndRejectionPagesShowWhatTheJSONSays() throws {
        let root = try TestRoot()
        // October at the counter, never paid: in arrears by November 6th.
        try root.drop(Sample.restaurant, "oct.csv", csv(Sample.restaurant, "2026-10", [(Sample.persons[4], "孙七", "5000", "")]))
        try root.run("2026-10-05T09:00:00")
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "8000.50", "")]))
        try root.drop(Sample.buildingCo, "b.xml", xml(Sample.buildingCo, "2026-11", [(Sample.persons[3], "赵六", "7000.00", "")]))
        try root.drop(Sample.tradingCo, "坏 文件.csv", csv(Sample.tradingCo, "2026-11", [
            (Sample.persons[2], "王五", "abc", ""), ("370102199001011234", "钱一", "6000", ""), (Sample.persons[2], "王五", "6000", ""),
        ]))
        try root.run("2026-11-06T17:30:00")

        let summary = try root.json("Outbox/reports/summary-2026-11-06.json")
        let arrears = try root.json("Outbox/reports/arrears-2026-11-06.json")
        let page = try Self.render(root.file("Outbox/reports/summary-2026-11-06.html"))
        Self.noConsoleErrors(page.log)
        #expect(page.dom.contains("Daily summary 2026-11-06"))
        for key in ["files_received", "accepted", "rejected", "debited", "overdue"] {
            #expect(Self.text(page.dom, id: key) == "\(summary[key] as? Int ?? -1)", "\(key)")
        }
        for key in ["accepted_fen", "debited_fen", "overdue_fen"] {
            #expect(Self.text(page.dom, id: key) == Yuan.format(Fen(summary[key] as? Int ?? -1)), "\(key)")
        }
        #expect((summary["debited"] as? Int ?? 0) == 2)
        // The day's figures (counted in the ledger) are the day's files: two accepted, one rejected, and
        // the accepted total is the sum of that day's receipts; October's counter declaration is overdue.
        #expect(summary["files_received"] as? Int == 3 && summary["accepted"] as? Int == 2 && summary["rejected"] as? Int == 1)
        let receipted = try [Sample.softwareCo, Sample.buildingCo].flatMap { try root.receipts($0) }
            .filter { $0["kind"] as? String == "declaration" }.compactMap { $0["total_fen"] as? Int }
        #expect(receipted.count == 2 && summary["accepted_fen"] as? Int == receipted.reduce(0, +))
        #expect(summary["overdue"] as? Int == 1)
        #expect(Self.text(page.dom, id: "arrears-unpaid") == Yuan.format(Fen(arrears["total_unpaid_fen"] as? Int ?? -1)))
        #expect(Self.text(page.dom, id: "arrears-fee") == Yuan.format(Fen(arrears["total_late_fee_fen"] as? Int ?? -1)))
        #expect((arrears["total_unpaid_fen"] as? Int ?? 0) > 0)

        // The bar chart counts each code of the day's rejections; the link opens the rejection page.
        let rejection = try root.rejection(Sample.tradingCo)
        for code in Set(codes(rejection)) {
            #expect(page.dom.contains("data-code=\"\(code)\" x="), "no bar for \(code)")
        }
        let href = try #require(page.dom.range(of: "href=\"../rejections/").map { page.dom[$0.lowerBound...].dropFirst(6).prefix { $0 != "\"" } })
        let target = try #require(String(href).removingPercentEncoding)
        #expect(root.exists("Outbox/reports/" + target), "\(target)")

        let rejected = try Self.render(root.file("Outbox/reports/" + target))
        Self.noConsoleErrors(rejected.log)
        let errorList = rejection["errors"] as? [[String: Any]] ?? []
        #expect(Self.text(rejected.dom, id: "error-count") == "\(errorList.count)")
        for line in Set(errorList.compactMap { $0["line"] as? Int }) {
            #expect(rejected.dom.contains("id=\"line-\(line)\""), "offending row \(line) not shown")
        }
        #expect(rejected.dom.contains("cell-bad"))
        for id in Sample.persons + ["370102199001011234"] { #expect(!rejected.dom.contains(id), "a person ID shown unmasked") }
    }
}
