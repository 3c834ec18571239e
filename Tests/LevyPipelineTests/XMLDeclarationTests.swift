import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

@Suite struct XMLDeclarationTests {
    @Test func acceptsAValidDeclaration() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "d.xml", xml(Sample.buildingCo, "2026-11", [
            (Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", "A"), (Sample.persons[5], "周八", "", "R"),
        ]))
        try root.run("2026-11-02T09:00:00")
        let r = try #require(try root.receipts(Sample.buildingCo).first)
        #expect(r["headcount"] as? Int == 2)
        #expect(r["total_wage_base_fen"] as? Int == 1_350_000)
    }

    @Test func headcountAndTotalMustMatchThePersons() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "d.xml", xml(Sample.buildingCo, "2026-11", headcount: 3, total: "99.00", [
            (Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", ""),
        ]))
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.buildingCo)
        let found = errors(report, "E-HEADCOUNT")
        #expect(found.count == 2)
        #expect(found.map { $0["path"] as? String } == ["/Declaration/Headcount", "/Declaration/TotalWageBase"])
        #expect(found.first?["line"] as? Int == 5)
    }

    @Test func personFindingsCarryLineAndElementPath() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "d.xml", xml(Sample.buildingCo, "2026-11", [
            (Sample.persons[3], "赵六", "6000.00", ""), ("370102199001011234", "钱一", "6000.00", "A"),
        ]))
        try root.run("2026-11-02T09:00:00")
        let e = try #require(errors(try root.rejection(Sample.buildingCo), "E-ID-CHECKSUM").first)
        #expect(e["path"] as? String == "/Declaration/Persons/Person[2]/Id")
        #expect(e["line"] as? Int == 9)
        #expect(e["value"] as? String == "370102********1234")
    }

    @Test func schemaViolationsAreReported() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "d.xml", """
            <?xml version="1.0" encoding="UTF-8"?>
            <Declaration xmlns="urn:levy:declaration:1">
              <EmployerId>\(Sample.buildingCo)</EmployerId>
              <Period>2026-11</Period>
              <Headcount>many</Headcount>
              <TotalWageBase>6000.00</TotalWageBase>
              <Persons><Person><Id>\(Sample.persons[3])</Id><Name>赵六</Name><WageBase>6000.00</WageBase><Extra/></Person></Persons>
            </Declaration>
            """)
        try root.run("2026-11-02T09:00:00")
        let schema = errors(try root.rejection(Sample.buildingCo), "E-XML-SCHEMA")
        #expect(schema.count >= 2)
        #expect(schema.contains { $0["line"] as? Int == 5 })
    }

    @Test(arguments: [
        ("xxe-file", """
            <?xml version="1.0"?>
            <!DOCTYPE Declaration [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <Declaration xmlns="urn:levy:declaration:1"><EmployerId>&x;</EmployerId></Declaration>
            """),
        ("xxe-network", """
            <?xml version="1.0"?>
            <!DOCTYPE Declaration SYSTEM "http://127.0.0.1:9/evil.dtd">
            <Declaration xmlns="urn:levy:declaration:1"/>
            """),
        ("parameter-entities", """
            <!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>
            <Declaration xmlns="urn:levy:declaration:1"/>
            """),
        ("billion-laughs", """
            <?xml version="1.0"?>
            <!-- a comment first -->
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
            <Declaration xmlns="urn:levy:declaration:1"><EmployerId>&lol4;</EmployerId></Declaration>
            """),
    ])
    func doctypesAreRefused(_ name: String, _ text: String) throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "\(name).xml", text)
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.buildingCo)
        #expect(codes(report) == ["E-XML-SYNTAX"])
        let all = root.files(under: "Outbox").map { (try? String(contentsOfFile: root.file("Outbox/\($0)"), encoding: .utf8)) ?? "" }.joined()
        #expect(!all.contains("root:x:0:0"), "no file content may leak into any output")
    }

    @Test func deepNestingAndBrokenDocumentsAreSyntaxErrors() throws {
        let root = try TestRoot()
        let deep = "<Declaration xmlns=\"urn:levy:declaration:1\">" + String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000) + "</Declaration>"
        try root.drop(Sample.buildingCo, "deep.xml", deep)
        try root.drop(Sample.tradingCo, "broken.xml", "<Declaration xmlns=\"urn:levy:declaration:1\"><EmployerId>x</Employer")
        try root.run("2026-11-02T09:00:00")
        #expect(codes(try root.rejection(Sample.buildingCo)).contains("E-XML-SYNTAX"))
        #expect(codes(try root.rejection(Sample.tradingCo)).contains("E-XML-SYNTAX"))
    }

    @Test func hugeAttributeValueIsBounded() throws {
        let root = try TestRoot()
        let big = String(repeating: "A", count: 20_000_000)
        try root.drop(Sample.buildingCo, "attr.xml", "<Declaration xmlns=\"urn:levy:declaration:1\" x=\"\(big)\"><EmployerId>\(Sample.buildingCo)</EmployerId></Declaration>")
        try root.run("2026-11-02T09:00:00")
        #expect(!codes(try root.rejection(Sample.buildingCo)).isEmpty)
    }

    /// CDATA sections, entity and character references and comments inside a value are the value's
    /// text, as the XML spec reads them (the old tree reader lost a CDATA section's text).
    @Test func cdataReferencesAndCommentsAreText() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "d.xml", xml(Sample.buildingCo, "2026-11", [
            (Sample.persons[3], "赵六", "6000.00", ""), (Sample.persons[4], "孙七", "7500.00", "A"),
        ]).replacingOccurrences(of: "<Id>\(Sample.persons[3])</Id>", with: "<Id><![CDATA[\(Sample.persons[3])]]></Id>")
          .replacingOccurrences(of: "赵六", with: "赵&amp;&#x516D;")
          .replacingOccurrences(of: "7500.00", with: "75<!-- cents -->00.00"))
        try root.run("2026-11-02T09:00:00")
        let r = try #require(try root.receipts(Sample.buildingCo).first)
        #expect(r["headcount"] as? Int == 2)
        #expect(r["total_wage_base_fen"] as? Int == 1_350_000)
    }

    /// A value of 20 MB is refused at 1 MiB, on both threads of a large file (the value read and the
    /// XSD validation): the validator would hold the whole value to check its facets. (Stopping the
    /// parser inside libxml2's character callback crashed it: the refusal now waits for the chunk's end.)
    @Test func hugeTextIsRefusedBeforeItIsHeld() throws {
        let root = try TestRoot()
        try root.drop(Sample.buildingCo, "text.xml", "<Declaration xmlns=\"urn:levy:declaration:1\"><EmployerId>"
                      + String(repeating: "9", count: 20_000_000) + "</EmployerId></Declaration>")
        try root.drop(Sample.tradingCo, "deep.xml", "<Declaration xmlns=\"urn:levy:declaration:1\">"
                      + String(repeating: "<a>", count: 400_000) + String(repeating: "</a>", count: 400_000) + "</Declaration>")
        try root.run("2026-11-02T09:00:00")
        let text = errors(try root.rejection(Sample.buildingCo), "E-XML-SYNTAX")
        #expect(text.count == 1 && (text.first?["message"] as? String ?? "").contains("longer than 1048576 bytes"))
        let deep = errors(try root.rejection(Sample.tradingCo), "E-XML-SYNTAX")
        #expect(deep.count == 1 && (deep.first?["message"] as? String ?? "").contains("nested deeper than 256"))
    }

    @Test func gb18030XMLIsRead() throws {
        let root = try TestRoot()
        let text = xml(Sample.buildingCo, "2026-11", [(Sample.persons[3], "赵六", "6000.00", "")])
            .replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"GB18030\"")
        try root.write("Inbox/declarations/\(Sample.buildingCo)/gb.xml", gb18030(text))
        try root.run("2026-11-02T09:00:00")
        #expect(try root.receipts(Sample.buildingCo).count == 1)
    }
}

