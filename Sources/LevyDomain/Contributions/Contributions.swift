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
    /// Adds the totals of other persons of the same declaration (the second half of a file read in two).
    package mutating func add(_ other: ContributionTotals) {
        for i in sums.indices { sums[i] += other.sums[i] }
        headcount += other.headcount
        totalBaseFen += other.totalBaseFen
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
    /// The rates that are not zero (a zero rate adds nothing under either rounding), each with its slot
    /// in ``ContributionTotals``: this runs once per person.
    private let terms: [Term]
    /// Bases in `0...fastLimit` need no overflow check: every product and rounding of them fits 63 bits
    /// (checked once here). Overflow-checked arithmetic is 3–4 times slower per person.
    private let fastLimit: Fen

    private struct Term: Sendable {
        let slot: Int
        let rate: Rate
    }

    package init(parameters: PeriodParameters, riskClass: Int, rounding: Rounding) {
        self.parameters = parameters
        self.rounding = rounding
        let byInsurance = parameters.rates(riskClass: riskClass)
        var terms: [Term] = []
        for (i, insurance) in Insurance.allCases.enumerated() {
            let pair = byInsurance[insurance]!
            if pair.employer.numerator != 0 { terms.append(Term(slot: i * 2, rate: pair.employer)) }
            if pair.employee.numerator != 0 { terms.append(Term(slot: i * 2 + 1, rate: pair.employee)) }
        }
        self.terms = terms
        let limit = max(parameters.ceiling, 0)
        let fits = terms.allSatisfy { t in
            let (product, overflow) = limit.multipliedReportingOverflow(by: t.rate.numerator)
            let (jiao, jiaoOverflow) = t.rate.denominator.multipliedReportingOverflow(by: 10)
            return !overflow && !jiaoOverflow && !product.addingReportingOverflow(jiao).overflow
        }
        fastLimit = fits ? limit : -1
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
        let rounding = self.rounding
        let fast = base >= 0 && base <= fastLimit
        terms.withUnsafeBufferPointer { terms in
            totals.sums.withUnsafeMutableBufferPointer { sums in
                guard fast else {
                    for t in terms { sums[t.slot] += rounding.apply(t.rate, to: base) }
                    return
                }
                // The product cannot overflow (see `fastLimit`). One loop per rounding, so that the
                // rounding is decided once per person, not once per insurance.
                switch rounding {
                case .halfUp:
                    for t in terms { sums[t.slot] += Rounding.halfUp.divide(base &* t.rate.numerator, by: t.rate.denominator) }
                case .upToJiao:
                    for t in terms { sums[t.slot] += Rounding.upToJiao.divide(base &* t.rate.numerator, by: t.rate.denominator) }
                }
            }
        }
    }
}
