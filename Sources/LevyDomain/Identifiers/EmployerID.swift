/// An 18-character Unified Social Credit Code (GB 32100-2015).
package struct EmployerID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let text: String

    package static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
    static let weights: [Int] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    package enum Problem: Error, Sendable, Hashable {
        case malformed
        case checksum(expected: Character)
    }

    /// Accepts an 18-character code of the 31-symbol alphabet without checking its check character
    /// (the registry in `Rules/employers.csv` may hold codes issued with a bad one).
    package init?(registered text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 18, bytes.allSatisfy({ Self.alphabet.contains($0) }) else { return nil }
        self.text = String(text)
    }

    /// Parses a code and verifies its check character.
    package static func parse(_ text: some StringProtocol) -> Result<EmployerID, Problem> {
        let upper = String(text).uppercased()
        let bytes = Array(upper.utf8)
        guard bytes.count == 18 else { return .failure(.malformed) }
        var sum = 0
        for i in 0..<17 {
            guard let index = alphabet.firstIndex(of: bytes[i]) else { return .failure(.malformed) }
            sum += index * weights[i]
        }
        guard alphabet.contains(bytes[17]) else { return .failure(.malformed) }
        let expected = alphabet[(31 - sum % 31) % 31]
        guard bytes[17] == expected else { return .failure(.checksum(expected: Character(UnicodeScalar(expected)))) }
        return .success(EmployerID(unchecked: upper))
    }

    package init(unchecked text: String) { self.text = text }
    package static func < (a: EmployerID, b: EmployerID) -> Bool { a.text < b.text }
    package var description: String { text }

    /// Completes 17 leading characters with their check character (used by generators and tests).
    package static func withCheckCharacter(_ first17: String) -> EmployerID? {
        let bytes = Array(first17.utf8)
        guard bytes.count == 17 else { return nil }
        var sum = 0
        for i in 0..<17 {
            guard let index = alphabet.firstIndex(of: bytes[i]) else { return nil }
            sum += index * weights[i]
        }
        let check = alphabet[(31 - sum % 31) % 31]
        return EmployerID(unchecked: first17 + String(UnicodeScalar(check)))
    }
}

extension PersonID {
    /// Completes 17 digits with their check character (used by generators and tests).
    package static func withCheckCharacter(_ first17: String) -> String {
        let bytes = Array(first17.utf8)
        var sum = 0
        for i in 0..<17 { sum += Int(bytes[i] - 48) * weights[i] }
        return first17 + String(UnicodeScalar(checkCharacters[sum % 11]))
    }
}
