import Foundation
import LevyDomain
import LevyLedger
@testable import LevyPipeline
import Testing

/// The largest CSV files are read in two halves at once, cut at the first line end past the middle.
/// Whatever lies around the cut, the outcome is the one-pass outcome, or the halves decline and the
/// file is read in one pass. (`FuzzTests` and the fuzz target compare the paths on mutated files too.)
@Suite struct HalvesTests {
    /// The one-pass check and the two-halves read (completed the same way) of the same bytes.
    func bothWays(_ bytes: [UInt8], root: TestRoot, runLength: Int = 1 << 17) throws
        -> (onePass: DeclarationFileCheck.Outcome, halves: DeclarationFileCheck.Outcome?) {
        let (fd, fileCheck, employer) = try root.declarationFile(bytes, name: "h.csv", runLength: runLength)
        defer { close(fd) }
        let scanned = try scanFile(fd: fd)
        let onePass = try fileCheck.check(fd: fd, name: "h.csv", scanned: scanned, folderEmployer: employer)
        let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        guard var halves = fileCheck.readInHalves(fd: fd, name: "h.csv", size: Int64(bytes.count), bom: bom,
                                                  folderEmployer: employer) else { return (onePass, nil) }
        try fileCheck.complete(&halves)
        return (onePass, halves)
    }

    /// Problems on both sides of the cut: IDs, bases, a person declared in both halves, another
    /// employer, blank lines just before the cut, quoted fields. Same findings, lines, totals and roster.
    @Test(arguments: [false, true])
    func problemsOnBothSidesOfTheCutAreFoundAsInOnePass(bom: Bool) throws {
        let root = try TestRoot()
        var lines = ["employer_id,period,person_id,name,wage_base,change"]
        for i in 0..<400 {
            let id = i == 390 ? Sample.person(3) : Sample.person(i)  // person 3 again, far into the second half
            let base = i % 97 == 5 ? "abc" : i % 89 == 7 ? "100" : String(4_000 + i * 37) + ".5"
            let name = i % 50 == 0 ? "\"Zhang, San\"" : "张三"
            let employer = i == 300 ? Sample.tradingCo : Sample.softwareCo
            lines.append("\(employer),2026-11,\(i % 61 == 11 ? "37010219900101123" : id),\(name),\(base),\(i % 7 == 0 ? "A" : "")")
        }
        let middle = lines.count / 2
        lines.insert(contentsOf: ["", " , ,,,,"], at: middle)  // blank lines reported only because rows follow them
        let bytes = (bom ? [0xEF, 0xBB, 0xBF] : []) + Array((lines.joined(separator: "\n") + "\n").utf8)
        let (onePass, halves) = try bothWays(bytes, root: root)
        let read = try #require(halves, "a file cut between two records is read in halves")
        #expect(sameOutcome(onePass, read))
        #expect(!read.isAccepted)
        let findings = read.check.findings.items
        #expect(findings.contains { $0.code == .personDuplicate })
        #expect(findings.contains { $0.code == .employerMismatch && $0.line == 304 })  // row 300: header, 300 rows, 2 blank lines before it
        #expect(findings.contains { $0.code == .csvRow && $0.line == middle + 1 })
        #expect(findings.contains { $0.code == .baseFormat && ($0.line ?? 0) > middle + 100 })
        #expect(read.encoding == (bom ? .utf8BOM : .utf8))
    }

    /// The first half ends in blank lines, exactly at the cut: they are in the middle of the file only
    /// because the second half has rows, and are reported with their lines.
    @Test func blankLinesJustBeforeTheCutAreReportedWhenRowsFollow() throws {
        let root = try TestRoot()
        let row = { (i: Int, name: String) in "\(Sample.softwareCo),2026-11,\(Sample.person(i)),\(name),6000,\n" }
        let first = "employer_id,period,person_id,name,wage_base,change\n" + (0..<30).map { row($0, "张三") }.joined() + "\n \t \n"
        var second = (30..<50).map { row($0, "李四") }.joined()
        // The middle byte is the last of the first part (its final line end), so the cut falls right after it.
        let pad = first.utf8.count - 2 - second.utf8.count
        try #require(pad > 0)
        second = row(30, "李四" + String(repeating: "x", count: pad)) + second.split(separator: "\n", maxSplits: 1)[1]
        let bytes = Array((first + second).utf8)
        let probe = root.file("cut.csv")
        try Data(bytes).write(to: URL(fileURLWithPath: probe))
        let fd = open(probe, O_RDONLY)
        defer { close(fd) }
        #expect(DeclarationFileCheck.lineEnd(after: Int64(bytes.count / 2), fd: fd, size: Int64(bytes.count)) == Int64(first.utf8.count))
        let (onePass, halves) = try bothWays(bytes, root: root)
        let read = try #require(halves)
        #expect(sameOutcome(onePass, read))
        #expect(read.check.findings.items.filter { $0.code == .csvRow }.compactMap(\.line) == [32, 33])
    }

    /// Many small runs on each side (spilled and adopted), more findings than the cap: the kept
    /// findings, the count of the rest and the roster are those of one pass.
    @Test func spilledHalvesAndTheFindingCapAgreeWithOnePass() throws {
        let root = try TestRoot()
        let rows = (0..<3_000).map { i in (i % 2 == 0 ? "37010219900101123X" : Sample.person(i), "李四", String(5_000 + i % 900), "") }
        let (onePass, halves) = try bothWays(Array(csv(Sample.softwareCo, "2026-11", rows).utf8), root: root, runLength: 64)
        let read = try #require(halves)
        #expect(onePass.check.findings.omitted > 0)
        #expect(sameOutcome(onePass, read))
        #expect(read.persons.spilledRuns > 2)
    }

