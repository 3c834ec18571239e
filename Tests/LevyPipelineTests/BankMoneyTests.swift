import LevyTestSupport
import Foundation
import GRDB
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// SPEC §9: the bank's notifications (camt.054), reversals after settlement, unanswered debits,
/// part-payments and the daily reconciliation, through the real pipeline on real files.
@Suite struct BankMoneyTests {
    let nov = "2026-11"
    func id(_ employer: String, _ seq: Int = 1) -> String { "\(employer)-202611-0\(seq)" }

    /// The software and trading companies (ICBC01) and the restaurant (counter) declare November;
    /// the ICBC debit is cut on the 6th.
    func debited() throws -> TestRoot {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, nov, [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        try root.run("2026-11-03T10:00:00")
        try root.run("2026-11-06T17:00:00")
        #expect(root.exists(debitFile))
        return root
    }

    let debitFile = "Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml"

    func total(_ root: TestRoot, _ employer: String) throws -> Int64 {
        Int64(try #require(try root.receipts(employer).first { $0["kind"] as? String == "declaration" }?["total_fen"] as? Int))
    }

    func notify(_ root: TestRoot, _ name: String, bank: String = "ICBC01", account: String = "1602000000000001", booked: String = "2026-11-07",
                batch: Bool = false, _ movements: [BankSimulator.Movement]) throws {
        let text = BankSimulator.notification(id: name, account: account, booked: booked, batch: batch, movements)
        #expect(try isoSchema("camt.054.001.02.xsd").validate(document: Array(text.utf8)).isEmpty, "the simulator writes genuine camt.054")
        try root.write("Inbox/bank/\(bank)/\(name).xml", text)
    }

    func acsc(_ root: TestRoot, _ name: String, _ answers: [String: String]) throws {
        let text = try BankSimulator.returnFile(for: root.file(debitFile), reportID: name) { answers[$0] }
        try root.write("Inbox/bank/ICBC01/\(name).xml", text)
    }

    func reconciliation(_ root: TestRoot, _ day: String) throws -> [String: Any] { try root.json("Outbox/reports/reconciliation-\(day).json") }

    func exceptions(_ report: [String: Any]) -> [[String: Any]] { report["exceptions"] as? [[String: Any]] ?? [] }

    func bank(_ report: [String: Any], _ code: String) -> [String: Any] {
        (report["banks"] as? [[String: Any]] ?? []).first { $0["bank_code"] as? String == code } ?? [:]
    }

    @Test func creditsSettleConfirmedDebitsAndTheDayBalances() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo), trading = try total(root, Sample.tradingCo)
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC", id(Sample.tradingCo): "ACSC"])
        try notify(root, "N1", batch: true, try BankSimulator.credits(for: root.file(debitFile)))
        try root.run("2026-11-07T09:00:00")
        let ledger = try root.ledger()
        for e in [Sample.softwareCo, Sample.tradingCo] {
            let d = try #require(try ledger.declaration(id: id(e)))
            #expect(d.state == .paid && d.settledOn == "2026-11-07")
        }
        // One payment receipt each (from the pain.002), none added by the credit.
        #expect(try root.receipts(Sample.softwareCo).filter { $0["kind"] as? String == "payment" }.count == 1)
        let report = try reconciliation(root, "2026-11-07")
        #expect(bank(report, "ICBC01")["confirmed_fen"] as? Int == Int(software + trading))
        #expect(bank(report, "ICBC01")["credited_fen"] as? Int == Int(software + trading))
        #expect(report["paid_fen"] as? Int == Int(software + trading))
        #expect(exceptions(report).isEmpty)
        #expect(report["balanced"] as? Bool == true)
        #expect(root.exists("Outbox/reports/reconciliation-2026-11-07.txt") && root.exists("Outbox/reports/reconciliation-2026-11-07.html"))
        // The day before: what was sent, and the balance carried to the 7th.
        let sixth = try reconciliation(root, "2026-11-06")
        #expect(bank(sixth, "ICBC01")["sent_fen"] as? Int == Int(software + trading))
        #expect(report["receivable_open_fen"] as? Int == sixth["receivable_close_fen"] as? Int)
        // The same notification again changes nothing.
        try notify(root, "N1-again", batch: true, try BankSimulator.credits(for: root.file(debitFile)))
        try root.run("2026-11-07T10:00:00")
        let again = try reconciliation(root, "2026-11-07")
        #expect(exceptions(again).map { $0["kind"] as? String } == ["duplicate_credit", "duplicate_credit"])
        #expect(bank(again, "ICBC01")["credited_fen"] as? Int == Int(software + trading))
        #expect(again["balanced"] as? Bool == true)
    }

