import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A small element tree of a document levy wrote (a debit file), for the tests and the bank simulator
/// to read it as a bank would. levy itself never builds one: it streams every XML file it reads.
final class TreeNode {
    let name: String
    var attributes: [String: String] = [:]
    var children: [TreeNode] = []
    var text = ""

    init(name: String) { self.name = name }

    /// The first child element with this local name.
    func child(_ name: String) -> TreeNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [TreeNode] { children.filter { $0.name == name } }

    /// Follows a path of local names: `node["GrpHdr", "MsgId"]`.
    subscript(_ path: String...) -> TreeNode? {
        var node: TreeNode? = self
        for p in path { node = node?.child(p) }
        return node
    }

    var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

enum TestXML {
    struct NotWellFormed: Error { var reason: String }

    /// The document's root element, read with Foundation's parser (namespaces reported, names local).
    static func parse(_ bytes: [UInt8]) throws -> TreeNode {
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw NotWellFormed(reason: parser.parserError.map { "\($0)" } ?? "no root element")
        }
        return root
    }

    final class Builder: NSObject, XMLParserDelegate {
        var root: TreeNode?
        var stack: [TreeNode] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let node = TreeNode(name: elementName)
            node.attributes = attributes
            if let parent = stack.last { parent.children.append(node) } else { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            _ = stack.popLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }
    }
}
