import LevyDomain

// Tests write employers, periods and days as literals ("A", "2026-11", "2026-11-06"),
// as a reader of the ledger sees them. A literal that is not one is a mistake in the test: it stops there.

extension EmployerID: ExpressibleByStringLiteral {
    package init(stringLiteral text: String) { self.init(unchecked: text) }
}

extension Period: ExpressibleByStringLiteral {
    package init(stringLiteral text: String) { self = Period(text)! }
}

extension CivilDate: ExpressibleByStringLiteral {
    package init(stringLiteral text: String) { self = CivilDate(text)! }
}
