import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// Operators, approvals and reversals (SPEC §10), through the real binary as clerks and their
/// reviewer and supervisor would use it.
@Suite(.serialized) struct FourEyesTests {
    let nov = "2026-11"

    /// A root with three operators, approvals on, and the restaurant (no mandate) declared on the 3rd.
    func counterRoot(approvals: String = "approvals: { counter_payment_over: \"100.00\", withdraw: true, reversal: true }") throws -> TestRoot {
        let root = try TestRoot()
        try root.write("Rules/operators.csv", "operator_id,name,role\nC001,王柜员,clerk\nC002,李柜员,clerk\nR001,赵复核,reviewer\nS001,钱主管,supervisor\n")
        try root.rules("levy.yaml", replacing: "periods:", with: "\(approvals)\nperiods:")
        try root.drop(Sample.restaurant, "d.csv", csv(Sample.restaurant, nov, [(Sample.persons[4], "孙七", "5000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, nov, [(Sample.persons[2], "王五", "10000", "")]))
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-03T10:00:00"]).status == 0)
        return root
    }

    func run(_ root: TestRoot, _ args: [String], at: String) throws -> Output {
        try levy(args + ["--root", root.path, "--as-of", at])
    }

    func owed(_ root: TestRoot) throws -> Fen {
        try #require(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov)).totalFen
    }

    @Test func operatorsAreCheckedAtStartAndNamedOnEveryManualCommand() throws {
        let root = try counterRoot()
        let amount = Yuan.format(try owed(root))
        let none = try run(root, ["pay", Sample.restaurant, nov, "--amount", amount], at: "2026-11-04T09:00:00")
        #expect(none.status == 64 && none.stderr.contains("--operator is required"), "\(none.stderr)")
        let unknown = try run(root, ["pay", Sample.restaurant, nov, "--amount", amount, "--operator", "X9"], at: "2026-11-04T09:00:00")
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown operator 'X9'"), "\(unknown.stderr)")
        #expect(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov)?.state == .accepted)
        // A bad line in operators.csv stops levy at start with its line.
        try root.write("Rules/operators.csv", "operator_id,name,role\nC001,王柜员,clerk\nT1,张三,teller\n")
        let bad = try levy(["rules", "check", "--root", root.path])
        #expect(bad.status == 1 && bad.stderr.contains("Rules/operators.csv:3: role 'teller' is not clerk, reviewer or supervisor"), "\(bad.stderr)")
    }

    @Test func aLargeCounterPaymentWaitsForADifferentReviewer() throws {
        let root = try counterRoot()
        let amount = Yuan.format(try owed(root))
        let asked = try run(root, ["pay", Sample.restaurant, nov, "--amount", amount, "--operator", "C001"], at: "2026-11-04T09:00:00")
        #expect(asked.status == 0 && asked.stdout.contains("request REQ-000001"), "\(asked.stdout) \(asked.stderr)")
        // A request changes nothing but itself.
        #expect(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov)?.state == .accepted)
        #expect(try root.receipts(Sample.restaurant).count == 1)
        let listed = try levy(["approvals", "--root", root.path, "--json"])
        let pending = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(pending.map { $0["id"] as? String } == ["REQ-000001"] && pending.first?["requested_by"] as? String == "C001")
        let text = try levy(["approvals", "--root", root.path]).stdout
        #expect(text.hasPrefix("REQ-000001\tcounter_payment\t") && text.contains("requested by C001 at 2026-11-04T09:00:00"), "\(text)")

        let own = try run(root, ["approve", "REQ-000001", "--operator", "C001"], at: "2026-11-04T10:00:00")
        #expect(own.status == 1 && own.stderr.contains("made this request"), "\(own.stderr)")
        let clerk = try run(root, ["approve", "REQ-000001", "--operator", "C002"], at: "2026-11-04T10:00:00")
        #expect(clerk.status == 1 && clerk.stderr.contains("is a clerk"), "\(clerk.stderr)")
        let forged = try run(root, ["approve", "REQ-999999", "--operator", "R001"], at: "2026-11-04T10:00:00")
        #expect(forged.status == 1 && forged.stderr.contains("no request REQ-999999"), "\(forged.stderr)")
        #expect(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov)?.state == .accepted)

        let approved = try run(root, ["approve", "REQ-000001", "--operator", "R001"], at: "2026-11-05T09:30:00")
        #expect(approved.status == 0, "\(approved.stderr)")
        let d = try #require(try root.ledger().currentDeclaration(employer: Sample.restaurant, period: nov))
        #expect(d.state == .paid && d.paidAt == "2026-11-05T09:30:00+08:00", "applied as of the approval")
        let payment = try root.json("Outbox/receipts/\(Sample.restaurant)/\(d.id)-payment.json")
        #expect(payment["paid_at"] as? String == "2026-11-05T09:30:00+08:00")
        let twice = try run(root, ["approve", "REQ-000001", "--operator", "S001"], at: "2026-11-05T10:00:00")
        #expect(twice.status == 1 && twice.stderr.contains("already approved"), "\(twice.stderr)")
        #expect(try levy(["approvals", "--root", root.path]).stdout.contains("No requests"))

        let journal = try root.ledger().journal(employer: nil, from: nil, to: nil)
        let recorded = try #require(journal.first { $0.entry.action == "request_recorded" })
        #expect(recorded.entry.operatorID == "C001")
        let approval = try #require(journal.first { $0.entry.action == "request_approved" })
        #expect(approval.entry.operatorID == "R001")
        let paid = try #require(journal.first { $0.entry.action == "counter_payment" })
        #expect(paid.entry.operatorID == "C001" && paid.entry.detail.contains("\"approved_by\":\"R001\""), "\(paid.entry.detail)")
        #expect(try levy(["audit", "verify", "--root", root.path]).status == 0)
    }

    @Test func aRefusedRequestIsClosedAndAppliesNothing() throws {
        let root = try counterRoot()
        #expect(try run(root, ["withdraw", Sample.tradingCo, nov, "--operator", "C001"], at: "2026-11-04T09:00:00").stdout.contains("request REQ-000001"))
        let noReason = try run(root, ["refuse", "REQ-000001", "--operator", "R001", "--reason", " "], at: "2026-11-04T10:00:00")
        #expect(noReason.status == 1)
        let refused = try run(root, ["refuse", "REQ-000001", "--operator", "R001", "--reason", "单位未提交书面申请"], at: "2026-11-04T10:00:00")
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(try root.ledger().currentDeclaration(employer: Sample.tradingCo, period: nov)?.state == .accepted)
        let late = try run(root, ["approve", "REQ-000001", "--operator", "S001"], at: "2026-11-04T11:00:00")
        #expect(late.status == 1 && late.stderr.contains("already refused"), "\(late.stderr)")
        #expect(try root.ledger().request(id: "REQ-000001")?.reason == "单位未提交书面申请")
    }

    @Test func aCounterPaymentRecordedInErrorIsReversedWithASupervisorsApproval() throws {
        let root = try counterRoot(approvals: "approvals: { reversal: true }")
        let total = try owed(root)
        #expect(try run(root, ["pay", Sample.restaurant, nov, "--amount", Yuan.format(total), "--operator", "C001"], at: "2026-11-04T09:00:00").status == 0)
        let id = "\(Sample.restaurant)-202611-01"
        let asked = try run(root, ["reverse", "RP-\(id)", "--reason", "款项记错单位", "--operator", "C002"], at: "2026-11-12T09:00:00")
        #expect(asked.status == 0 && asked.stdout.contains("request REQ-000001"), "\(asked.stdout) \(asked.stderr)")
        let reviewer = try run(root, ["approve", "REQ-000001", "--operator", "R001"], at: "2026-11-12T10:00:00")
        #expect(reviewer.status == 1 && reviewer.stderr.contains("supervisor"), "\(reviewer.stderr)")
        #expect(try root.ledger().declaration(id: id)?.state == .paid)

        let approved = try run(root, ["approve", "REQ-000001", "--operator", "S001"], at: "2026-11-12T10:00:00")
        #expect(approved.status == 0, "\(approved.stderr)")
        let d = try #require(try root.ledger().declaration(id: id))
        #expect(d.state == .overdue && d.paidFen == 0 && d.collection == .counter, "owed again, past its due date")
        let reversal = try root.json("Outbox/receipts/\(Sample.restaurant)/\(id)-reversal.json")
        #expect(reversal["kind"] as? String == "reversal" && reversal["reversed_fen"] as? Int == Int(total))
        #expect(reversal["reason"] as? String == "款项记错单位" && reversal["reversed_receipt_no"] as? String == "RP-\(id)")
        // The late fee counts from the day after the due day, as if never paid: two days on the 12th.
        let levyObject = try root.levy()
        let (_, fee) = levyObject.amountDue(d, on: CivilDate(year: 2026, month: 11, day: 12))
        #expect(fee > 0)
        let again = try run(root, ["pay", Sample.restaurant, nov, "--amount", Yuan.format(total + fee), "--operator", "C001"], at: "2026-11-12T11:00:00")
        #expect(again.status == 0 && again.stdout.contains("\(id)-payment-2.json"), "\(again.stdout) \(again.stderr)")
        #expect(try root.json("Outbox/receipts/\(Sample.restaurant)/\(id)-payment-2.json")["receipt_no"] as? String == "RP-\(id)-2")
        // Only the payment in force may be reversed.
        let stale = try run(root, ["reverse", "RP-\(id)", "--reason", "x", "--operator", "C002"], at: "2026-11-12T12:00:00")
        #expect(stale.status == 1 && stale.stderr.contains("not the payment in force"), "\(stale.stderr)")
        #expect(try levy(["audit", "verify", "--root", root.path]).status == 0)
    }
}

extension FourEyesTests {
    /// The reviewer's page for a day: every manual operation with its operator and approver, and totals.
    @Test func theNextDayReviewListsEveryManualOperationOfTheDay() throws {
        let root = try counterRoot()
        let total = try owed(root)
        #expect(try run(root, ["pay", Sample.restaurant, nov, "--amount", Yuan.format(total), "--operator", "C001"], at: "2026-11-04T09:00:00").status == 0)
        #expect(try run(root, ["approve", "REQ-000001", "--operator", "R001"], at: "2026-11-04T09:30:00").status == 0)
        #expect(try run(root, ["withdraw", Sample.tradingCo, nov, "--operator", "C002"], at: "2026-11-04T10:00:00").status == 0)
        #expect(try run(root, ["refuse", "REQ-000002", "--operator", "S001", "--reason", "无书面申请"], at: "2026-11-04T11:00:00").status == 0)
        let r = try levy(["audit", "review", "--root", root.path, "--date", "2026-11-04"])
        #expect(r.status == 0, "\(r.stderr)")
        let review = try root.json("Outbox/reports/review-2026-11-04.json")
        let ops = try #require(review["operations"] as? [[String: Any]])
        #expect(ops.map { $0["action"] as? String } == ["request_recorded", "request_approved", "counter_payment", "request_recorded", "request_refused"])
        let payment = try #require(ops.first { $0["action"] as? String == "counter_payment" })
        #expect(payment["operator"] as? String == "C001" && payment["approved_by"] as? String == "R001" && payment["amount_fen"] as? Int == Int(total))
        let totals = try #require(review["totals"] as? [String: Any])
        #expect(totals["operations"] as? Int == 5 && totals["paid_fen"] as? Int == Int(total))
        #expect(root.exists("Outbox/reports/review-2026-11-04.html") && root.exists("Outbox/reports/review-2026-11-04.txt"))
        #expect(r.stdout.contains("reviewed by"))
        // Automatic work of the day (the run on the 3rd) is not a manual operation.
        #expect(try levy(["audit", "review", "--root", root.path, "--date", "2026-11-03"]).stdout.contains("No manual operations"))
        #expect(try levy(["audit", "review", "--root", root.path, "--date", "04/11"]).status == 64)
    }
}
