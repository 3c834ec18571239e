import LevyDomain

/// The three ISO 20022 schemas of the bank exchange, compiled once at start. They are the published
/// `.xsd` files in `Schemas/`, embedded in the binary by the package (`embedInCode`): a schema that
/// does not compile stops levy at start, never skips the validation of a debit file or a bank file.
package struct BankSchemas: Sendable {
    /// Debit files levy writes.
    package let pain008: XMLSchema
    /// Status reports banks send back.
    package let pain002: XMLSchema
    /// Credit and debit notifications of the agency's account.
    package let camt054: XMLSchema

    package static let pain008Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
    package static let pain002Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
    package static let camt054Namespace = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"

    /// - Throws: ``XMLSchemaError`` naming the schema that does not compile.
    package static func load() throws(XMLSchemaError) -> BankSchemas {
        BankSchemas(
            pain008: try XMLSchema(bytes: PackageResources.pain_008_001_02_xsd, name: "pain.008.001.02.xsd"),
            pain002: try XMLSchema(bytes: PackageResources.pain_002_001_03_xsd, name: "pain.002.001.03.xsd"),
            camt054: try XMLSchema(bytes: PackageResources.camt_054_001_02_xsd, name: "camt.054.001.02.xsd"))
    }

    /// Loaded once per process; every ``Levy`` shares them.
    package static let shared: Result<BankSchemas, XMLSchemaError> = Result { () throws(XMLSchemaError) in try load() }
}
