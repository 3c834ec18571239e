import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
@testable import LevyPipeline
import Testing

/// A large XML declaration is validated against the XSD on the other core while its values are read,
/// checked and written to the ledger on this one; the verdict is waited for last. Whatever the bytes,
/// the outcome is the one of a single validating parse. (`FuzzTests` compares the two paths on mutated
/// files too.)
@Suite struct AsideValidationTests {
    /// Valid except for the schema: an attribute the XSD does not allow, which levy's own checks ignore.
    static func schemaOnlyInvalid(_ employer: String) -> String {
        xml(employer, "2026-11", [(Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", "")])
            .replacingOccurrences(of: "<Person>", with: "<Person note=\"x\">")
    }

    static let chinese = xml(Sample.softwareCo, "2026-11", [(Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", "")])

    static let documents: [(name: String, bytes: [UInt8])] = [
        // Not plain UTF-8: the read that assumed it stops, and the file is read again from the scan's findings.
        ("GB18030, declared", gb18030(chinese.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"GB18030\""))),
        ("GB18030, undeclared", gb18030(chinese.replacingOccurrences(of: " encoding=\"UTF-8\"", with: ""))),
        ("GB18030, undeclared, schema", gb18030(schemaOnlyInvalid(Sample.softwareCo).replacingOccurrences(of: " encoding=\"UTF-8\"", with: ""))),
    ] + texts.map { ($0.name, Array($0.text.utf8)) }

    static let texts: [(name: String, text: String)] = [
        ("valid", xml(Sample.softwareCo, "2026-11", (0..<300).map { (Sample.person($0), "甲", String(5_000 + $0), "") })),
        ("schema only", schemaOnlyInvalid(Sample.softwareCo)),
        ("schema and checks", xml(Sample.softwareCo, "2026-11", [(Sample.persons[3], "赵六", "abc", ""), ("370102199001011234", "钱一", "6000.00", "")])
            .replacingOccurrences(of: "<Headcount>2</Headcount>", with: "<Headcount>two</Headcount>")),
        ("schema, then broken", schemaOnlyInvalid(Sample.softwareCo).replacingOccurrences(of: "</Persons>", with: "</Person>")),
        ("broken only", xml(Sample.softwareCo, "2026-11", [(Sample.persons[3], "赵六", "6000.00", "")])
            .replacingOccurrences(of: "</Persons>", with: "</Persns>")),
        ("too deep", "<Declaration xmlns=\"urn:levy:declaration:1\">" + String(repeating: "<a>", count: 300) + String(repeating: "</a>", count: 300) + "</Declaration>"),
    ]

    @Test(arguments: documents.map(\.name))
    func theVerdictSettledGivesTheOutcomeOfOneValidatingParse(_ name: String) throws {
        let bytes = try #require(Self.documents.first { $0.name == name }).bytes
        let root = try TestRoot()
        let (fd, check, employer) = try root.declarationFile(bytes, name: "d.xml")
        defer { close(fd) }
        let scanned = try scanFile(fd: fd)
        let oneParse = try check.check(fd: fd, name: "d.xml", scanned: scanned, folderEmployer: employer)
        var aside = check
        aside.validationAsideBytes = 0
        let (asideScanned, pending) = try aside.scanAndCheck(fd: fd, name: "d.xml", folderEmployer: employer) { _ in true }
        let outcome = try #require(pending)
        let settled = try aside.settle(outcome, fd: fd, name: "d.xml", scanned: asideScanned, folderEmployer: employer)
        #expect(settled.validation == nil)
        #expect(sameOutcome(oneParse, settled))
        #expect(oneParse.check.findings.sorted.map(\.code) == settled.check.findings.sorted.map(\.code))
        #expect(settled.isAccepted == ["valid", "GB18030, declared", "GB18030, undeclared"].contains(name))
        if name == "too deep" {
            #expect(settled.check.findings.sorted.contains { $0.code == .xmlSyntax && $0.message.contains("nested deeper than 256") })
        }
    }

    /// Through the pipeline: a document levy's checks accept but the XSD refuses is written to the
    /// ledger before the verdict, taken back, and rejected with the report one validating parse gives;
    /// the files before and after it in the run are accepted as usual, and nothing of it is left behind.
    @Test func aDocumentWrittenBeforeItsVerdictIsTakenBackAndRejected() throws {
        func day(aside: Int64?) throws -> (TestRoot, Levy) {
            let root = try TestRoot()
            try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
            try root.drop(Sample.buildingCo, "b.xml", Self.schemaOnlyInvalid(Sample.buildingCo))
            try root.drop(Sample.tradingCo, "c.xml", xml(Sample.tradingCo, "2026-11", [(Sample.persons[5], "周八", "8000.00", "")]))
            let levy = try root.levy()
            levy.tuning.validationAsideFrom = aside
            levy.tuning.readsAhead = false  // a small file read ahead is validated in its one parse
            try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
            return (root, levy)
        }
        let (root, _) = try day(aside: 0)
        let (reference, _) = try day(aside: nil)
        #expect(try root.metric("levy_speed_declarations_taken_back") == 1)
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(try root.receipts(Sample.buildingCo).isEmpty)
        #expect(codes(try root.rejection(Sample.buildingCo)) == ["E-XML-SCHEMA", "E-XML-SCHEMA"])
        #expect(try root.ledger().currentDeclaration(employer: Sample.buildingCo, period: "2026-11") == nil)
        #expect(try root.ledger().file(sha256: sha256Hex(Array(Self.schemaOnlyInvalid(Sample.buildingCo).utf8)), folder: Sample.buildingCo)?.outcome == .rejected)
        #expect(root.files(under: "Inbox").isEmpty)
        #expect(root.files(under: "Outbox") == reference.files(under: "Outbox"))
        for f in root.files(under: "Outbox") where !f.hasPrefix("reports/") {
            #expect(try Data(contentsOf: URL(fileURLWithPath: root.file("Outbox/\(f)")))
                    == Data(contentsOf: URL(fileURLWithPath: reference.file("Outbox/\(f)"))), "\(f) is what one validating parse gives")
        }
    }

    /// A large file that is byte-identical to one already taken is a duplicate: its validation is
    /// cancelled, nothing of the read is kept, and the report names the first file.
    @Test func aDuplicateStopsItsValidation() throws {
        let root = try TestRoot()
        let text = xml(Sample.softwareCo, "2026-11", (0..<300).map { (Sample.person($0), "甲", String(5_000 + $0), "") })
        try root.drop(Sample.softwareCo, "first.xml", text)
        let levy = try root.levy()
        levy.tuning.validationAsideFrom = 0
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
        try root.drop(Sample.softwareCo, "again.xml", text)
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T10:00:00")))
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        let report = try root.rejection(Sample.softwareCo)
        #expect(codes(report) == ["E-FILE-DUPLICATE"])
        #expect(root.files(under: "Inbox").isEmpty)
    }
}
