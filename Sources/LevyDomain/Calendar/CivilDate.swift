/// A day on the agency's wall calendar (no time zone: it is always the agency's).
package struct CivilDate: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let year: Int
    package let month: Int
    package let day: Int

    package init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    package static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        default: return 0
        }
    }

    package var isValid: Bool {
        year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= CivilDate.daysIn(year: year, month: month)
    }

    /// Parses `YYYY-MM-DD`, from its bytes (every employer's mandate date is parsed at each start).
    package init?(_ text: some StringProtocol) {
        var s = String(text)
        guard let date = s.withUTF8(Self.parse) else { return nil }
        self = date
    }

    /// Parses the bytes of `YYYY-MM-DD` (a ledger column is read without making a String of it).
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> CivilDate? {
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = decimal(bytes, 0..<4), let month = decimal(bytes, 5..<7), let day = decimal(bytes, 8..<10) else { return nil }
        let date = CivilDate(year: year, month: month, day: day)
        return date.isValid ? date : nil
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    package var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    package init(dayNumber z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    package func adding(days: Int) -> CivilDate { CivilDate(dayNumber: dayNumber + days) }

    /// Days from `self` to `other` (positive when `other` is later).
    package func days(until other: CivilDate) -> Int { other.dayNumber - dayNumber }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    package var weekday: Int {
        let w = (dayNumber % 7 + 7) % 7  // 1970-01-01 was a Thursday (ISO 4)
        return (w + 3) % 7 + 1
    }

    package var period: Period { Period(year: year, month: month) }

    package static func < (a: CivilDate, b: CivilDate) -> Bool { a.dayNumber < b.dayNumber }

    /// `2026-11-07`, written digit by digit: every day the ledger stores goes through here.
    package var description: String {
        guard (0...9999).contains(year), (0...99).contains(month), (0...99).contains(day) else { return "\(year)-\(month)-\(day)" }
        return String(unsafeUninitializedCapacity: 10) { out in
            func digits(_ value: Int, _ width: Int, at start: Int) {
                var v = value
                for i in stride(from: start + width - 1, through: start, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            digits(year, 4, at: 0)
            out[4] = UInt8(ascii: "-")
            digits(month, 2, at: 5)
            out[7] = UInt8(ascii: "-")
            digits(day, 2, at: 8)
            return 10
        }
    }

    /// `20261110`, for file names.
    package var compact: String { String(description.filter { $0 != "-" }) }
}

/// A contribution period (所属期): one calendar month.
package struct Period: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let year: Int
    package let month: Int

    package init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM` or `YYYYMM` (spaces around are ignored).
    package init?(_ text: some StringProtocol) {
        var t = String(text).trimmingSpaces
        guard let period = t.withUTF8({ b in b.count == 6 ? Self.make(decimal(b, 0..<4), decimal(b, 4..<6)) : Self.parse(b) }) else { return nil }
        self = period
    }

    /// Parses the bytes of `YYYY-MM` exactly (a ledger column).
    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Period? {
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-") else { return nil }
        return make(decimal(bytes, 0..<4), decimal(bytes, 5..<7))
    }

    private static func make(_ year: Int?, _ month: Int?) -> Period? {
        guard let year, let month, (1900...9999).contains(year), (1...12).contains(month) else { return nil }
        return Period(year: year, month: month)
    }

    package var index: Int { year * 12 + (month - 1) }
    package init(index: Int) { self.init(year: index / 12, month: index % 12 + 1) }
    package func adding(months: Int) -> Period { Period(index: index + months) }

    package static func < (a: Period, b: Period) -> Bool { a.index < b.index }

    package var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }
    /// `202611`, for identifiers.
    package var compact: String { "\(year)\(month < 10 ? "0" : "")\(month)" }

    package func day(_ d: Int) -> CivilDate {
        CivilDate(year: year, month: month, day: min(d, CivilDate.daysIn(year: year, month: month)))
    }
}

/// A time of day on the agency's clock, to the second.
package struct TimeOfDay: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let seconds: Int
    package init(hour: Int, minute: Int, second: Int = 0) { seconds = hour * 3600 + minute * 60 + second }

    /// Parses `HH:MM` or `HH:MM:SS`.
    package init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }) else { return nil }
        let h = parts[0]!, m = parts[1]!, s = parts.count == 3 ? parts[2]! : 0
        guard (0..<24).contains(h), (0..<60).contains(m), (0..<60).contains(s) else { return nil }
        self.init(hour: h, minute: m, second: s)
    }

    package static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.seconds < b.seconds }
    package var description: String {
        let h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60
        return [h, m, s].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
    }
}

/// A moment on the agency's clock: its date and time of day (the Rules timezone is implied).
package struct AgencyTime: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    package let date: CivilDate
    package let time: TimeOfDay
    /// Offset of the agency's timezone from UTC at this moment, in seconds (for ISO 8601 output).
    package let utcOffsetSeconds: Int

    package init(date: CivilDate, time: TimeOfDay, utcOffsetSeconds: Int) {
        self.date = date
        self.time = time
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    package static func < (a: AgencyTime, b: AgencyTime) -> Bool { (a.date, a.time) < (b.date, b.time) }

    /// The instant, as seconds since 1970-01-01T00:00:00Z: comparable across a change of UTC offset.
    package var secondsSince1970: Int64 {
        Int64(date.dayNumber) * 86_400 + Int64(time.seconds) - Int64(utcOffsetSeconds)
    }

    /// ISO 8601 with the agency's offset: `2026-11-10T17:00:00+08:00`.
    package var iso8601: String {
        let sign = utcOffsetSeconds < 0 ? "-" : "+"
        let m = abs(utcOffsetSeconds) / 60
        let hh = m / 60, mm = m % 60
        return "\(date)T\(time)\(sign)\(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm)"
    }
    package var description: String { iso8601 }
}

extension String {
    /// The text without the given characters at either end.
    package func trimming(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }

    package var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\u{3000}" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\u{3000}" { s = s.dropLast() }
        return String(s)
    }
}

/// The number written in `bytes[range]`, all ASCII digits; nil if any is not one.
private func decimal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
    var n = 0
    for i in range {
        guard bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else { return nil }
        n = n * 10 + Int(bytes[i] - UInt8(ascii: "0"))
    }
    return n
}
