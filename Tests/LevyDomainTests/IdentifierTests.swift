import Testing
@testable import LevyDomain

@Suite struct PersonIDTests {
    let today = CivilDate(year: 2026, month: 11, day: 22)

    @Test func idsInsideFreeTextAreMasked() {
        #expect(PersonID.redactEmbedded("未知列名“11010519491231002x”") == "未知列名“110105********002x”")
        #expect(PersonID.redactEmbedded("a370102900101123b") == "a370102*****1123b")   // old 15-digit
        #expect(PersonID.redactEmbedded("line 12, 6000.00 yuan, 91370100MA3C5X123P") == "line 12, 6000.00 yuan, 91370100MA3C5X123P")
        #expect(PersonID.redactEmbedded("12345678901234") == "12345678901234")      // 14 digits: not an ID
        let finding = Finding(code: .csvHeader, field: "370102199001011231", value: "370102199001011231",
                              message: "未知列名“370102199001011231”")
        #expect([finding.field, finding.value, finding.message].allSatisfy { !($0 ?? "").contains("370102199001011231") })
    }

    @Test(arguments: ["11010519491231002X", "11010519491231002x", "440524188001010014", "370102199001011231"])
    func acceptsValidIDs(_ id: String) throws {
        let parsed = try PersonID.parse(Substring(id), today: today).get()
        #expect(parsed.text == id.uppercased())
        #expect(parsed.masked == String(id.uppercased().prefix(6)) + "********" + String(id.uppercased().suffix(4)))
    }

    @Test(arguments: [
        ("370102900101123", PersonID.Problem.old15),
        ("370102199001011234", .checksum(expected: "1")),
        ("37010219900101123", .malformed),
        ("3701021990010112311", .malformed),
        ("37010219900A011231", .malformed),
        ("370102199002301236", .birthDate),     // 30 February
        ("370102203001011239", .birthDate),     // born in 2030
    ])
    func refusesBadIDs(_ id: String, _ problem: PersonID.Problem) {
        var expected = problem
        if case .birthDate = problem {
            // Make the check character right so that only the date is wrong.
            let fixed = PersonID.withCheckCharacter(String(id.prefix(17)))
            #expect(PersonID.parse(Substring(fixed), today: today) == .failure(.birthDate))
            return
        }
        if case .checksum = problem { expected = .checksum(expected: "1") }
        #expect(PersonID.parse(Substring(id), today: today) == .failure(expected))
    }

    /// Born today is accepted, any later day is not: the day, month and year boundaries around today.
    @Test func birthDateIsNotAfterToday() {
        func id(_ date: CivilDate) -> Substring {
            func pad(_ v: Int, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
            return Substring(PersonID.withCheckCharacter("110105" + pad(date.year, 4) + pad(date.month, 2) + pad(date.day, 2) + "123"))
        }
        let earlier = [today, CivilDate(dayNumber: today.dayNumber - 1), CivilDate(dayNumber: today.dayNumber - 40),
                       CivilDate(dayNumber: today.dayNumber - 366)]
        let later = [CivilDate(dayNumber: today.dayNumber + 1), CivilDate(dayNumber: today.dayNumber + 31),
                     CivilDate(dayNumber: today.dayNumber + 365)]
        for date in earlier { #expect((try? PersonID.parse(id(date), today: today).get()) != nil, "\(date)") }
        for date in later { #expect(PersonID.parse(id(date), today: today) == .failure(.birthDate), "\(date)") }
    }

    @Test func keyRoundTrips() throws {
        for _ in 0..<500 {
            var digits = "110105"
            digits += String(Int.random(in: 1950...2005))
            digits += String(format2(Int.random(in: 1...12))) + String(format2(Int.random(in: 1...28)))
            digits += String(Int.random(in: 100...999))
            let id = PersonID.withCheckCharacter(digits)
            let parsed = try PersonID.parse(Substring(id), today: today).get()
            #expect(PersonID(key: parsed.key).text == id)
        }
    }

    func format2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

@Suite struct EmployerIDTests {
    @Test(arguments: ["91350100M000100Y43", "91370100MA3C5X123P", "91370103MA3E8W7893"])
    func acceptsValidCodes(_ code: String) throws {
        #expect(try EmployerID.parse(code).get().text == code)
    }

    @Test func refusesWrongCheckCharacter() {
        #expect(EmployerID.parse("91350100M000100Y44") == .failure(.checksum(expected: "3")))
    }

    @Test(arguments: ["91350100M000100Y4", "91350100I000100Y43", "9135010OM000100Y43"])
    func refusesMalformed(_ code: String) {
        #expect(EmployerID.parse(code) == .failure(.malformed))
    }
}
