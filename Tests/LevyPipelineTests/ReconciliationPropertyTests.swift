import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// Random months driven through the real pipeline — declarations, replacements, withdrawals, debits,
/// retries, returns, credits, reversals, counter and part-payments — and on every day the books must
/// hold to the fen: the reconciliation balances, its close carries to the next day's open, and the
/// employers' statements add up to what the ledger says is owed.
@Suite struct ReconciliationPropertyTests {
    /// The shipped four and six more (four ICBC, two CCB... and one more without a mandate), written into the root's Rules.
    static let extra = (1...6).map { EmployerID.withCheckCharacter("91370100PT00000" + String(format: "%02d", $0))!.text }
    static let employers = [Sample.softwareCo, Sample.tradingCo, Sample.buildingCo, Sample.restaurant] + extra

    static func bank(of employer: String) -> String? {
        switch employer {
        case Sample.softwareCo, Sample.tradingCo, extra[0], extra[2], extra[4]: "ICBC01"
        case Sample.buildingCo, extra[1], extra[3]: "CCB01"
        default: nil
        }
    }

    @Test(arguments: [UInt64(1), 2, UInt64.random(in: 9...UInt64.max)])
    func everyDayOfARandomMonthBalances(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let root = try TestRoot()
        var employersCSV = try String(contentsOfFile: root.file("Rules/employers.csv"), encoding: .utf8)
        for (i, e) in Self.extra.enumerated() {
            let bank = Self.bank(of: e)
            employersCSV += "\(e),测试单位\(i),\(i % 8 + 1),\(bank ?? ""),\(bank == nil ? "" : "62220200000001\(i)000"),\(bank == nil ? "" : "M-T-\(i)"),\(bank == nil ? "" : "2025-01-01")\n"
        }
        try root.write("Rules/employers.csv", employersCSV)
        let nov = "2026-11"
        var version = 0
        var lastClose: Int?
        var checkedDays = 0
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

        func declare(_ employer: String, at day: Int) throws {
            version += 1
            let count = Int.random(in: 1...3, using: &rng)
            let persons = (0..<count).map { i in
                (Sample.person(Self.employers.firstIndex(of: employer)! * 10 + i), "员工\(i)", "\(Int.random(in: 4500...20000, using: &rng)).\(Int.random(in: 10...99, using: &rng))", "")
            }
            try root.drop(employer, "v\(version)-\(day).csv", csv(employer, nov, persons))
        }

        func answerBank(_ bank: String, on day: Int, at time: String) throws {
            for file in root.files(under: "Outbox/debits/\(bank)") where file.hasSuffix(String(format: "202611%02d.xml", day)) {
                let path = root.file("Outbox/debits/\(bank)/\(file)")
                var credits: [BankSimulator.Movement] = []
                let report = try BankSimulator.returnFile(for: path, reportID: "R-\(bank)-\(day)") { e2e in
                    switch Int.random(in: 0..<100, using: &rng) {
                    case 0..<55: if chance(80) { credits.append(.init(endToEndID: e2e, amount: "")) }; return "ACSC"
                    case 55..<70: return "RJCT:AM04"
                    case 70..<78: return "RJCT:AC04"
                    case 78..<88: if chance(50) { credits.append(.init(endToEndID: e2e, amount: "")) }; return nil  // no status: credit only, or nothing
                    default: return "PDNG"
                    }
                }
                try root.write("Inbox/bank/\(bank)/R-\(day).xml", report)
                let amounts = Dictionary(uniqueKeysWithValues: try BankSimulator.debits(in: path).debits.map { ($0.endToEndID, $0.amount) })
                credits = credits.map { .init(endToEndID: $0.endToEndID, amount: amounts[$0.endToEndID]!) }
                if chance(20) { credits.append(.init(endToEndID: "UNKNOWN-\(day)", amount: "12.34")) }
                if chance(15), let first = credits.first { credits.append(first) }  // a credit twice
                if !credits.isEmpty {
                    try root.write("Inbox/bank/\(bank)/N-\(day).xml",
                                   BankSimulator.notification(id: "N-\(bank)-\(day)", account: bank == "ICBC01" ? "1602000000000001" : "3705000000000002",
                                                              booked: String(format: "2026-11-%02d", day + 1), batch: chance(50), credits))
                }
            }
        }

        func refundSomeSettledDebit(on day: Int) throws {
            let settled = try root.ledger().declarations(states: [.paid], period: nil).filter { $0.channel == .debit && $0.settledOn != nil }
            guard let d = settled.randomElement(using: &rng) else { return }
            guard let bank = Self.bank(of: d.employerID.text) else { return }
            try root.write("Inbox/bank/\(bank)/RET-\(day).xml",
                           BankSimulator.notification(id: "RET-\(day)", account: bank == "ICBC01" ? "1602000000000001" : "3705000000000002",
                                                      booked: String(format: "2026-11-%02d", day),
                                                      [.init(endToEndID: d.id, amount: Yuan.format(d.paidFen), credit: false, reason: "MD06")]))
        }

        func counterWork(at time: String) throws {
            let levy = try root.levy()
            let now = try #require(levy.loaded.clock.parseAsOf(time))
            for employer in Self.employers where chance(25) {
                guard let d = try levy.ledger.currentDeclaration(employer: employer, period: nov), d.state != .paid, d.state != .inFlight,
                      d.collection != .debit || d.state != .accepted || chance(10) else { continue }
                let (principal, fee) = levy.amountDue(d, on: now.date)
                let owed = principal + fee
                guard owed > 0 else { continue }
                let amount = chance(50) ? owed : Int64.random(in: 1...owed, using: &rng)
                _ = try levy.counter.pay(employer: employer, period: nov, amount: Yuan.format(amount), now: now)
            }
            if chance(15) {
                // A counter payment recorded in error, reversed.
                for employer in Self.employers.shuffled(using: &rng) {
                    guard let d = try levy.ledger.currentDeclaration(employer: employer, period: nov),
                          let paid = try levy.ledger.movements(declarationID: d.id).last(where: { $0.kind == .paid && $0.bank == nil }),
                          let number = paid.ref,
                          !(try levy.ledger.movements(declarationID: d.id)).contains(where: { $0.kind == .reversed && $0.ref == number }) else { continue }
                    _ = try? levy.counter.reverse(receiptNo: number, reason: "录入错误 keyed in error", now: now)
                    break
                }
            }
            if chance(10), let employer = Self.employers.randomElement(using: &rng) {
                _ = try? levy.counter.withdraw(employer: employer, period: nov, now: now)
            }
        }

        func check(_ day: String) throws {
            let report = try root.json("Outbox/reports/reconciliation-\(day).json")
            let close = try #require(report["receivable_close_fen"] as? Int)
            #expect(report["balanced"] as? Bool == true, "seed \(seed), \(day): \(report)")
            if let lastClose { #expect(report["receivable_open_fen"] as? Int == lastClose, "seed \(seed), \(day): open is yesterday's close") }
            lastClose = close
            let open = report["receivable_open_fen"] as? Int ?? 0
            let flows = (report["declared_fen"] as? Int ?? 0) + (report["late_fee_fen"] as? Int ?? 0) - (report["paid_fen"] as? Int ?? 0)
                + (report["reversed_fen"] as? Int ?? 0) - (report["withdrawn_fen"] as? Int ?? 0)
            #expect(open + flows == close, "seed \(seed), \(day): the equation")
            // The employers' statements add up to the ledger.
            let levy = try root.levy()
            let now = try #require(levy.loaded.clock.parseAsOf("\(day)T23:59:00"))
            var statements: Int64 = 0
            for employer in Self.employers {
                let statement = try Statement.of(employer: employer, year: 2026, loaded: levy.loaded, ledger: levy.ledger, now: now)
                _ = try statement.write(to: Root(path: root.path))
                let json = try root.json("Outbox/statements/\(employer)/\(employer)-2026.json")
                statements += Int64((json["totals"] as? [String: Any])?["outstanding_fen"] as? Int ?? -1)
            }
            #expect(statements == Int64(close), "seed \(seed), \(day): statements \(statements) against the ledger's \(close)")
            #expect(try levy.ledger.receivableOutstanding() == Int64(close))
            checkedDays += 1
        }

        var previousDay: String?
        for day in 2...30 {
            let date = String(format: "2026-11-%02d", day)
            // Mornings: files arrive.
            for employer in Self.employers where chance(day < 10 ? 30 : 8) { try declare(employer, at: day) }
            if day > 7 && chance(25) { try refundSomeSettledDebit(on: day) }
            try root.run("\(date)T09:00:00")
            try counterWork(at: "\(date)T11:00:00")
            try root.run("\(date)T17:30:00")   // a window day's cut, overdue after the due date
            if previousDay != nil || day == 2 { try check(date) }
            previousDay = date
            // Evenings: the banks answer today's debits.
            try answerBank("ICBC01", on: day, at: "\(date)T20:00:00")
            try answerBank("CCB01", on: day, at: "\(date)T20:00:00")
        }
        try root.run("2026-12-01T09:00:00")
        try check("2026-12-01")
        #expect(checkedDays == 30)
        // The month did what it is meant to: every kind of movement happened (fixed seeds; a random one may miss some).
        let kinds = Set(try (2...30).flatMap { try root.ledger().moneyTotals(day: CivilDate(year: 2026, month: 11, day: $0)) }.map(\.kind))
        let wanted: Set<MoneyKind> = [.declared, .withdrawn, .paid, .lateFee, .sent, .confirmed, .rejected, .credited, .reversed]
        let bankReversal = try root.ledger().declarations(states: DeclarationState.allCases, period: Period(nov)!)
            .contains { try root.ledger().movements(declarationID: $0.id).contains { $0.kind == .reversed && $0.bank != nil } }
        if seed < 9 { #expect(wanted.isSubset(of: kinds) && bankReversal, "seed \(seed): only \(kinds), bank reversal \(bankReversal)") }
        guard case .intact = try root.ledger().verifyJournal() else {
            Issue.record("seed \(seed): the journal's chain is broken")
            return
        }
    }
}
