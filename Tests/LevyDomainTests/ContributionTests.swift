import Testing
@testable import LevyDomain

/// A deliberately different implementation: decimal strings multiplied digit by digit, rounded by hand.
enum NaiveArithmetic {
    /// base (fen) × rate text → exact amount as (integer fen, fraction digits as string).
    static func contribution(baseFen: Int64, rate: String, mode: String) -> Int64 {
        let parts = rate.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let digits = String(parts[0]) + fraction
        let scale = fraction.count
        // product as a decimal string of base × digits
        var product = [Int](repeating: 0, count: 40)
        let a = Array(String(baseFen).reversed()).map { Int(String($0))! }
        let b = Array(digits.reversed()).map { Int(String($0))! }
        for (i, x) in a.enumerated() { for (j, y) in b.enumerated() { product[i + j] += x * y } }
        for k in 0..<(product.count - 1) { product[k + 1] += product[k] / 10; product[k] %= 10 }
        // integer part = product / 10^scale; remainder digits = lowest `scale` digits
        var whole: Int64 = 0
        for k in stride(from: product.count - 1, through: scale, by: -1) { whole = whole * 10 + Int64(product[k]) }
        let remainder = (0..<scale).reversed().map { product[$0] }
        if mode == "half_up" {
            return whole + ((remainder.first ?? 0) >= 5 ? 1 : 0)
        }
        // up_to_jiao: any amount beyond a whole jiao goes up to the next jiao
        let anyFraction = remainder.contains { $0 != 0 }
        if whole % 10 == 0 && !anyFraction { return whole }
        return (whole / 10 + 1) * 10
    }
}

@Suite struct ContributionTests {
    static let rateTexts = ["0.16", "0.08", "0.07", "0.02", "0.007", "0.003", "0.0095", "0.011", "0.019", "0", "0.0625", "0.105"]

    func parameters(_ rng: inout some RandomNumberGenerator) -> (PeriodParameters, [Insurance: (String, String)]) {
        func pick() -> String { Self.rateTexts.randomElement(using: &rng)! }
        let texts: [Insurance: (String, String)] = [
            .pension: (pick(), pick()), .medical: (pick(), pick()), .unemployment: (pick(), pick()),
            .workInjury: (pick(), "0"), .maternity: (pick(), "0"),
        ]
        func pair(_ i: Insurance) -> RatePair { RatePair(employer: Rate(texts[i]!.0)!, employee: Rate(texts[i]!.1)!) }
        let p = PeriodParameters(from: Period("2026-01")!, floor: 441600, ceiling: 2208000, belowFloor: .raise,
                                 pension: pair(.pension), medical: pair(.medical), unemployment: pair(.unemployment),
                                 maternity: Rate(texts[.maternity]!.0)!, workInjury: [3: Rate(texts[.workInjury]!.0)!])
        return (p, texts)
    }

    /// Many random declarations: the schedule's totals equal the naive per-person computation to the fen.
    @Test(arguments: ["half_up", "up_to_jiao"])
    func matchesNaiveComputation(_ mode: String) {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let (params, texts) = parameters(&rng)
            let schedule = ContributionSchedule(parameters: params, riskClass: 3, rounding: Rounding(rawValue: mode)!)
            var totals = ContributionTotals()
            var expected: [Insurance: (Int64, Int64)] = [:]
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                let declared = Int64.random(in: 0...3_000_000, using: &rng)
                let base = min(max(declared, params.floor), params.ceiling)
                #expect(schedule.adjust(declared).base == base)
                schedule.add(base: base, to: &totals)
                for i in Insurance.allCases {
                    let e = NaiveArithmetic.contribution(baseFen: base, rate: texts[i]!.0, mode: mode)
                    let p = NaiveArithmetic.contribution(baseFen: base, rate: texts[i]!.1, mode: mode)
                    expected[i, default: (0, 0)].0 += e
                    expected[i, default: (0, 0)].1 += p
                }
            }
            for i in Insurance.allCases {
                #expect(totals.byInsurance[i]!.employerFen == expected[i]!.0, "\(i) employer, rate \(texts[i]!.0)")
                #expect(totals.byInsurance[i]!.employeeFen == expected[i]!.1, "\(i) employee, rate \(texts[i]!.1)")
            }
            #expect(totals.totalFen == totals.employerFen + totals.employeeFen)
        }
    }

    /// Bases up to the ceiling take arithmetic without overflow checks (proved safe once per schedule);
    /// a schedule whose ceiling is too large for that proof takes the checked path for every base. Both
    /// give the same totals, and the naive computation's, for every base including 0 and the ceiling.
    @Test(arguments: ["half_up", "up_to_jiao"])
    func uncheckedAndCheckedArithmeticAgree(_ mode: String) {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let (params, texts) = parameters(&rng)
            let huge = PeriodParameters(from: params.from, floor: params.floor, ceiling: Int64.max / 4, belowFloor: params.belowFloor,
                                        pension: params.pension, medical: params.medical, unemployment: params.unemployment,
                                        maternity: params.maternity, workInjury: params.workInjury)
            let rounding = Rounding(rawValue: mode)!
            let fast = ContributionSchedule(parameters: params, riskClass: 3, rounding: rounding)
            let checked = ContributionSchedule(parameters: huge, riskClass: 3, rounding: rounding)
            var a = ContributionTotals(), b = ContributionTotals()
            var bases: [Int64] = [0, 1, 9, 10, 99, params.floor - 1, params.ceiling - 1, params.ceiling]
            for _ in 0..<50 { bases.append(Int64.random(in: 0...params.ceiling, using: &rng)) }
            for base in bases {
                fast.add(base: base, to: &a)
                checked.add(base: base, to: &b)
            }
            #expect(a == b)
            for i in Insurance.allCases {
                let expected = bases.reduce(Int64(0)) { $0 + NaiveArithmetic.contribution(baseFen: $1, rate: texts[i]!.0, mode: mode) }
                #expect(a.byInsurance[i]!.employerFen == expected, "\(i) employer, rate \(texts[i]!.0)")
            }
        }
        // Above the proved limit (a base over the ceiling, as no adjusted base is): checked, and still exact.
        var rng2 = SystemRandomNumberGenerator()
        let (params, texts) = parameters(&rng2)
        let schedule = ContributionSchedule(parameters: params, riskClass: 3, rounding: Rounding(rawValue: mode)!)
        var totals = ContributionTotals()
        let big: Int64 = 123_456_789_012
        schedule.add(base: big, to: &totals)
        #expect(totals.byInsurance[.pension]!.employerFen == NaiveArithmetic.contribution(baseFen: big, rate: texts[.pension]!.0, mode: mode))
    }

    @Test func adjustsBelowFloorAndAboveCeiling() {
        var rng = SystemRandomNumberGenerator()
        let (params, _) = parameters(&rng)
        let s = ContributionSchedule(parameters: params, riskClass: 3, rounding: .halfUp)
        #expect(s.adjust(100000) == (441600, .raised))
        #expect(s.adjust(3000000) == (2208000, .capped))
        #expect(s.adjust(600000) == (600000, .none))
        #expect(s.adjust(441600) == (441600, .none))
        #expect(s.adjust(2208000) == (2208000, .none))
    }
}
