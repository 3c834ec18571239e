import Foundation
import LevyPipeline
import Testing

/// levy writes JSON strings itself (receipts, the journal's hashed bytes); they must be what
/// Foundation's encoder writes for the same string, escape for escape.
@Suite struct JSONStringTests {
    @Test(arguments: ["", "plain", "工资 (2).csv", "a\"b\\c", "line\nbreak\r\ttab", "\u{01}\u{1F}\u{7F}", "/slash/", "\u{08}\u{0C}", "末尾\\"])
    func escapesAsTheEncoderDoes(text: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let expected = String(decoding: try encoder.encode([text]), as: UTF8.self).dropFirst().dropLast()
        #expect(JSONValue.quoted(text) == String(expected), "\(Array(text.utf8))")
    }
}
