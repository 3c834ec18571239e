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

/// A JSON document for the outputs written for every file (receipts), serialized to exactly the bytes
/// ``jsonBytes(_:)`` gives for the same content — sorted keys, pretty, slashes unescaped — without
/// the generic encoder, whose boxing and key sorting showed among the top costs of a day of small files.
package indirect enum JSONValue {
    case string(String)
    case int(Int64)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    package static func int(_ n: Int) -> JSONValue { .int(Int64(n)) }
    package static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
    package static func optional(_ n: Int?) -> JSONValue { n.map(JSONValue.int) ?? .null }

    /// The document and a final newline, as ``jsonBytes(_:)`` writes it.
    package var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(2048)
        write(&out, indent: 0)
        out.append(10)
        return out
    }

    private func write(_ out: inout [UInt8], indent: Int) {
        switch self {
        case .string(let s): Self.writeString(s, &out)
        case .int(let n): out.append(contentsOf: String(n).utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            Self.writeContainer(UInt8(ascii: "["), UInt8(ascii: "]"), items, indent: indent, &out) { item, out in
                item.write(&out, indent: indent + 2)
            }
        case .object(let members):
            let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            Self.writeContainer(UInt8(ascii: "{"), UInt8(ascii: "}"), sorted, indent: indent, &out) { member, out in
                Self.writeString(member.0, &out)
                out.append(contentsOf: " : ".utf8)
                member.1.write(&out, indent: indent + 2)
            }
        }
    }

    /// `[` or `{`, one element per line indented two more, commas between, and the closing bracket at
    /// `indent`; an empty container keeps its blank line, as the encoder writes it.
    private static func writeContainer<T>(_ open: UInt8, _ close: UInt8, _ elements: [T], indent: Int, _ out: inout [UInt8],
                                          _ element: (T, inout [UInt8]) -> Void) {
        out.append(open)
        out.append(10)
        for (i, e) in elements.enumerated() {
            out.append(contentsOf: repeatElement(32, count: indent + 2))
            element(e, &out)
            if i < elements.count - 1 { out.append(UInt8(ascii: ",")) }
            out.append(10)
        }
        if elements.isEmpty { out.append(10) }
        out.append(contentsOf: repeatElement(32, count: indent))
        out.append(close)
    }

    /// `s` as a JSON string literal, escaped as the encoder escapes it (also used by the JSON log lines).
    package static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        writeString(s, &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeString(_ s: String, _ out: inout [UInt8]) { appendJSONString(s, to: &out) }
}

extension FindingJSON {
    var json: JSONValue {
        .object([("code", .string(finding.code.rawValue)), ("line", .optional(finding.line)), ("path", .optional(finding.path)),
                 ("field", .optional(finding.field)), ("value", .optional(finding.value)), ("message", .string(finding.message))])
    }
}
