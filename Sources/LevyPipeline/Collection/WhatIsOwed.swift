import LevyDomain
import LevyLedger

/// What an employer owes for one declaration on a day, and how a payment and its reversal change it
/// (SPEC §5, §9). Pure arithmetic on the record: the callers record the movements.
///
/// The late fee is the unpaid contributions × the daily rate × the days late, counted from the day after
/// the due day. With part-payments the unpaid contributions change over time, so the record keeps their
/// sum over the days counted so far (``DeclarationRecord/feeBasis``, fen × days) and the fee is that
/// sum × the rate, rounded half-up once: a declaration paid in one go pays exactly SPEC §5's fee, and
/// one paid in parts pays no extra rounding. A fee is *charged* (becomes part of what is owed, and of
/// the receivable) when a payment is made, for the days up to it.
struct WhatIsOwed: Sendable, Hashable {
    /// Contributions not yet paid.
    var contributions: Fen
    /// Late fee charged before and not yet paid, plus what `day` adds.
    var fee: Fen
    /// The part of ``fee`` charged by a payment on this day.
    var newCharge: Fen
    /// The record's fee basis counted up to this day.
    var basis: Int64
    var total: Fen { contributions + fee }
}

extension DeclarationRecord {
    /// Contributions not yet paid (payments go to contributions first).
    var unpaidContributions: Fen { totalFen - (paidFen - lateFeeFen) }

    /// Everything owed that is not paid: contributions and the fee charged so far (not what accrues after).
    package var outstandingFen: Fen { totalFen + feeChargedFen - paidFen }

    /// The day the fee was counted to: the due day until a payment counts further.
    var feeCountedThrough: CivilDate { feeThrough ?? dueDate }

    func owed(on day: CivilDate, dailyRate: Rate) -> WhatIsOwed {
        let unpaid = unpaidContributions
        let days = Int64(max(0, feeCountedThrough.days(until: day)))
        let basis = feeBasis + Int64(unpaid) * days
        let totalFee = LateFee.fee(unpaid: Fen(basis), dailyRate: dailyRate, days: 1)
        let charge = max(0, totalFee - feeChargedFen)
        return WhatIsOwed(contributions: unpaid, fee: feeChargedFen - lateFeeFen + charge, newCharge: charge, basis: basis)
    }

    /// Takes a payment of `amount` (at most what is owed): the fee up to `day` is charged, the amount
    /// goes to contributions first, then to the fee. Paid in full, the declaration is `paid`.
    /// - Returns: the part that paid the fee, the fee charged now, and what is still owed.
    mutating func pay(_ amount: Fen, on day: CivilDate, at time: String, channel: PaymentChannel, dailyRate: Rate)
        -> (feePart: Fen, charged: Fen, remaining: Fen) {
        let owed = owed(on: day, dailyRate: dailyRate)
        feeBasis = owed.basis
        if day > feeCountedThrough { feeThrough = day }
        feeChargedFen += owed.newCharge
        let toContributions = min(amount, owed.contributions)
        let feePart = amount - toContributions
        paidFen += amount
        lateFeeFen += feePart
        paidAt = time
        self.channel = channel
        if outstandingFen == 0 { state = .paid }
        return (feePart, owed.newCharge, outstandingFen)
    }

    /// Undoes a payment of `amount` (of which `feePart` paid the fee) made on `paidOn`: owed again as if
    /// it had never been made — the fee counts those contributions unpaid since the day it was made.
    /// Not debited again by itself: the employer pays at the counter.
    mutating func undoPayment(_ amount: Fen, feePart: Fen, paidOn: CivilDate, isAfterDue: Bool) {
        let contributions = amount - feePart
        let from = max(paidOn, dueDate)
        feeBasis += Int64(contributions) * Int64(max(0, from.days(until: feeCountedThrough)))
        paidFen -= amount
        lateFeeFen -= feePart
        reversedFen += amount
        if paidFen == 0 {
            paidAt = nil
            channel = nil
        }
        settledOn = nil
        collection = .counter
        state = outstandingFen == 0 && totalFen == 0 ? .paid : (isAfterDue ? .overdue : .accepted)
    }
}
