/// Appends `s` as a JSON string literal, escaped as levy's JSON encoder escapes it: one spelling for
/// every string, so bytes that are hashed (the journal's entries) are the same wherever they are made.
package func appendJSONString(_ s: String, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
        case 10: out.append(contentsOf: "\\n".utf8)
        case 13: out.append(contentsOf: "\\r".utf8)
        case 9: out.append(contentsOf: "\\t".utf8)
        case 8: out.append(contentsOf: "\\b".utf8)
        case 12: out.append(contentsOf: "\\f".utf8)
        case 0..<32: out.append(contentsOf: "\\u00".utf8 + [hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}
