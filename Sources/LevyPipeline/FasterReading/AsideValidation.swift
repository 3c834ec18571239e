import Foundation
import LevyDomain
import LevyLedger
import LevyXML

/// The XSD validation of a large XML declaration, on a thread of its own, while the calling thread
/// reads the values without the schema (``DeclarationFileCheck/validationAsideBytes``): libxml2's
/// validator is two thirds of an XML file's parse, and nothing of levy's waits for it but the verdict.
package final class AsideValidation: @unchecked Sendable {
    private let group = DispatchGroup()
    /// Written by the validating thread before it leaves `group`; read only after waiting on it.
    private var valid = false
    private let lock = NSLock()
    private var cancelledFlag = false
    private var cancelled: Bool { lock.withLock { cancelledFlag } }

    /// Starts validating the file open at `fd` (read through a descriptor of its own, closed when done:
    /// the caller may close `fd` whenever it likes). A file it cannot read again counts as invalid:
    /// it is then read with the schema on the calling thread.
    init(fd: Int32, encoding: String?, schema: XMLSchema) {
        let own = dup(fd)
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            if own >= 0 {
                let issues = DeclarationXMLReader.validate(fd: own, encoding: encoding, schema: schema, stop: { self.cancelled })
                valid = !cancelled && !issues.contains { $0.kind == .schema }
                close(own)
            }
            group.leave()
        }
    }

    /// Stops the validation at its next chunk: its verdict is no longer wanted.
    func cancel() { lock.withLock { cancelledFlag = true } }

    /// Waits for the verdict: true when the schema found nothing (what the reading thread finds about
    /// syntax and encoding, it finds itself).
    package var isValid: Bool {
        group.wait()
        return valid
    }

    /// Thrown to take back a change written before the verdict came, when the document is not valid.
    package struct Invalid: Error, CustomStringConvertible {
        package var description: String { "the XML declaration does not match declaration.xsd" }
    }
}