@Suite struct RosterTests {
    let oct = "2026-10", nov = "2026-11"

    @Test func rosterIsReconciledAgainstTheLastAcceptedDeclaration() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, oct, [
            (Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "6000", ""), (Sample.persons[2], "王五", "6000", ""),
        ]))
        try root.run("2026-10-12T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        try root.drop(Sample.softwareCo, "nov.csv", csv(Sample.softwareCo, nov, [
            (Sample.persons[0], "张三", "6000", ""),        // continuing
            (Sample.persons[3], "赵六", "6000", ""),        // new but not marked A
            (Sample.persons[4], "孙七", "6000", "R"),       // removal of someone never insured here
            (Sample.persons[2], "王五", "", "R"),           // proper removal
        ]))                                                   // persons[1] missing
        try root.run("2026-11-02T09:00:00")
        let report = try root.rejection(Sample.softwareCo)
        #expect(errors(report, "E-ROSTER-UNKNOWN").map { $0["line"] as? Int } == [3, 4])
        let missing = errors(report, "E-ROSTER-MISSING")
        #expect(missing.count == 1)
        #expect(missing.first?["value"] as? String == PersonID.mask(Sample.persons[1]))
    }

    /// Everyone left: a declaration of removals only is accepted, owes nothing, and is never debited
    /// (a bank refuses a 0.00 debit) nor made overdue.
    @Test func removalsOnlyOweNothingAndAreNeverCollected() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, oct, [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "6000", "")]))
        try root.run("2026-10-02T09:00:00")
        try root.drop(Sample.softwareCo, "nov.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "", "R"), (Sample.persons[1], "李四", "", "R")]))
        try root.run("2026-11-02T09:00:00")
        let receipt = try #require(try root.receipts(Sample.softwareCo).first { $0["period"] as? String == nov })
        #expect(receipt["total_fen"] as? Int == 0 && receipt["headcount"] as? Int == 0)
        #expect((receipt["instructions"] as? String ?? "").contains("Nothing is due"))
        for asOf in ["2026-11-06T17:30:00", "2026-11-10T17:30:00", "2026-11-20T09:00:00"] { try root.run(asOf) }
        #expect(!root.files(under: "Outbox/debits").contains { $0.contains("202611") })
        #expect(root.files(under: "Outbox/notices").filter { $0.contains("202611") }.isEmpty)
        #expect(try root.ledger().declaration(id: "\(Sample.softwareCo)-202611-01")?.state == .accepted)
    }

    @Test func removalsAreRefusedWhileInArrears() throws {
        let root = try TestRoot()
        // October declared after its due date: overdue, so the employer is in arrears.
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, oct, [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "6000", "")]))
        try root.run("2026-10-12T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).first?["collection"] as? String == "late")
        try root.drop(Sample.softwareCo, "nov.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "", "R")]))
        try root.run("2026-11-02T09:00:00")
        let e = errors(try root.rejection(Sample.softwareCo), "E-REMOVAL-ARREARS")
        #expect(e.map { $0["line"] as? Int } == [3])
    }

    @Test func correctedFileIsAccepted() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "oct.csv", csv(Sample.softwareCo, oct, [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "6000", "")]))
        try root.run("2026-10-09T09:00:00")
        let total = try #require(try root.receipts(Sample.softwareCo).first?["total_fen"] as? Int)
        let levy = try root.levy()
        _ = try levy.counter.pay(employer: Sample.softwareCo, period: oct, amount: Yuan.format(Int64(total)),
                                  now: try #require(levy.loaded.clock.parseAsOf("2026-10-09T10:00:00")))
        try root.drop(Sample.softwareCo, "nov.csv", csv(Sample.softwareCo, nov, [
            (Sample.persons[0], "张三", "6500", ""), (Sample.persons[1], "李四", "", "R"), (Sample.persons[3], "赵六", "7000", "A"),
        ]))
        try root.run("2026-11-02T09:00:00")
        let receipts = try root.receipts(Sample.softwareCo)
        #expect(receipts.count == 3)  // October declared, October paid, November declared
        #expect(receipts.contains { $0["period"] as? String == nov && $0["headcount"] as? Int == 2 && $0["total_wage_base_fen"] as? Int == 1_350_000 })
    }

    @Test func personInsuredElsewhereCannotBeAdded() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[0], "张三", "6000", "A"), (Sample.persons[1], "李四", "6000", "A")]))
        try root.run("2026-11-02T10:00:00")
        let e = errors(try root.rejection(Sample.tradingCo), "E-PERSON-INSURED-ELSEWHERE")
        #expect(e.count == 1)
        #expect(e.first?["line"] as? Int == 2)
        #expect((e.first?["message"] as? String)?.contains(Sample.softwareCo) == true)
    }

    @Test func replacementSupersedesAndOnlyTheNewOneIsDebited() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "v1.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        try root.drop(Sample.softwareCo, "v2.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "8000", "")]))
        try root.run("2026-11-03T09:00:00")
        let receipts = try root.receipts(Sample.softwareCo).sorted { ($0["declaration_id"] as! String) < ($1["declaration_id"] as! String) }
        #expect(receipts.count == 2)
        #expect(receipts[1]["supersedes"] as? String == receipts[0]["declaration_id"] as? String)
        #expect(receipts[0]["supersedes"] == nil)
        try root.run("2026-11-06T17:00:00")
        let debit = try BankSimulator.debits(in: root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml"))
        #expect(debit.debits.map(\.endToEndID) == [receipts[1]["declaration_id"] as! String])
        #expect(debit.debits.first?.amount == Yuan.format(receipts[1]["total_fen"] as! Int64? ?? Int64(receipts[1]["total_fen"] as! Int)))
    }
}
