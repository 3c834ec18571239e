/// Employer and employee amounts of one insurance, in fen.
package struct ContributionAmounts: Sendable, Hashable, Codable {
    package var employerFen: Fen
    package var employeeFen: Fen

    package init(employerFen: Fen = 0, employeeFen: Fen = 0) {
        self.employerFen = employerFen
        self.employeeFen = employeeFen
    }

    enum CodingKeys: String, CodingKey {
        case employerFen = "employer_fen"
        case employeeFen = "employee_fen"
    }
}

/// Sums of a declaration: per insurance and side, each a sum of per-person roundings.
package struct ContributionTotals: Sendable, Hashable {
    /// Employer then employee amount per insurance, in `Insurance.allCases` order (a flat array: this is the hot path).
    var sums = [Fen](repeating: 0, count: Insurance.allCases.count * 2)
    package var headcount = 0
    package var totalBaseFen: Fen = 0

    package init() {}

    package var byInsurance: [Insurance: ContributionAmounts] {
        Dictionary(uniqueKeysWithValues: Insurance.allCases.enumerated().map {
            ($1, ContributionAmounts(employerFen: sums[$0 * 2], employeeFen: sums[$0 * 2 + 1]))
        })
    }
    package var employerFen: Fen { stride(from: 0, to: sums.count, by: 2).reduce(0) { $0 + sums[$1] } }
    package var employeeFen: Fen { stride(from: 1, to: sums.count, by: 2).reduce(0) { $0 + sums[$1] } }
    package var totalFen: Fen { employerFen + employeeFen }
}

/// The contribution arithmetic of one period for one employer: rates fixed, applied person by person.
///
/// Each side of each insurance is rounded per person (Rules `rounding`); totals are sums of those.
package struct ContributionSchedule: Sendable {
    package let parameters: PeriodParameters
    package let rounding: Rounding
    private let rates: [(Insurance, RatePair)]

    package init(parameters: PeriodParameters, riskClass: Int, rounding: Rounding) {
        self.parameters = parameters
        self.rounding = rounding
        let byInsurance = parameters.rates(riskClass: riskClass)
        self.rates = Insurance.allCases.map { ($0, byInsurance[$0]!) }
    }

    /// What becomes of a declared base: the base used and whether it was raised or capped.
    package enum Adjustment: Sendable, Hashable { case none, raised, capped, belowFloor }

    package func adjust(_ declared: Fen) -> (base: Fen, adjustment: Adjustment) {
        if declared < parameters.floor {
            return parameters.belowFloor == .raise ? (parameters.floor, .raised) : (declared, .belowFloor)
        }
        if declared > parameters.ceiling { return (parameters.ceiling, .capped) }
        return (declared, .none)
    }

    /// Adds one insured person with an (already adjusted) base to the totals.
    package func add(base: Fen, to totals: inout ContributionTotals) {
        totals.headcount += 1
        totals.totalBaseFen += base
        for (i, (_, pair)) in rates.enumerated() {
            totals.sums[i * 2] += rounding.apply(pair.employer, to: base)
            totals.sums[i * 2 + 1] += rounding.apply(pair.employee, to: base)
        }
    }
}
