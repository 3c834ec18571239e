import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// The smaller faults an operator meets: each gets a message with the path and the fix, and
/// nothing of the employer's is rejected for the agency's own trouble.
@Suite(.serialized) struct OperatorErrorTests {
    let nov = "2026-11"

    /// Runs the real binary as the unprivileged user `nobody` (CI runs as root, which reads anything).
    func levyAsNobody(_ args: [String], root: TestRoot) throws -> Output {
        let chown = Process()
        chown.executableURL = URL(fileURLWithPath: "/bin/chown")
        chown.arguments = ["-R", "65534:65534", root.path]
        try chown.run()
        chown.waitUntilExit()
        let err = root.file("stderr.txt")
        FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try levyBinary()] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try p.run()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: "", stderr: try String(contentsOfFile: err, encoding: .utf8))
    }

    @Test func aFileLevyCannotReadIsLeftInTheInboxNotRejected() throws {
        let root = try TestRoot()
        let rel = try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        chmod(root.file(rel), 0)
        let r = try levyAsNobody(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"], root: root)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("cannot be read by levy") && r.stderr.contains("a.csv"), "\(r.stderr)")
        #expect(root.exists(rel), "left in the inbox")
        #expect(root.files(under: "Outbox/rejections").isEmpty && root.files(under: ".levy/archive").isEmpty)
    }

    @Test func aReadOnlyLedgerSaysSo() throws {
        let root = try TestRoot()
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]).status == 0)
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        let r = try levyAsNobody(["run", "--root", root.path, "--as-of", "2026-11-02T09:05:00"], root: root)
        // chown gave nobody the root; take the ledger back.
        #expect(r.status == 0)
        chown(root.file(".levy/ledger.sqlite"), 0, 0)
        for suffix in ["-wal", "-shm"] { chown(root.file(".levy/ledger.sqlite" + suffix), 0, 0) }
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try levyBinary(), "run", "--root", root.path, "--as-of", "2026-11-02T09:10:00"]
        let pipe = Pipe()
        p.standardError = pipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(text.contains(".levy/ledger.sqlite") && (text.contains("read-only") || text.contains("cannot be opened")), "\(text)")
        #expect(root.exists("Inbox/declarations/\(Sample.tradingCo)/b.csv"))
    }

    @Test(arguments: ["Outbox/receipts", ".levy/archive", ".levy/metrics"])
    func aFileWhereAFolderShouldBeStopsLevyBeforeAnyWork(path: String) throws {
        let root = try TestRoot()
        try root.write(path, "not a folder")
        let rel = try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(root.path)/\(path) is in the way") && r.stderr.contains("move the file away"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSCocoaErrorDomain"))
        #expect(root.exists(rel), "nothing was taken")
    }

    @Test func aDamagedLedgerSaysSoWithTheFix() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]).status == 0)
        let ledger = root.file(".levy/ledger.sqlite")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: ledger)[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: ledger))
        try handle.seek(toOffset: 0)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: min(size, 8192)))
        try handle.close()
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T10:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("ledger.sqlite") && r.stderr.contains("restore") && r.stderr.contains("backup"), "\(r.stderr)")
    }

    @Test func aNewlineInAFileNameCannotForgeALogLine() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a\n2026-11-02T09:00:00+0800 info levy: forged.csv", "x")
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 0)
        for line in r.stderr.split(separator: "\n") {
            #expect(!line.hasPrefix("2026-11-02T09:00:00+0800 info levy: forged"), "forged line: \(line)")
        }
        #expect(r.stderr.contains("a\\n2026-11-02"), "the newline is written as \\n")
    }

    @Test func twoDifferentEmptyFilesAreEachRejectedAsEmpty() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", "")
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]).status == 0)
        try root.drop(Sample.softwareCo, "b.csv", "")
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:05:00"]).status == 0)
        let reports = root.files(under: "Outbox/rejections/\(Sample.softwareCo)").filter { $0.hasSuffix(".json") }.sorted()
        #expect(reports == ["a.json", "b.json"])
        for report in reports {
            #expect(codes(try root.json("Outbox/rejections/\(Sample.softwareCo)/\(report)")) == ["E-FILE-EMPTY"])
        }
        #expect(root.files(under: "Inbox/declarations").isEmpty)
    }

    @Test func theLedgerItsJournalAndArchivedInputsAreNotWorldReadable() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        chmod(root.file("Inbox/declarations/\(Sample.softwareCo)/a.csv"), 0o644)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"]).status == 0)
        func mode(_ rel: String) -> mode_t {
            var st = stat()
            return stat(root.file(rel), &st) == 0 ? st.st_mode & 0o777 : 0o7777
        }
        // While a levy has it open (the -wal and -shm go when the last one closes).
        let ledger = try root.ledger()
        _ = try ledger.outputCount()
        for suffix in ["", "-wal", "-shm"] { #expect(mode(".levy/ledger.sqlite" + suffix) == 0o600, "ledger.sqlite\(suffix)") }
        let archived = try #require(root.files(under: ".levy/archive").first)
        #expect(mode(".levy/archive/\(archived)") == 0o640)
    }

    @Test func lineNumbersOfAnXMLFileWithCROnlyLineEnds() throws {
        let root = try TestRoot()
        let text = xml(Sample.buildingCo, nov, [(Sample.persons[3], "赵六", "7000.00", ""), ("370102199001011232", "错号", "6000.00", "")])
        let crOnly = text.replacingOccurrences(of: "\n", with: "\r")
        let badLine = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("370102199001011232") }! + 1
        for (name, body) in [("lf.xml", text), ("cr.xml", crOnly), ("crlf.xml", text.replacingOccurrences(of: "\n", with: "\r\n"))] {
            let path = root.file(name)
            try body.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try levy(["check", path, "--root", root.path, "--employer", Sample.buildingCo, "--as-of", "2026-11-02T09:00:00", "--json"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            let found = try #require((report["report"] as? [String: Any])?["errors"] as? [[String: Any]])
            #expect(found.first { $0["code"] as? String == "E-ID-CHECKSUM" }?["line"] as? Int == badLine, "\(name)")
        }
    }
}

