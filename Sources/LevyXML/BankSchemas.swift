import LevyDomain

/// The three ISO 20022 schemas of the bank exchange. They are the published `.xsd` files in
/// `Schemas/`, embedded in the binary by the package (`embedInCode`), each compiled the first time it
/// is needed (a day of small declarations never needs them): one that does not compile makes that
/// work fail loudly — nothing is sent or read unvalidated — and `levy rules check` compiles all three.
package enum BankSchemas {
    package enum Kind: String, Sendable, CaseIterable {
        case pain008 = "pain.008.001.02.xsd", pain002 = "pain.002.001.03.xsd", camt054 = "camt.054.001.02.xsd"
    }

    package static let pain002Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
    package static let camt054Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"

    // Compiled once per process, on first use (a static `let` is initialised lazily and once).
    static let pain008 = Result { () throws(XMLSchemaError) in try XMLSchema(bytes: PackageResources.pain_008_001_02_xsd, name: Kind.pain008.rawValue) }
    static let pain002 = Result { () throws(XMLSchemaError) in try XMLSchema(bytes: PackageResources.pain_002_001_03_xsd, name: Kind.pain002.rawValue) }
    static let camt054 = Result { () throws(XMLSchemaError) in try XMLSchema(bytes: PackageResources.camt_054_001_02_xsd, name: Kind.camt054.rawValue) }

    /// The compiled schema.
    /// - Throws: ``XMLSchemaError`` naming the schema that does not compile.
    package static func schema(_ kind: Kind) throws(XMLSchemaError) -> XMLSchema {
        switch kind {
        case .pain008: try pain008.get()
        case .pain002: try pain002.get()
        case .camt054: try camt054.get()
        }
    }
}
