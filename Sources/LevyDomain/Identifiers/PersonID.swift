/// An 18-character resident ID (GB 11643-1999) that has passed its MOD 11-2 check and birth-date test.
///
/// The first 17 digits determine the check character, so they alone identify the person:
/// ``key`` packs them into an `Int64`, the form the ledger indexes.
package struct PersonID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// The 17 leading digits as an integer (< 10^17).
    package let key: Int64

    package init(key: Int64) { self.key = key }

    package static func < (a: PersonID, b: PersonID) -> Bool { a.key < b.key }

    /// Weights 2^(17−i) mod 11 for positions 1…17.
    static let weights: [Int] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// Why a text is not a resident ID.
    package enum Problem: Error, Sendable, Hashable {
        case old15
        case malformed
        case checksum(expected: Character)
        case birthDate
    }

    /// Parses a resident ID; `x` is accepted for `X`. `today` bounds the birth date.
    package static func parse(_ text: Substring, today: CivilDate) -> Result<PersonID, Problem> {
        var text = text
        if let r = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0, today: today) }) { return r }
        text.makeContiguousUTF8()
        return text.utf8.withContiguousStorageIfAvailable { parse(bytes: $0, today: today) } ?? .failure(.malformed)
    }

    static func parse(bytes: UnsafeBufferPointer<UInt8>, today: CivilDate) -> Result<PersonID, Problem> {
        if bytes.count == 15, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .failure(.old15) }
        guard bytes.count == 18 else { return .failure(.malformed) }
        var key: Int64 = 0
        var sum = 0
        for i in 0..<17 {
            let b = bytes[i]
            guard b >= 48 && b <= 57 else { return .failure(.malformed) }
            let digit = Int(b - 48)
            key = key * 10 + Int64(digit)
            sum += digit * weights[i]
        }
        var last = bytes[17]
        if last == UInt8(ascii: "x") { last = UInt8(ascii: "X") }
        guard (last >= 48 && last <= 57) || last == UInt8(ascii: "X") else { return .failure(.malformed) }
        let expected = checkCharacters[sum % 11]
        guard last == expected else { return .failure(.checksum(expected: Character(UnicodeScalar(expected)))) }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(bytes[$1] - 48) } }
        let birth = CivilDate(year: number(6..<10), month: number(10..<12), day: number(12..<14))
        // Field by field: for valid dates the order of `<=`, without two day numbers for every row.
        guard birth.isValid, (birth.year, birth.month, birth.day) <= (today.year, today.month, today.day) else {
            return .failure(.birthDate)
        }
        return .success(PersonID(key: key))
    }

    /// The full 18-character ID.
    package var text: String {
        var digits = [UInt8](repeating: 48, count: 18)
        var k = key
        var sum = 0
        for i in stride(from: 16, through: 0, by: -1) {
            digits[i] = UInt8(48 + k % 10)
            k /= 10
        }
        for i in 0..<17 { sum += Int(digits[i] - 48) * Self.weights[i] }
        digits[17] = Self.checkCharacters[sum % 11]
        return String(decoding: digits, as: UTF8.self)
    }

    /// The masked form used in every report and log: `370102********1234`.
    package var masked: String { PersonID.mask(text) }
    package var description: String { masked }

    /// Masks any text that stands for a person ID: first 6 and last 4 characters kept.
    package static func mask(_ text: some StringProtocol) -> String {
        let chars = Array(text)
        guard chars.count > 10 else { return String(repeating: "*", count: chars.count) }
        return String(chars[0..<6]) + String(repeating: "*", count: chars.count - 10) + String(chars[(chars.count - 4)...])
    }

    /// Masks every run of 15 or more digits (an `X` may end it) inside free text: a person ID can
    /// turn up anywhere a file is wrong — a headerless file's first row read as column names, a
    /// shifted column — and must not reach a report unmasked.
    package static func redactEmbedded(_ text: String) -> String {
        var run = 0
        var longest = 0
        for b in text.utf8 {
            run = (b >= 0x30 && b <= 0x39) ? run + 1 : 0
            longest = max(longest, run)
        }
        guard longest >= 15 else { return text }
        var out = ""
        var pending = ""
        func flush() {
            out += pending.count >= 15 ? mask(pending) : pending
            pending = ""
        }
        for c in text {
            if c.isASCII, c.isNumber {
                pending.append(c)
            } else if (c == "X" || c == "x") && pending.count >= 14 {
                pending.append(c)
                flush()
            } else {
                flush()
                out.append(c)
            }
        }
        flush()
        return out
    }
}
