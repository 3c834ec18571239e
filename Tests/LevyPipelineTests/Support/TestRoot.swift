import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Logging
import Testing

/// The repository, found from this file (Tests/LevyPipelineTests/Support/TestRoot.swift).
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Known-good identifiers from the shipped Rules.
enum Sample {
    static let softwareCo = "91370100MA3C5X123P"   // ICBC01 mandate, risk class 1
    static let buildingCo = "91370102MA3D7Y456B"   // CCB01 mandate, risk class 5
    static let restaurant = "91370103MA3E8W7893"   // no mandate, risk class 2
    static let tradingCo = "91350100M000100Y43"    // ICBC01 mandate, risk class 3
    static let persons = ["370102199001011231", "370102198512152349", "370102199205203454", "440524198808084566",
                          "110105197912315676", "370102199503016788", "370102199307107893", "11010519491231002X"]

    /// A fresh valid resident ID.
    static func person(_ n: Int) -> String {
        let body = "3701021980" + String(format: "%02d%02d", n % 12 + 1, n % 28 + 1) + String(format: "%03d", n % 1000)
        return PersonID.withCheckCharacter(body)
    }
}

/// A real levy root in a temporary folder, with the repository's Rules copied in.
final class TestRoot {
    let url: URL
    var path: String { url.path }
    let logger: Logger = {
        var l = Logger(label: "levy-test") { _ in SwiftLogNoOpLogHandler() }
        l.logLevel = .critical
        return l
    }()

    /// A root in the temporary folder, or in `parent` (a small file system of the test's own).
    init(under parent: URL = FileManager.default.temporaryDirectory) throws {
        url = parent.appendingPathComponent("levy-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("Rules"), withIntermediateDirectories: true)
        for f in ["levy.yaml", "calendar.yaml", "employers.csv", "banks.yaml", "declaration.xsd"] {
            try FileManager.default.copyItem(at: repository.appendingPathComponent("Rules/\(f)"),
                                             to: url.appendingPathComponent("Rules/\(f)"))
        }
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ rel: String) -> String { url.appendingPathComponent(rel).path }

    /// The sample inbox as committed (`git archive HEAD Inbox`), not as the working tree has it: the
    /// README's quick start processes the working tree's samples, moving them out of `Inbox/`, and
    /// the test command run after it must still find them. Outside a git checkout, the working tree's.
    func copyShippedSampleInbox() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "git -C \"$0\" archive HEAD Inbox | tar -x -C \"$1\"", repository.path, path]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 || !exists("Inbox/declarations") {
            try? FileManager.default.removeItem(atPath: file("Inbox"))
            try FileManager.default.copyItem(at: repository.appendingPathComponent("Inbox"), to: url.appendingPathComponent("Inbox"))
        }
    }

    func write(_ rel: String, _ bytes: [UInt8]) throws {
        let p = url.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: p.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: p)
    }

    func write(_ rel: String, _ text: String) throws { try write(rel, Array(text.utf8)) }

    func rules(_ name: String, replacing old: String, with new: String) throws {
        let p = file("Rules/\(name)")
        let text = try String(contentsOfFile: p, encoding: .utf8)
        #expect(text.contains(old), "fixture text to replace not found in \(name)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: p, atomically: true, encoding: .utf8)
    }

    /// Drops a declaration into an employer's folder.
    @discardableResult
    func drop(_ employer: String, _ name: String, _ text: String) throws -> String {
        let rel = "Inbox/declarations/\(employer)/\(name)"
        try write(rel, text)
        return rel
    }

    /// Runs the real pipeline in-process, as `levy run --as-of` does.
    func run(_ asOf: String) throws {
        let levy = try Levy.start(root: Root(path: path), logger: logger)
        let now = try #require(levy.loaded.clock.parseAsOf(asOf))
        try levy.run(now: now)
    }

    func levy() throws -> Levy { try Levy.start(root: Root(path: path), logger: logger) }

    /// A value of the metrics file the last run wrote (`.levy/metrics/levy.prom`), as an operator's
    /// scraper reads it: the line `name value`.
    func metric(_ name: String) throws -> Int? {
        let text = try String(contentsOfFile: file(".levy/metrics/levy.prom"), encoding: .utf8)
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }

    /// Writes `bytes` as a file of the root and opens it; with a checker for the software company's
    /// folder on 3 November 2026, against this root's ledger. The caller closes `fd`.
    func declarationFile(_ bytes: [UInt8], name: String, runLength: Int = 1 << 17) throws
        -> (fd: Int32, check: DeclarationFileCheck, employer: Employer?) {
        let path = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let levy = try levy()
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        let check = DeclarationFileCheck(rules: levy.loaded.rules, schema: levy.loaded.declarationSchema, now: now, ledger: levy.ledger,
                                         spillDirectory: file("spill"), runLength: runLength)
        return (open(path, O_RDONLY), check, levy.loaded.rules.employer(Sample.softwareCo))
    }

    func json(_ rel: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url.appendingPathComponent(rel))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func exists(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: file(rel)) }

    /// Relative paths of every file under a folder, sorted.
    func files(under rel: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: file(rel)) else { return [] }
        var out: [String] = []
        while let f = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: file(rel + "/" + f), isDirectory: &isDir), !isDir.boolValue { out.append(f) }
        }
        return out.sorted()
    }

    /// The one rejection report (JSON) in an employer's rejections folder.
    func rejection(_ employer: String) throws -> [String: Any] {
        let jsons = files(under: "Outbox/rejections/\(employer)").filter { $0.hasSuffix(".json") }
        #expect(jsons.count == 1, "expected one rejection, found \(jsons)")
        return try json("Outbox/rejections/\(employer)/\(try #require(jsons.first))")
    }

    func receipts(_ employer: String) throws -> [[String: Any]] {
        try files(under: "Outbox/receipts/\(employer)").filter { $0.hasSuffix(".json") }.map { try json("Outbox/receipts/\(employer)/\($0)") }
    }

    func ledger() throws -> any Ledger { try LedgerStore.open(.ledgerFile(file(".levy/ledger.sqlite"))) }
}

