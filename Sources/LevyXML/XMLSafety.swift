import CLibXML2
import CSystemCalls

/// A problem libxml2 reported, with where it happened.
package struct XMLIssue: Sendable, Hashable {
    package enum Kind: Sendable { case syntax, schema, encoding }
    package let kind: Kind
    package let line: Int
    package let message: String
    /// The document was not read past this problem: what it lacks after it is not reported.
    package var endedTheRead = false
}

/// Parser options for untrusted XML: no network, no DTD loading, no entity substitution, no huge nodes.
let safeOptions: Int32 = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_COMPACT.rawValue)

/// Collects libxml2's structured errors for one document instead of letting it print to stderr.
final class IssueCollector {
    var issues: [XMLIssue] = []
    let limit: Int
    var dropped = 0
    init(limit: Int = 1000) { self.limit = limit }

    func record(_ error: UnsafePointer<xmlError>) {
        let e = error.pointee
        guard e.level != XML_ERR_WARNING else { return }
        let domain = Int32(e.domain)
        let kind: XMLIssue.Kind
        if domain == Int32(XML_FROM_SCHEMASV.rawValue) {
            kind = .schema
        } else if e.code == Int32(XML_ERR_INVALID_CHAR.rawValue) || e.code == Int32(XML_ERR_UNKNOWN_ENCODING.rawValue)
                    || e.code == Int32(XML_ERR_UNSUPPORTED_ENCODING.rawValue) || e.code == Int32(XML_I18N_CONV_FAILED.rawValue)
                    || e.code == Int32(XML_ERR_INVALID_ENCODING.rawValue) {
            kind = .encoding
        } else {
            kind = .syntax
        }
        var message = e.message.map { String(cString: $0) } ?? "XML error \(e.code)"
        while message.last == "\n" { message.removeLast() }
        if issues.count < limit {
            issues.append(XMLIssue(kind: kind, line: Int(e.line), message: message))
        } else {
            dropped += 1
        }
    }
}

let structuredErrorHandler: xmlStructuredErrorFunc = { context, error in
    guard let context, let error else { return }
    Unmanaged<IssueCollector>.fromOpaque(context).takeUnretainedValue().record(error)
}

let silentGenericHandler: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void = { _, _ in }

/// libxml2's global state (parser and XSD built-in types) is not safe to initialise from two threads
/// at once: a Swift global is initialised exactly once, atomically.
private let libxmlReady: Bool = {
    xmlInitParser()
    xmlSchemaInitTypes()
    return true
}()

/// Initialises libxml2 once and keeps it quiet on this thread: errors reach levy through structured handlers only.
package func silenceLibXML() {
    _ = libxmlReady
    // xmlSetGenericErrorFunc takes a C-variadic function; pass a non-variadic one through a cast.
    let generic = unsafeBitCast(silentGenericHandler, to: xmlGenericErrorFunc.self)
    xmlSetGenericErrorFunc(nil, generic)
    xmlSetStructuredErrorFunc(nil, { _, _ in })
}

/// Why a document is refused before libxml2 sees it.
package enum XMLPrologProblem: Sendable, Hashable {
    /// A `<!DOCTYPE`: DTDs and entities are never accepted (XXE, billion laughs).
    case doctype(line: Int)
}

/// Looks at the prolog (XML declaration, comments, processing instructions) for a DOCTYPE.
package func scanProlog(_ bytes: some Collection<UInt8>) -> XMLPrologProblem? {
    var line = 1
    var it = bytes.makeIterator()
    var window: [UInt8] = []
    window.reserveCapacity(9)
    var inMarkup = false
    var count = 0
    while let b = it.next() {
        count += 1
        if count > 1 << 20 { return nil }
        if b == 10 { line += 1 }
        if !inMarkup {
            if b == UInt8(ascii: "<") { inMarkup = true; window = [b] }
            continue
        }
        if window.count < 9 {
            window.append(b)
            if window.count == 2 && b != UInt8(ascii: "!") && b != UInt8(ascii: "?") { return nil }  // the root element
            if window.count == 9 {
                if String(decoding: window, as: UTF8.self).uppercased() == "<!DOCTYPE" { return .doctype(line: line) }
            }
        }
        if b == UInt8(ascii: ">") { inMarkup = false }
    }
    return nil
}

/// Finds a start tag longer than ``limit`` bytes in the bytes about to be given to libxml2, which
/// checks an element's attributes for duplicates in quadratic time (an element with 200,000
/// attributes, 2.3 MB, took 53 s). A declaration's or a bank file's elements carry a handful of
/// attributes; a start tag of 8 KiB or more is refused before libxml2 sees it.
///
/// It looks at the bytes a window of ``window`` bytes at a time, not byte by byte: in each window
/// only the last `<` or `>` is looked for (`memrchr`), and how many bytes have passed since it.
/// A start tag still open ``window`` bytes after its `<` at the end of a window is refused: one
/// shorter than 4 KiB never is, one of 8 KiB or more always is, whatever the chunks. A comment,
/// CDATA section or processing instruction (`<!`, `<?`) opens no element and may be long; so may an
/// element's text. For a declaration it costs two `memrchr` per 4 KiB.
package struct TagLengthGuard {
    static let window = 4096
    package static let limit = 2 * window
    /// The last `<` or `>` seen, the byte after that `<` (nil until known), and the bytes since it.
    private var last: UInt8 = UInt8(ascii: ">")
    private var afterOpen: UInt8?
    private var since = 0

    package init() {}

    /// Looks at the next bytes of the document; gives the offset (within `bytes`) of the end of a
    /// window at which a start tag has been open for ``window`` bytes or more, or nil.
    package mutating func inspect(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        let lt = Int32(UInt8(ascii: "<")), gt = Int32(UInt8(ascii: ">"))
        if last == UInt8(ascii: "<") && afterOpen == nil && since == 0 { afterOpen = bytes[0] }
        var start = 0
        while start < bytes.count {
            let length = min(Self.window, bytes.count - start)
            let p = base + start
            let lastOpen = levy_memrchr(p, lt, length).map { $0 - p } ?? -1
            let lastClose = levy_memrchr(p, gt, length).map { $0 - p } ?? -1
            let mark = max(lastOpen, lastClose)
            if mark < 0 {
                since += length
            } else {
                last = mark == lastOpen ? UInt8(ascii: "<") : UInt8(ascii: ">")
                since = length - mark - 1
                afterOpen = last == UInt8(ascii: "<") && start + mark + 1 < bytes.count ? bytes[start + mark + 1] : nil
            }
            if last == UInt8(ascii: "<") && since >= Self.window && !Self.isOtherMarkup(afterOpen) { return start + length }
            start += length
        }
        return nil
    }

    /// `<!` (comment, CDATA, DOCTYPE) and `<?` (processing instruction) open no element.
    private static func isOtherMarkup(_ byte: UInt8?) -> Bool {
        byte == UInt8(ascii: "!") || byte == UInt8(ascii: "?")
    }
}
