import CLibXML2
import Glibc
import LevyDomain

/// A compiled XSD, loaded once and shared by every document of a run.
package final class XMLSchema: @unchecked Sendable {
    let schema: xmlSchemaPtr
    /// The schema's file name, for messages (`declaration.xsd`).
    let name: String

    /// Loads an XSD from a file path. Throws ``XMLSchemaError`` naming the problem.
    package init(path: String) throws(XMLSchemaError) {
        silenceLibXML()
        let collector = IssueCollector()
        guard let ctxt = xmlSchemaNewParserCtxt(path) else { throw XMLSchemaError(path: path, message: "cannot open the schema") }
        defer { xmlSchemaFreeParserCtxt(ctxt) }
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        xmlSchemaSetParserStructuredErrors(ctxt, structuredErrorHandler, opaque)
        guard let schema = xmlSchemaParse(ctxt) else {
            let first = collector.issues.first
            throw XMLSchemaError(path: path, line: first?.line, message: first?.message ?? "not a valid XML schema")
        }
        self.schema = schema
        name = String(path.split(separator: "/").last ?? Substring(path))
    }

    /// Loads an XSD held in memory (the embedded ISO 20022 schemas).
    package convenience init(text: String, name: String) throws(XMLSchemaError) {
        try self.init(bytes: Array(text.utf8), name: name)
    }

    /// Loads an XSD from its bytes.
    package init(bytes: [UInt8], name: String) throws(XMLSchemaError) {
        silenceLibXML()
        let collector = IssueCollector()
        guard !bytes.isEmpty else { throw XMLSchemaError(path: name, message: "the schema is empty") }
        let ctxt = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlSchemaNewMemParserCtxt($0, Int32(buffer.count))
            }
        }
        guard let ctxt else { throw XMLSchemaError(path: name, message: "cannot read the schema") }
        defer { xmlSchemaFreeParserCtxt(ctxt) }
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        xmlSchemaSetParserStructuredErrors(ctxt, structuredErrorHandler, opaque)
        guard let schema = withExtendedLifetime(bytes, { xmlSchemaParse(ctxt) }) else {
            throw XMLSchemaError(path: name, line: collector.issues.first?.line, message: collector.issues.first?.message ?? "not a valid XML schema")
        }
        self.schema = schema
        self.name = name
    }

    deinit { xmlSchemaFree(schema) }

    /// Validates a whole document held in memory; returns the problems (empty = valid). Streamed
    /// through the SAX2 parser as a declaration is, with its limits (depth, length of a value): no
    /// tree is built, so a forged 64 MB bank return costs what its parse costs, not ten times its size.
    package func validate(document bytes: [UInt8]) -> [XMLIssue] {
        bytes.withUnsafeBytes { all in
            DeclarationXMLReader.parse(read: { buffer, offset in
                let from = min(Int(offset), all.count), n = min(buffer.count, all.count - from)
                if n > 0 { buffer.baseAddress!.copyMemory(from: all.baseAddress! + from, byteCount: n) }
                return n
            }, encoding: nil, schema: self, handler: DeclarationXMLReader.DeclarationHandler(check: nil, progress: nil), stop: nil)
        }
    }
}

