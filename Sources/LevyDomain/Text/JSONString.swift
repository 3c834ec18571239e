/// Appends `s` as a JSON string literal, escaped as levy's JSON encoder escapes it: one spelling for
/// every string, so bytes that are hashed (the journal's entries) are the same wherever they are made.
/// Runs of bytes that need no escape are copied whole: every receipt's strings pass here.
package func appendJSONString(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var text = s
    text.withUTF8 { bytes in
        var start = 0
        for i in 0..<bytes.count {
            let b = bytes[i]
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 10: out.append(contentsOf: "\\n".utf8)
            case 13: out.append(contentsOf: "\\r".utf8)
            case 9: out.append(contentsOf: "\\t".utf8)
            case 8: out.append(contentsOf: "\\b".utf8)
            case 12: out.append(contentsOf: "\\f".utf8)
            default: out.append(contentsOf: "\\u00".utf8 + [jsonHexDigits[Int(b >> 4)], jsonHexDigits[Int(b & 15)]])
            }
            start = i + 1
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
    }
    out.append(UInt8(ascii: "\""))
}

private let jsonHexDigits: [UInt8] = Array("0123456789abcdef".utf8)
