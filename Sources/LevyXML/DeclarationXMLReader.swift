import CLibXML2
import Glibc
import LevyDomain

/// A compiled XSD, loaded once and shared by every document of a run.
package final class XMLSchema: @unchecked Sendable {
    let schema: xmlSchemaPtr

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
    }

    /// Loads an XSD held in memory (the embedded ISO 20022 schemas).
    package init(text: String, name: String) throws(XMLSchemaError) {
        silenceLibXML()
        let collector = IssueCollector()
        let bytes = Array(text.utf8)
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
    }

    deinit { xmlSchemaFree(schema) }

    /// Validates a whole document held in memory; returns the problems (empty = valid).
    package func validate(document bytes: [UInt8]) -> [XMLIssue] {
        let collector = IssueCollector()
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        let doc = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), "document.xml", nil, safeOptions)
            }
        }
        guard let doc else { return [XMLIssue(kind: .syntax, line: 0, message: "not well-formed XML")] }
        defer { xmlFreeDoc(doc) }
        guard let ctxt = xmlSchemaNewValidCtxt(schema) else { return [XMLIssue(kind: .schema, line: 0, message: "no validation context")] }
        defer { xmlSchemaFreeValidCtxt(ctxt) }
        xmlSchemaSetValidStructuredErrors(ctxt, structuredErrorHandler, opaque)
        let result = xmlSchemaValidateDoc(ctxt, doc)
        if result != 0 && collector.issues.isEmpty {
            return [XMLIssue(kind: .schema, line: 0, message: "document does not match the schema")]
        }
        return collector.issues
    }
}

