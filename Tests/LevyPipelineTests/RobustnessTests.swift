import Foundation
import LevyDomain
import LevyPipeline
import Testing

@Suite struct RobustnessTests {
    @Test func twoRunsAtOnceNeverProcessAFileTwice() throws {
        let root = try TestRoot()
        for i in 0..<30 {
            try root.drop(i % 2 == 0 ? Sample.softwareCo : Sample.tradingCo, "d\(i).csv",
                          csv(i % 2 == 0 ? Sample.softwareCo : Sample.tradingCo, "2026-11", [(Sample.person(i), "员工", "\(6000 + i)", "")]))
        }
        let procs: [Process] = try (0..<3).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try levyBinary())
            p.arguments = ["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            return p
        }
        for p in procs { try p.run() }
        for p in procs { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        _ = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        // Each file once: 15 declarations each, every later one superseding the earlier (never a duplicate rejection).
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.receipts(Sample.softwareCo).count == 15)
        #expect(try root.receipts(Sample.tradingCo).count == 15)
        #expect(root.files(under: "Outbox/rejections").isEmpty)
        #expect(root.files(under: ".levy/archive").count == 30)
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
