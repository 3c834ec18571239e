import Foundation
import LevyDomain
import LevyPipeline
import Logging
import Synchronization
import Testing

/// What an operator's tools read: JSON log lines and the Prometheus metrics file.
@Suite struct OperationsTests {
    func sampleRoot() throws -> TestRoot {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "8000.50", "")]))
        try root.drop(Sample.buildingCo, "b.xml", xml(Sample.buildingCo, "2026-11", [(Sample.persons[3], "赵六", "7000.00", "")]))
        try root.drop(Sample.tradingCo, "bad.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[2], "王五", "abc", "")]))
        try root.drop("91370100MA3C5X1230", "stray.csv", "x")   // unknown folder: quarantined
        return root
    }

    @Test func jsonLogsAreOneObjectPerLineWithoutPersonIDs() throws {
        let root = try sampleRoot()
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00", "--log-format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count >= 5)
        var outcomes: [String: [String: Any]] = [:]
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            #expect(object["ts"] is String && object["level"] is String && object["msg"] is String)
            if let outcome = object["outcome"] as? String { outcomes[outcome] = object }
        }
        let accepted = try #require(outcomes["accepted"])
        #expect(accepted["employer"] != nil && accepted["file"] != nil && accepted["declaration"] != nil)
        #expect(outcomes["rejected"]?["codes"] as? String == "E-BASE-FORMAT")
        #expect(outcomes["quarantined"] != nil)
        for id in Sample.persons { #expect(!r.stderr.contains(id)) }
    }

    /// Text log lines keep swift-log's `StreamLogHandler` form (operators' greps and parsers were
    /// written for it): time with its UTC offset, level, label, metadata sorted by key, source, message.
    @Test func textLogLinesKeepTheStreamLogHandlerForm() throws {
        let root = try sampleRoot()
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"])
        #expect(r.status == 0, "\(r.stderr)")
        let accepted = try #require(r.stderr.split(separator: "\n").first { $0.hasSuffix("declaration accepted") })
        let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info levy: (.*) \[LevyPipeline\] declaration accepted$/#
        let match = try #require(try pattern.wholeMatch(in: String(accepted)), "\(accepted)")
        let keys = match.1.split(separator: " ").map { String($0.split(separator: "=")[0]) }
        #expect(keys == ["collection", "declaration", "employer", "file", "headcount", "outcome", "total_fen"])
        #expect(match.1.contains("employer=\(Sample.softwareCo)") && match.1.contains("outcome=accepted"))
        for id in Sample.persons { #expect(!r.stderr.contains(id)) }

        let lines = Mutex<[String]>([])
        let handler = LogLineHandler(label: "levy", form: .text) { line in lines.withLock { $0.append(line) } }
        var logger = Logger(label: "levy") { _ in handler }
        logger[metadataKey: "run"] = "7"
        logger.warning("input quarantined", metadata: ["b": "2", "a": "1"])
        let line = try #require(lines.withLock { $0.first })
        #expect(line.hasSuffix(" warning levy: a=1 b=2 run=7 [LevyPipelineTests] input quarantined\n"), "\(line)")
        #expect(line.hasPrefix(LogClock.now().seconds.prefix(13)))  // the same day and hour
    }

    /// A log reader that goes away (`levy run 2>&1 | head`) costs the rest of the log, not the run:
    /// levy ignores SIGPIPE and drops what it cannot write, where it used to be killed mid-day.
    @Test func aClosedLogPipeDoesNotStopTheRun() throws {
        let root = try sampleRoot()
        for n in 0..<40 {
            let person = Sample.persons[n % Sample.persons.count]
            try root.drop(Sample.softwareCo, "more-\(n).csv", csv(Sample.softwareCo, "2026-10", [(person, "张三", "\(6000 + n)", "")]))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try levyBinary())
        p.arguments = ["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = pipe
        try pipe.fileHandleForReading.close()  // nobody will ever read: the first write fails with EPIPE
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.receipts(Sample.softwareCo).count == 41)
    }

    @Test func metricsFileAgreesWithTheLedgerAndReports() throws {
        let root = try sampleRoot()
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)
        let text = try String(contentsOfFile: root.file(".levy/metrics/levy.prom"), encoding: .utf8)
        var samples: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", maxSplits: 1)
            #expect(parts.count == 2, "malformed sample: \(line)")
            samples[String(parts[0])] = parts.count == 2 ? String(parts[1]) : nil
        }
        #expect(samples["levy_files_total{outcome=\"accepted\"}"] == "2")
        #expect(samples["levy_files_total{outcome=\"rejected\"}"] == "1")
        #expect(samples["levy_files_total{outcome=\"quarantined\"}"] == "1")
        #expect(samples["levy_rows_total"] == "4")
        let summary = try root.json("Outbox/reports/summary-2026-11-06.json")
        let debited = Fen(summary["debited_fen"] as? Int ?? -1)
        let perBank = ["ICBC01", "CCB01"].compactMap { samples["levy_debit_yuan_total{bank=\"\($0)\"}"] }
            .compactMap { try? Yuan.parse($0).get() }.reduce(0, +)
        #expect(perBank == debited && debited > 0)
        #expect(samples["levy_file_processing_seconds_count"] == "3")
        #expect(samples["levy_file_processing_seconds_bucket{le=\"+Inf\"}"] == "3")
        #expect(samples["levy_declarations{state=\"in_flight\"}"] == "2")

        // A bank answers: returns are counted by status and reason, and counters never go backwards.
        let debit = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        try root.write("Inbox/bank/ICBC01/r.xml", try BankSimulator.returnFile(for: debit, reportID: "R1") { _ in "RJCT:AM04" })
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-07T09:00:00"]).status == 0)
        let after = try String(contentsOfFile: root.file(".levy/metrics/levy.prom"), encoding: .utf8)
        #expect(after.contains("levy_bank_returns_total{status=\"RJCT\",reason=\"AM04\"} 1"))
        #expect(after.contains("levy_files_total{outcome=\"accepted\"} 2"))
        #expect(after.contains("levy_files_total{outcome=\"applied\"} 1"))
    }

    @Test func statusTellsTheNextCutWhatIsWaitingAndWhatIsQuarantined() throws {
        let root = try sampleRoot()
        func status(_ asOf: String) throws -> [String: Any] {
            let r = try levy(["status", "--root", root.path, "--as-of", asOf, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let before = try status("2026-11-06T09:00:00")
        #expect(before["next_cut"] as? String == "2026-11-06T17:00:00+08:00")
        #expect(before["files_waiting"] as? Int == 4)
        #expect(before["quarantined"] as? Int == 0)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)
        let after = try status("2026-11-06T17:45:00")
        #expect(after["next_cut"] as? String == "2026-11-09T17:00:00+08:00", "November 7 and 8 are a weekend")
        #expect(after["files_waiting"] as? Int == 0)
        #expect(after["quarantined"] as? Int == 1)
        let periods = try #require(after["periods"] as? [[String: Any]])
        #expect((periods.first?["in_flight"] as? [String: Any])?["count"] as? Int == 2)
        let table = try levy(["status", "--root", root.path, "--as-of", "2026-11-06T17:45:00"])
        #expect(table.stdout.contains("next debit cut: 2026-11-09 17:00"))
        #expect(table.stdout.contains("quarantined: 1"))
    }

    /// On a terminal a large file shows a progress bar with rows/s; in a pipe or a log, nothing.
    @Test func progressBarOnlyOnATerminal() throws {
        let root = try TestRoot()
        let file = try bigDeclaration(in: root, rows: 140_000)
        let args = ["check", file, "--root", root.path, "--employer", Sample.softwareCo, "--as-of", "2026-11-02T09:00:00"]
        let piped = try levy(args)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(!piped.stderr.contains("rows/s") && !piped.stdout.contains("rows/s"))
        // util-linux `script` runs the command on a pseudo-terminal.
        let command = ([try levyBinary()] + args).map { "'" + $0 + "'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", command, "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(text.contains("131,072 rows") && text.contains("rows/s"), "\(text.prefix(300))")
        #expect(text.contains("\r\u{1B}[K"), "the bar is erased when the file is done")
        #expect(ProgressBar.line(name: "工资表.csv", fraction: 0.52, rows: 1_048_576, rowsPerSecond: 812_345.6)
                == "工资表.csv [##########··········]  52%  1,048,576 rows  812,345 rows/s")
    }
}
