import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// The published schema from ../shared when it is there (CI), else levy's copy of it in Sources/LevyXML/Schemas.
func isoSchema(_ name: String) throws -> XMLSchema {
    let shared = repository.deletingLastPathComponent().appendingPathComponent("shared/iso20022/\(name)").path
    if FileManager.default.fileExists(atPath: shared) { return try XMLSchema(path: shared) }
    return try XMLSchema(path: repository.appendingPathComponent("Sources/LevyXML/Schemas/\(name)").path)
}

@Suite struct CollectionTests {
    let nov = "2026-11"

    /// Four employers declare November: two at ICBC, one at CCB, one without a mandate.
    func month() throws -> TestRoot {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "8000.50", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        try root.drop(Sample.buildingCo, "c.xml", xml(Sample.buildingCo, nov, [(Sample.persons[3], "赵六", "7000.00", "")]))
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        try root.run("2026-11-03T10:00:00")
        return root
    }

    func total(_ root: TestRoot, _ employer: String) throws -> Int64 {
        Int64(try #require(try root.receipts(employer).first { $0["kind"] as? String == "declaration" }?["total_fen"] as? Int))
    }

    func declarationID(_ employer: String) -> String { "\(employer)-202611-01" }

    func answer(_ root: TestRoot, bank: String, day: String, id: String, _ answers: [String: String]) throws {
        let text = try BankSimulator.returnFile(for: root.file("Outbox/debits/\(bank)/LEVY-\(bank)-\(day).xml"), reportID: id) { answers[$0] }
        #expect(try isoSchema("pain.002.001.03.xsd").validate(document: Array(text.utf8)).isEmpty, "the simulator writes genuine pain.002")
        try root.write("Inbox/bank/\(bank)/\(id).xml", text)
    }

    @Test func debitFilesAreCutOnWindowDaysAfterTheCutoffOnly() throws {
        let root = try month()
        #expect(root.files(under: "Outbox/debits").isEmpty)
        try root.run("2026-11-05T18:00:00")   // before the window
        try root.run("2026-11-06T16:59:59")   // window day, before the cutoff
        #expect(root.files(under: "Outbox/debits").isEmpty)
        try root.run("2026-11-06T17:00:00")
        #expect(root.files(under: "Outbox/debits") == ["CCB01/LEVY-CCB01-20261106.xml", "ICBC01/LEVY-ICBC01-20261106.xml"])

        let icbc = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: icbc)))
        #expect(try isoSchema("pain.008.001.02.xsd").validate(document: bytes).isEmpty)
        let tree = try TestXML.parse(bytes)
        let header = try #require(tree["CstmrDrctDbtInitn", "GrpHdr"])
        let expectedSum = try total(root, Sample.softwareCo) + total(root, Sample.tradingCo)
        #expect(header.child("NbOfTxs")?.trimmedText == "2")
        #expect(header.child("CtrlSum")?.trimmedText == Yuan.format(expectedSum))
        let pmt = try #require(tree["CstmrDrctDbtInitn", "PmtInf"])
        #expect(pmt.child("ReqdColltnDt")?.trimmedText == "2026-11-06")
        #expect(pmt["CdtrAgt", "FinInstnId", "ClrSysMmbId", "ClrSysId", "Cd"]?.trimmedText == "CNAPS")
        let txs = pmt.children("DrctDbtTxInf")
        // Ordered by declaration id (credit code first): the trading company's 91350… before 91370….
        #expect(txs.map { $0["PmtId", "EndToEndId"]!.trimmedText } == [declarationID(Sample.tradingCo), declarationID(Sample.softwareCo)])
        #expect(txs.allSatisfy { $0.child("InstdAmt")?.attributes["Ccy"] == "CNY" && $0.child("InstdAmt")!.trimmedText.split(separator: ".").last?.count == 2 })
        #expect(txs[1]["DrctDbtTx", "MndtRltdInf", "MndtId"]?.trimmedText == "M-ICBC-0001")
        #expect(txs[1]["DrctDbtTx", "MndtRltdInf", "DtOfSgntr"]?.trimmedText == "2025-03-15")
        #expect(txs[1]["DbtrAcct", "Id", "Othr", "Id"]?.trimmedText == "6222020000000001234")
        #expect(txs[1].child("InstdAmt")?.trimmedText == Yuan.format(try total(root, Sample.softwareCo)))
        #expect(txs.allSatisfy { $0["PmtId", "EndToEndId"]!.trimmedText.count <= 35 })

        // A second run the same day writes nothing new and leaves the bytes as they were.
        try root.run("2026-11-06T18:00:00")
        #expect(root.files(under: "Outbox/debits").count == 2)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: icbc))) == bytes)
        // The counter employer is never debited.
        #expect(!String(decoding: bytes, as: UTF8.self).contains(Sample.restaurant))
        #expect(try root.receipts(Sample.restaurant).first?["collection"] as? String == "counter")
    }

    @Test func aWholeMonthWithBankAnswers() throws {
        let root = try month()
        try root.run("2026-11-06T17:05:00")
        try answer(root, bank: "ICBC01", day: "20261106", id: "ICBC-RET-1", [declarationID(Sample.softwareCo): "ACSC", declarationID(Sample.tradingCo): "RJCT:AM04"])
        try answer(root, bank: "CCB01", day: "20261106", id: "CCB-RET-1", [declarationID(Sample.buildingCo): "RJCT:AC04"])
        try root.run("2026-11-07T09:00:00")

        // Paid: a payment receipt.
        let paid = try #require(try root.receipts(Sample.softwareCo).first { $0["kind"] as? String == "payment" })
        #expect(paid["channel"] as? String == "debit")
        #expect(paid["paid_fen"] as? Int == Int(try total(root, Sample.softwareCo)))
        #expect(paid["late_fee_fen"] as? Int == 0)
        // Closed account: final, a debit-failed notice, no retry.
        let failed = try root.json("Outbox/notices/\(Sample.buildingCo)/\(declarationID(Sample.buildingCo))-debit-failed.json")
        #expect(failed["kind"] as? String == "debit_failed")
        #expect((failed["reason"] as? String)?.hasPrefix("AC04") == true)
        #expect(failed["unpaid_fen"] as? Int == Int(try total(root, Sample.buildingCo)))

        // Insufficient funds: retried on the next window day (Monday 9th), and only that one.
        try root.run("2026-11-09T17:00:00")
        #expect(root.files(under: "Outbox/debits").contains("ICBC01/LEVY-ICBC01-20261109.xml"))
        #expect(!root.files(under: "Outbox/debits").contains("CCB01/LEVY-CCB01-20261109.xml"))
        let retry = try BankSimulator.debits(in: root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261109.xml"))
        #expect(retry.debits.map(\.endToEndID) == [declarationID(Sample.tradingCo)])
        try answer(root, bank: "ICBC01", day: "20261109", id: "ICBC-RET-2", [declarationID(Sample.tradingCo): "RJCT:MS03"])
        try root.run("2026-11-10T17:00:00")
        try answer(root, bank: "ICBC01", day: "20261110", id: "ICBC-RET-3", [declarationID(Sample.tradingCo): "RJCT:AM04"])
        try root.run("2026-11-11T09:00:00")

        // Refused on the last window day: overdue, with the fee so far (1 day) and per further day.
        let trading = try total(root, Sample.tradingCo)
        let overdue = try root.json("Outbox/notices/\(Sample.tradingCo)/\(declarationID(Sample.tradingCo))-overdue.json")
        #expect(overdue["kind"] as? String == "overdue")
        #expect(overdue["unpaid_fen"] as? Int == Int(trading))
        #expect(overdue["late_fee_fen"] as? Int == Int(naiveFee(trading, days: 1)))
        #expect(overdue["daily_fee_fen"] as? Int == Int(naiveFee(trading, days: 1)))
        // The counter employer did not pay by the due date: overdue too.
        #expect(root.exists("Outbox/notices/\(Sample.restaurant)/\(declarationID(Sample.restaurant))-overdue.json"))

        // Counter payment on the 13th: 3 days of late fee; more than is owed is refused with the exact amount.
        let levy = try root.levy()
        let on13 = try #require(levy.loaded.clock.parseAsOf("2026-11-13T10:00:00"))
        let due = trading + naiveFee(trading, days: 3)
        #expect(throws: LevyError.self) { try levy.counter.pay(employer: Sample.tradingCo, period: nov, amount: Yuan.format(due + 1), now: on13) }
        do { _ = try levy.counter.pay(employer: Sample.tradingCo, period: nov, amount: Yuan.format(due + 1), now: on13) } catch {
            #expect("\(error)".contains(Yuan.format(due)))
        }
        _ = try levy.counter.pay(employer: Sample.tradingCo, period: nov, amount: Yuan.format(due), now: on13)
        let counter = try #require(try root.receipts(Sample.tradingCo).first { $0["kind"] as? String == "payment" })
        #expect(counter["channel"] as? String == "counter")
        #expect(counter["late_fee_fen"] as? Int == Int(naiveFee(trading, days: 3)))
        #expect(counter["paid_fen"] as? Int == Int(due))

        // Status and arrears agree with what happened.
        let status = try root.ledger().status(period: Period(nov)!).first!
        #expect(status.counts[.paid] == 2)
        #expect(status.counts[.overdue] == 2)   // the failed debit and the counter employer
        try root.run("2026-11-13T18:00:00")
        let arrears = try root.json("Outbox/reports/arrears-2026-11-13.json")
        let listed = (arrears["employers"] as? [[String: Any]] ?? []).compactMap { $0["employer_id"] as? String }
        #expect(Set(listed) == [Sample.buildingCo, Sample.restaurant])
        #expect(try root.ledger().integrityCheck().isEmpty)

        // The day figures the ledger counts for the summaries equal those counted over every file and
        // declaration it holds (what the summary did before it asked the ledger).
        let ledger = try root.ledger()
        let all = try ledger.declarations(states: DeclarationState.allCases, period: nil)
        var paidSomeDay = false
        for day: CivilDate in ["2026-11-03", "2026-11-06", "2026-11-07", "2026-11-13", "2026-11-20"] {
            var expected = DayFigures()
            for f in try ledger.files(receivedDate: day, outcomes: FileOutcome.allCases) { expected.files[f.outcome, default: 0] += 1 }
            for d in all where d.receivedAt.hasPrefix(day.description) && d.state != .superseded && d.state != .withdrawn { expected.acceptedFen += d.totalFen }
            // Paid: the payments recorded that day (a debit confirmed on the 7th is paid on the 7th, the
            // day levy learned it, though its money was taken on the 6th).
            for d in all {
                let payments = try ledger.movements(declarationID: d.id).filter { $0.kind == .paid && $0.day == day }
                if !payments.isEmpty { expected.paid += 1 }
                expected.paidFen += payments.reduce(0) { $0 + $1.amountFen }
            }
            #expect(try ledger.dayFigures(day: day) == expected, "\(day)")
            paidSomeDay = paidSomeDay || expected.paid > 0
        }
        #expect(try ledger.dayFigures(day: "2026-11-03").acceptedFen > 0)
        #expect(paidSomeDay)
    }

    func naiveFee(_ unpaid: Int64, days: Int) -> Int64 {
        // unpaid × 0.0005 × days, half-up: (unpaid × 5 × days + 5000) / 10000
        (unpaid * 5 * Int64(days) + 5000) / 10000
    }

    @Test func forgedReturnsAreQuarantinedAndChangeNothing() throws {
        let root = try month()
        try root.run("2026-11-06T17:05:00")
        let icbc = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        let genuine = try BankSimulator.returnFile(for: icbc, reportID: "R1") { _ in "ACSC" }
        // another bank's folder
        try root.write("Inbox/bank/CCB01/wrong-folder.xml", genuine)
        // unknown MsgId
        try root.write("Inbox/bank/ICBC01/unknown.xml", genuine.replacingOccurrences(of: "<OrgnlMsgId>LEVY-ICBC01-20261106", with: "<OrgnlMsgId>LEVY-ICBC01-20991231"))
        // amount changed
        try root.write("Inbox/bank/ICBC01/amount.xml", try BankSimulator.returnFile(for: icbc, reportID: "R2",
                       amountOverride: [declarationID(Sample.softwareCo): "1.00"]) { _ in "ACSC" })
        // truncated, not XML, DOCTYPE, unknown bank folder
        try root.write("Inbox/bank/ICBC01/truncated.xml", String(genuine.prefix(300)))
        try root.write("Inbox/bank/ICBC01/xxe.xml", "<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" + genuine)
        try root.write("Inbox/bank/EVIL01/x.xml", genuine)
        try root.run("2026-11-07T09:00:00")
        let reasons = root.files(under: ".levy/quarantine").filter { $0.hasSuffix(".reason.txt") }
        #expect(reasons.count == 6)
        #expect(try root.ledger().declaration(id: declarationID(Sample.softwareCo))?.state == .inFlight)
        #expect(try root.receipts(Sample.softwareCo).allSatisfy { $0["kind"] as? String == "declaration" })
        #expect(root.files(under: "Inbox/bank").filter { !$0.hasSuffix(".gitkeep") }.isEmpty)

        // The genuine one applies; the same bytes again change nothing.
        try root.write("Inbox/bank/ICBC01/real.xml", genuine)
        try root.run("2026-11-07T10:00:00")
        #expect(try root.ledger().declaration(id: declarationID(Sample.softwareCo))?.state == .paid)
        let before = root.files(under: "Outbox")
        try root.write("Inbox/bank/ICBC01/real-again.xml", genuine)
        try root.run("2026-11-07T11:00:00")
        #expect(root.files(under: "Outbox").filter { !$0.hasPrefix("reports/") } == before.filter { !$0.hasPrefix("reports/") })
    }

    @Test func pendingChangesNothingAndGroupStatusSpeaksForAll() throws {
        let root = try month()
        try root.run("2026-11-06T17:05:00")
        let icbc = root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")
        try root.write("Inbox/bank/ICBC01/p.xml", try BankSimulator.returnFile(for: icbc, reportID: "P1") { _ in "PDNG" })
        try root.run("2026-11-07T09:00:00")
        #expect(try root.ledger().declaration(id: declarationID(Sample.tradingCo))?.state == .inFlight)
        try root.write("Inbox/bank/ICBC01/g.xml", try BankSimulator.returnFile(for: icbc, reportID: "G1", groupStatus: "ACSC") { _ in nil })
        try root.run("2026-11-07T10:00:00")
        #expect(try root.ledger().declaration(id: declarationID(Sample.tradingCo))?.state == .paid)
        #expect(try root.ledger().declaration(id: declarationID(Sample.softwareCo))?.state == .paid)
    }

    @Test func lateDeclarationIsRecordedNotDebitedAndNoticed() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "late.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-12T17:30:00")
        let r = try #require(try root.receipts(Sample.softwareCo).first)
        #expect(r["collection"] as? String == "late")
        let notice = try root.json("Outbox/notices/\(Sample.softwareCo)/\(declarationID(Sample.softwareCo))-overdue.json")
        let unpaid = Int64(r["total_fen"] as! Int)
        #expect(notice["late_fee_fen"] as? Int == Int(naiveFee(unpaid, days: 2)))
        #expect(notice["daily_fee_fen"] as? Int == Int(naiveFee(unpaid, days: 1)))
        #expect(root.files(under: "Outbox/debits").isEmpty)
    }

    @Test func aHolidayOnTheTenthPostponesTheDueDateAndTheWindow() throws {
        let root = try TestRoot()
        try root.rules("calendar.yaml", replacing: "workdays: [", with: "workdays: [2026-11-14, ")
        try root.rules("calendar.yaml", replacing: "holidays: [", with: "holidays: [2026-11-10, 2026-11-11, ")
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.run("2026-11-02T09:00:00")
        #expect(try root.receipts(Sample.softwareCo).first?["due"] as? String == "2026-11-12T17:00:00+08:00")
        try root.run("2026-11-10T17:30:00")   // holiday: no cut
        #expect(root.files(under: "Outbox/debits").isEmpty)
        try root.run("2026-11-12T17:00:00")
        #expect(root.files(under: "Outbox/debits") == ["ICBC01/LEVY-ICBC01-20261112.xml"])
    }

    @Test func withdrawAndReplaceOnlyWhileNothingIsInFlightOrPaid() throws {
        let root = try month()
        let levy = try root.levy()
        let at = { (text: String) in try #require(levy.loaded.clock.parseAsOf(text)) }
        #expect(try levy.counter.withdraw(employer: Sample.restaurant, period: nov, now: at("2026-11-04T09:00:00")) == .done(declarationID(Sample.restaurant)))
        #expect(try root.ledger().declaration(id: declarationID(Sample.restaurant))?.state == .withdrawn)
        try root.run("2026-11-06T17:05:00")
        #expect(throws: LevyError.self) { try levy.counter.withdraw(employer: Sample.softwareCo, period: nov, now: at("2026-11-06T17:10:00")) }
        // A replacement while the debit is in flight is refused with E-DECL-LOCKED.
        try root.drop(Sample.softwareCo, "v2.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "9000", ""), (Sample.persons[1], "李四", "8000.50", "")]))
        try root.run("2026-11-06T18:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-DECL-LOCKED"])
    }
}