package struct XMLSchemaError: Error, Sendable, CustomStringConvertible {
    package let path: String
    package var line: Int? = nil
    package let message: String
    package var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Streams an XML declaration (namespace `urn:levy:declaration:1`) through libxml2's SAX2 push parser,
/// validating against the XSD as it goes (the schema is plugged into the same parse), and hands header
/// values and person rows to a check.
///
/// Memory stays flat: the parser holds one chunk, levy only the current element's text. No tree is
/// built (libxml2's reader made and freed a node per element, a third of the time), and the handler
/// has no DTD callbacks at all: an entity declaration is never stored, an external subset never loaded.
package enum DeclarationXMLReader {
    package static let namespace = "urn:levy:declaration:1"
    /// Longest text kept for one element; longer values are cut (the schema limits real ones).
    static let maxText = 4096
    /// Bytes handed to the parser at a time.
    static let chunk = 1 << 18

    /// Reads the document from an open file descriptor into `check` (from offset 0, by `pread`: the
    /// descriptor's own offset is left alone, so another thread may read it too).
    /// - Parameter encoding: `"GB18030"` when the bytes are not UTF-8 and declare nothing; nil otherwise.
    /// - Parameter schema: validate as the document is read; nil reads it without validation (see
    ///   ``validate(fd:encoding:schema:stop:)`` for the other half).
    /// - Parameter stop: asked before each chunk; true ends the read there (its result is then of no use).
    /// - Returns: syntax, schema and encoding problems libxml2 found; the check receives the rest.
    package static func read(fd: Int32, encoding: String?, schema: XMLSchema?, into check: inout DeclarationCheck,
                             stop: (() -> Bool)? = nil, progress: ((Int) -> Void)? = nil) -> (issues: [XMLIssue], totals: XMLTotals) {
        withUnsafeMutablePointer(to: &check) { check in
            let handler = DeclarationHandler(check: check, progress: progress)
            let issues = parse(read: { pread(fd, $0.baseAddress!, $0.count, $1) }, encoding: encoding, schema: schema, handler: handler, stop: stop)
            return (issues, handler.totals)
        }
    }

    /// Only validates the document against `schema` (what ``read(fd:encoding:schema:into:stop:progress:)``
    /// with a schema finds, without reading any value): run on another thread while the values are
    /// read without one.
    package static func validate(fd: Int32, encoding: String?, schema: XMLSchema, stop: (() -> Bool)? = nil) -> [XMLIssue] {
        parse(read: { pread(fd, $0.baseAddress!, $0.count, $1) }, encoding: encoding, schema: schema,
              handler: DeclarationHandler(check: nil, progress: nil), stop: stop)
    }

    /// Deepest nesting accepted (libxml2's own default, which only its tree builder enforces).
    static let maxDepth = 256
    /// Longest text one element may hold. The validator keeps an element's whole text to check its
    /// facets, so a hostile 200 MB value would be held whole: refused at this length instead (the
    /// schema allows 64 characters).
    static let maxElementText = 1 << 20

    /// One streaming parse: `read` fills its buffer from the given offset and gives the byte count
    /// (0 at the end, -1 on an error).
    static func parse<Handler: SAXReceiver>(read: (UnsafeMutableRawBufferPointer, off_t) -> Int, encoding: String?, schema: XMLSchema?,
                                            handler: Handler, stop: (() -> Bool)?) -> [XMLIssue] {
        silenceLibXML()
        let collector = IssueCollector()
        handler.collector = collector
        // Parser errors go through this thread's structured handler, schema errors through our own validation context.
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        xmlSetStructuredErrorFunc(opaque, structuredErrorHandler)
        defer { xmlSetStructuredErrorFunc(nil, { _, _ in }) }

        let sax = UnsafeMutablePointer<xmlSAXHandler>.allocate(capacity: 1)
        defer { sax.deallocate() }
        sax.initialize(to: xmlSAXHandler())
        sax.pointee.initialized = XML_SAX2_MAGIC
        sax.pointee.startElementNs = Handler.startElement
        sax.pointee.endElementNs = Handler.endElement
        sax.pointee.characters = Handler.characters
        sax.pointee.ignorableWhitespace = Handler.characters
        sax.pointee.cdataBlock = Handler.characters
        // The plug swaps the handler and its data for its own, and writes them back when unplugged:
        // through these two cells, which must outlive it (a Swift `&variable` lives only for one call).
        let saxCell = UnsafeMutablePointer<UnsafeMutablePointer<xmlSAXHandler>?>.allocate(capacity: 1)
        let userCell = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
        saxCell.initialize(to: sax)
        userCell.initialize(to: Unmanaged.passUnretained(handler).toOpaque())
        defer {
            saxCell.deallocate()
            userCell.deallocate()
        }
        var validation: xmlSchemaValidCtxtPtr?
        var plug: xmlSchemaSAXPlugPtr?
        defer {
            if let plug { xmlSchemaSAXUnplug(plug) }
            if let validation { xmlSchemaFreeValidCtxt(validation) }
        }
        if let schema, let ctxt = xmlSchemaNewValidCtxt(schema.schema) {
            validation = ctxt
            xmlSchemaSetValidStructuredErrors(ctxt, structuredErrorHandler, opaque)
            plug = xmlSchemaSAXPlug(ctxt, saxCell, userCell)
        }
        guard let ctxt = xmlCreatePushParserCtxt(saxCell.pointee, userCell.pointee, nil, 0, "declaration.xml") else {
            return [XMLIssue(kind: .syntax, line: 0, message: "cannot start the XML parser")]
        }
        defer { xmlFreeParserCtxt(ctxt) }
        _ = xmlCtxtUseOptions(ctxt, safeOptions)
        // Without a tree, the validator learns the line of a problem from the parser.
        if let validation { xmlSchemaValidateSetLocator(validation, parserLine, ctxt) }
        if let encoding {
            guard let converter = xmlFindCharEncodingHandler(encoding), xmlSwitchToEncoding(ctxt, converter) == 0 else {
                return [XMLIssue(kind: .encoding, line: 0, message: "no \(encoding) converter")]
            }
        }
        handler.begin(ctxt)

        var buffer = [UInt8](repeating: 0, count: chunk)
        var offset: off_t = 0
        var tags = TagLengthGuard()
        while ctxt.pointee.disableSAX == 0 && !handler.stopped {
            if stop?() == true { return collector.issues }
            var n = buffer.withUnsafeMutableBytes { read($0, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            n = buffer.withUnsafeMutableBytes { Self.normalizeLoneCarriageReturns($0, count: n) }
            offset += off_t(n)
            if let at = buffer.withUnsafeBytes({ tags.inspect(UnsafeRawBufferPointer(rebasing: $0[..<n])) }) {
                // Refused before libxml2 reads the tag (its duplicate-attribute check is quadratic).
                let line = Int(ctxt.pointee.input?.pointee.line ?? 1) + buffer[..<at].count { $0 == 10 }
                collector.issues.append(XMLIssue(kind: .schema, line: line, message: """
                    an element's start tag is longer than \(TagLengthGuard.limit / 1024) KiB (thousands of attributes?): \
                    no element of this document has more than a few attributes
                    """, endedTheRead: true))
                return collector.issues
            }
            _ = buffer.withUnsafeBytes { xmlParseChunk(ctxt, $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(n), 0) }
        }
        if ctxt.pointee.disableSAX == 0 && !handler.stopped { _ = xmlParseChunk(ctxt, nil, 0, 1) }

        if ctxt.pointee.wellFormed == 0 && collector.issues.isEmpty {
            collector.issues.append(XMLIssue(kind: .syntax, line: handler.line, message: "the document is not well-formed"))
        }
        if let validation, ctxt.pointee.wellFormed != 0, !handler.stopped, xmlSchemaIsValid(validation) != 1,
           !collector.issues.contains(where: { $0.kind == .schema }) {
            collector.issues.append(XMLIssue(kind: .schema, line: 0, message: "the document does not match \(schema?.name ?? "the schema")"))
        }
        return collector.issues
    }

    /// A line ended by a lone CR (old Mac files, some exports) is a line end to XML as to the CSV
    /// reader, but libxml2 counts only LF in the line numbers it reports: such a CR becomes an LF,
    /// which XML's end-of-line handling makes the same document. A CR that is the chunk's last byte
    /// is left for the next chunk (it may be half of a CRLF), unless it is the file's last.
    /// - Returns: how many bytes of the chunk to give the parser now.
    static func normalizeLoneCarriageReturns(_ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        guard let base = buffer.baseAddress else { return count }
        var from = 0
        while from < count, let found = memchr(base + from, 13, count - from) {
            let at = found - base
            if at + 1 == count {
                // The chunk's last byte: decided with the next chunk, unless there is none.
                if count == buffer.count { return count - 1 }
                buffer[at] = 10
                return count
            }
            if buffer[at + 1] != 10 { buffer[at] = 10 }
            from = at + 1
        }
        return count
    }

    static let parserLine: xmlSchemaValidityLocatorFunc = { context, file, line in
        file?.pointee = nil  // libxml2 copies whatever is left here
        line?.pointee = 0
        guard let context else { return -1 }
        line?.pointee = UInt(context.assumingMemoryBound(to: xmlParserCtxt.self).pointee.input?.pointee.line ?? 0)
        return 0
    }

    /// The elements the reader acts on (by local name).
    enum Tag: UInt8 {
        case declaration, persons, person, employerId, period, headcount, totalWageBase, id, name, wageBase, other
        static let named: [(name: String, tag: Tag)] = [
            ("Declaration", .declaration), ("Persons", .persons), ("Person", .person), ("EmployerId", .employerId),
            ("Period", .period), ("Headcount", .headcount), ("TotalWageBase", .totalWageBase), ("Id", .id),
            ("Name", .name), ("WageBase", .wageBase),
        ]
    }

    /// What the SAX callbacks act on: the element stack, the current text, the open `Person`. Held in
    /// fixed buffers (the stack is at most ``maxDepth`` deep, a text at most ``maxText`` bytes): nothing
    /// is allocated per element.
    final class DeclarationHandler: SAXReceiver {
        /// nil: validation only (the element stack's depth is all that is kept).
        let check: UnsafeMutablePointer<DeclarationCheck>?
        var collector: IssueCollector?
        private(set) var stopped = false
        let progress: ((Int) -> Void)?
        var totals = XMLTotals()
        var ctxt: xmlParserCtxtPtr?
        /// The parser's interned names (compared as pointers; a string compare only for a name it did not intern).
        var tags: [(pointer: UnsafePointer<xmlChar>?, tag: Tag)] = []
        var ourNamespace: UnsafePointer<xmlChar>?
        let stack = UnsafeMutablePointer<Tag>.allocate(capacity: maxDepth)
        var depth = 0
        let text = UnsafeMutablePointer<UInt8>.allocate(capacity: maxText)
        var textCount = 0
        /// All the text of the current element so far (``textCount`` keeps at most ``maxText`` of it).
        var elementText = 0
        var person = PersonFields()
        var personCount = 0
        var elementLine = 0

        init(check: UnsafeMutablePointer<DeclarationCheck>?, progress: ((Int) -> Void)?) {
            self.check = check
            self.progress = progress
        }

        deinit {
            stack.deallocate()
            text.deallocate()
        }

        func begin(_ ctxt: xmlParserCtxtPtr) {
            self.ctxt = ctxt
            let dict = ctxt.pointee.dict
            tags = Tag.named.map { (xmlDictLookup(dict, $0.name, -1), $0.tag) }
            ourNamespace = xmlDictLookup(dict, namespace, -1)
        }

        var line: Int { Int(ctxt?.pointee.input?.pointee.line ?? 0) }
        var textBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: text, count: textCount) }
        var textString: String { String(decoding: textBytes, as: UTF8.self) }

        func tag(_ p: UnsafePointer<xmlChar>?) -> Tag {
            guard let p else { return .other }
            for t in tags where t.pointer == p { return t.tag }
            // (Against the interned copies: a Swift `String` passed to `strcmp` is copied to a C string
            // each time, ten allocations per unknown element.)
            for t in tags where xmlStrEqual(p, t.pointer) != 0 { return t.tag }
            return .other
        }

        func isOurs(_ p: UnsafePointer<xmlChar>?) -> Bool {
            guard let p else { return false }
            return p == ourNamespace || xmlStrEqual(p, ourNamespace) != 0
        }

        func start(_ localName: UnsafePointer<xmlChar>?, uri: UnsafePointer<xmlChar>?, attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, count: Int) {
            guard !stopped else { return }
            // Refused like any broken document, before the parser's stacks grow with a hostile file.
            guard depth < maxDepth else { return refuse("elements are nested deeper than \(maxDepth) levels") }
            elementText = 0
            guard check != nil else { depth += 1; return }
            let name = tag(localName)
            elementLine = line
            textCount = 0
            if name == .person && depth == 2 && stack[0] == .declaration && stack[1] == .persons && isOurs(uri) {
                personCount += 1
                person.start(line: elementLine, ordinal: personCount)
                // Five pointers per attribute: local name, prefix, URI, value, end of value.
                if let attributes {
                    for i in 0..<count {
                        guard let a = attributes[5 * i], strcmp(UnsafeRawPointer(a).assumingMemoryBound(to: CChar.self), "change") == 0,
                              attributes[5 * i + 2] == nil, let value = attributes[5 * i + 3], let end = attributes[5 * i + 4] else { continue }
                        person.set(.change, UnsafeBufferPointer(start: value, count: min(end - value, maxText)))
                    }
                }
            }
            stack[depth] = name
            depth += 1
        }

        /// Refuses the document with a syntax issue (once): every later callback is ignored, and the
        /// parse loop stops at the end of the chunk in hand. (`xmlStopParser` inside a callback frees
        /// the input libxml2 2.9's character-data loop is still reading: it crashed.)
        func refuse(_ message: String) {
            guard !stopped else { return }
            stopped = true
            collector?.issues.append(XMLIssue(kind: .syntax, line: line, message: message))
        }

        func characters(_ p: UnsafePointer<xmlChar>?, _ count: Int) {
            guard !stopped else { return }
            elementText += count
            if elementText > maxElementText { return refuse("an element's text is longer than \(maxElementText) bytes") }
            guard let p, count > 0, textCount < maxText else { return }
            let n = min(count, maxText - textCount)
            (text + textCount).update(from: p, count: n)
            textCount += n
        }

        func end() {
            guard !stopped, depth > 0 else { return }
            depth -= 1
            elementText = 0
            guard let check else { return }
            let name = stack[depth]
            let atTop = depth == 1 && stack[0] == .declaration
            switch (depth, name) {
            case (1, .employerId) where atTop:
                check.pointee.employer(Substring(textString), line: elementLine, path: "/Declaration/EmployerId")
            case (1, .period) where atTop:
                check.pointee.period(Substring(textString), line: elementLine, path: "/Declaration/Period")
            case (1, .headcount) where atTop:
                totals.headcount = Int(textString.trimmingSpaces)
                totals.headcountLine = elementLine
            case (1, .totalWageBase) where atTop:
                if case .success(let fen) = Yuan.parse(bytes: textBytes) { totals.totalWageBase = fen }
                totals.totalLine = elementLine
            case (3, .id) where person.open: person.set(.personID, textBytes)
            case (3, .name) where person.open: person.set(.name, textBytes)
            case (3, .wageBase) where person.open: person.set(.wageBase, textBytes)
            case (2, .person) where person.open:
                person.finish(into: &check.pointee)
                progress?(personCount)
            default: break
            }
            textCount = 0
        }
    }

}

extension DeclarationXMLReader.DeclarationHandler {
    typealias DeclarationHandler = DeclarationXMLReader.DeclarationHandler
    // The callbacks borrow the handler: no retain and release per element.
    static let startElement: startElementNsSAX2Func = { context, localName, _, uri, _, _, count, _, attributes in
        Unmanaged<DeclarationHandler>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.start(localName, uri: uri, attributes: attributes, count: Int(count)) }
    }
    static let endElement: endElementNsSAX2Func = { context, _, _, _ in
        Unmanaged<DeclarationHandler>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.end() }
    }
    static let characters: charactersSAXFunc = { context, bytes, count in
        Unmanaged<DeclarationHandler>.fromOpaque(context!)._withUnsafeGuaranteedRef { $0.characters(bytes, Int(count)) }
    }
}

