import CLibXML2
import LevyDomain

/// A small element tree for documents that are read whole (bank return files), built by the safe reader.
package final class XMLNode: @unchecked Sendable {
    package let name: String
    package let namespace: String
    package var attributes: [String: String] = [:]
    package var children: [XMLNode] = []
    package var text = ""
    package let line: Int

    init(name: String, namespace: String, line: Int) {
        self.name = name
        self.namespace = namespace
        self.line = line
    }

    /// The first child element with this local name.
    package func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    package func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// Follows a path of local names: `node["GrpHdr", "MsgId"]`.
    package subscript(_ path: String...) -> XMLNode? {
        var node: XMLNode? = self
        for p in path { node = node?.child(p) }
        return node
    }

    package var trimmedText: String { text.trimming(" \t\r\n") }
}

package enum XMLTree {
    /// Most elements a document read whole may have.
    static let maxNodes = 2_000_000

    /// Parses bytes into a tree with the same hardening as declarations (no DTD, no network).
    /// Returns the root, or the problems that stopped it.
    package static func parse(_ bytes: [UInt8]) -> Result<XMLNode, XMLParseFailure> {
        silenceLibXML()
        if case .doctype(let line)? = scanProlog(bytes) {
            return .failure(XMLParseFailure(issues: [XMLIssue(kind: .syntax, line: line, message: "DOCTYPE not allowed")]))
        }
        let collector = IssueCollector()
        let reader = bytes.withUnsafeBufferPointer { buffer -> xmlTextReaderPtr? in
            buffer.baseAddress.flatMap { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    xmlReaderForMemory($0, Int32(buffer.count), "document.xml", nil, safeOptions)
                }
            }
        }
        guard let reader else {
            return .failure(XMLParseFailure(issues: [XMLIssue(kind: .syntax, line: 0, message: "empty or unreadable document")]))
        }
        defer { xmlFreeTextReader(reader) }
        let opaque = Unmanaged.passUnretained(collector).toOpaque()
        xmlTextReaderSetStructuredErrorHandler(reader, structuredErrorHandler, opaque)
        // The memory reader points into `bytes`; keep them alive for the whole read.
        return withExtendedLifetime(bytes) {
            var stack: [XMLNode] = []
            var root: XMLNode?
            var count = 0
            var status: Int32 = 1
            func string(_ p: UnsafePointer<xmlChar>?) -> String { p.map { String(cString: $0) } ?? "" }
            while true {
                status = xmlTextReaderRead(reader)
                guard status == 1 else { break }
                switch xmlTextReaderNodeType(reader) {
                case Int32(XML_READER_TYPE_ELEMENT.rawValue):
                    count += 1
                    if count > maxNodes {
                        return .failure(XMLParseFailure(issues: [XMLIssue(kind: .syntax, line: 0, message: "too many elements")]))
                    }
                    let node = XMLNode(name: string(xmlTextReaderConstLocalName(reader)),
                                       namespace: string(xmlTextReaderConstNamespaceUri(reader)),
                                       line: Int(xmlGetLineNo(xmlTextReaderCurrentNode(reader))))
                    if xmlTextReaderHasAttributes(reader) == 1 {
                        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
                            node.attributes[string(xmlTextReaderConstLocalName(reader))] = string(xmlTextReaderConstValue(reader))
                        }
                        _ = xmlTextReaderMoveToElement(reader)
                    }
                    if let parent = stack.last { parent.children.append(node) } else if root == nil { root = node }
                    if xmlTextReaderIsEmptyElement(reader) != 1 { stack.append(node) }
                case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue):
                    if let top = stack.last, top.text.utf8.count < 65536 { top.text += string(xmlTextReaderConstValue(reader)) }
                case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
                    _ = stack.popLast()
                default:
                    break
                }
            }
            if status == -1 || root == nil {
                let issues = collector.issues.isEmpty ? [XMLIssue(kind: .syntax, line: 0, message: "not well-formed XML")] : collector.issues
                return .failure(XMLParseFailure(issues: issues))
            }
            return .success(root!)
        }
    }
}

package struct XMLParseFailure: Error, Sendable {
    package let issues: [XMLIssue]
    package var summary: String {
        issues.prefix(3).map { "line \($0.line): \($0.message)" }.joined(separator: "; ")
    }
}
