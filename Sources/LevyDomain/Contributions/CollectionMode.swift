/// How a declaration's contributions are collected (SPEC §5). Named so as not to shadow Swift's
/// `Collection`.
package enum CollectionMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The employer has a debit agreement and declared in time: debited in the window (days 6–10).
    case debit
    /// No debit agreement, or owed again after a failure or reversal: paid at the service counter.
    case counter
    /// Declared after the due date: never debited; paid at the counter with the late fee.
    case late
}

/// How a declaration was paid: by the bank's direct debit or at the service counter (the receipt's
/// `channel`).
package enum PaymentChannel: String, Sendable, Hashable, Codable, CaseIterable {
    case debit
    case counter
}
