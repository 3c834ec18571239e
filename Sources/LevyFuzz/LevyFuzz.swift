import CFuzzerDriver
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Logging

/// Fuzz targets for what parses untrusted bytes: a CSV declaration through the whole check, an XML
/// declaration through libxml2 and the XSD, a bank's pain.002 against what levy sent.
///
/// Two builds of one file:
/// - with `-sanitize=fuzzer -DLIBFUZZER` it is a libFuzzer binary (`LEVY_FUZZ_TARGET=csv|xml|pain002|camt054`);
///   see `Tests/Fuzz/run.sh`;
/// - otherwise `levy-fuzz TARGET FILE…` replays inputs (the committed corpus, a crash file) and
///   exits 1 when one breaks an invariant — the test suite replays the corpus this way.
/// An input that breaks an invariant calls `fatalError`, which libFuzzer reports as a crash.
enum FuzzTarget: String, CaseIterable {
    case csv, xml, pain002, camt054
}

/// One prepared levy root and the check each target runs.
final class FuzzHarness {
    let root: String
    let loaded: LoadedRules
    let levy: Levy
    let now: AgencyTime
    let scratch: Int32
    let scratchPath: String

    /// The employer and declaration whose debit the pain.002 seeds answer (see `Tests/Fuzz/corpus/pain002`).
    static let employer = "91370100MA3C5X123P"
    static let debitRow = "91370100MA3C5X123P,2026-11,370102199001011231,张三,6000,\n"
    /// The folder fuzzed declarations come from: an employer with no roster yet, so every person is an
    /// addition checked against the roster above.
    static let declaringEmployer = "91350100M000100Y43"

