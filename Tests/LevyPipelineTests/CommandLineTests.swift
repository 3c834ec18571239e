import LevyTestSupport
import Foundation
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// The real `levy` binary, built beside the test bundle.
func levyBinary(_ name: String = "levy") throws -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path,
        repository.appendingPathComponent(".build/debug/\(name)").path,
    ]
    return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "build the \(name) executable first (swift build)")
}

struct Output { var status: Int32; var stdout: String; var stderr: String }

/// Starts the real levy binary in the background, output discarded (a `watch`, or runs that race).
func startLevy(_ args: [String], stderrTo logPath: String? = nil) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try levyBinary())
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    if let logPath {
        FileManager.default.createFile(atPath: logPath, contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    } else {
        p.standardError = FileHandle.nullDevice
    }
    try p.run()
    return p
}

func levy(_ args: [String], cwd: String? = nil, binary: String = "levy") throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try levyBinary(binary))
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var env = ProcessInfo.processInfo.environment
    env["TZ"] = "America/New_York"   // the machine's timezone must not matter
    p.environment = env
    // Both streams go to files: reading two pipes one after the other deadlocks once the child
    // fills the second pipe's buffer (300 files' log lines did).
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-out-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
    p.standardOutput = out
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    try out.close()
    try err.close()
    let o = try Data(contentsOf: outURL), e = try Data(contentsOf: errURL)
    return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

