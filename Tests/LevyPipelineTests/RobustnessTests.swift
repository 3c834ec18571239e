import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

@Suite struct RobustnessTests {
    @Test func runsAndAWatchAtOnceNeverProcessAFileTwice() throws {
        let root = try TestRoot()
        for i in 0..<30 {
            try root.drop(i % 2 == 0 ? Sample.softwareCo : Sample.tradingCo, "d\(i).csv",
                          csv(i % 2 == 0 ? Sample.softwareCo : Sample.tradingCo, "2026-11", [(Sample.person(i), "员工", "\(6000 + i)", "")]))
        }
        func start(_ args: [String]) throws -> Process {
            try startLevy(args + ["--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        }
        let watch = try start(["watch", "--interval", "0.1"])
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL) } }
        let runs = try (0..<3).map { _ in try start(["run"]) }
        for p in runs { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        // Whoever got there first: the watch keeps looking until the inbox is empty.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !root.files(under: "Inbox/declarations").isEmpty { usleep(100_000) }
        kill(watch.processIdentifier, SIGTERM)
        watch.waitUntilExit()
        #expect(watch.terminationReason == .exit && watch.terminationStatus == 0)
        // Each file once: 15 declarations each, every later one superseding the earlier (never a duplicate rejection).
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.receipts(Sample.softwareCo).count == 15)
        #expect(try root.receipts(Sample.tradingCo).count == 15)
        #expect(root.files(under: "Outbox/rejections").isEmpty)
        #expect(root.files(under: ".levy/archive").count == 30)
        #expect(try root.ledger().integrityCheck().isEmpty)
    }

    /// The watch holds the root only while it looks: the counter can take a payment while it runs.
    @Test func payWorksWhileWatchIsRunning() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "a.csv", csv(Sample.restaurant, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        let watch = try startLevy(["watch", "--root", root.path, "--as-of", "2026-11-03T09:00:00", "--interval", "0.2"])
        defer { if watch.isRunning { kill(watch.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)
        while try Date() < deadline && root.receipts(Sample.restaurant).isEmpty { usleep(100_000) }
        let due = try #require(try root.receipts(Sample.restaurant).first?["total_fen"] as? Int)
        // pay waits for the root while the watch is mid-look, then gets it between two looks.
        let paid = try levy(["pay", Sample.restaurant, "2026-11", "--amount", Yuan.format(Fen(due)), "--root", root.path,
                             "--as-of", "2026-11-03T10:00:00"])
        #expect(paid.status == 0, "\(paid.stderr)")
        kill(watch.processIdentifier, SIGTERM)
        watch.waitUntilExit()
        #expect(watch.terminationStatus == 0)
        #expect(try root.receipts(Sample.restaurant).contains { $0["kind"] as? String == "payment" })
    }

    @Test func oddFileNamesAreHandled() throws {
        let root = try TestRoot()
        let names = ["-rf.csv", "line\nbreak.csv", "申报 表 (最终版).csv", "  spaced  .csv", "--help.xml"]
        for (i, name) in names.enumerated() {
            try root.drop(Sample.softwareCo, name, csv(Sample.softwareCo, "2026-11", [(Sample.person(100 + i), "员工", "abc", "")]))
        }
        try root.run("2026-11-02T09:00:00")
        let reports = root.files(under: "Outbox/rejections/\(Sample.softwareCo)").filter { $0.hasSuffix(".json") }
        #expect(reports.count == names.count)
        #expect(reports.allSatisfy { !$0.contains("\n") })
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(root.files(under: ".levy/archive").count == names.count)
    }

    @Test func aMillionColumnsIsOneRowError() throws {
        let root = try TestRoot()
        let header = "employer_id,period,person_id,name,wage_base,change\n"
        try root.drop(Sample.softwareCo, "wide.csv", header + String(repeating: ",", count: 1_000_000) + "\n"
                      + "\(Sample.softwareCo),2026-11,\(Sample.persons[0]),张三,6000,\n")
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report) == ["E-CSV-ROW"])
        #expect(errors(report, "E-CSV-ROW").first?["line"] as? Int == 2)
    }

    /// Found by libFuzzer: a file without its header row made the first person's ID a "column name",
    /// printed unmasked in the rejection report.
    @Test func aHeaderlessFileLeaksNoPersonID() throws {
        let root = try TestRoot()
        let rows = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[7], "李四", "6000", "")])
        try root.drop(Sample.softwareCo, "noheader.csv", String(rows.drop { $0 != "\n" }.dropFirst()))
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)).contains("E-CSV-HEADER"))
        for f in root.files(under: "Outbox/rejections") where !f.hasSuffix(".errors.csv") {  // the .errors.csv is the employer's own rows
            let text = try String(contentsOfFile: root.file("Outbox/rejections/\(f)"), encoding: .utf8)
            #expect(!text.contains(Sample.persons[0]) && !text.contains(Sample.persons[7]), "\(f) shows a person ID")
        }
    }

    @Test func outputsAreNotWorldReadableAndTheLedgerIsPrivate() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)
        func mode(_ rel: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: root.file(rel))[.posixPermissions] as? Int) ?? -1
        }
        #expect(try mode(".levy/ledger.sqlite") == 0o600)
        for f in root.files(under: "Outbox") { #expect(try mode("Outbox/\(f)") & 0o007 == 0, "\(f) is world-accessible") }
        #expect(try mode("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml") == 0o640)
        // Person IDs never appear unmasked in the people-readable outputs.
        for f in root.files(under: "Outbox") where f.hasSuffix(".txt") {
            #expect(!(try String(contentsOfFile: root.file("Outbox/\(f)"), encoding: .utf8)).contains(Sample.persons[0]))
        }
    }
}
