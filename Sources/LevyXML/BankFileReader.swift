import CLibXML2
import Glibc
import LevyDomain

/// Streams a bank file (pain.002 or camt.054) through the same hardened SAX2 parse as a declaration,
/// validating against its schema as it goes, and hands each element that ends to a format's reader with
/// the names of the elements around it. Nothing is kept but the open elements' names and the current
/// text: a notification of 500,000 entries is read in the memory of one.
package enum BankFileReader {
    /// Reads the document from `fd` (by `pread`, from offset 0).
    /// - Parameter names: the local names the reader acts on; any other is `other`.
    /// - Parameter onEnd: called as each element ends, with the handler positioned on it.
    /// - Returns: syntax and schema problems, in the order libxml2 found them.
    /// - Parameter schema: validate in the same pass; nil reads without (``validate(_:schema:)`` on another core).
    static func read(_ input: XMLInput, schema: XMLSchema?, names: [String], onEnd: @escaping (ElementPath) -> Void) -> [XMLIssue] {
        let handler = ElementPath(names: names, onEnd: onEnd)
        var prolog = [UInt8](repeating: 0, count: 4096)
        let n = prolog.withUnsafeMutableBytes { input.read($0, at: 0) }
        if n > 0, case .doctype(let line)? = scanProlog(prolog[..<n]) {
            return [XMLIssue(kind: .syntax, line: line, message: "DOCTYPE not allowed in a bank file")]
        }
        return DeclarationXMLReader.parse(read: { input.read($0, at: $1) }, encoding: nil, schema: schema, handler: handler, stop: nil)
    }

    /// Only validates the document against `schema`, as ``read(_:schema:names:onEnd:)`` with it would.
    package static func validate(_ input: XMLInput, schema: XMLSchema) -> [XMLIssue] {
        read(input, schema: schema, names: [], onEnd: { _ in })
    }

    /// Which ISO 20022 message a bank file holds, from the namespace of its root element (read from its
    /// first 64 KiB); nil when it names neither.
    package static func messageKind(_ input: XMLInput) -> BankMessageKind? {
        var head = [UInt8](repeating: 0, count: 1 << 16)
        let n = head.withUnsafeMutableBytes { input.read($0, at: 0) }
        guard n > 0 else { return nil }
        func find(_ text: String) -> Int? {
            let pattern = Array(text.utf8)
            guard n >= pattern.count else { return nil }
            return (0...(n - pattern.count)).first { i in head[i] == pattern[0] && head[i..<(i + pattern.count)].elementsEqual(pattern) }
        }
        let camt = find(BankSchemas.camt054Namespace), pain = find(BankSchemas.pain002Namespace)
        switch (camt, pain) {
        case (let c?, let p?): return c < p ? .camt054 : .pain002
        case (.some, nil): return .camt054
        case (nil, .some): return .pain002
        default: return nil
        }
    }
}

/// Where a bank file's bytes come from: an open file (read by `pread`, so memory stays flat), or
/// bytes in memory (the fuzzers).
package enum XMLInput {
    case fd(Int32)
    case bytes([UInt8])

    func read(_ buffer: UnsafeMutableRawBufferPointer, at offset: off_t) -> Int {
        switch self {
        case .fd(let fd): return pread(fd, buffer.baseAddress!, buffer.count, offset)
        case .bytes(let all):
            let from = min(Int(offset), all.count), n = min(buffer.count, all.count - from)
            if n > 0 { all.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + from, byteCount: n) } }
            return n
        }
    }
}

package enum BankMessageKind: String, Sendable { case pain002 = "pain.002", camt054 = "camt.054" }

/// The element stack of a bank file as it streams: interned names compared as pointers, the current
/// text (at most ``maxText`` bytes), and the `Ccy` of the last amount. Fixed buffers, nothing per element.
final class ElementPath: SAXReceiver {
    static let maxDepth = 64
    static let maxText = 1024
    /// Longest text an element may have before the file is refused (a bank's values are short).
    static let maxElementText = 1 << 16
    static let other: UInt16 = .max

    let names: [String]
    let onEnd: (ElementPath) -> Void
    var collector: IssueCollector?
    private(set) var stopped = false
    var ctxt: xmlParserCtxtPtr?
    var interned: [UnsafePointer<xmlChar>?] = []
    let stack = UnsafeMutablePointer<UInt16>.allocate(capacity: maxDepth)
    /// Open elements, the one that is ending included while ``onEnd`` runs.
    private(set) var depth = 0
    let text = UnsafeMutablePointer<UInt8>.allocate(capacity: maxText)
    var textCount = 0
    var elementText = 0
    /// The `Ccy` attribute of the latest element that had one (an amount has no child elements).
    private(set) var currency: String?
    private(set) var elementLine = 0