extension DeclarationXMLReader {

    /// One `Person`'s fields as bytes in one buffer (four of at most ``maxText`` each, allocated once),
    /// handed to the check as ``RowBytes`` when it ends.
    struct PersonFields {
        enum Field: Int { case personID, name, wageBase, change }
        private(set) var open = false
        var line = 0
        var ordinal = 0
        private var arena: [UInt8] = []
        private var used = 0
        /// Start and length of each field in `arena` (length -1: absent).
        private var fields: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, -1, 0, -1, 0, -1, 0, -1)

        mutating func start(line: Int, ordinal: Int) {
            if arena.isEmpty { arena = [UInt8](repeating: 0, count: 4 * maxText + 1) }
            open = true
            self.line = line
            self.ordinal = ordinal
            used = 0
            fields = (0, -1, 0, -1, 0, -1, 0, -1)
        }

        mutating func set(_ field: Field, _ bytes: UnsafeBufferPointer<UInt8>) {
            let n = min(bytes.count, maxText)
            // A field given twice keeps its last value (the arena grows only for such a document).
            if used + n >= arena.count { arena += [UInt8](repeating: 0, count: n + 1) }
            let from = used
            arena.withUnsafeMutableBufferPointer { a in
                if n > 0 { (a.baseAddress! + from).update(from: bytes.baseAddress!, count: n) }
            }
            used += n
            withUnsafeMutableBytes(of: &fields) { f in
                let slots = f.bindMemory(to: Int.self)
                slots[2 * field.rawValue] = from
                slots[2 * field.rawValue + 1] = n
            }
        }

