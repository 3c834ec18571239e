import Testing
@testable import LevyDomain

@Suite struct MoneyTests {
    @Test(arguments: [("6000", 600000), ("6000.5", 600050), ("6000.05", 600005), (" 0.01 ", 1), ("+12.30", 1230), ("0", 0)] as [(String, Int64)])
    func parsesYuan(_ text: String, _ fen: Int64) {
        #expect(Yuan.parse(text) == .success(fen))
    }

    @Test(arguments: [("abc", Yuan.Problem.notANumber), ("", .notANumber), ("1.2.3", .notANumber), ("6,000.00", .notANumber),
                      ("-5", .negative), ("6000.005", .tooManyDecimals), ("6000.000", .tooManyDecimals),
                      ("99999999999999", .tooLarge), (".", .notANumber)])
    func refusesBadYuan(_ text: String, _ problem: Yuan.Problem) {
        #expect(Yuan.parse(text) == .failure(problem))
    }

    @Test(arguments: [(Int64(123456), "1234.56"), (5, "0.05"), (0, "0.00"), (-150, "-1.50")])
    func formatsYuan(_ fen: Int64, _ text: String) { #expect(Yuan.format(fen) == text) }

    @Test(arguments: ["0.16", "0.0005", "1", "0", "0.007", "1.0"])
    func parsesRates(_ text: String) throws {
        let rate = try #require(Rate(text))
        #expect(Rate(rate.description)! == rate || rate.description.hasPrefix(text.prefix(3)))
    }

    @Test(arguments: ["1.5", "abc", "0.1234567891", ".5", "5.", "-0.1", "2"])
    func refusesBadRates(_ text: String) { #expect(Rate(text) == nil) }

    /// The one rounding gives the same fen in 64 bits (every contribution), in 128 bits (late fees,
    /// amounts past the 64-bit product) and as the plain formula: half-up is ⌊(2n + d) / 2d⌋, up to the
    /// jiao is ⌈n / 10d⌉ × 10.
    @Test func theRoundingIsTheSameInEveryWidth() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let scale = Int.random(in: 0...9, using: &rng)  // a rate is at most 1, as Rules allow
            let rate = Rate(numerator: Int64.random(in: 0...Rate.powersOfTen[scale], using: &rng), scale: scale)
            let base = Int64.random(in: 0...(Bool.random(using: &rng) ? 10_000_000_000 : Int64.max / 2), using: &rng)
            let n = Int128(base) * Int128(rate.numerator), d = Int128(rate.denominator)
            let halfUp = Fen((2 * n + d) / (2 * d)), jiao = Fen((n + 10 * d - 1) / (10 * d) * 10)
            #expect(Rounding.halfUp.apply(rate, to: base) == halfUp, "\(base) × \(rate)")
            #expect(Rounding.upToJiao.apply(rate, to: base) == jiao, "\(base) × \(rate)")
            #expect(Rounding.halfUp.round(n, over: d) == halfUp && Rounding.upToJiao.round(n, over: d) == jiao)
            if base < 1 << 30 {
                #expect(Rounding.halfUp.divide(base * rate.numerator, by: rate.denominator) == halfUp)
            }
        }
    }

    @Test(arguments: [
        // base fen, rate, half_up, up_to_jiao
        (Int64(600000), "0.16", Int64(96000), Int64(96000)),
        (450050, "0.007", 3150, 3160),    // 3150.35 fen
        (450070, "0.007", 3150, 3160),    // 3150.49 fen
        (450072, "0.007", 3151, 3160),    // 3150.504 fen
        (100, "0.005", 1, 10),            // 0.5 fen: half up
        (100, "0.0049", 0, 10),
        (0, "0.16", 0, 0),
    ] as [(Int64, String, Int64, Int64)])
    func roundsPerMode(_ base: Int64, _ rate: String, _ halfUp: Int64, _ jiao: Int64) {
        let r = Rate(rate)!
        #expect(Rounding.halfUp.apply(r, to: base) == halfUp)
        #expect(Rounding.upToJiao.apply(r, to: base) == jiao)
    }

    @Test(arguments: [
        (Int64(1_000_000), 3, Int64(1500)),  // 10,000.00 × 0.0005 × 3
        (1_246_590, 1, 623),                 // 623.295 → 623
        (1_246_591, 1, 623),                 // 623.2955 → 623
        (1_246_610, 1, 623),                 // 623.305 → 623 (.305 rounds down? 0.305 < .5)
        (1_000_100, 1, 500),                 // 500.05 → 500
        (1_001_000, 1, 501),                 // 500.5 → 501
        (500_000, 0, 0),
    ] as [(Int64, Int, Int64)])
    func lateFee(_ unpaid: Int64, _ days: Int, _ fee: Int64) {
        #expect(LateFee.fee(unpaid: unpaid, dailyRate: Rate("0.0005")!, days: days) == fee)
    }

    @Test func lateFeeCountsFromTheDayAfterTheDueDay() {
        let due = CivilDate(year: 2026, month: 11, day: 10)
        #expect(LateFee.daysLate(due: due, on: due) == 0)
        #expect(LateFee.daysLate(due: due, on: CivilDate(year: 2026, month: 11, day: 11)) == 1)
        #expect(LateFee.daysLate(due: due, on: CivilDate(year: 2026, month: 12, day: 10)) == 30)
        #expect(LateFee.daysLate(due: due, on: CivilDate(year: 2026, month: 11, day: 1)) == 0)
    }
}
