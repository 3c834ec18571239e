/// The text encodings a declaration may arrive in (SPEC §3).
package enum TextEncoding: String, Sendable, Hashable, Codable {
    case utf8 = "UTF-8"
    case utf8BOM = "UTF-8 (BOM)"
    case gb18030 = "GB18030"
}

/// What one streaming pass learns about a file's bytes: is it UTF-8, does it carry a BOM or NULs.
package struct EncodingScan: Sendable {
    package private(set) var validUTF8 = true
    package private(set) var sawNUL = false
    package private(set) var firstBytes: [UInt8] = []
    private var need = 0
    private var lo: UInt8 = 0x80
    private var hi: UInt8 = 0xBF

    package init() {}

    package mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if firstBytes.count < 4 { firstBytes.append(contentsOf: bytes.prefix(4 - firstBytes.count)) }
        guard validUTF8 || !sawNUL else { return }
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if need == 0 {
                // Fast path over ASCII, 8 bytes at a time.
                if b < 0x80 {
                    if b == 0 { sawNUL = true }
                    i += 1
                    while i + 8 <= n {
                        let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                        if word & 0x8080_8080_8080_8080 != 0 { break }
                        // A zero byte anywhere in the word?
                        if (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0 { sawNUL = true }
                        i += 8
                    }
                    continue
                }
                switch b {
                case 0xC2...0xDF: need = 1; lo = 0x80; hi = 0xBF
                case 0xE0: need = 2; lo = 0xA0; hi = 0xBF
                case 0xE1...0xEC, 0xEE, 0xEF: need = 2; lo = 0x80; hi = 0xBF
                case 0xED: need = 2; lo = 0x80; hi = 0x9F
                case 0xF0: need = 3; lo = 0x90; hi = 0xBF
                case 0xF1...0xF3: need = 3; lo = 0x80; hi = 0xBF
                case 0xF4: need = 3; lo = 0x80; hi = 0x8F
                default: validUTF8 = false
                }
            } else {
                if b < lo || b > hi { validUTF8 = false; need = 0 } else { need -= 1; lo = 0x80; hi = 0xBF }
            }
            i += 1
        }
    }

    /// Call after the last chunk: a multi-byte sequence cut at the end is not UTF-8.
    package mutating func finish() { if need != 0 { validUTF8 = false } }

    package var hasUTF8BOM: Bool { firstBytes.starts(with: [0xEF, 0xBB, 0xBF]) }
    /// UTF-16 / UTF-32 byte-order marks: Excel's "Unicode text", which levy does not take.
    package var hasWideBOM: Bool { firstBytes.starts(with: [0xFF, 0xFE]) || firstBytes.starts(with: [0xFE, 0xFF]) }
}