    init(names: [String], onEnd: @escaping (ElementPath) -> Void) {
        self.names = names
        self.onEnd = onEnd
    }

    deinit {
        stack.deallocate()
        text.deallocate()
    }

    func begin(_ ctxt: xmlParserCtxtPtr) {
        self.ctxt = ctxt
        interned = names.map { xmlDictLookup(ctxt.pointee.dict, $0, -1) }
    }

    var line: Int { Int(ctxt?.pointee.input?.pointee.line ?? 0) }

    /// The text of the element that is ending, trimmed of XML white space.
    var value: String {
        var from = 0, to = textCount
        func space(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 }
        while from < to && space(text[from]) { from += 1 }
        while to > from && space(text[to - 1]) { to -= 1 }
        return String(decoding: UnsafeBufferPointer(start: text + from, count: to - from), as: UTF8.self)
    }

    /// The tag (index in ``names``) of the open element `back` levels above the one ending (0: itself).
    @inline(__always) func tag(_ back: Int) -> UInt16 { back < depth ? stack[depth - 1 - back] : Self.other }

    /// The name of the open element `back` levels above the one ending (0: itself).
    func name(_ back: Int) -> String? {
        guard back < depth else { return nil }
        let tag = stack[depth - 1 - back]
        return tag == Self.other ? nil : names[Int(tag)]
    }

    /// Whether the ending element and those above it are, innermost last, `path`.
    func ends(_ path: String...) -> Bool {
        guard path.count <= depth else { return false }
        for (i, n) in path.reversed().enumerated() where name(i) != n { return false }
        return true
    }

    func tag(_ p: UnsafePointer<xmlChar>?) -> UInt16 {
        guard let p else { return Self.other }
        for (i, q) in interned.enumerated() where q == p { return UInt16(i) }
        for (i, q) in interned.enumerated() where xmlStrEqual(p, q) != 0 { return UInt16(i) }
        return Self.other
    }

    func refuse(_ message: String) {
        guard !stopped else { return }
        stopped = true
        collector?.issues.append(XMLIssue(kind: .syntax, line: line, message: message))
    }

    func start(_ localName: UnsafePointer<xmlChar>?, attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, count: Int) {
        guard !stopped else { return }
        guard depth < Self.maxDepth else { return refuse("elements are nested deeper than \(Self.maxDepth) levels") }
        stack[depth] = tag(localName)
        depth += 1
        textCount = 0
        elementText = 0
        elementLine = line
        if let attributes {
            for i in 0..<count {
                guard let a = attributes[5 * i], strcmp(UnsafeRawPointer(a).assumingMemoryBound(to: CChar.self), "Ccy") == 0,
                      let value = attributes[5 * i + 3], let end = attributes[5 * i + 4] else { continue }
                currency = String(decoding: UnsafeBufferPointer(start: value, count: min(end - value, 16)), as: UTF8.self)
            }
        }
    }

    func characters(_ p: UnsafePointer<xmlChar>?, _ count: Int) {
        guard !stopped else { return }
        elementText += count
        if elementText > Self.maxElementText { return refuse("an element's text is longer than \(Self.maxElementText) bytes") }
        guard let p, count > 0, textCount < Self.maxText else { return }
        let n = min(count, Self.maxText - textCount)
        (text + textCount).update(from: p, count: n)
        textCount += n
    }

    func end() {
        guard !stopped, depth > 0 else { return }
        onEnd(self)
        depth -= 1
        textCount = 0
        elementText = 0
    }

    static let startElement: startElementNsSAX2Func = { context, localName, _, _, _, _, count, _, attributes in
        Unmanaged<ElementPath>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.start(localName, attributes: attributes, count: Int(count)) }
    }
    static let endElement: endElementNsSAX2Func = { context, _, _, _ in
        Unmanaged<ElementPath>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.end() }
    }
    static let characters: charactersSAXFunc = { context, bytes, count in
        Unmanaged<ElementPath>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.characters(bytes, Int(count)) }
    }
}

/// A problem that makes a bank file unusable as a whole (the ledger is not touched).
package struct ReturnProblem: Error, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
}
