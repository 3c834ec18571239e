import Testing
@testable import LevyDomain

@Suite struct CalendarTests {
    func d(_ s: String) -> CivilDate { CivilDate(s)! }

    @Test(arguments: [("2026-11-22", 7), ("2026-11-23", 1), ("2026-10-10", 6), ("2000-02-29", 2), ("1970-01-01", 4)])
    func weekdays(_ date: String, _ weekday: Int) { #expect(d(date).weekday == weekday) }

    @Test func dayNumbersRoundTrip() {
        for n in stride(from: -30000, through: 40000, by: 37) {
            #expect(CivilDate(dayNumber: n).dayNumber == n)
        }
    }

    @Test(arguments: [("2026-11", true), ("202611", true), ("2026-13", false), ("2026/11", false), ("26-11", false), ("2026-1", false)])
    func periods(_ text: String, _ ok: Bool) { #expect((Period(text) != nil) == ok) }

    @Test(arguments: [("2026-11-22", true), ("2000-02-29", true), ("1900-02-29", false), ("2026-11-31", false),
                      ("2026-13-01", false), ("2026-00-10", false), ("2026-11-2", false), ("2026-11-222", false),
                      ("2026/11/22", false), ("20261122", false), ("+026-11-22", false), ("2026-1-122", false), ("", false)])
    func dates(_ text: String, _ ok: Bool) {
        #expect((CivilDate(text) != nil) == ok)
        if ok { #expect(CivilDate(text)!.description == text) }
    }

    /// Every day from year 1 to 9999 is written as `YYYY-MM-DD` and read back as itself.
    @Test func everyDayIsWrittenAsItIsRead() {
        for n in stride(from: CivilDate(year: 1, month: 1, day: 1).dayNumber, through: CivilDate(year: 9999, month: 12, day: 31).dayNumber, by: 37) {
            let date = CivilDate(dayNumber: n)
            #expect(CivilDate(date.description) == date, "\(date.year)-\(date.month)-\(date.day)")
        }
        #expect(CivilDate(year: 987, month: 3, day: 4).description == "0987-03-04")
    }

    /// China-like 2026: National Day week pushes October's 10th? No: Oct 10 is a Saturday made a workday.
    let calendar = AgencyCalendar(
        holidays: Set(["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08",
                       "2026-05-01", "2026-05-04", "2026-05-05", "2026-02-09", "2026-02-10", "2026-02-11", "2026-02-12", "2026-02-13"].map { CivilDate($0)! }),
        workdays: Set(["2026-10-10", "2026-05-09"].map { CivilDate($0)! }))

    var schedule: CollectionSchedule {
        CollectionSchedule(calendar: calendar, cutoffDay: 10, cutoffTime: TimeOfDay(hour: 17, minute: 0), debitWindowFirstDay: 6)
    }

    @Test(arguments: [
        ("2026-01", "2026-01-12"),  // 10th is a Saturday → Monday
        ("2026-02", "2026-02-16"),  // 10th inside a holiday week → next working day
        ("2026-05", "2026-05-11"),  // Sunday 10th → Monday
        ("2026-10", "2026-10-10"),  // Saturday made a workday (调休)
        ("2026-11", "2026-11-10"),  // ordinary Tuesday
    ])
    func dueDays(_ period: String, _ due: String) {
        #expect(schedule.dueDay(of: Period(period)!) == d(due))
    }

    @Test func windows() {
        #expect(schedule.debitWindow(of: Period("2026-11")!).map(\.description) == ["2026-11-06", "2026-11-09", "2026-11-10"])
        #expect(schedule.debitWindow(of: Period("2026-02")!).map(\.description) == ["2026-02-06", "2026-02-16"])
        #expect(schedule.debitWindow(of: Period("2026-10")!).map(\.description) == ["2026-10-09", "2026-10-10"])
    }

    /// Every month of a whole year: the due day is a working day on or after the 10th, and every day
    /// from the 10th up to it is not a working day.
    @Test func wholeYearInvariants() {
        for month in 1...12 {
            let p = Period(year: 2026, month: month)
            let due = schedule.dueDay(of: p)
            #expect(calendar.isWorkingDay(due))
            #expect(due >= p.day(10))
            var x = p.day(10)
            while x < due { #expect(!calendar.isWorkingDay(x)); x = x.adding(days: 1) }
            let window = schedule.debitWindow(of: p)
            #expect(window.last == due)
            #expect(window.allSatisfy { calendar.isWorkingDay($0) && $0 >= p.day(6) })
        }
    }

    @Test func afterDue() {
        let p = Period("2026-11")!
        let at = { (date: String, h: Int, m: Int) in AgencyTime(date: self.d(date), time: TimeOfDay(hour: h, minute: m), utcOffsetSeconds: 28800) }
        #expect(!schedule.isAfterDue(at("2026-11-10", 16, 59), period: p))
        #expect(schedule.isAfterDue(at("2026-11-10", 17, 0), period: p))
        #expect(schedule.isAfterDue(at("2026-11-11", 8, 0), period: p))
        #expect(at("2026-11-10", 17, 0).iso8601 == "2026-11-10T17:00:00+08:00")
    }
}
