import Foundation
import LevyDomain

/// Deterministic JSON: sorted keys, pretty, UTF-8 unescaped (a re-run writes the same bytes).
package func jsonBytes(_ value: some Encodable) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [10]
}

/// A finding as it appears in reports: every key present, null where it does not apply.
package struct FindingJSON: Encodable, Sendable {
    let finding: Finding
    package init(_ f: Finding) { finding = f }
    enum Keys: String, CodingKey { case code, line, path, field, value, message }
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(finding.code.rawValue, forKey: .code)
        try c.encode(finding.line, forKey: .line)
        try c.encode(finding.path, forKey: .path)
        try c.encode(finding.field, forKey: .field)
        try c.encode(finding.value, forKey: .value)
        try c.encode(finding.message, forKey: .message)
    }
}

extension Finding {
    /// One line for people: `第 12 行 [E-ID-CHECKSUM] person_id=370102********1234: …`.
    package var textLine: String {
        var s = ""
        if let line { s += "第 \(line) 行 line \(line) " }
        if let path { s += "\(path) " }
        s += "[\(code.rawValue)]"
        if let field { s += " \(field)" }
        if let value { s += "=\(value)" }
        return s + "：" + message
    }
}

/// Amounts formatted for people: `1,234.56`. Built from the integer's digits (a receipt has a dozen).
package func yuanText(_ fen: Fen) -> String {
    var digits: [UInt8] = []
    var m = fen.magnitude
    var i = 0
    repeat {
        if i == 2 { digits.append(UInt8(ascii: ".")) } else if i > 2 && (i - 2) % 3 == 0 { digits.append(UInt8(ascii: ",")) }
        digits.append(UInt8(ascii: "0") + UInt8(m % 10))
        m /= 10
        i += 1
    } while m > 0 || i < 3
    if fen < 0 { digits.append(UInt8(ascii: "-")) }
    return String(decoding: digits.reversed(), as: UTF8.self)
}