/// The error codes of a rejection report, in report order.
func codes(_ report: [String: Any]) -> [String] {
    (report["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
}

func errors(_ report: [String: Any], _ code: String) -> [[String: Any]] {
    (report["errors"] as? [[String: Any]] ?? []).filter { $0["code"] as? String == code }
}

/// A CSV declaration with the English header.
func csv(_ employer: String, _ period: String, _ rows: [(String, String, String, String)]) -> String {
    var s = "employer_id,period,person_id,name,wage_base,change\n"
    for (id, name, base, change) in rows { s += "\(employer),\(period),\(id),\(name),\(base),\(change)\n" }
    return s
}

/// An XML declaration.
func xml(_ employer: String, _ period: String, headcount: Int? = nil, total: String? = nil,
         _ persons: [(String, String, String, String)]) -> String {
    let kept = persons.filter { $0.3 != "R" }
    let sum = kept.reduce(Int64(0)) { acc, p in acc + ((try? Yuan.parse(p.2).get()) ?? 0) }
    var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Declaration xmlns="urn:levy:declaration:1">
          <EmployerId>\(employer)</EmployerId>
          <Period>\(period)</Period>
          <Headcount>\(headcount ?? kept.count)</Headcount>
          <TotalWageBase>\(total ?? Yuan.format(sum))</TotalWageBase>
          <Persons>

        """
    for (id, name, base, change) in persons {
        s += "    <Person\(change.isEmpty ? "" : " change=\"\(change)\"")><Id>\(id)</Id><Name>\(name)</Name><WageBase>\(base)</WageBase></Person>\n"
    }
    return s + "  </Persons>\n</Declaration>\n"
}
