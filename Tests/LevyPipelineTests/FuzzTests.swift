import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// Seeded mutation fuzzing of everything that parses untrusted bytes: the CSV reader with the whole
/// declaration check, the XML declaration reader with XSD, and the pain.002 reader. A crash kills the
/// test process; each case also checks that the outcome is coherent. Seeds are printed on failure.
@Suite struct FuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["LEVY_FUZZ_ITERATIONS"] ?? "") ?? 2000

    static let tokens: [[UInt8]] = [
        Array("\"".utf8), Array(",".utf8), Array("\n".utf8), Array("\r".utf8), Array("\r\n".utf8), [0], [0xFF], [0x80],
        [0xEF, 0xBB, 0xBF], [0xE4, 0xB8], Array("<".utf8), Array(">".utf8), Array("&".utf8), Array("&amp;".utf8),
        Array("<!DOCTYPE x>".utf8), Array("]]>".utf8), Array("<![CDATA[".utf8), Array("-".utf8), Array("9".utf8),
        Array(".".utf8), Array("X".utf8), Array("张".utf8), Array(String(repeating: "9", count: 30).utf8),
        Array("</Person>".utf8), Array("<Person>".utf8), Array(" change=\"R\"".utf8), Array("R".utf8), Array("A".utf8),
    ]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let at = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: if !b.isEmpty { b[at] = UInt8.random(in: 0...255, using: &rng) }
            case 1: b.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
            case 2: if !b.isEmpty { b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...20, using: &rng))) }
            case 3: b = Array(b.prefix(at))
            case 4: if !b.isEmpty { let n = min(b.count - at, 40); b.insert(contentsOf: b[at..<at + n], at: at) }
            case 5: if b.count > 1 { let j = Int.random(in: 0..<b.count, using: &rng); b.swapAt(at, j) }
            default: b.insert(contentsOf: Array(repeating: tokens.randomElement(using: &rng)!.first ?? 0, count: Int.random(in: 1...300, using: &rng)), at: at)
            }
        }
        return b
    }

    /// Checks one candidate declaration file end to end (as `levy check` does) and returns its findings.
    static func check(_ bytes: [UInt8], name: String, loaded: LoadedRules, dir: URL, employer: Employer) throws -> DeclarationFileCheck.Outcome {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let scanned = try scanFile(fd: fd)
        let now = loaded.clock.parseAsOf("2026-11-02T09:00:00")!
        var fileCheck = DeclarationFileCheck(rules: loaded.rules, schema: loaded.declarationSchema, now: now, ledger: nil)
        let outcome = try fileCheck.check(fd: fd, name: name, scanned: scanned, folderEmployer: employer)
        // The same file parsed while it is scanned (the path of large CSV files), in one pass or in two
        // halves at once (the path of the largest), gives the same outcome.
        fileCheck.overlapBytes = 0
        for split in [Int64.max, 0] {
            fileCheck.splitBytes = split
            let (overlapScanned, overlapping) = try fileCheck.scanAndCheck(fd: fd, name: name, folderEmployer: employer) { _ in true }
            #expect(overlapScanned.sha256 == scanned.sha256)
            #expect(sameOutcome(outcome, try #require(overlapping)), "\(name) split \(split): \(bytes.prefix(200))")
        }
        return outcome
    }

    func coherent(_ outcome: DeclarationFileCheck.Outcome, seed: UInt64) {
        let f = outcome.check.findings
        #expect(outcome.isAccepted == !f.hasErrors, "seed \(seed)")
        #expect(f.items.count <= FindingList.cap, "seed \(seed)")
        #expect(f.items.allSatisfy { !$0.message.isEmpty && ($0.line ?? 1) >= 1 }, "seed \(seed)")
        if outcome.isAccepted { #expect(outcome.check.totals.headcount > 0, "seed \(seed)") }
    }

    /// Mutates the given valid files `iterations` times through the whole declaration check; returns how many passed.
    func fuzz(employer: String, name: String, bases: [[UInt8]]) throws -> (accepted: Int, seed: UInt64) {
        let root = try TestRoot()
        let loaded = try RulesLoader.load(from: root.file("Rules"))
        let folder = try #require(loaded.rules.employer(employer))
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(state: seed)
        var accepted = 0
        for i in 0..<Self.iterations {
            let outcome = try Self.check(Self.mutate(bases[i % bases.count], &rng), name: name, loaded: loaded, dir: root.url, employer: folder)
            coherent(outcome, seed: seed)
            if outcome.isAccepted { accepted += 1 }
        }
        return (accepted, seed)
    }

    @Test func csvDeclarations() throws {
        let base = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000.00", ""), (Sample.persons[1], "\"李, 四\"", "7000", "A"),
                                                    (Sample.persons[2], "王五", "", "R")])
        let (accepted, seed) = try fuzz(employer: Sample.softwareCo, name: "f.csv", bases: [Array(base.utf8), Array(base.utf8), gb18030(base)])
        #expect(accepted < Self.iterations, "mutations must be caught sometimes (seed \(seed))")
    }

    @Test func xmlDeclarations() throws {
        let base = xml(Sample.buildingCo, "2026-11", [(Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", "A")])
        let (accepted, seed) = try fuzz(employer: Sample.buildingCo, name: "f.xml", bases: [Array(base.utf8)])
        #expect(accepted < Self.iterations, "mutations must be caught sometimes (seed \(seed))")
    }

    @Test func bankReturns() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-06T17:30:00")
        let debit = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        let base = Array(try BankSimulator.returnFile(for: debit, reportID: "R") { _ in "RJCT:AM04" }.utf8)
        let levy = try root.levy()
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(state: seed)
        var applied = 0
        for _ in 0..<Self.iterations {
            // Checked only: a mutated return is either refused or, if it still says what was sent, usable.
            switch levy.bank.checkReturn(.bytes(Self.mutate(base, &rng)), bank: "ICBC01") {
            case .success(let (file, message)):
                applied += 1
                #expect(file.originalMsgID == message.msgID, "seed \(seed)")
                #expect(file.statuses.allSatisfy { s in message.transactions.contains { $0.declarationID == s.endToEndID } }, "seed \(seed)")
            case .failure(let problem):
                #expect(!problem.message.isEmpty)
            }
        }
        #expect(applied < Self.iterations, "seed \(seed)")
        #expect(try root.ledger().declaration(id: "\(Sample.softwareCo)-202611-01")?.state == .inFlight)
    }

    @Test func bankNotifications() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-06T17:30:00")
        let debit = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        let credits = try BankSimulator.credits(for: debit)
        let base = Array(BankSimulator.notification(id: "N", credits + [.init(endToEndID: "X-1", amount: "1.00"),
                                                                         .init(endToEndID: credits[0].endToEndID, amount: credits[0].amount,
                                                                               credit: false, reason: "MD06")]).utf8)
        let levy = try root.levy()
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-07T09:00:00"))
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(state: seed)
        var usable = 0
        let declaration = "\(Sample.softwareCo)-202611-01"
        for _ in 0..<Self.iterations {
            // Worked out, not applied: refused with a reason, or changing only the declaration levy debited.
            switch levy.bank.previewNotification(.bytes(Self.mutate(base, &rng)), bank: "ICBC01", now: now) {
            case .success(let change):
                usable += 1
                #expect(change.declarationUpdates.allSatisfy { $0.id == declaration }, "seed \(seed)")
                #expect(change.money.allSatisfy { ($0.declarationID == declaration || $0.kind == .credited) && $0.amountFen >= 0 }, "seed \(seed)")
            case .failure(let problem):
                #expect(!problem.message.isEmpty)
            }
        }
        #expect(usable < Self.iterations, "seed \(seed)")
        #expect(try root.ledger().declaration(id: declaration)?.state == .inFlight, "previews change nothing")
    }

    /// The committed libFuzzer corpus (Tests/Fuzz/corpus) replayed through the same harness the fuzzer
    /// runs: every input keeps the invariants, and the seeds still mean what they were written for.
    @Test(arguments: ["csv", "xml", "pain002", "camt054"])
    func committedCorpusReplaysClean(_ target: String) throws {
        let corpus = repository.appendingPathComponent("Tests/Fuzz/corpus/\(target)").path
        let r = try levy([target, "--rules", repository.appendingPathComponent("Rules").path, corpus], binary: "levy-fuzz")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus).count
        #expect(lines.last == "levy-fuzz \(target): \(seeds) inputs replayed, no invariant broken")
        switch target {
        case "pain002":
            #expect(lines.contains { $0.hasPrefix("accepted.xml: usable") })
            #expect(lines.contains { $0.hasPrefix("amount-changed.xml: refused") })
        case "camt054":
            #expect(lines.contains { $0.hasPrefix("credit.xml: usable: [\"paid 205200\", \"credited 205200\"] exceptions []") })
            #expect(lines.contains { $0.hasPrefix("credit-twice.xml: usable") && $0.hasSuffix("[\"duplicate_credit\"]") })
            #expect(lines.contains { $0.hasPrefix("wrong-account.xml: refused") })
        default:
            #expect(lines.contains { $0.hasPrefix("valid.\(target): accepted, 416417 fen") })
            #expect(lines.contains { $0.contains(": rejected: ") })
        }
    }
}

/// Two checks of one file agree on everything a report is made of, and on the roster they would write.
func sameOutcome(_ a: DeclarationFileCheck.Outcome, _ b: DeclarationFileCheck.Outcome) -> Bool {
    a.check.findings.sorted == b.check.findings.sorted && a.check.findings.omitted == b.check.findings.omitted
        && a.check.findings.errorCount == b.check.findings.errorCount
        && a.check.totals == b.check.totals && a.encoding == b.encoding && a.csvColumns == b.csvColumns
        && a.check.rowCount == b.check.rowCount && a.check.declaredHeadcount == b.check.declaredHeadcount
        && a.check.declaredBaseFen == b.check.declaredBaseFen && a.check.addedCount == b.check.addedCount
        && a.check.removalCount == b.check.removalCount && rosterOrder(a.persons) == rosterOrder(b.persons)
}

/// Every person a check kept, in the order the ledger's roster insert reads them.
func rosterOrder(_ persons: PersonSorter) -> [DeclaredPerson] {
    let next = persons.sortedReader()
    var all: [DeclaredPerson] = []
    while let p = next() { all.append(p) }
    return all
}