package struct XMLSchemaError: Error, Sendable, CustomStringConvertible {
    package let path: String
    package var line: Int? = nil
    package let message: String
    package var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Streams an XML declaration (namespace `urn:levy:declaration:1`) through libxml2's reader,
/// validating against the XSD as it goes, and hands header values and person rows to a check.
///
/// Memory stays flat: only the current element's text is held.
package enum DeclarationXMLReader {
    package static let namespace = "urn:levy:declaration:1"
    /// Longest text kept for one element; longer values are cut (the schema limits real ones).
    static let maxText = 4096

    /// Reads the document from an open file descriptor into `check`.
    /// - Parameter encoding: `"GB18030"` when the bytes are not UTF-8 and declare nothing; nil otherwise.
    /// - Returns: syntax, schema and encoding problems libxml2 found; the check receives the rest.
    package static func read(fd: Int32, encoding: String?, schema: XMLSchema?, into check: inout DeclarationCheck,
                             progress: ((Int) -> Void)? = nil) -> (issues: [XMLIssue], totals: XMLTotals) {
        silenceLibXML()
        let collector = IssueCollector()
        var totals = XMLTotals()
        guard let reader = xmlReaderForFd(fd, "declaration.xml", encoding, safeOptions) else {
            return ([XMLIssue(kind: .syntax, line: 0, message: "cannot start the XML reader")], totals)
        }
        var validation: xmlSchemaValidCtxtPtr?
        defer {
            xmlFreeTextReader(reader)   // unplugs the validation context: free the reader first
            if let validation { xmlSchemaFreeValidCtxt(validation) }
        }
        // Errors go through this thread's structured handler and our own validation context: libxml2 2.9's
        // reader relay (xmlTextReaderSetStructuredErrorHandler) crashes on depth and size-limit errors.
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        xmlSetStructuredErrorFunc(opaque, structuredErrorHandler)
        defer { xmlSetStructuredErrorFunc(nil, { _, _ in }) }
        if let schema, let ctxt = xmlSchemaNewValidCtxt(schema.schema) {
            xmlSchemaSetValidStructuredErrors(ctxt, structuredErrorHandler, opaque)
            _ = xmlTextReaderSchemaValidateCtxt(reader, ctxt, 0)
            validation = ctxt
        }

        // Names are compared as libxml2's interned pointers (a string compare only for a name it did not
        // intern), text is kept as bytes, and a person's fields go to the check as bytes: no `String`
        // per node (the reader made three per element before, and most of the time went there).
        let tags: [(name: String, pointer: UnsafePointer<xmlChar>?, tag: Tag)] = Tag.named.map {
            ($0.name, xmlTextReaderConstString(reader, $0.name), $0.tag)
        }
        let ourNamespace = xmlTextReaderConstString(reader, namespace)
        func tag(_ p: UnsafePointer<xmlChar>?) -> Tag {
            guard let p else { return .other }
            for t in tags where t.pointer == p { return t.tag }
            for t in tags where strcmp(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), t.name) == 0 { return t.tag }
            return .other
        }
        func isOurs(_ p: UnsafePointer<xmlChar>?) -> Bool {
            guard let p else { return false }
            return p == ourNamespace || strcmp(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self), namespace) == 0
        }
        func append(_ p: UnsafePointer<xmlChar>?, to bytes: inout [UInt8]) {
            guard let p, bytes.count < maxText else { return }
            let n = min(strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self)), maxText - bytes.count)
            bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        }

        var stack: [Tag] = []
        var personCount = 0
        var text: [UInt8] = []
        text.reserveCapacity(maxText)
        var person = PersonFields()
        var elementLine = 0
        var status: Int32 = 1

        while true {
            status = xmlTextReaderRead(reader)
            guard status == 1 else { break }
            let type = xmlTextReaderNodeType(reader)
            switch type {
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                let name = tag(xmlTextReaderConstLocalName(reader))
                let empty = xmlTextReaderIsEmptyElement(reader) == 1
                let line = Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader)))
                elementLine = line
                text.removeAll(keepingCapacity: true)
                if name == .person && stack.count == 2 && stack[0] == .declaration && stack[1] == .persons
                    && isOurs(xmlTextReaderConstNamespaceUri(reader)) {
                    personCount += 1
                    person.start(line: line, ordinal: personCount)
                    if xmlTextReaderMoveToAttribute(reader, "change") == 1 {
                        var value: [UInt8] = []
                        append(xmlTextReaderConstValue(reader), to: &value)
                        person.set(.change, value)
                        _ = xmlTextReaderMoveToElement(reader)
                    }
                    if empty { person.finish(into: &check); progress?(personCount) }
                }
                if !empty { stack.append(name) }
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
                 Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue), Int32(XML_READER_TYPE_WHITESPACE.rawValue):
                append(xmlTextReaderConstValue(reader), to: &text)
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                guard let name = stack.popLast() else { break }
                let atTop = stack.count == 1 && stack[0] == .declaration
                switch (stack.count, name) {
                case (1, .employerId) where atTop:
                    check.employer(Substring(String(decoding: text, as: UTF8.self)), line: elementLine, path: "/Declaration/EmployerId")
                case (1, .period) where atTop:
                    check.period(Substring(String(decoding: text, as: UTF8.self)), line: elementLine, path: "/Declaration/Period")
                case (1, .headcount) where atTop:
                    totals.headcount = Int(String(decoding: text, as: UTF8.self).trimmingSpaces)
                    totals.headcountLine = elementLine
                case (1, .totalWageBase) where atTop:
                    if case .success(let fen) = text.withUnsafeBufferPointer({ Yuan.parse(bytes: $0) }) { totals.totalWageBase = fen }
                    totals.totalLine = elementLine
                case (3, .id) where person.open: person.set(.personID, text)
                case (3, .name) where person.open: person.set(.name, text)
                case (3, .wageBase) where person.open: person.set(.wageBase, text)
                case (2, .person) where person.open:
                    person.finish(into: &check)
                    progress?(personCount)
                default: break
                }
                text.removeAll(keepingCapacity: true)
            default:
                break
            }
        }
        if status == -1 && collector.issues.isEmpty {
            collector.issues.append(XMLIssue(kind: .syntax, line: Int(xmlTextReaderGetParserLineNumber(reader)),
                                             message: "the document is not well-formed"))
        }
        if schema != nil && status == 0 && xmlTextReaderIsValid(reader) != 1 && !collector.issues.contains(where: { $0.kind == .schema }) {
            collector.issues.append(XMLIssue(kind: .schema, line: 0, message: "the document does not match declaration.xsd"))
        }
        return (collector.issues, totals)
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

    /// One `Person`'s fields as bytes in one buffer, handed to the check as ``RowBytes`` when it ends.
    struct PersonFields {
        enum Field: Int { case personID, name, wageBase, change }
        private(set) var open = false
        var line = 0
        var ordinal = 0
        var arena: [UInt8] = []
        var ranges: [Range<Int>?] = [nil, nil, nil, nil]

        mutating func start(line: Int, ordinal: Int) {
            open = true
            self.line = line
            self.ordinal = ordinal
            arena.removeAll(keepingCapacity: true)
            ranges = [nil, nil, nil, nil]
        }

        mutating func set(_ field: Field, _ bytes: [UInt8]) {
            let from = arena.count
            arena.append(contentsOf: bytes)
            ranges[field.rawValue] = from..<arena.count
        }

        mutating func finish(into check: inout DeclarationCheck) {
            guard open else { return }
            open = false
            arena.append(0)  // never empty: every view has a base address
            let (line, ordinal, ranges) = (line, ordinal, ranges)
            arena.withUnsafeBufferPointer { all in
                func view(_ f: Field) -> RowBytes.Field? { ranges[f.rawValue].map { UnsafeBufferPointer(rebasing: all[$0]) } }
                check.row(bytes: RowBytes(line: line, xmlPerson: ordinal, personID: view(.personID), name: view(.name),
                                          wageBase: view(.wageBase), change: view(.change)))
            }
        }
    }
}
