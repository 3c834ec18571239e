import CLibXML2
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

        var stack: [String] = []
        var personCount = 0
        var text = ""
        var row: DeclarationRow?
        var rowPath = ""
        var elementLine = 0
        var status: Int32 = 1

        func string(_ p: UnsafePointer<xmlChar>?) -> String { p.map { String(cString: $0) } ?? "" }

        while true {
            status = xmlTextReaderRead(reader)
            guard status == 1 else { break }
            let type = xmlTextReaderNodeType(reader)
            switch type {
            case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                let name = string(xmlTextReaderConstLocalName(reader))
                let ours = string(xmlTextReaderConstNamespaceUri(reader)) == namespace
                let empty = xmlTextReaderIsEmptyElement(reader) == 1
                let line = Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader)))
                elementLine = line
                text = ""
                let depth = stack.count
                if ours && depth == 2 && name == "Person" && stack == ["Declaration", "Persons"] {
                    personCount += 1
                    rowPath = "/Declaration/Persons/Person[\(personCount)]"
                    var r = DeclarationRow(line: line, path: rowPath)
                    if xmlTextReaderMoveToAttribute(reader, "change") == 1 {
                        r.change = Substring(string(xmlTextReaderConstValue(reader)).prefix(maxText))
                        _ = xmlTextReaderMoveToElement(reader)
                    }
                    row = r
                    if empty { finishRow(&row, into: &check); progress?(personCount) }
                }
                if !empty { stack.append(name) }
            case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
                 Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue), Int32(XML_READER_TYPE_WHITESPACE.rawValue):
                if text.utf8.count < maxText { text += string(xmlTextReaderConstValue(reader)).prefix(maxText) }
            case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                guard let name = stack.popLast() else { break }
                let value = Substring(text)
                switch (stack.count, name) {
                case (1, "EmployerId") where stack == ["Declaration"]:
                    check.employer(value, line: elementLine, path: "/Declaration/EmployerId")
                case (1, "Period") where stack == ["Declaration"]:
                    check.period(value, line: elementLine, path: "/Declaration/Period")
                case (1, "Headcount") where stack == ["Declaration"]:
                    totals.headcount = Int(String(value).trimmingSpaces)
                    totals.headcountLine = elementLine
                case (1, "TotalWageBase") where stack == ["Declaration"]:
                    if case .success(let fen) = Yuan.parse(value) { totals.totalWageBase = fen }
                    totals.totalLine = elementLine
                case (3, "Id") where row != nil: row?.personID = value
                case (3, "Name") where row != nil: row?.name = value
                case (3, "WageBase") where row != nil: row?.wageBase = value
                case (2, "Person") where row != nil:
                    finishRow(&row, into: &check)
                    progress?(personCount)
                default: break
                }
                text = ""
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

    private static func finishRow(_ row: inout DeclarationRow?, into check: inout DeclarationCheck) {
        guard let r = row else { return }
        check.row(r)
        row = nil
    }
}
