/// Escapes text for XML or HTML content and attributes; drops the control characters XML 1.0 forbids.
func escapeMarkup(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // XML 1.0 forbids most control characters: drop them rather than send an invalid file.
            if ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r" { continue }
            out.unicodeScalars.append(ch)
        }
    }
    return out
}
