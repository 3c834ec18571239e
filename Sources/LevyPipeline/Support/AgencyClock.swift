import Foundation
import LevyDomain

/// "Now" and date-times in the agency's timezone, whatever the machine's `TZ`.
package struct AgencyClock: Sendable {
    package let timeZone: TimeZone

    package init(identifier: String) throws {
        guard let tz = TimeZone(identifier: identifier) else {
            throw LevyError(.rules, "unknown timezone '\(identifier)'", fix: "use an IANA name such as Asia/Shanghai")
        }
        timeZone = tz
    }

    var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        return c
    }

    package func agencyTime(_ date: Date) -> AgencyTime {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return AgencyTime(date: CivilDate(year: c.year!, month: c.month!, day: c.day!),
                          time: TimeOfDay(hour: c.hour!, minute: c.minute!, second: c.second!),
                          utcOffsetSeconds: timeZone.secondsFromGMT(for: date))
    }

    package func date(_ t: CivilDate, _ time: TimeOfDay) -> Date {
        let comps = DateComponents(year: t.year, month: t.month, day: t.day, hour: time.seconds / 3600,
                                   minute: time.seconds / 60 % 60, second: time.seconds % 60)
        return calendar.date(from: comps) ?? Date(timeIntervalSince1970: 0)
    }

    /// An agency date-time at a wall-clock moment (with the right offset for that day).
    package func at(_ day: CivilDate, _ time: TimeOfDay) -> AgencyTime {
        agencyTime(date(day, time))
    }

    package var now: AgencyTime { agencyTime(Date()) }

    /// Parses `--as-of`: `2026-11-10T16:59:00`, `2026-11-10T16:59` or `2026-11-10` (00:00), in the agency's timezone.
    package func parseAsOf(_ text: String) -> AgencyTime? {
        Self.wallClock(text).map { at($0.day, $0.time) }
    }

    /// The day and time an `--as-of` names, before any timezone is known (nil: not a date-time).
    package static func wallClock(_ text: String) -> (day: CivilDate, time: TimeOfDay)? {
        let parts = text.split(separator: "T", maxSplits: 1)
        guard let first = parts.first, let day = CivilDate(first) else { return nil }
        guard parts.count == 2 else { return (day, TimeOfDay(hour: 0, minute: 0)) }
        return TimeOfDay(parts[1]).map { (day, $0) }
    }
}
