import LevyDomain
import LevyLedger

extension DeclarationLedger {
    /// The declaration in force, asked as an operator names it (`levy pay 91370100MA3C5X123P 2026-11`):
    /// the tests hold employers and periods as the text they give the command line.
    func currentDeclaration(employer: String, period: String) throws -> DeclarationRecord? {
        try currentDeclaration(employer: EmployerID(unchecked: employer), period: Period(period)!)
    }
}
