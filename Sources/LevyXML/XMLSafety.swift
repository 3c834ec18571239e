import CLibXML2

/// A problem libxml2 reported, with where it happened.
package struct XMLIssue: Sendable, Hashable {
    package enum Kind: Sendable { case syntax, schema, encoding }
    package let kind: Kind
    package let line: Int
    package let message: String
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