extension OperatorErrorTests {
    @Test func aKeyGivenTwiceInRulesIsNamedAtItsLine() throws {
        let root = try TestRoot()
        try root.rules("levy.yaml", replacing: "cutoff: {", with: "timezone: UTC\ncutoff: {")
        let text = try String(contentsOfFile: root.file("Rules/levy.yaml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines.firstIndex { $0.hasPrefix("timezone:") }! + 1, second = lines.lastIndex { $0.hasPrefix("timezone:") }! + 1
        let r = try levy(["rules", "check", "--root", root.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Rules/levy.yaml:\(second): the key 'timezone' is given twice (first at line \(first))"), "\(r.stderr)")
    }
}

extension OperatorErrorTests {
    @Test(arguments: [["run"], ["status"], ["pay", Sample.restaurant, "2026-11", "--amount", "1"], ["withdraw", Sample.restaurant, "2026-11"],
                      ["check", "x.csv"], ["backup", "--to", "b"]])
    func aBadAsOfIsBadUsage(command: [String]) throws {
        let root = try TestRoot()
        let r = try levy(command + ["--root", root.path, "--as-of", "soon"])
        #expect(r.status == 64, "\(command): \(r.stderr)")
        #expect(r.stderr.contains("--as-of"), "\(r.stderr)")
        #expect(!root.exists(".levy/ledger.sqlite"), "nothing opened")
    }

    @Test func aPeriodThatIsNotOneIsBadUsageForStatus() throws {
        let root = try TestRoot()
        let r = try levy(["status", "--root", root.path, "--period", "2026-13"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("--period"), "\(r.stderr)")
        #expect(try levy(["status", "--root", root.path, "--period", "2026-11"]).stdout.contains("No declarations for 2026-11 yet"))
    }

    /// The machine runs in New York (the test helper's TZ); the log says agency time, +08:00.
    @Test func logLinesAreInAgencyTime() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        let text = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        let accepted = try #require(text.stderr.split(separator: "\n").first { $0.contains("declaration accepted") })
        #expect(accepted.prefix(24).hasSuffix("+0800"), "\(accepted)")
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        let json = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:05:00", "--log-format", "json"])
        let line = try #require(json.stderr.split(separator: "\n").first { $0.contains("declaration accepted") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((object["ts"] as? String)?.hasSuffix("+08:00") == true, "\(line)")
        // The time itself is now's, in Shanghai: within a minute of the clock.
        let stamp = String(accepted.prefix(19))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        let logged = try #require(formatter.date(from: stamp))
        #expect(abs(logged.timeIntervalSinceNow) < 60, "\(stamp)")
    }
}

/// Every error that stops a command is printed `levy: CODE: what — fix: what to do`, and its exit
/// status follows from the code's kind: bad usage 64, a refusal or a failure 1.
@Suite struct CodedErrorTests {
    @Test func theExitStatusFollowsFromTheKind() {
        for code in LevyError.Code.allCases {
            let e = LevyError(code, "x")
            #expect(e.exitStatus == (code.rawValue.hasPrefix("USAGE-") ? 64 : 1), "\(code)")
            #expect(code.rawValue.range(of: #"^(USAGE|OP|LEVY|E)-[A-Z0-9-]+$"#, options: .regularExpression) != nil, "\(code.rawValue)")
        }
        #expect(LevyError(.overpayment, "too much", fix: "pay less").description == "too much — fix: pay less")
    }

    @Test(arguments: [
        // A value that is not one: bad usage.
        (["pay", Sample.tradingCo, "2026-13", "--amount", "1"], Int32(64), "USAGE-ARGUMENT", "write it like 2026-11"),
        (["pay", Sample.tradingCo, "2026-11", "--amount", "1,5"], 64, "USAGE-ARGUMENT", "write it like 1234.56"),
        (["reverse", "12345", "--reason", "typo"], 64, "USAGE-ARGUMENT", "RP-<declaration id>"),
        // Understood and refused.
        (["pay", Sample.tradingCo, "2026-11", "--amount", "999999.00"], 1, "OP-OVERPAYMENT", "fix:"),
        (["pay", "91110000000000000X", "2026-11", "--amount", "1"], 1, "OP-EMPLOYER-UNKNOWN", "check the credit code"),
        (["withdraw", Sample.tradingCo, "2026-10"], 1, "OP-DECLARATION-MISSING", "levy status --period 2026-10"),
        (["check", "nowhere.csv"], 1, "LEVY-FILE-MISSING", "give the path of a declaration"),
        (["check", "nowhere.csv", "--employer", "91110000000000000X"], 1, "OP-EMPLOYER-UNKNOWN", "check the credit code"),
    ])
    func anErrorIsPrintedWithItsCodeAndFix(_ args: [String], _ status: Int32, _ code: String, _ fix: String) throws {
        let root = try TestRoot()
        try root.drop(Sample.tradingCo, "a.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T09:00:00"]).status == 0)
        let r = try levy(args + ["--root", root.path, "--as-of", "2026-11-03T10:00:00"])
        #expect(r.status == status, "\(args): \(r.stderr)")
        #expect(r.stderr.hasPrefix("levy: \(code): "), "\(r.stderr)")
        #expect(r.stderr.contains(fix), "\(r.stderr)")
    }

    @Test func aBadRuleNamesItsFileLineAndFix() throws {
        let root = try TestRoot()
        try root.rules("employers.csv", replacing: ",3,ICBC01,", with: ",9,ICBC01,")
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-03T09:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("levy: LEVY-RULES: bad rule: Rules/employers.csv:5: "), "\(r.stderr)")
        #expect(r.stderr.contains(" — fix: "), "\(r.stderr)")
    }

    @Test func aLockedDeclarationIsRefusedWithTheSpecsCode() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T09:00:00"]).status == 0)
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"]).status == 0)  // debited: in flight
        let r = try levy(["withdraw", Sample.softwareCo, "2026-11", "--root", root.path, "--as-of", "2026-11-06T18:00:00"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("levy: E-DECL-LOCKED: declaration "), "\(r.stderr)")
        #expect(r.stderr.contains("fix: it can no longer be withdrawn"), "\(r.stderr)")
    }
}