    /// Through the pipeline: a declaration read in halves is accepted with the one-pass totals, and the
    /// roster it leaves has the persons of both halves, lines and all: next month, one person of each
    /// half left out is missing, and reported as such.
    @Test func aFileReadInHalvesLeavesTheWholeRoster() throws {
        let root = try TestRoot()
        func run(_ asOf: String) throws {
            let levy = try root.levy()
            levy.tuning.halvesFrom = 0
            levy.tuning.personRunLength = 64
            try levy.run(now: try #require(levy.loaded.clock.parseAsOf(asOf)))
        }
        let persons = (0..<2_000).map { (Sample.person($0), "甲", String(5_000 + $0), "") }
        let november = Array(csv(Sample.softwareCo, "2026-11", persons).utf8)
        let (onePass, halves) = try bothWays(november, root: root, runLength: 64)
        #expect(halves != nil, "the file is cut between two records")
        try root.drop(Sample.softwareCo, "nov.csv", String(decoding: november, as: UTF8.self))
        try run("2026-11-03T09:00:00")
        let receipt = try #require(try root.receipts(Sample.softwareCo).first)
        #expect(receipt["headcount"] as? Int == 2_000)
        #expect((receipt["total_fen"] as? NSNumber)?.int64Value == onePass.check.totals.totalFen)

        let left = [Sample.person(10), Sample.person(1_990)]
        try root.drop(Sample.softwareCo, "dec.csv", csv(Sample.softwareCo, "2026-12", persons.filter { !left.contains($0.0) }))
        try run("2026-12-03T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report) == ["E-ROSTER-MISSING", "E-ROSTER-MISSING"])  // nobody unknown: the second half is on the roster
        #expect(Set(errors(report, "E-ROSTER-MISSING").compactMap { $0["value"] as? String }) == Set(left.map(PersonID.mask)))
    }

    /// Through the pipeline, rejected: the report's lines and the employer's `.errors.csv` copy mark the
    /// rows that are wrong on both sides of the cut, as in one pass (SPEC §7: the rows as sent, plus an
    /// `errors` column).
    @Test func aRejectedFileReadInHalvesMarksTheRightRows() throws {
        let root = try TestRoot()
        let bad: Set<Int> = [3, 1_500, 1_999]  // one in the first half, two in the second
        let persons = (0..<2_000).map { i in (Sample.person(i), "乙", bad.contains(i) ? "x\(i)" : "6000", "") }
        let text = csv(Sample.softwareCo, "2026-11", persons)
        let (onePass, halves) = try bothWays(Array(text.utf8), root: root)
        let read = try #require(halves, "a file cut between two records is read in halves")
        #expect(sameOutcome(onePass, read))
        try root.drop(Sample.softwareCo, "big.csv", text)
        let levy = try root.levy()
        levy.tuning.halvesFrom = 0
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
        let report = try root.rejection(Sample.softwareCo)
        #expect(Set(errors(report, "E-BASE-FORMAT").compactMap { $0["line"] as? Int }) == Set(bad.map { $0 + 2 }))
        let copy = try String(contentsOfFile: root.file("Outbox/rejections/\(Sample.softwareCo)/big.errors.csv"), encoding: .utf8)
        let marked = copy.components(separatedBy: "\r\n").filter { $0.contains("[E-BASE-FORMAT]") }
        #expect(marked.count == bad.count)
        for i in bad { #expect(marked.contains { $0.contains(",x\(i),") }, "row \(i) is marked") }
    }

    /// The line end past the middle is inside a quoted field: the first half's reader, which alone
    /// knows, finds the quote still open at the cut, and the halves decline.
    @Test func aCutInsideAQuotedFieldIsDeclined() throws {
        let root = try TestRoot()
        var lines = ["employer_id,period,person_id,name,wage_base,change"]
        for i in 0..<40 { lines.append("\(Sample.softwareCo),2026-11,\(Sample.person(i)),张三,6000,") }
        var text = lines.joined(separator: "\n") + "\n"
        let quoted = "\(Sample.softwareCo),2026-11,\(Sample.person(40)),\"" + String(repeating: "多行\n", count: 400) + "\",6000,\n"
        text += quoted
        for i in 41..<50 { text += "\(Sample.softwareCo),2026-11,\(Sample.person(i)),张三,6000,\n" }
        let bytes = Array(text.utf8)
        let start = text.utf8.count - quoted.utf8.count - 9 * 60
        #expect(start < bytes.count / 2, "the quoted field spans the middle")
        let (onePass, halves) = try bothWays(bytes, root: root)
        #expect(halves == nil)
        #expect(onePass.check.rowCount == 50)
    }

    /// The first row comes only after the middle (a long run of blank lines): nothing to start the
    /// second half from, so the halves decline.
    @Test func aFirstRowPastTheMiddleIsDeclined() throws {
        let root = try TestRoot()
        let text = "employer_id,period,person_id,name,wage_base,change\n" + String(repeating: "\n", count: 5_000)
            + csv(Sample.softwareCo, "2026-11", [(Sample.person(1), "王五", "6000", "")]).split(separator: "\n").dropFirst().joined(separator: "\n") + "\n"
        let (onePass, halves) = try bothWays(Array(text.utf8), root: root)
        #expect(halves == nil)
        #expect(onePass.check.findings.items.contains { $0.code == .csvRow })
    }
}
