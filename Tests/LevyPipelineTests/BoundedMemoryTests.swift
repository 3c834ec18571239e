import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// A file's persons are sorted in bounded runs spilled to disk and merged with the ledger's rosters,
/// so memory does not grow with rows. These tests force tiny runs and compare with the unspilled path.
@Suite struct BoundedMemoryTests {
    @Test func sorterSpillsRunsAndMergesThemInRosterOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-spill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var generator = SystemRandomNumberGenerator()
        let sorter = PersonSorter(directory: dir, runLength: 7)
        var all: [DeclaredPerson] = []
        for i in 0..<1_000 {
            // Few distinct keys, so duplicates land in different runs.
            let p = DeclaredPerson(key: Int64.random(in: 0..<400, using: &generator), baseFen: Fen(i), line: Int32(i + 2),
                                   ordinal: Int32(i + 1), change: RosterChange(rawValue: UInt8(i % 3))!)
            sorter.append(p)
            all.append(p)
        }
        #expect(sorter.spilledRuns == 1_000 / 7)
        #expect(sorter.count == 1_000)
        let expected = all.sorted(by: DeclaredPerson.precedes)
        for _ in 0..<2 {  // readable twice: the check, then the ledger insert
            let next = sorter.sortedReader()
            var got: [DeclaredPerson] = []
            while let p = next() { got.append(p) }
            #expect(got == expected)
        }
        try sorter.checkFailure()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "spilled runs must have no name on disk")
    }

    /// Runs are written compactly (key distances, zigzag varints): any person comes back as it went in,
    /// whatever its values — keys across the whole Int64 range, negative bases, lines before ordinals.
    @Test func spilledPersonsComeBackExactlyWhateverTheirValues() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-spill-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SplitMix64(state: 7)
        let sorter = PersonSorter(directory: dir, runLength: 500)
        var all: [DeclaredPerson] = []
        let keys: [Int64] = [.min, .max, 0, -1, 1, 99_999_999_999_999_999]
        let bases: [Fen] = [.min, .max, 0, -5, 2_295_000]
        let lines: [Int32] = [.min, .max, 0, 1, 2]
        for i in 0..<5_000 {
            let key = i % 3 == 0 ? keys[Int(rng.next() % 6)] : Int64(bitPattern: rng.next())
            let p = DeclaredPerson(key: key, baseFen: i % 2 == 0 ? bases[Int(rng.next() % 5)] : Fen(bitPattern: rng.next() >> 1),
                                   line: i % 5 == 0 ? lines[Int(rng.next() % 5)] : Int32(i + 2),
                                   ordinal: i == 4_999 ? .max : Int32(i + 1) - (i == 0 ? Int32.max : 0),
                                   change: RosterChange(rawValue: UInt8(i % 3))!)
            sorter.append(p)
            all.append(p)
        }
        #expect(sorter.spilledRuns == 10)
        let next = sorter.sortedReader()
        var got: [DeclaredPerson] = []
        while let p = next() { got.append(p) }
        let same = got == all.sorted(by: DeclaredPerson.precedes)  // a Bool: the arrays would flood the log
        #expect(same)
        try sorter.checkFailure()
    }

    /// The roster merge gives the same findings, lines and totals whether or not the persons spill.
    @Test func spillingCheckFindsWhatTheInMemoryCheckFinds() throws {
        let root = try TestRoot()
        let oct = "2026-10", nov = "2026-11"
        // October roster of the software company: persons 0..<300.
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, oct, (0..<300).map { (Sample.person($0), "甲", "6000", "") }))
        // Another employer insures persons 1000..<1010 in November.
        try root.drop(Sample.tradingCo, "nov.csv", csv(Sample.tradingCo, nov, (1000..<1010).map { (Sample.person($0), "乙", "6000", "") }))
        try root.run("2026-11-02T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)

        // November: persons 0..<250 continue (250..<300 missing), 300..<310 unknown without A,
        // 1000..<1005 added but insured elsewhere, 7 duplicated (the second far down the file).
        var rows = (0..<250).map { (Sample.person($0), "甲", "6000", "") }
        rows += (300..<310).map { (Sample.person($0), "丙", "6000", "") }
        rows += (1000..<1005).map { (Sample.person($0), "丁", "6000", "A") }
        rows.append((Sample.person(7), "甲", "6000", ""))
        let text = csv(Sample.softwareCo, nov, rows.reversed())
        let file = root.file("probe.csv")
        try text.write(toFile: file, atomically: true, encoding: .utf8)

        let levy = try root.levy()
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        let employer = try #require(levy.loaded.rules.employer(Sample.softwareCo))
        func check(runLength: Int) throws -> (findings: [String], totals: ContributionTotals, runs: Int) {
            let fd = open(file, O_RDONLY)
            defer { close(fd) }
            let scanned = try scanFile(fd: fd)
            let outcome = try DeclarationFileCheck(rules: levy.loaded.rules, schema: levy.loaded.declarationSchema, now: now,
                                                   ledger: levy.ledger, spillDirectory: root.file(".levy/tmp"), runLength: runLength)
                .check(fd: fd, name: "probe.csv", scanned: scanned, folderEmployer: employer)
            let findings = outcome.check.findings.sorted.map { "\($0.code.rawValue)@\($0.line ?? 0):\($0.value ?? "")" }
            return (findings, outcome.check.totals, outcome.persons.spilledRuns)
        }
        let spilled = try check(runLength: 3)
        let inMemory = try check(runLength: 1 << 17)
        #expect(spilled.runs > 80)
        #expect(inMemory.runs == 0)
        #expect(spilled.findings == inMemory.findings)
        #expect(spilled.totals == inMemory.totals)

        let codes = spilled.findings.map { String($0.prefix { $0 != "@" }) }
        #expect(codes.filter { $0 == "E-ROSTER-MISSING" }.count == 50)
        #expect(codes.filter { $0 == "E-ROSTER-UNKNOWN" }.count == 10)
        #expect(codes.filter { $0 == "E-PERSON-INSURED-ELSEWHERE" }.count == 5)
        // The file is reversed: person 7's extra row is line 2, so its row in the 0..<250 block is the duplicate.
        let duplicate = try #require(spilled.findings.first { $0.hasPrefix("E-PERSON-DUPLICATE") })
        #expect(duplicate == "E-PERSON-DUPLICATE@\(rows.count + 1 - 7):\(PersonID.mask(Sample.person(7)))")
    }

    /// More than 2,000 additions take the ledger's merge path (the period's rosters read in person order).
    @Test func largeFirstDeclarationFindsPersonsInsuredElsewhere() throws {
        let root = try TestRoot()
        let nov = "2026-11"
        try root.drop(Sample.tradingCo, "t.csv", csv(Sample.tradingCo, nov, [(Sample.person(17), "乙", "6000", ""), (Sample.person(2_400), "乙", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        try root.drop(Sample.softwareCo, "big.csv", csv(Sample.softwareCo, nov, (0..<2_500).map { (Sample.person($0), "甲", "6000", "") }))
        try root.run("2026-11-02T09:05:00")
        let report = try root.rejection(Sample.softwareCo)
        let found = errors(report, "E-PERSON-INSURED-ELSEWHERE")
        #expect(found.map { $0["line"] as? Int } == [19, 2_402])
        #expect(codes(report).allSatisfy { $0 == "E-PERSON-INSURED-ELSEWHERE" })
    }

    @Test func acceptedRosterIsStoredFromTheSpilledRuns() throws {
        // Accepted by the pipeline with runs of 16 persons, the roster stored in the ledger is the next
        // month's reference: the same persons in another order are accepted, one left out is missing.
        let root = try TestRoot()
        func run(_ asOf: String) throws {
            let levy = try root.levy()
            levy.tuning.personRunLength = 16
            try levy.run(now: try #require(levy.loaded.clock.parseAsOf(asOf)))
        }
        let persons = (0..<3_000).map { (Sample.person($0), "甲", "6000", "") }
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, "2026-10", persons))
        try run("2026-10-02T09:00:00")
        try root.drop(Sample.softwareCo, "nov.csv", csv(Sample.softwareCo, "2026-11", persons.shuffled()))
        try run("2026-11-02T09:00:00")
        let receipts = try root.receipts(Sample.softwareCo)
        #expect(receipts.count == 2)
        #expect(receipts.allSatisfy { $0["headcount"] as? Int == 3_000 })

        try root.drop(Sample.softwareCo, "nov-2.csv", csv(Sample.softwareCo, "2026-11", Array(persons.dropFirst())))
        try run("2026-11-03T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report) == ["E-ROSTER-MISSING"])
        #expect(errors(report, "E-ROSTER-MISSING").first?["value"] as? String == PersonID.mask(Sample.person(0)))
        #expect(root.files(under: ".levy/tmp").isEmpty)
    }
}

/// Runs the real levy binary with `--stats` and returns its exit status and its own peak RSS
/// (`VmHWM` of the levy image: a child's `ru_maxrss` on Linux includes the parent it was spawned from).
func levyPeakRSS(_ args: [String]) throws -> (status: Int32, peakKiB: Int) {
    let r = try levy(args + ["--stats"])
    let line = try #require(r.stderr.split(separator: "\n").last { $0.hasPrefix("levy stats:") }, "no stats line in \(r.stderr)")
    let kib = try #require(line.split(separator: " ").first { $0.hasPrefix("peak_rss_kib=") }.flatMap { Int($0.dropFirst(13)) })
    return (r.status, kib)
}

extension BoundedMemoryTests {
    /// Hostile files side by side in one run: each is rejected, and the process stays small. The bound
    /// (160 MB) is ~4× what levy needs for the 1M-row benchmark; the inputs total ~190 MB.
    @Test func hostileInputsAreRejectedInBoundedMemory() throws {
        let root = try TestRoot()
        let header = "employer_id,period,person_id,name,wage_base,change\n"
        let row = "\(Sample.softwareCo),2026-11,\(Sample.persons[0]),张三,6000,\n"
        // A 50 MB line, a million columns, and a 30 MB unclosed quote.
        try root.drop(Sample.softwareCo, "line.csv", header + String(repeating: "9", count: 50_000_000) + "\n" + row)
        try root.drop(Sample.softwareCo, "wide.csv", header + String(repeating: ",", count: 1_000_000) + "\n" + row)
        try root.drop(Sample.softwareCo, "quote.csv", header + row + "\"" + String(repeating: "长", count: 10_000_000))
        // Billion laughs, 10,000-deep nesting, a 20 MB attribute and a 20 MB text node.
        let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
            + (1...9).map { "<!ENTITY lol\($0) \"" + String(repeating: "&lol\($0 - 1 == 0 ? "" : String($0 - 1));", count: 10) + "\">" }.joined()
            + "]>\n<Declaration>&lol9;</Declaration>\n"
        try root.drop(Sample.buildingCo, "laughs.xml", laughs)
        try root.drop(Sample.buildingCo, "deep.xml", "<?xml version=\"1.0\"?>\n" + String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000))
        try root.drop(Sample.buildingCo, "attr.xml", "<?xml version=\"1.0\"?>\n<Declaration x=\"" + String(repeating: "a", count: 20_000_000) + "\"/>")
        try root.drop(Sample.buildingCo, "text.xml", "<?xml version=\"1.0\"?>\n<Declaration xmlns=\"urn:levy:declaration:1\"><EmployerId>"
                      + String(repeating: "9", count: 20_000_000) + "</EmployerId></Declaration>")
        // A forged bank return of 15 million elements the schema does not know (60 MB, under the 64 MB
        // cap): refused by the streaming validation before any tree is built (484 MB peak before).
        try root.write("Inbox/bank/ICBC01/forged.xml", "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.03\">"
                       + "<CstmrPmtStsRpt>" + String(repeating: "<x/>", count: 15_000_000) + "</CstmrPmtStsRpt></Document>")
        let (status, peakKiB) = try levyPeakRSS(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(status == 0)
        #expect(peakKiB < 160 * 1024, "levy run peaked at \(peakKiB / 1024) MB on hostile input")
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        let reason = try #require(root.files(under: ".levy/quarantine/bank/ICBC01").first { $0.hasSuffix("forged.xml.reason.txt") })
        #expect(try String(contentsOfFile: root.file(".levy/quarantine/bank/ICBC01/\(reason)"), encoding: .utf8)
                    .contains("does not validate against pain.002.001.03"))
        let reports = root.files(under: "Outbox/rejections").filter { $0.hasSuffix(".json") }
        #expect(reports.count == 7, "\(reports)")
        #expect(try root.receipts(Sample.softwareCo).isEmpty)
    }

    /// Peak RSS of `levy check` on 280,000 rows is that on 140,000: past one sorted run of 131,072
    /// persons (4 MB) everything spills to disk, and nothing else is kept per row. (It compared 150,000
    /// rows with 1,000 before, where the first run's 4 MB sat next to the margin and allocator noise of
    /// a few KiB decided the result.) Each size is run three times and its lowest peak taken: runs of
    /// one size differ by up to ~1.5 MB (threads' arenas and stacks touched in another order), which
    /// made a single pair fail about one time in four.
    @Test func memoryDoesNotGrowWithRows() throws {
        let root = try TestRoot()
        func peak(_ rows: Int) throws -> (status: Int32, peakKiB: Int) {
            let file = try bigDeclaration(in: root, rows: rows)
            let runs = try (0..<3).map { _ in
                try levyPeakRSS(["check", file, "--root", root.path, "--employer", Sample.softwareCo, "--as-of", "2026-11-02T09:00:00"])
            }
            return (runs.map(\.status).max()!, runs.map(\.peakKiB).min()!)
        }
        let large = try peak(140_000), double = try peak(280_000)
        #expect(large.status == 0 && double.status == 0)
        // 140,000 more persons held in memory would be 2 MB at the very least (16 bytes each); what a
        // spilled run adds is a read buffer.
        #expect(double.peakKiB - large.peakKiB < 1024, "140,000 rows \(large.peakKiB) KiB, 280,000 rows \(double.peakKiB) KiB")
    }
}

/// A valid declaration of `rows` distinct persons for the software company, written into the root.
func bigDeclaration(in root: TestRoot, rows: Int) throws -> String {
    var text = "employer_id,period,person_id,name,wage_base,change\n"
    text.reserveCapacity(rows * 64)
    for i in 0..<rows {  // distinct persons: born on day i / 1000 of a calendar, sequence i % 1000
        let day = i / 1_000
        let body = "110105" + String(format: "%04d%02d%02d%03d", 1960 + day / 336, day / 28 % 12 + 1, day % 28 + 1, i % 1_000)
        text += "\(Sample.softwareCo),2026-11,\(PersonID.withCheckCharacter(body)),某,\(5000 + i % 9000).00,\n"
    }
    let path = root.file("rows-\(rows).csv")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
