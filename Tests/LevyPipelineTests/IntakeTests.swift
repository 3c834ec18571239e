import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

@Suite struct IntakeTests {
    @Test func shippedSampleInboxYieldsReceiptsRejectionAndDebits() throws {
        let root = try TestRoot()
        try root.copyShippedSampleInbox()
        try root.run("2026-11-06T17:30:00")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.buildingCo).count == 1)
        #expect(try root.receipts(Sample.restaurant).count == 1)
        let report = try root.rejection(Sample.buildingCo)
        #expect(Set(codes(report)).count >= 3)
        #expect(root.files(under: "Outbox/debits").count == 2)
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(root.files(under: ".levy/archive").count == 4)
    }

    @Test func computesEveryInsuranceToTheFen() throws {
        let root = try TestRoot()
        // risk class 5 (work injury 1.1%); 6000.00 and 7333.33
        try root.drop(Sample.buildingCo, "d.csv", csv(Sample.buildingCo, "2026-11", [
            (Sample.persons[0], "张三", "6000.00", ""), (Sample.persons[1], "李四", "7333.33", ""),
        ]))
        try root.run("2026-11-02T09:00:00")
        let r = try #require(try root.receipts(Sample.buildingCo).first)
        let c = try #require(r["contributions"] as? [String: [String: Int]])
        // per person, half-up: 733333 × 0.16 = 117333.28 → 117333; × 0.08 = 58666.64 → 58667
        #expect(c["pension"] == ["employer_fen": 96000 + 117333, "employee_fen": 48000 + 58667])
        #expect(c["medical"] == ["employer_fen": 42000 + 51333, "employee_fen": 12000 + 14667])
        #expect(c["unemployment"] == ["employer_fen": 4200 + 5133, "employee_fen": 1800 + 2200])
        #expect(c["work_injury"] == ["employer_fen": 6600 + 8067, "employee_fen": 0])
        #expect(c["maternity"] == ["employer_fen": 0, "employee_fen": 0])
        let employer = (96000 + 117333) + (42000 + 51333) + (4200 + 5133) + (6600 + 8067)
        let employee = (48000 + 58667) + (12000 + 14667) + (1800 + 2200)
        #expect(r["employer_fen"] as? Int == employer)
        #expect(r["employee_fen"] as? Int == employee)
        #expect(r["total_fen"] as? Int == employer + employee)
        #expect(r["total_wage_base_fen"] as? Int == 1_333_333)
        #expect(r["headcount"] as? Int == 2)
        #expect(r["collection"] as? String == "debit")
        #expect(r["due"] as? String == "2026-11-10T17:00:00+08:00")
        #expect(r["kind"] as? String == "declaration")
    }

    @Test func upToJiaoRounding() throws {
        let root = try TestRoot()
        try root.rules("levy.yaml", replacing: "rounding: half_up", with: "rounding: up_to_jiao")
        try root.drop(Sample.buildingCo, "d.csv", csv(Sample.buildingCo, "2026-11", [(Sample.persons[1], "李四", "7333.33", "")]))
        try root.run("2026-11-02T09:00:00")
        let c = try #require(try root.receipts(Sample.buildingCo).first?["contributions"] as? [String: [String: Int]])
        #expect(c["pension"] == ["employer_fen": 117340, "employee_fen": 58670])  // 117333.28 → 117340; 58666.64 → 58670
    }

    @Test func gb18030WithChineseHeadersAndQuotedCommas() throws {
        let root = try TestRoot()
        let text = "姓名,公民身份号码,缴费工资,变动类型,所属期,统一社会信用代码\r\n\"周八, 小\",\(Sample.persons[5]),4800.00,,202611,\(Sample.restaurant)\r\n"
        try root.write("Inbox/declarations/\(Sample.restaurant)/工资表.csv", gb18030(text))
        try root.run("2026-11-02T09:00:00")
        let r = try #require(try root.receipts(Sample.restaurant).first)
        #expect(r["headcount"] as? Int == 1)
        #expect(r["collection"] as? String == "counter")
        #expect(r["total_wage_base_fen"] as? Int == 480000)
    }

    @Test func utf8WithBOMAndCRLF() throws {
        let root = try TestRoot()
        let body = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]).replacingOccurrences(of: "\n", with: "\r\n")
        try root.write("Inbox/declarations/\(Sample.softwareCo)/bom.csv", [0xEF, 0xBB, 0xBF] + Array(body.utf8) + Array("\r\n\r\n".utf8))
        try root.run("2026-11-02T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).first?["headcount"] as? Int == 1)
    }

    @Test(arguments: [
        [0xFF, 0xFE, 0x65, 0x00, 0x6D, 0x00],              // UTF-16 LE with BOM
        [0x65, 0x6D, 0x00, 0x70, 0x0A],                     // NUL byte
        [0x80, 0x81, 0xFF, 0xFE, 0x80, 0x0A, 0xC3],         // neither UTF-8 nor GB18030
    ] as [[UInt8]])
    func undecodableFilesAreEncodingErrors(_ bytes: [UInt8]) throws {
        let root = try TestRoot()
        try root.write("Inbox/declarations/\(Sample.softwareCo)/x.csv", bytes)
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-FILE-ENCODING"])
    }

    @Test func everyProblemOfAFileAtOnceWithLinesAndMaskedValues() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "bad.csv", """
            employer_id,period,person_id,name,wage_base,change
            \(Sample.softwareCo),2026-11,370102199001011234,钱一,6000.00,
            \(Sample.softwareCo),2026-11,370102900101123,孙二,5000.00,
            \(Sample.softwareCo),2026-11,\(Sample.persons[0]),张三,3000.00,
            \(Sample.softwareCo),2026-11,\(Sample.persons[1]),李四,abc,
            \(Sample.softwareCo),2026-11,\(Sample.persons[1]),李四,6000.00,
            \(Sample.softwareCo),2026-11,\(Sample.persons[2]),"王五, extra",6000.00,,oops
            \(Sample.softwareCo),2026-13,\(Sample.persons[3]),赵六,6000.00,
            \(Sample.softwareCo),2026-11,\(PersonID.withCheckCharacter("37010220300101123")),未来,6000.00,
            \(Sample.softwareCo),2026-11,\(Sample.persons[4]),"孙"七,6000.00,

            """)
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        let found = (report["errors"] as! [[String: Any]]).map { "\($0["line"] as? Int ?? 0):\($0["code"] as! String)" }
        #expect(found == ["2:E-ID-CHECKSUM", "3:E-ID-OLD15", "4:E-BASE-BELOW-FLOOR", "5:E-BASE-FORMAT", "6:E-PERSON-DUPLICATE",
                          "7:E-CSV-ROW", "8:E-PERIOD", "9:E-ID-BIRTHDATE", "10:E-CSV-ROW"])
        let checksum = try #require(errors(report, "E-ID-CHECKSUM").first)
        #expect(checksum["value"] as? String == "370102********1234")
        #expect(checksum["field"] as? String == "person_id")
        #expect((checksum["message"] as? String)?.contains("GB 11643") == true)
        // The employer's copy: the rows as sent with an errors column.
        let copy = try String(contentsOfFile: root.file("Outbox/rejections/\(Sample.softwareCo)/bad.errors.csv"), encoding: .utf8)
        let lines = copy.components(separatedBy: "\r\n")
        #expect(lines[0] == "employer_id,period,person_id,name,wage_base,change,errors")
        #expect(lines[1].hasPrefix("\(Sample.softwareCo),2026-11,370102199001011234,钱一,6000.00,,\"[E-ID-CHECKSUM]"))
        #expect(lines[4].contains("[E-BASE-FORMAT]"))
        // Nothing of a rejected file reaches the ledger's declarations.
        #expect(try root.ledger().currentDeclaration(employer: Sample.softwareCo, period: "2026-11") == nil)
        // The people-readable report masks IDs too.
        let txt = try String(contentsOfFile: root.file("Outbox/rejections/\(Sample.softwareCo)/bad.txt"), encoding: .utf8)
        #expect(!txt.contains("370102199001011234"))
    }

    @Test func gb18030RejectionCopyStaysInGB18030() throws {
        let root = try TestRoot()
        let text = "统一社会信用代码,所属期,公民身份号码,姓名,缴费工资,变动类型\r\n\(Sample.restaurant),2026-11,\(Sample.persons[0]),周八,abc,\r\n"
        try root.write("Inbox/declarations/\(Sample.restaurant)/表.csv", gb18030(text))
        try root.run("2026-11-02T09:00:00")
        let copy = try Data(contentsOf: URL(fileURLWithPath: root.file("Outbox/rejections/\(Sample.restaurant)/表.errors.csv")))
        #expect(String(data: copy, encoding: .utf8) == nil, "the copy must not be UTF-8")
        let back = try #require(transcode([UInt8](copy), from: "GB18030", to: "UTF-8"))
        let decoded = String(decoding: back, as: UTF8.self)
        #expect(decoded.hasPrefix("统一社会信用代码,所属期,公民身份号码,姓名,缴费工资,变动类型,errors\r\n"))
        #expect(decoded.contains("周八,abc,,\"[E-BASE-FORMAT]"))
    }

    @Test func headerProblems() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "h.csv", "employer_id,period,person_id,person_id,wage_bas,change\n\(Sample.softwareCo),2026-11,\(Sample.persons[0]),\(Sample.persons[0]),1,\n")
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        let header = errors(report, "E-CSV-HEADER")
        #expect(header.count == 4)  // duplicated person_id, unknown wage_bas, missing name, missing wage_base
        #expect(header.allSatisfy { $0["line"] as? Int == 1 })
    }

    @Test func emptyAndHeaderOnlyFiles() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "empty.csv", "")
        try root.drop(Sample.tradingCo, "header.csv", "employer_id,period,person_id,name,wage_base,change\n\n\n")
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-FILE-EMPTY"])
        #expect(codes(try root.rejection(Sample.tradingCo)) == ["E-FILE-EMPTY"])
    }

    @Test func wrongExtensionAndTooLarge() throws {
        let root = try TestRoot()
        try root.rules("levy.yaml", replacing: "max_file_bytes: 268435456", with: "max_file_bytes: 100")
        try root.drop(Sample.softwareCo, "申报.xlsx", "PK\u{3}\u{4}")
        try root.drop(Sample.tradingCo, "big.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "a", "6000", ""), (Sample.persons[1], "b", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-FILE-TYPE"])
        #expect(codes(try root.rejection(Sample.tradingCo)) == ["E-FILE-TOO-LARGE"])
    }

    @Test func hugeLineIsReportedWithBoundedWork() throws {
        let root = try TestRoot()
        var text = "employer_id,period,person_id,name,wage_base,change\n"
        text += "\(Sample.softwareCo),2026-11,\(Sample.persons[0]),\"" + String(repeating: "长", count: 3_000_000) + "\n"
        text += "\(Sample.softwareCo),2026-11,\(Sample.persons[1]),李四,abc,\n"
        try root.drop(Sample.softwareCo, "huge.csv", text)
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report).first == "E-CSV-ROW")
        #expect(errors(report, "E-CSV-ROW").first?["line"] as? Int == 2)
        // Reading resumed after the over-long line: the next row was still checked.
        #expect(errors(report, "E-BASE-FORMAT").first?["line"] as? Int == 3)
    }

    @Test func employerMismatchAndUnknownEmployer() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "other.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "unknown.csv", csv("91350100M000100Y44", "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-EMPLOYER-MISMATCH"])
        #expect(Set(codes(try root.rejection(Sample.tradingCo))) == ["E-EMPLOYER-ID", "E-EMPLOYER-MISMATCH"])
    }

    @Test func periodLaterThanNowOrBeforeAnyRules() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "future.csv", csv(Sample.softwareCo, "2026-12", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "ancient.csv", csv(Sample.tradingCo, "2025-12", [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-30T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-PERIOD"])
        #expect(codes(try root.rejection(Sample.tradingCo)) == ["E-PERIOD"])
    }

    @Test func floorIsEffectiveDated() throws {
        let root = try TestRoot()
        // 4500.00 is above June's floor (4416) and below July's (4590).
        try root.drop(Sample.softwareCo, "june.csv", csv(Sample.softwareCo, "2026-06", [(Sample.persons[0], "张三", "4500.00", "")]))
        try root.drop(Sample.tradingCo, "july.csv", csv(Sample.tradingCo, "2026-07", [(Sample.persons[1], "李四", "4500.00", "")]))
        try root.run("2026-07-02T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        let report = try root.rejection(Sample.tradingCo)
        #expect(codes(report) == ["E-BASE-BELOW-FLOOR"])
        #expect((errors(report, "E-BASE-BELOW-FLOOR").first?["message"] as? String)?.contains("4590.00") == true)
    }

    @Test func belowFloorRaiseAndCeilingCapAreWarnings() throws {
        let root = try TestRoot()
        try root.rules("levy.yaml", replacing: "floor: \"4590.00\", ceiling: \"22950.00\", below_floor: reject",
                       with: "floor: \"4590.00\", ceiling: \"22950.00\", below_floor: raise")
        try root.drop(Sample.softwareCo, "d.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "3000", ""), (Sample.persons[1], "李四", "30000", "")]))
        try root.run("2026-11-02T09:00:00")
        let r = try #require(try root.receipts(Sample.softwareCo).first)
        #expect(r["total_wage_base_fen"] as? Int == 459000 + 2295000)
        let warnings = (r["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(warnings == ["W-BASE-RAISED", "W-BASE-CAPPED"])
    }

    @Test func duplicateFileIsRecognisedAndNamesTheEarlierOutcome() throws {
        let root = try TestRoot()
        let text = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")])
        try root.drop(Sample.softwareCo, "a.csv", text)
        try root.run("2026-11-02T09:00:00")
        try root.drop(Sample.softwareCo, "工资表 (2).csv", text)   // renamed by the clerk, same bytes
        try root.run("2026-11-02T10:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report) == ["E-FILE-DUPLICATE"])
        let earlier = try #require(report["earlier"] as? [String: Any])
        #expect(earlier["outcome"] as? String == "accepted")
        #expect(earlier["file"] as? String == "a.csv")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(root.files(under: ".levy/archive").count == 2)
    }

    /// Inputs are archived in the day's folder under their own names (SPEC §1). When two employers
    /// send the same name the same day, or one sends it again (a correction, a rejected one, a
    /// duplicate), every input is kept and none overwrites another, not even the same bytes: the later
    /// name has the employer folder before it, then also the SHA-256's first 12 hex digits, then all
    /// 64, then a count. The same levy running look after look (as `watch` does) sees what its earlier
    /// looks archived, and so does a fresh process.
    @Test func sameNameTheSameDayNeverOverwritesTheArchive() throws {
        let root = try TestRoot()
        let first = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")])
        let second = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6500", "")])
        let third = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "x", "")])
        let trading = csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "7000", "")])
        let levy = try root.levy()
        for (text, hour) in [(first, "09"), (second, "10"), (third, "11")] {
            try root.drop(Sample.softwareCo, "工资.csv", text)
            try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-02T\(hour):00:00")))
        }
        for hour in ["12", "13", "14"] {  // the same bytes again, each time by a fresh process
            try root.drop(Sample.softwareCo, "工资.csv", second)
            try root.run("2026-11-02T\(hour):00:00")
        }
        try root.drop(Sample.tradingCo, "工资.csv", trading)
        try root.run("2026-11-02T15:00:00")
        let folder = ".levy/archive/2026/11/02"
        let archived = root.files(under: folder)
        #expect(archived.count == 7)
        let contents = try archived.map { try String(contentsOfFile: root.file("\(folder)/\($0)"), encoding: .utf8) }
        #expect(contents.filter { $0 == first }.count == 1 && contents.filter { $0 == second }.count == 4
                && contents.filter { $0 == third }.count == 1 && contents.filter { $0 == trading }.count == 1)
        #expect(try String(contentsOfFile: root.file("\(folder)/工资.csv"), encoding: .utf8) == first)
        let sha = { (text: String) in sha256Hex(Array(text.utf8)) }
        let soft = Sample.softwareCo
        #expect(Set(archived) == ["工资.csv", "\(soft)-工资.csv", "\(soft)-\(sha(third).prefix(12))-工资.csv",
                                  "\(soft)-\(sha(second).prefix(12))-工资.csv", "\(soft)-\(sha(second))-工资.csv",
                                  "\(soft)-\(sha(second))-2-工资.csv", "\(Sample.tradingCo)-工资.csv"])
        // The ledger knows where each went: the trading company's declaration is its own, not a duplicate.
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(root.files(under: "Inbox").isEmpty)
    }

    @Test func identityIsTheBytesPlusTheFolder() throws {
        let root = try TestRoot()
        // The same bytes dropped by two employers: not a duplicate, but the second is not its own declaration.
        let text = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")])
        try root.drop(Sample.softwareCo, "a.csv", text)
        try root.drop(Sample.tradingCo, "a.csv", text)
        try root.run("2026-11-02T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(codes(try root.rejection(Sample.tradingCo)) == ["E-EMPLOYER-MISMATCH"])
    }

    @Test func unclosedQuoteIsARowError() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "q.csv", "employer_id,period,person_id,name,wage_base,change\n"
                      + "\(Sample.softwareCo),2026-11,\(Sample.persons[0]),张三,6000,\n"
                      + "\(Sample.softwareCo),2026-11,\(Sample.persons[1]),\"李四,6000,\n")
        try root.run("2026-11-02T09:00:00")
        let e = errors(try root.rejection(Sample.softwareCo), "E-CSV-ROW")
        #expect(e.map { $0["line"] as? Int } == [3])
        #expect((e.first?["message"] as? String)?.contains("unclosed quote") == true)
    }

    @Test func unattributableFilesAreQuarantinedWithAReason() throws {
        let root = try TestRoot()
        try root.write("Inbox/declarations/91110000000000000X/x.csv", "whatever")
        try root.write("Inbox/declarations/loose.csv", "whatever")
        try root.run("2026-11-02T09:00:00")
        let q = root.files(under: ".levy/quarantine")
        #expect(q.count == 4)
        #expect(q.filter { $0.hasSuffix(".reason.txt") }.count == 2)
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(root.files(under: "Outbox/rejections").isEmpty)
    }

    @Test func symlinksAndFIFOsAreNeverFollowedOrOpened() throws {
        let root = try TestRoot()
        let secret = root.file("secret.csv")
        try csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]).write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(Sample.softwareCo)"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.file("Inbox/declarations/\(Sample.softwareCo)/link.csv"), withDestinationPath: secret)
        try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(Sample.tradingCo)"), withIntermediateDirectories: true)
        #expect(mkfifo(root.file("Inbox/declarations/\(Sample.tradingCo)/pipe.csv"), 0o644) == 0)
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-FILE-TYPE"])
        #expect(codes(try root.rejection(Sample.tradingCo)) == ["E-FILE-TYPE"])
        #expect(try root.receipts(Sample.softwareCo).isEmpty)
        #expect(FileManager.default.fileExists(atPath: secret), "the link's target is untouched")
        #expect(root.files(under: "Inbox/declarations").isEmpty)
    }

    @Test func temporaryNamesWait() throws {
        let root = try TestRoot()
        for name in [".hidden.csv", "upload.csv.part", "x.csv.tmp", "y.csv.filepart"] {
            try root.drop(Sample.softwareCo, name, csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        }
        try root.run("2026-11-02T09:00:00")
        #expect(root.files(under: "Inbox/declarations/\(Sample.softwareCo)").count == 4)
        #expect(root.files(under: "Outbox/receipts").isEmpty)
    }
}

func gb18030(_ text: String) -> [UInt8] { transcode(Array(text.utf8), from: "UTF-8", to: "GB18030")! }