@Suite struct CommandLineTests {
    @Test func runProcessesTheInboxInTheAgencysTimezone() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:00:00", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(summary["accepted"] as? Int == 1)
        #expect(summary["debited"] as? Int == 1)
        #expect(root.exists("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml"))
        let receipt = try #require(try root.receipts(Sample.softwareCo).first)
        #expect(receipt["received_at"] as? String == "2026-11-06T17:00:00+08:00")
    }

    @Test func badRulesStopWithFileLineAndFixAndLeaveTheInboxAlone() throws {
        let root = try TestRoot()
        try root.rules("levy.yaml", replacing: "rounding: half_up", with: "rounding: banker")
        let rel = try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Rules/levy.yaml:8"))
        #expect(r.stderr.contains("half_up or up_to_jiao"))
        #expect(root.exists(rel))
        #expect(!root.exists(".levy/ledger.sqlite"))
    }

    @Test(arguments: [
        ("levy.yaml", "late_fee: { daily_rate: \"0.0005\" }", "late_fee: { daily_rate: \"abc\" }", "Rules/levy.yaml:7"),
        ("levy.yaml", "cutoff: { day: 10, time: \"17:00\" }", "cutoff: { day: 10, time: \"17:00\" }\ncolour: blue", "unknown key 'colour'"),
        ("levy.yaml", "  - from: 2026-07", "  - from: 2026-01", "overlap"),
        ("employers.csv", ",3,ICBC01,", ",9,ICBC01,", "Rules/employers.csv:5"),
        ("calendar.yaml", "2026-01-01,", "2026-13-01,", "Rules/calendar.yaml"),
        ("banks.yaml", "\"102100099996\"", "\"1021\"", "12-digit"),
    ])
    func rulesCheckNamesTheProblem(_ file: String, _ old: String, _ new: String, _ expected: String) throws {
        let root = try TestRoot()
        try root.rules(file, replacing: old, with: new)
        let r = try levy(["rules", "check", "--root", root.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains(expected), "\(r.stderr)")
        #expect(r.stderr.contains("fix:"))
    }

    @Test func rulesCheckPrintsTheParametersInForce() throws {
        let root = try TestRoot()
        let r = try levy(["rules", "check", "--root", root.path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("periods from 2026-01 until 2026-06"))
        #expect(r.stdout.contains("floor 4590.00"))
        #expect(r.stdout.contains("ISO 20022 schemas: pain.008.001.02.xsd, pain.002.001.03.xsd, camt.054.001.02.xsd compiled"))
        #expect(r.stdout.contains("banks answer within 2 working days"))
        // A schema that cannot be compiled is an error naming it, never a silent skip.
        #expect(throws: XMLSchemaError.self) { try XMLSchema(bytes: [], name: "pain.008.001.02.xsd") }
        do {
            _ = try XMLSchema(bytes: Array("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:element name=\"a\" type=\"nope\"/></xs:schema>".utf8),
                              name: "broken.xsd")
            Issue.record("a broken schema compiled")
        } catch { #expect(error.description.hasPrefix("broken.xsd")) }
    }

    @Test func checkValidatesWithoutKeepingAnything() throws {
        let root = try TestRoot()
        let good = root.file("good.csv"), bad = root.file("bad.csv")
        try csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]).write(toFile: good, atomically: true, encoding: .utf8)
        try csv(Sample.softwareCo, "2026-11", [("370102900101123", "张三", "6000", "")]).write(toFile: bad, atomically: true, encoding: .utf8)
        let ok = try levy(["check", good, "--root", root.path, "--employer", Sample.softwareCo, "--as-of", "2026-11-02T09:00:00"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("good.csv: 可以受理 accepted — 1 人 persons, 缴费基数 wage base 6000.00"), "\(ok.stdout)")
        let rejected = try levy(["check", bad, "--root", root.path, "--as-of", "2026-11-02T09:00:00", "--json"])
        #expect(rejected.status == 3)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rejected.stdout.utf8)) as? [String: Any])
        #expect(codes(try #require(json["report"] as? [String: Any])) == ["E-ID-OLD15"])
        #expect(!root.exists(".levy"))
        #expect(!root.exists("Outbox"))
    }

    /// A large XML declaration (1 MiB and up) is validated on another thread while `levy check` reads
    /// it: a valid one is accepted, one only the XSD refuses is rejected with the schema's findings.
    @Test func checkOfALargeXMLDeclarationWaitsForTheXSD() throws {
        let root = try TestRoot()
        let persons = (0..<12_000).map { (Sample.person($0), "甲", String(5_000 + $0 % 9_000) + ".00", "") }
        let text = xml(Sample.softwareCo, "2026-11", persons)
        #expect(text.utf8.count >= 1 << 20)
        let good = root.file("large.xml"), bad = root.file("large-bad.xml")
        try text.write(toFile: good, atomically: true, encoding: .utf8)
        try text.replacingOccurrences(of: "</Persons>", with: "<Person note=\"x\"><Id>\(Sample.person(99_999))</Id><Name>乙</Name><WageBase>6000.00</WageBase></Person></Persons>")
            .replacingOccurrences(of: "<Headcount>12000</Headcount>", with: "<Headcount>12001</Headcount>")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let args = ["--root", root.path, "--employer", Sample.softwareCo, "--as-of", "2026-11-02T09:00:00", "--json"]
        let ok = try levy(["check", good] + args)
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let rejected = try levy(["check", bad] + args)
        #expect(rejected.status == 3, "\(rejected.stdout)\(rejected.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rejected.stdout.utf8)) as? [String: Any])
        let report = try #require(json["report"] as? [String: Any])
        #expect(codes(report).contains("E-XML-SCHEMA"))
        #expect(errors(report, "E-XML-SCHEMA").allSatisfy { $0["line"] as? Int == 12_008 })
    }

    /// A 60 MB value is refused at 1 MiB by `levy check`, run after run, without a crash: stopping
    /// libxml2 from inside its character callback freed the input it was still reading (a crash in
    /// about half of such runs before the fix: eight runs miss it once in a few hundred times).
    @Test func checkRefusesAHugeValueEveryTime() throws {
        let root = try TestRoot()
        let path = root.file("huge.xml")
        try ("<?xml version=\"1.0\"?>\n<Declaration xmlns=\"urn:levy:declaration:1\"><EmployerId>\(Sample.softwareCo)</EmployerId>"
             + "<Period>2026-11</Period><Headcount>1</Headcount><TotalWageBase>1.00</TotalWageBase><Persons><Person><Id>1</Id><Name>"
             + String(repeating: "A", count: 60_000_000) + "</Name></Person></Persons></Declaration>\n")
            .write(toFile: path, atomically: false, encoding: .utf8)
        for _ in 0..<8 {
            let out = try levy(["check", path, "--root", root.path, "--employer", Sample.softwareCo, "--as-of", "2026-11-02T09:00:00", "--json"])
            #expect(out.status == 3, "\(out.stderr.suffix(300))")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
            let syntax = errors(try #require(json["report"] as? [String: Any]), "E-XML-SYNTAX")
            #expect(syntax.map { ($0["message"] as? String ?? "").contains("longer than 1048576 bytes") } == [true])
        }
    }

    @Test func badUsageIs64() throws {
        #expect(try levy(["run", "--no-such-flag"]).status == 64)
        #expect(try levy(["pay", Sample.softwareCo]).status == 64)
    }

    @Test func payStatusAndWithdrawFromTheCommandLine() throws {
        let root = try TestRoot()
        try root.drop(Sample.restaurant, "a.csv", csv(Sample.restaurant, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.softwareCo, "b.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]).status == 0)
        let total = try #require(try root.receipts(Sample.restaurant).first?["total_fen"] as? Int)
        // More than is owed is refused with the exact amount owed (less is a part-payment).
        let wrong = try levy(["pay", Sample.restaurant, "2026-11", "--amount", LevyDomainFormat.yuan(total + 1), "--root", root.path, "--as-of", "2026-11-03T10:00:00"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains(LevyDomainFormat.yuan(total)))
        let paid = try levy(["pay", Sample.restaurant, "2026-11", "--amount", LevyDomainFormat.yuan(total), "--root", root.path, "--as-of", "2026-11-03T10:00:00"])
        #expect(paid.status == 0, "\(paid.stderr)")
        // Refusals leave the ledger as it was: an unknown employer, a second payment, a withdrawal after payment.
        let unknown = try levy(["pay", "91350100M000100Y44", "2026-11", "--amount", "1.00", "--root", root.path])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("not in Rules/employers.csv"))
        let again = try levy(["pay", Sample.restaurant, "2026-11", "--amount", LevyDomainFormat.yuan(total), "--root", root.path, "--as-of", "2026-11-03T11:00:00"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already paid"))
        let locked = try levy(["withdraw", Sample.restaurant, "2026-11", "--root", root.path])
        #expect(locked.status == 1)
        #expect(locked.stderr.contains("E-DECL-LOCKED"))
        #expect(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: "2026-11")?.state == .paid)
        #expect(try levy(["withdraw", Sample.softwareCo, "2026-11", "--root", root.path]).status == 0)
        let status = try levy(["status", "--root", root.path, "--json", "--period", "2026-11"])
        #expect(status.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let period = try #require((json["periods"] as? [[String: Any]])?.first)
        #expect(period["period"] as? String == "2026-11")
        #expect((period["paid"] as? [String: Any])?["count"] as? Int == 1)
        #expect((period["paid"] as? [String: Any])?["sum_fen"] as? Int == total)
        #expect((period["withdrawn"] as? [String: Any])?["count"] as? Int == 1)
        #expect((period["accepted"] as? [String: Any])?["count"] as? Int == 0)
    }

    @Test func aSecondRunWhileOneHoldsTheRootDoesNothing() throws {
        let root = try TestRoot()
        let rel = try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        let (lock, _) = try RootLock.acquire(Root(path: root.path))
        #expect(lock != nil)
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("another levy"))
        #expect(root.exists(rel))
        withExtendedLifetime(lock) {}
    }
}

enum LevyDomainFormat {
    static func yuan(_ fen: Int) -> String { String(format: "%d.%02d", fen / 100, fen % 100) }
}
