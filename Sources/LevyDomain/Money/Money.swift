/// Amounts of money in fen (分, 0.01 yuan). No floating point anywhere in levy.
package typealias Fen = Int64

/// Yuan amounts as people write them: `6000`, `6000.5`, `6000.00`.
package enum Yuan {
    package enum Problem: Error, Sendable, Hashable {
        case notANumber, negative, tooManyDecimals, tooLarge
    }

    /// The largest amount accepted anywhere (10^12 fen = 10 billion yuan): keeps every product in Int64.
    package static let maximum: Fen = 1_000_000_000_000

    /// Parses a non-negative yuan amount with at most two decimals into fen.
    package static func parse(_ text: some StringProtocol) -> Result<Fen, Problem> {
        var text = String(text)
        return text.withUTF8 { parse(bytes: $0) }
    }

    /// The same as ``parse(_:)`` on UTF-8 bytes (the CSV hot path).
    package static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Result<Fen, Problem> {
        var bytes = bytes[...]
        while let f = bytes.first, f == 32 || f == 9 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l == 32 || l == 9 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { return .failure(.notANumber) }
        if bytes.first == UInt8(ascii: "-") {
            return parseUnsigned(bytes.dropFirst()).flatMap { _ in .failure(.negative) }
        }
        if bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        return parseUnsigned(bytes)
    }

    private static func parseUnsigned<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Result<Fen, Problem> {
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var decimals = 0
        var seenDot = false
        var digits = 0
        for b in bytes {
            if b == UInt8(ascii: ".") {
                if seenDot { return .failure(.notANumber) }
                seenDot = true
                continue
            }
            guard b >= 48 && b <= 57 else { return .failure(.notANumber) }
            digits += 1
            if seenDot {
                decimals += 1
                if decimals > 2 { return .failure(.tooManyDecimals) }
                fraction = fraction * 10 + Int64(b - 48)
            } else {
                if whole > maximum / 10 { return .failure(.tooLarge) }
                whole = whole * 10 + Int64(b - 48)
            }
        }
        guard digits > 0 else { return .failure(.notANumber) }
        if decimals == 1 { fraction *= 10 }
        let fen = whole * 100 + fraction
        guard fen <= maximum else { return .failure(.tooLarge) }
        return .success(fen)
    }

    /// `1234.50` for 123450 fen.
    package static func format(_ fen: Fen) -> String {
        let sign = fen < 0 ? "-" : ""
        let m = fen.magnitude
        let cents = m % 100
        return "\(sign)\(m / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}

/// A non-negative decimal rate kept exact as numerator / 10^scale (`"0.0005"` = 5 / 10^4).
package struct Rate: Sendable, Hashable, Codable, CustomStringConvertible {
    package let numerator: Int64
    package let scale: Int
    package let denominator: Int64

    package static let powersOfTen: [Int64] = (0...12).map { (0..<$0).reduce(Int64(1)) { r, _ in r * 10 } }
    package static let zero = Rate(numerator: 0, scale: 0)

    package init(numerator: Int64, scale: Int) {
        self.numerator = numerator
        self.scale = scale
        self.denominator = Rate.powersOfTen[scale]
    }

    /// Parses a decimal string between 0 and 1 with at most 9 decimals.
    package init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let wholeText = parts.first, !wholeText.isEmpty,
              wholeText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), wholeText.count <= 2 else { return nil }
        let fractionText = parts.count == 2 ? parts[1] : ""
        guard fractionText.count <= 9, fractionText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              parts.count == 1 || !fractionText.isEmpty else { return nil }
        let whole = Int64(wholeText)!
        let fraction = fractionText.isEmpty ? 0 : Int64(fractionText)!
        let scale = fractionText.count
        let numerator = whole * Rate.powersOfTen[scale] + fraction
        guard numerator <= Rate.powersOfTen[scale] else { return nil }  // at most 1
        self.init(numerator: numerator, scale: scale)
    }

    package var description: String {
        if scale == 0 { return "\(numerator)" }
        let whole = numerator / denominator
        var fraction = String(numerator % denominator)
        while fraction.count < scale { fraction = "0" + fraction }
        return "\(whole).\(fraction)"
    }
}

/// How an exact amount in fractions of a fen becomes whole fen (Rules `rounding`).
package enum Rounding: String, Sendable, Hashable, Codable, CaseIterable {
    /// Half-up to the fen.
    case halfUp = "half_up"
    /// Any fraction of a jiao (0.1 yuan) rounds up to the next jiao.
    case upToJiao = "up_to_jiao"

    /// `numerator / denominator` fen, rounded: the domain's one rounding, in whatever width the caller
    /// computed the exact amount. Both non-negative, and the caller has made sure nothing overflows
    /// (`numerator + 10 × denominator` fits `T`): the arithmetic wraps instead of checking, as the
    /// contributions of every person of every file come through here.
    @inline(__always)
    package func divide<T: FixedWidthInteger>(_ numerator: T, by denominator: T) -> T {
        switch self {
        case .halfUp:
            let q = numerator / denominator, r = numerator &- q &* denominator
            return r &* 2 >= denominator ? q &+ 1 : q
        case .upToJiao:
            let jiao = denominator &* 10
            return ((numerator &+ jiao &- 1) / jiao) &* 10
        }
    }

    /// Rounds `numerator / denominator` fen (128-bit, so no product of an amount and a rate overflows).
    /// Kept out of line: the rare path of ``apply(_:to:)``, which is inlined into every person's loop.
    @inline(never)
    package func round(_ numerator: Int128, over denominator: Int128) -> Fen {
        Fen(divide(numerator, by: denominator))
    }

    /// `amount × rate`, rounded.
    @inline(__always)
    package func apply(_ rate: Rate, to amount: Fen) -> Fen {
        // Bases are capped at the ceiling, so the product fits 64 bits; 128 bits only when it would not.
        let (product, overflow) = amount.multipliedReportingOverflow(by: rate.numerator)
        if !overflow, rate.denominator < 1 << 58, product < Int64.max - (rate.denominator << 4) {
            return divide(product, by: rate.denominator)
        }
        return round(Int128(amount) * Int128(rate.numerator), over: Int128(rate.denominator))
    }
}
