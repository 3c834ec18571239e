import Foundation
import LevyDomain
import LevyLedger

/// `levy status`: per period, how many declarations are in each state and their sums; when the next
/// debit cut is; what waits in the inbox or sits in quarantine; and the debits the bank has not
/// answered in time (SPEC §2, §9).
package struct StatusReport: Encodable, Sendable {
    package struct PeriodLine: Encodable, Sendable {
        var period: String
        var counts: [DeclarationState: Int]
        var sums: [DeclarationState: Fen]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        /// `{"period", "<state>": {"count", "sum_fen"} for each state, "counts": {…}, "sums_fen": {…}}`.
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(period, forKey: Key("period"))
            var counts: [String: Int] = [:], sumsFen: [String: Fen] = [:]
            for state in StatusReport.states {
                let n = self.counts[state] ?? 0, fen = sums[state] ?? 0
                try c.encode(Cell(count: n, sumFen: fen), forKey: Key(state.rawValue))
                counts[state.rawValue] = n
                sumsFen[state.rawValue] = fen
            }
            try c.encode(counts, forKey: Key("counts"))
            try c.encode(sumsFen, forKey: Key("sums_fen"))
        }

        struct Cell: Encodable {
            var count: Int
            var sumFen: Fen
            enum CodingKeys: String, CodingKey { case count, sumFen = "sum_fen" }
        }
    }

    package struct LateDebit: Encodable, Sendable {
        var declarationID: String
        var bankCode: String
        var amountFen: Fen
        var since: String
        var kind: String
        enum CodingKeys: String, CodingKey { case declarationID = "declaration_id", bankCode = "bank_code", amountFen = "amount_fen", since, kind }
    }

    /// The states `status` shows (a superseded declaration is not one of an employer's).
    static let states: [DeclarationState] = [.accepted, .inFlight, .paid, .overdue, .failed, .withdrawn]

    var periods: [PeriodLine]
    var nextCut: String?
    /// The next cut as people read it (`2026-11-06 17:00`).
    var nextCutShown: String?
    var filesWaiting: Int
    var quarantined: Int
    var asOf: String
    var unanswered: [LateDebit]
    var confirmedNotCredited: [LateDebit]

    enum CodingKeys: String, CodingKey {
        case periods, nextCut = "next_cut", filesWaiting = "files_waiting", quarantined, asOf = "as_of", unanswered
        case confirmedNotCredited = "confirmed_not_credited"
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(periods, forKey: .periods)
        try c.encode(nextCut, forKey: .nextCut)  // null when no window day is within two months
        try c.encode(filesWaiting, forKey: .filesWaiting)
        try c.encode(quarantined, forKey: .quarantined)
        try c.encode(asOf, forKey: .asOf)
        try c.encode(unanswered, forKey: .unanswered)
        try c.encode(confirmedNotCredited, forKey: .confirmedNotCredited)
    }

    /// The status of a root as of `now`; `ledger` nil when levy has not run there yet.
    package static func of(root: Root, loaded: LoadedRules, ledger: (any Ledger)?, period: Period?, now: AgencyTime) throws -> StatusReport {
        let statuses = try ledger?.status(period: period) ?? []
        let nextCut = try loaded.nextCut(after: now) { day in try ledger?.cutDone(collectionDate: day) ?? false }
        let late = try ledger.map { try loaded.awaitingAnswers($0, now: now) } ?? []
        func listed(_ kind: BankException.Kind) -> [LateDebit] {
            late.filter { $0.kind == kind }.map {
                LateDebit(declarationID: $0.declarationID, bankCode: $0.bank, amountFen: $0.amountFen, since: $0.since.description, kind: $0.kind.rawValue)
            }
        }
        return StatusReport(periods: statuses.map { PeriodLine(period: $0.period.description, counts: $0.counts, sums: $0.sums) },
                            nextCut: nextCut?.iso8601, nextCutShown: nextCut.map { "\($0.date) \($0.time)" }, filesWaiting: root.filesWaiting(), quarantined: root.quarantinedFiles(),
                            asOf: now.iso8601, unanswered: listed(.unanswered), confirmedNotCredited: listed(.confirmedNotCredited))
    }

    /// For people: the next cut, the inbox, the late debits, then a line per period.
    package func text(period: Period?) -> String {
        var lines: [String] = []
        lines.append("下次扣款 next debit cut: \(nextCutShown ?? "none within two months")   "
                     + "待处理 files waiting: \(filesWaiting)   隔离 quarantined: \(quarantined)\(quarantined > 0 ? " (see .levy/quarantine/*.reason.txt)" : "")")
        for e in unanswered + confirmedNotCredited {
            let what = e.kind == BankException.Kind.unanswered.rawValue ? "银行未答复 unanswered" : "已确认未入账 confirmed_not_credited"
            lines.append("\(what): \(e.declarationID) \(e.bankCode) \(Yuan.format(e.amountFen)) since \(e.since)")
        }
        if periods.isEmpty {
            lines.append("No declarations\(period.map { " for \($0)" } ?? "") yet.")
            return lines.joined(separator: "\n") + "\n"
        }
        lines.append("period   " + Self.states.map { $0.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0) }.joined())
        for p in periods {
            var line = p.period.padding(toLength: 9, withPad: " ", startingAt: 0)
            for state in Self.states {
                line += "\(p.counts[state] ?? 0) / \(Yuan.format(p.sums[state] ?? 0))".padding(toLength: 22, withPad: " ", startingAt: 0)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