    init(rules: String) throws {
        root = NSTemporaryDirectory() + "levy-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root + "/Inbox/declarations/\(Self.employer)", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: rules, toPath: root + "/Rules")
        try ("employer_id,period,person_id,name,wage_base,change\n" + Self.debitRow)
            .write(toFile: root + "/Inbox/declarations/\(Self.employer)/seed.csv", atomically: true, encoding: .utf8)
        var logger = Logger(label: "levy-fuzz") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        levy = try Levy.start(root: Root(path: root), logger: logger)
        loaded = levy.loaded
        guard let cut = loaded.clock.parseAsOf("2026-11-06T17:30:00"), let now = loaded.clock.parseAsOf("2026-11-02T09:00:00") else {
            throw LevyError(.system, "cannot read the fuzz harness's dates")
        }
        try levy.run(now: cut)  // one debit file to ICBC01, which the pain.002 target answers
        self.now = now
        scratchPath = root + "/input"
        scratch = open(scratchPath, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard scratch >= 0 else { throw LevyError(.system, "cannot create \(scratchPath)") }
    }

    deinit {
        close(scratch)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Checks one input; returns what levy made of it (printed by the replayer).
    @discardableResult
    func run(_ target: FuzzTarget, _ bytes: UnsafeRawBufferPointer) throws -> String {
        switch target {
        case .csv: try declaration(bytes, name: "f.csv")
        case .xml: try declaration(bytes, name: "f.xml")
        case .pain002: bankReturn(bytes)
        case .camt054: try notification(bytes)
        }
    }

    private func declaration(_ bytes: UnsafeRawBufferPointer, name: String) throws -> String {
        guard ftruncate(scratch, 0) == 0, bytes.isEmpty || pwrite(scratch, bytes.baseAddress!, bytes.count, 0) == bytes.count,
              lseek(scratch, 0, SEEK_SET) == 0 else { throw LevyError(.system, "cannot write the fuzz input") }
        let scanned = try scanFile(fd: scratch)
        let employer = loaded.rules.employer(Self.declaringEmployer)
        var fileCheck = DeclarationFileCheck(rules: loaded.rules, schema: loaded.declarationSchema, now: now, ledger: levy.ledger,
                                             spillDirectory: root + "/.levy/tmp", runLength: 64)
        let outcome = try fileCheck.check(fd: scratch, name: name, scanned: scanned, folderEmployer: employer)
        let findings = outcome.check.findings
        // Parsed while scanned (the path of large CSV files), in one pass or in two halves at once (the
        // path of the largest); an XML file validated on another thread while its values are read (the
        // path of large XML files), its verdict then settled: the same outcome, whatever the bytes.
        fileCheck.overlapBytes = 0
        fileCheck.validationAsideBytes = 0
        for split in [Int64.max, 0] {
            fileCheck.splitBytes = split
            let (overlapScanned, overlapping) = try fileCheck.scanAndCheck(fd: scratch, name: name, folderEmployer: employer) { _ in true }
            expect(overlapScanned.sha256 == scanned.sha256, "the overlapped scan hashed other bytes")
            if let pending = overlapping {
                let o = try fileCheck.settle(pending, fd: scratch, name: name, scanned: overlapScanned, folderEmployer: employer)
                expect(o.check.findings.sorted == findings.sorted && o.check.findings.omitted == findings.omitted
                       && o.check.findings.errorCount == findings.errorCount
                       && o.check.totals == outcome.check.totals && o.encoding == outcome.encoding
                       && o.check.rowCount == outcome.check.rowCount && Self.roster(o.persons) == Self.roster(outcome.persons),
                       "parsing while scanning (split at \(split) bytes) gave another outcome than scan then parse")
            } else {
                expect(false, "parsing while scanning gave no outcome")
            }
        }
        expect(outcome.isAccepted == !findings.hasErrors, "accepted with errors, or rejected without one")
        expect(findings.items.count <= FindingList.cap, "more findings kept than the cap")
        expect(findings.items.allSatisfy { !$0.message.isEmpty && ($0.line ?? 1) >= 1 }, "a finding without a message or with line < 1")
        if let leak = findings.items.first(where: { f in f.value.map(containsFullID) ?? false }) {
            expect(false, "an unmasked person ID in a finding: \(leak.code.rawValue) \(leak.field ?? "") \(leak.value ?? "")")
        }
        if outcome.isAccepted {
            let totals = outcome.check.totals
            expect(totals.headcount + outcome.check.removalCount > 0, "accepted with nobody on it")
            expect(totals.totalFen == totals.employerFen + totals.employeeFen, "total is not employer + employee")
        }
        try outcome.persons.checkFailure()
        if outcome.isAccepted { return "accepted, \(outcome.check.totals.totalFen) fen" }
        return "rejected: " + Set(findings.items.filter(\.code.isError).map(\.code.rawValue)).sorted().joined(separator: " ")
    }

    private func bankReturn(_ bytes: UnsafeRawBufferPointer) -> String {
        switch levy.bank.checkReturn(.bytes(Array(bytes)), bank: "ICBC01") {
        case .success(let (file, message)):
            expect(file.originalMsgID == message.msgID, "a return accepted for another message")
            expect(file.statuses.allSatisfy { s in message.transactions.contains { $0.declarationID == s.endToEndID } },
                   "a return accepted with a transaction levy never sent")
            return "usable: " + file.statuses.map(\.endToEndID).joined(separator: " ")
        case .failure(let problem):
            expect(!problem.message.isEmpty, "a refused return without a reason")
            return "refused: " + problem.message
        }
    }

    /// A camt.054 notification, read and worked out against the ledger but not applied: either refused
    /// with a reason, or a change that only settles, pays or reverses the declaration levy debited.
    private func notification(_ bytes: UnsafeRawBufferPointer) throws -> String {
        let debited = "\(Self.employer)-202611-01"
        guard let sent = try levy.ledger.declaration(id: debited) else { throw LevyError(.system, "the harness's debit is missing") }
        switch levy.bank.previewNotification(.bytes(Array(bytes)), bank: "ICBC01", now: now) {
        case .failure(let problem):
            expect(!problem.message.isEmpty, "a refused notification without a reason")
            return "refused: " + problem.message
        case .success(let change):
            expect(change.declarationUpdates.allSatisfy { $0.id == debited }, "a notification changed a declaration levy never debited")
            for d in change.declarationUpdates {
                expect(d.state != .paid || (d.settledOn != nil && d.outstandingFen == 0), "paid without settlement or with something owed")
                expect(d.paidFen >= 0 && d.paidFen <= sent.totalFen && d.reversedFen >= 0, "paid or reversed out of range")
            }
            expect(change.money.allSatisfy { $0.amountFen >= 0 && ($0.declarationID == debited || $0.kind == .credited) },
                   "a movement for another declaration")
            expect(change.money.filter { $0.kind == .credited }.reduce(0) { $0 + $1.amountFen } <= sent.totalFen, "one debit credited twice")
            expect(change.exceptions.allSatisfy { $0.bank == "ICBC01" }, "an exception for another bank")
            return "usable: \(change.money.map { "\($0.kind.rawValue) \($0.amountFen)" }) exceptions \(change.exceptions.map(\.kind.rawValue))"
        }
    }

    /// Whether text holds 17 digits in a row (an ID that escaped masking).
    /// Every person a check kept, in the order the ledger's roster insert reads them.
    private static func roster(_ persons: PersonSorter) -> [DeclaredPerson] {
        let next = persons.sortedReader()
        var all: [DeclaredPerson] = []
        while let p = next() { all.append(p) }
        return all
    }

    private func containsFullID(_ text: String) -> Bool {
        var run = 0
        for b in text.utf8 {
            run = (b >= 0x30 && b <= 0x39) ? run + 1 : 0
            if run >= 17 { return true }
        }
        return false
    }

    private func expect(_ condition: Bool, _ what: String) {
        if !condition { fatalError("levy-fuzz invariant broken: \(what)") }
    }
}

nonisolated(unsafe) var harness: FuzzHarness?

#if LIBFUZZER
nonisolated(unsafe) var target = FuzzTarget.csv

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    let env = ProcessInfo.processInfo.environment
    guard let chosen = FuzzTarget(rawValue: env["LEVY_FUZZ_TARGET"] ?? "") else {
        fatalError("set LEVY_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
    }
    target = chosen
    do { harness = try FuzzHarness(rules: env["LEVY_FUZZ_RULES"] ?? "Rules") } catch { fatalError("fuzz harness: \(error)") }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do { try harness!.run(target, bytes) } catch { fatalError("fuzz input raised \(error)") }
    return 0
}

/// SwiftPM links an executable's entry point as `<module>_main`: hand over to libFuzzer's driver.
@_cdecl("LevyFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}
#else
@main
struct ReplayCorpus {
    static func main() throws {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let first = args.first, let target = FuzzTarget(rawValue: first), args.count > 1 else {
            print("usage: levy-fuzz csv|xml|pain002|camt054 [--rules DIR] FILE-OR-DIR…")
            exit(2)
        }
        var rules = "Rules"
        var inputs: [String] = []
        var rest = args.dropFirst()
        while let a = rest.popFirst() {
            if a == "--rules", let dir = rest.popFirst() { rules = dir } else { inputs.append(a) }
        }
        let harness = try FuzzHarness(rules: rules)
        var files: [String] = []
        for input in inputs {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: input, isDirectory: &isDir), isDir.boolValue {
                files += try FileManager.default.contentsOfDirectory(atPath: input).sorted().map { input + "/" + $0 }
            } else {
                files.append(input)
            }
        }
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            let what = try bytes.withUnsafeBytes { try harness.run(target, $0) }
            print("\((file as NSString).lastPathComponent): \(what)")
        }
        print("levy-fuzz \(target.rawValue): \(files.count) inputs replayed, no invariant broken")
    }
}
#endif
