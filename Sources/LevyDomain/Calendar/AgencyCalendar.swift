/// Working days of the agency: Monday–Friday, minus `holidays`, plus `workdays` (调休).
package struct AgencyCalendar: Sendable, Hashable {
    package let holidays: Set<CivilDate>
    package let workdays: Set<CivilDate>

    package init(holidays: Set<CivilDate> = [], workdays: Set<CivilDate> = []) {
        self.holidays = holidays
        self.workdays = workdays
    }

    package func isWorkingDay(_ date: CivilDate) -> Bool {
        if workdays.contains(date) { return true }
        if holidays.contains(date) { return false }
        return date.weekday <= 5
    }

    /// The first working day on or after `date` (遇节假日顺延).
    package func workingDay(onOrAfter date: CivilDate) -> CivilDate {
        var d = date
        while !isWorkingDay(d) { d = d.adding(days: 1) }
        return d
    }
}

/// When a period's contributions are due and when they may be debited (SPEC §5).
package struct CollectionSchedule: Sendable, Hashable {
    package let calendar: AgencyCalendar
    package let cutoffDay: Int
    package let cutoffTime: TimeOfDay
    package let debitWindowFirstDay: Int

    package init(calendar: AgencyCalendar, cutoffDay: Int, cutoffTime: TimeOfDay, debitWindowFirstDay: Int) {
        self.calendar = calendar
        self.cutoffDay = cutoffDay
        self.cutoffTime = cutoffTime
        self.debitWindowFirstDay = debitWindowFirstDay
    }

    /// Due day of a period: day `cutoffDay` of the period's month, moved to the next working day.
    package func dueDay(of period: Period) -> CivilDate {
        calendar.workingDay(onOrAfter: period.day(cutoffDay))
    }

    /// Working days from day `debitWindowFirstDay` of the period's month to the due day, inclusive.
    package func debitWindow(of period: Period) -> [CivilDate] {
        let due = dueDay(of: period)
        var days: [CivilDate] = []
        var d = period.day(debitWindowFirstDay)
        while d <= due {
            if calendar.isWorkingDay(d) { days.append(d) }
            d = d.adding(days: 1)
        }
        return days
    }

    /// Whether a moment is past the due date-time of the period.
    package func isAfterDue(_ time: AgencyTime, period: Period) -> Bool {
        let due = dueDay(of: period)
        return time.date > due || (time.date == due && time.time >= cutoffTime)
    }
}

/// Late fee (滞纳金): unpaid × daily rate × days late, counted from the day after the due day
/// to the payment day inclusive, rounded half-up to the fen once.
package enum LateFee {
    package static func daysLate(due: CivilDate, on day: CivilDate) -> Int { max(0, due.days(until: day)) }

    package static func fee(unpaid: Fen, dailyRate: Rate, due: CivilDate, on day: CivilDate) -> Fen {
        fee(unpaid: unpaid, dailyRate: dailyRate, days: daysLate(due: due, on: day))
    }

    /// What one further day adds (printed on notices as "per further day").
    package static func dailyFee(unpaid: Fen, dailyRate: Rate) -> Fen { fee(unpaid: unpaid, dailyRate: dailyRate, days: 1) }

    package static func fee(unpaid: Fen, dailyRate: Rate, days: Int) -> Fen {
        guard days > 0, unpaid > 0 else { return 0 }
        return Rounding.halfUp.round(Int128(unpaid) * Int128(dailyRate.numerator) * Int128(days),
                                     over: Int128(dailyRate.denominator))
    }
}