        mutating func finish(into check: inout DeclarationCheck) {
            guard open else { return }
            open = false
            let (line, ordinal, fields) = (line, ordinal, fields)
            arena.withUnsafeBufferPointer { all in
                withUnsafeBytes(of: fields) { f in
                    let slots = f.bindMemory(to: Int.self)
                    // `all` is never empty: every view has a base address.
                    func view(_ field: Field) -> RowBytes.Field? {
                        let (from, n) = (slots[2 * field.rawValue], slots[2 * field.rawValue + 1])
                        return n < 0 ? nil : UnsafeBufferPointer(rebasing: all[from..<(from + n)])
                    }
                    check.row(bytes: RowBytes(line: line, xmlPerson: ordinal, personID: view(.personID), name: view(.name),
                                              wageBase: view(.wageBase), change: view(.change)))
                }
            }
        }
    }
}

/// What one streaming parse (``DeclarationXMLReader/parse(read:encoding:schema:handler:stop:)``) hands
/// its elements to: a declaration's reader, or a bank file's. Each kind brings its own C callbacks, so
/// the parse is specialised for it and no call per element goes through a table.
protocol SAXReceiver: AnyObject {
    var collector: IssueCollector? { get set }
    /// True once the receiver refused the document: the parse stops at the end of the chunk in hand.
    var stopped: Bool { get }
    var line: Int { get }
    func begin(_ ctxt: xmlParserCtxtPtr)
    static var startElement: startElementNsSAX2Func { get }
    static var endElement: endElementNsSAX2Func { get }
    static var characters: charactersSAXFunc { get }
}