    /// camt.054's `ISODate` carries no offset: a booking date written with one (`2026-11-06+08:00`) is a
    /// file that does not validate, quarantined with the ledger unchanged, not a day levy guesses.
    @Test func aBookingDateWithAnOffsetIsRefusedBySchema() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo)
        let text = BankSimulator.notification(id: "N1", booked: "2026-11-06+08:00", [.init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software))])
        #expect(try !isoSchema("camt.054.001.02.xsd").validate(document: Array(text.utf8)).isEmpty)
        try root.write("Inbox/bank/ICBC01/N1.xml", text)
        try root.run("2026-11-07T09:00:00")
        #expect(try root.ledger().declaration(id: id(Sample.softwareCo))?.settledOn == nil)
        #expect(root.files(under: ".levy/quarantine").contains { $0.hasSuffix("N1.xml") })
        #expect(bank(try reconciliation(root, "2026-11-07"), "ICBC01")["credited_fen"] as? Int == 0)
    }

    @Test func aCreditWithoutAStatusReportPaysTheDebitOnce() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo)
        try notify(root, "N1", [.init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software))])
        try root.run("2026-11-07T09:00:00")
        let d = try #require(try root.ledger().declaration(id: id(Sample.softwareCo)))
        #expect(d.state == .paid && d.channel == .debit && d.settledOn == "2026-11-07")
        let payments = try root.receipts(Sample.softwareCo).filter { $0["kind"] as? String == "payment" }
        #expect(payments.count == 1)
        #expect(payments.first?["paid_fen"] as? Int == Int(software))
        #expect(payments.first?["remaining_fen"] as? Int == 0)
        // The pain.002 that comes later changes nothing: no second receipt, no second payment.
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC"])
        try root.run("2026-11-07T10:00:00")
        #expect(try root.receipts(Sample.softwareCo).filter { $0["kind"] as? String == "payment" }.count == 1)
        let report = try reconciliation(root, "2026-11-07")
        #expect(report["paid_fen"] as? Int == Int(software))
        #expect(report["balanced"] as? Bool == true)
        // Still in flight for the trading company: not yet unanswered (2 working days after the 6th: the 10th).
        #expect(!exceptions(report).contains { $0["kind"] as? String == "unanswered" })
    }

    @Test func creditsLevyCannotMatchAreKeptAsExceptionsAndChangeNothing() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo), trading = try total(root, Sample.tradingCo)
        let restaurant = try total(root, Sample.restaurant)
        try notify(root, "N1", [
            .init(endToEndID: "NOBODY-202611-01", amount: "10.00"),
            .init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software + 1)),
            .init(endToEndID: id(Sample.restaurant), amount: Yuan.format(restaurant)),  // never debited: pays at the counter
            .init(endToEndID: id(Sample.tradingCo), amount: Yuan.format(trading)),
            .init(endToEndID: id(Sample.tradingCo), amount: Yuan.format(trading)),      // the same credit twice
            .init(endToEndID: id(Sample.restaurant), amount: "5.00", credit: false, reason: "MD06"),  // a return for an unpaid one
        ])
        try root.run("2026-11-07T09:00:00")
        let report = try reconciliation(root, "2026-11-07")
        let kinds = exceptions(report).map { "\($0["kind"] as? String ?? "") \($0["declaration_id"] as? String ?? "")" }
        #expect(kinds == ["unknown_reference NOBODY-202611-01", "amount_mismatch \(id(Sample.softwareCo))", "not_debited \(id(Sample.restaurant))",
                          "duplicate_credit \(id(Sample.tradingCo))", "not_debited \(id(Sample.restaurant))"])
        let mismatch = try #require(exceptions(report).first { $0["kind"] as? String == "amount_mismatch" })
        #expect(mismatch["amount_fen"] as? Int == Int(software + 1) && mismatch["expected_fen"] as? Int == Int(software))
        #expect(mismatch["bank_code"] as? String == "ICBC01" && mismatch["since"] as? String == "2026-11-07")
        let ledger = try root.ledger()
        #expect(try ledger.declaration(id: id(Sample.softwareCo))?.state == .inFlight)
        #expect(try ledger.declaration(id: id(Sample.restaurant))?.state == .accepted)
        #expect(try ledger.declaration(id: id(Sample.tradingCo))?.state == .paid)
        #expect(bank(report, "ICBC01")["credited_fen"] as? Int == Int(trading))
        #expect(report["balanced"] as? Bool == true)
        // The HTML page shows the exceptions first.
        let page = try String(contentsOfFile: root.file("Outbox/reports/reconciliation-2026-11-07.html"), encoding: .utf8)
        let exceptionsAt = try #require(page.range(of: "id=\"exceptions\"")), balanceAt = try #require(page.range(of: "receivable_open"))
        #expect(exceptionsAt.lowerBound < balanceAt.lowerBound)
    }

    @Test(arguments: ["wrong account", "unknown bank", "bad amount", "sum differs", "doctype", "not xml", "deep", "batch line without amount"])
    func forgedOrBrokenNotificationsAreQuarantinedWithTheLedgerUnchanged(_ forgery: String) throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo)
        let good = [BankSimulator.Movement(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software))]
        var text = BankSimulator.notification(id: "F", good)
        var folder = "ICBC01"
        switch forgery {
        case "wrong account": text = BankSimulator.notification(id: "F", account: "3705000000000002", good)
        case "unknown bank": folder = "EVIL01"
        case "bad amount": text = text.replacingOccurrences(of: "<TxAmt><Amt Ccy=\"CNY\">\(Yuan.format(software))</Amt>",
                                                             with: "<TxAmt><Amt Ccy=\"CNY\">\(Yuan.format(software))1</Amt>")
        case "sum differs": text = text.replacingOccurrences(of: "<Ntry><Amt Ccy=\"CNY\">\(Yuan.format(software))</Amt>",
                                                              with: "<Ntry><Amt Ccy=\"CNY\">\(Yuan.format(software + 100))</Amt>")
        case "doctype": text = text.replacingOccurrences(of: "<Document", with: "<!DOCTYPE d [<!ENTITY x \"y\">]>\n<Document")
        case "not xml": text = String(text.prefix(text.count / 2))
        case "batch line without amount":
            text = BankSimulator.notification(id: "F", batch: true, good + [.init(endToEndID: "X-1", amount: "1.00")])
                .replacingOccurrences(of: "<AmtDtls><TxAmt><Amt Ccy=\"CNY\">\(Yuan.format(software))</Amt></TxAmt></AmtDtls>", with: "")
        default: text = text.replacingOccurrences(of: "<BkTxCd/>", with: String(repeating: "<a>", count: 5000) + String(repeating: "</a>", count: 5000) + "<BkTxCd/>")
        }
        #expect(text != BankSimulator.notification(id: "F", good) || forgery == "unknown bank")
        try root.write("Inbox/bank/\(folder)/F.xml", text)
        try root.run("2026-11-07T09:00:00")
        #expect(try root.ledger().declaration(id: id(Sample.softwareCo))?.state == .inFlight)
        #expect(try root.ledger().declaration(id: id(Sample.softwareCo))?.settledOn == nil)
        #expect(!root.exists("Inbox/bank/\(folder)/F.xml"))
        let reasons = root.files(under: ".levy/quarantine").filter { $0.hasSuffix(".reason.txt") }
        #expect(reasons.count == 1, "\(forgery): \(reasons)")
        #expect(try reconciliation(root, "2026-11-07")["balanced"] as? Bool == true)
    }

    @Test func aDebitReturnedAfterSettlementIsOwedAgainAtTheCounter() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo)
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC", id(Sample.tradingCo): "ACSC"])
        try notify(root, "N1", batch: true, try BankSimulator.credits(for: root.file(debitFile)))
        try root.run("2026-11-07T09:00:00")
        // The employer asks its bank for a refund (MD06); the bank books it back on the 12th.
        try notify(root, "N2", booked: "2026-11-12", [.init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software), credit: false, reason: "MD06")])
        try root.run("2026-11-12T09:00:00")
        let d = try #require(try root.ledger().declaration(id: id(Sample.softwareCo)))
        #expect(d.state == .overdue && d.paidFen == 0 && d.reversedFen == software && d.collection == .counter)
        let reversal = try root.json("Outbox/receipts/\(Sample.softwareCo)/\(id(Sample.softwareCo))-reversal.json")
        #expect(reversal["kind"] as? String == "reversal")
        #expect(reversal["reversed_fen"] as? Int == Int(software))
        #expect((reversal["reason"] as? String)?.hasPrefix("MD06") == true)
        let notice = try root.json("Outbox/notices/\(Sample.softwareCo)/\(id(Sample.softwareCo))-debit-reversed.json")
        #expect(notice["kind"] as? String == "debit_reversed")
        // Late fee as if never paid: from the 11th (the day after the due day) to the 12th.
        let fee = LateFee.fee(unpaid: software, dailyRate: try #require(Rate("0.0005")), days: 2)
        #expect(notice["late_fee_fen"] as? Int == Int(fee))
        let report = try reconciliation(root, "2026-11-12")
        #expect(bank(report, "ICBC01")["reversed_fen"] as? Int == Int(software))
        #expect(report["reversed_fen"] as? Int == Int(software))
        #expect(report["balanced"] as? Bool == true)
        // Never debited again: December's window cuts nothing for it; paid at the counter with the fee.
        try root.run("2026-12-07T17:30:00")
        #expect(!root.files(under: "Outbox/debits").contains { $0.contains("20261207") })
        let levy = try root.levy()
        let dec8 = try #require(levy.loaded.clock.parseAsOf("2026-12-08T10:00:00"))
        let days = 28  // 11 November to 8 December
        let owed = software + LateFee.fee(unpaid: software, dailyRate: try #require(Rate("0.0005")), days: days)
        _ = try levy.counter.pay(employer: Sample.softwareCo, period: nov, amount: Yuan.format(owed), now: dec8)
        #expect(try root.ledger().declaration(id: id(Sample.softwareCo))?.state == .paid)
        #expect(root.exists("Outbox/receipts/\(Sample.softwareCo)/\(id(Sample.softwareCo))-payment-2.json"))
    }

    @Test func debitsTheBankDoesNotAnswerAreListedUntilItDoes() throws {
        let root = try debited()
        let trading = try total(root, Sample.tradingCo), software = try total(root, Sample.softwareCo)
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC"])   // the trading company's debit gets no answer
        try root.run("2026-11-09T09:00:00")   // Monday: 1 working day after Friday the 6th
        #expect(!exceptions(try reconciliation(root, "2026-11-09")).contains { $0["kind"] as? String == "unanswered" })
        try root.run("2026-11-11T09:00:00")   // past the 2nd working day (the 10th)
        let report = try reconciliation(root, "2026-11-11")
        let late = exceptions(report).map { "\($0["kind"] as? String ?? "") \($0["declaration_id"] as? String ?? "")" }
        #expect(late.contains("unanswered \(id(Sample.tradingCo))"))
        #expect(late.contains("confirmed_not_credited \(id(Sample.softwareCo))"))
        let unanswered = try #require(exceptions(report).first { $0["kind"] as? String == "unanswered" })
        #expect(unanswered["amount_fen"] as? Int == Int(trading) && unanswered["since"] as? String == "2026-11-06")
        // In `levy status` too, text and JSON.
        let status = try levy(["status", "--root", root.path, "--json", "--as-of", "2026-11-11T10:00:00"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect((json["unanswered"] as? [[String: Any]])?.map { $0["declaration_id"] as? String } == [id(Sample.tradingCo)])
        #expect((json["confirmed_not_credited"] as? [[String: Any]])?.map { $0["declaration_id"] as? String } == [id(Sample.softwareCo)])
        let text = try levy(["status", "--root", root.path, "--as-of", "2026-11-11T10:00:00"])
        #expect(text.stdout.contains("unanswered") && text.stdout.contains(id(Sample.tradingCo)))
        // Still in flight: not overdue, not debited again.
        #expect(try root.ledger().declaration(id: id(Sample.tradingCo))?.state == .inFlight)
        // The bank answers: gone from the list.
        try notify(root, "N1", booked: "2026-11-11", [.init(endToEndID: id(Sample.tradingCo), amount: Yuan.format(trading)),
                                                     .init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software))])
        try root.run("2026-11-11T11:00:00")
        #expect(exceptions(try reconciliation(root, "2026-11-11")).isEmpty)
        #expect(try reconciliation(root, "2026-11-11")["balanced"] as? Bool == true)
    }

    @Test func partPaymentsGoToContributionsFirstAndTheRestKeepsAccruing() throws {
        let root = try debited()
        let restaurant = try total(root, Sample.restaurant)
        let rate = try #require(Rate("0.0005"))
        try root.run("2026-11-11T09:00:00")   // past the due date: overdue
        let levy = try root.levy()
        let on13 = try #require(levy.loaded.clock.parseAsOf("2026-11-13T10:00:00"))
        let half = restaurant / 2
        _ = try levy.counter.pay(employer: Sample.restaurant, period: nov, amount: Yuan.format(half), now: on13)
        let first = try root.json("Outbox/receipts/\(Sample.restaurant)/\(id(Sample.restaurant))-payment.json")
        let fee13 = LateFee.fee(unpaid: restaurant, dailyRate: rate, days: 3)
        #expect(first["paid_fen"] as? Int == Int(half))
        #expect(first["late_fee_fen"] as? Int == 0, "contributions first")
        #expect(first["remaining_fen"] as? Int == Int(restaurant - half + fee13))
        // Still in arrears: removing staff is refused, the arrears list shows the remainder.
        try root.drop(Sample.restaurant, "dec.csv", csv(Sample.restaurant, "2026-12", [(Sample.persons[4], "孙七", "5000", "R")]))
        try root.run("2026-11-13T11:00:00")
        #expect(codes(try root.rejection(Sample.restaurant)).contains("E-REMOVAL-ARREARS"))
        let arrears = try root.json("Outbox/reports/arrears-2026-11-13.json")
        let entry = try #require((arrears["employers"] as? [[String: Any]])?.first { $0["employer_id"] as? String == Sample.restaurant })
        #expect(entry["unpaid_fen"] as? Int == Int(restaurant - half))
        // More than is owed is refused with the exact amount.
        let on16 = try #require(levy.loaded.clock.parseAsOf("2026-11-16T10:00:00"))
        // The fee counts the whole amount for the 11th–13th and the remainder for the 14th–16th, rounded once.
        let owed = (restaurant - half) + LateFee.fee(unpaid: restaurant * 3 + (restaurant - half) * 3, dailyRate: rate, days: 1)
        #expect(levy.amountDue(try #require(try root.ledger().declaration(id: id(Sample.restaurant))), on: on16.date).principal == restaurant - half)
        do {
            _ = try levy.counter.pay(employer: Sample.restaurant, period: nov, amount: Yuan.format(owed + 1), now: on16)
            Issue.record("an overpayment was taken")
        } catch { #expect("\(error)".contains(Yuan.format(owed))) }
        _ = try levy.counter.pay(employer: Sample.restaurant, period: nov, amount: Yuan.format(owed), now: on16)
        let second = try root.json("Outbox/receipts/\(Sample.restaurant)/\(id(Sample.restaurant))-payment-2.json")
        #expect(second["remaining_fen"] as? Int == 0)
        #expect(second["late_fee_fen"] as? Int == Int(owed - (restaurant - half)))
        let d = try #require(try root.ledger().declaration(id: id(Sample.restaurant)))
        #expect(d.state == .paid && d.paidFen == restaurant + d.feeChargedFen)
        try root.run("2026-11-16T11:00:00")
        #expect(try reconciliation(root, "2026-11-16")["balanced"] as? Bool == true)
        // Paid up: the removal now goes through (December is declared from 1 December on).
        try root.drop(Sample.restaurant, "dec2.csv", csv(Sample.restaurant, "2026-12", [(Sample.persons[4], "孙七", "5000", "R")])
            .replacingOccurrences(of: "\n", with: "\r\n"))  // other bytes than the refused file
        try root.run("2026-12-01T09:00:00")
        #expect(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: "2026-12") != nil)
        // The statement says the same as the receipts.
        let statement = try LevyPipelineTests.levy(["statement", Sample.restaurant, "--year", "2026", "--root", root.path, "--as-of", "2026-12-01T12:00:00"])
        #expect(statement.status == 0, "\(statement.stderr)")
        let json = try root.json("Outbox/statements/\(Sample.restaurant)/\(Sample.restaurant)-2026.json")
        let line = try #require((json["lines"] as? [[String: Any]])?.first { $0["period"] as? String == nov })
        #expect(line["declared_fen"] as? Int == Int(restaurant))
        #expect(line["paid_fen"] as? Int == Int(half) + (second["paid_fen"] as? Int ?? 0))
        #expect(line["late_fee_fen"] as? Int == second["late_fee_fen"] as? Int)
        #expect(line["outstanding_fen"] as? Int == 0)
        #expect(root.exists("Outbox/statements/\(Sample.restaurant)/\(Sample.restaurant)-2026.html"))
        #expect(try String(contentsOfFile: root.file("Outbox/statements/\(Sample.restaurant)/\(Sample.restaurant)-2026.txt"), encoding: .utf8).contains("对账单"))
    }

    @Test(arguments: [false, true])
    func aNotificationAppliedInChunksIsOneTransaction(brokenAtTheEnd: Bool) throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo), trading = try total(root, Sample.tradingCo)
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC", id(Sample.tradingCo): "ACSC"])
        try root.run("2026-11-07T08:00:00")
        // Lines matched and sent to the ledger two at a time: settlements, a duplicate across chunks, unknowns.
        var text = BankSimulator.notification(id: "N1", [
            .init(endToEndID: "X-1", amount: "1.00"), .init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software)),
            .init(endToEndID: "X-2", amount: "2.00"), .init(endToEndID: id(Sample.tradingCo), amount: Yuan.format(trading)),
            .init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software)), .init(endToEndID: "X-3", amount: "3.00"),
        ])
        if brokenAtTheEnd { text = text.replacingOccurrences(of: ">3.00<", with: ">3.001<") }
        try root.write("Inbox/bank/ICBC01/N1.xml", text)
        let levy = try root.levy()
        levy.tuning.notificationChunk = 2
        try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-07T09:00:00")))
        let report = try reconciliation(root, "2026-11-07")
        let ledger = try root.ledger()
        if brokenAtTheEnd {
            // The chunks already in the ledger went back with the file.
            #expect(try ledger.declaration(id: id(Sample.softwareCo))?.settledOn == nil)
            #expect(try ledger.declaration(id: id(Sample.tradingCo))?.settledOn == nil)
            #expect(bank(report, "ICBC01")["credited_fen"] as? Int == 0)
            #expect(exceptions(report).isEmpty)
            #expect(root.files(under: ".levy/quarantine").contains { $0.hasSuffix("N1.xml") })
        } else {
            #expect(try ledger.declaration(id: id(Sample.softwareCo))?.settledOn == "2026-11-07")
            #expect(try ledger.declaration(id: id(Sample.tradingCo))?.settledOn == "2026-11-07")
            #expect(bank(report, "ICBC01")["credited_fen"] as? Int == Int(software + trading))
            #expect(exceptions(report).map { $0["kind"] as? String } == ["unknown_reference", "unknown_reference", "duplicate_credit", "unknown_reference"])
        }
        #expect(report["balanced"] as? Bool == true)
    }

    /// The ledger failing under the matching thread, in the file's second chunk (a real SQLite error,
    /// raised by a trigger): the read stops, the first chunk already recorded goes back with the file,
    /// the file stays in the inbox (not quarantined: it is not the bank's fault), and the next run
    /// applies it whole.
    @Test func aLedgerFailureWhileMatchingLeavesTheNotificationForTheNextRun() throws {
        let root = try debited()
        let software = try total(root, Sample.softwareCo), trading = try total(root, Sample.tradingCo)
        try acsc(root, "R1", [id(Sample.softwareCo): "ACSC", id(Sample.tradingCo): "ACSC"])
        try root.run("2026-11-07T08:00:00")
        try notify(root, "N1", [.init(endToEndID: id(Sample.softwareCo), amount: Yuan.format(software)), .init(endToEndID: "X-1", amount: "1.00"),
                                .init(endToEndID: id(Sample.tradingCo), amount: Yuan.format(trading)), .init(endToEndID: "X-2", amount: "2.00")])
        let path = root.file(".levy/ledger.sqlite")
        var queue: DatabaseQueue? = try DatabaseQueue(path: path)
        try queue!.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_trading BEFORE INSERT ON settlements WHEN NEW.declaration_id = '\(id(Sample.tradingCo))'
                BEGIN SELECT RAISE(ABORT, 'disk trouble'); END
                """)
        }
        queue = nil
        let levy = try root.levy()
        levy.tuning.notificationChunk = 2
        #expect(throws: (any Error).self) { try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-07T09:00:00"))) }
        let ledger = try root.ledger()
        #expect(try ledger.declaration(id: id(Sample.softwareCo))?.settledOn == nil, "the first chunk went back with the file")
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").count == 2)
        #expect(root.exists("Inbox/bank/ICBC01/N1.xml"))
        #expect(!root.files(under: ".levy/quarantine").contains { $0.hasSuffix("N1.xml") })
        queue = try DatabaseQueue(path: path)
        try queue!.write { db in try db.execute(sql: "DROP TRIGGER refuse_trading") }
        queue = nil
        try root.run("2026-11-07T10:00:00")
        let after = try root.ledger()
        #expect(try after.declaration(id: id(Sample.softwareCo))?.settledOn == "2026-11-07")
        #expect(try after.declaration(id: id(Sample.tradingCo))?.settledOn == "2026-11-07")
        let report = try reconciliation(root, "2026-11-07")
        #expect(bank(report, "ICBC01")["credited_fen"] as? Int == Int(software + trading))
        #expect(exceptions(report).map { $0["kind"] as? String } == ["unknown_reference", "unknown_reference"])
        #expect(report["balanced"] as? Bool == true)
    }

    @Test func aHugeNotificationStreamsInFlatMemory() throws {
        // 60,000 unknown credits (~20 MB): read and kept as exceptions without a tree.
        let root = try debited()
        let movements = (0..<60_000).map { BankSimulator.Movement(endToEndID: "X\($0)", amount: "1.00") }
        try root.write("Inbox/bank/ICBC01/H.xml", BankSimulator.notification(id: "H", movements))
        try root.run("2026-11-07T09:00:00")
        let report = try reconciliation(root, "2026-11-07")
        #expect(exceptions(report).count == 60_000)
        #expect(report["balanced"] as? Bool == true)
    }
}
