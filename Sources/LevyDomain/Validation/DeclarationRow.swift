/// How a person's roster status changes this month (变动类型).
package enum RosterChange: UInt8, Sendable, Hashable, Codable {
    /// Continuing (empty column).
    case continuing = 0
    /// 增员: added this month.
    case added = 1
    /// 减员: removed this month.
    case removed = 2

    /// Accepts empty, `A`/`R` (any case) and the Chinese 增员/减员 (增/减).
    package init?(_ text: some StringProtocol) {
        switch String(text).trimmingSpaces.uppercased() {
        case "": self = .continuing
        case "A", "增员", "增": self = .added
        case "R", "减员", "减": self = .removed
        default: return nil
        }
    }

    /// The same as ``init(_:)`` on UTF-8 bytes: empty, `A`, `R` without making text.
    package init?(bytes: UnsafeBufferPointer<UInt8>) {
        switch bytes.count {
        case 0: self = .continuing
        case 1 where bytes[0] == UInt8(ascii: "A") || bytes[0] == UInt8(ascii: "a"): self = .added
        case 1 where bytes[0] == UInt8(ascii: "R") || bytes[0] == UInt8(ascii: "r"): self = .removed
        default: self.init(bytes.text)
        }
    }

    package var letter: String {
        switch self {
        case .continuing: ""
        case .added: "A"
        case .removed: "R"
        }
    }
}

/// A declaration field: its English column name, Chinese header and XML element.
package enum DeclarationField: String, Sendable, CaseIterable {
    case employerID = "employer_id"
    case period = "period"
    case personID = "person_id"
    case name = "name"
    case wageBase = "wage_base"
    case change = "change"

    package var chinese: String {
        switch self {
        case .employerID: "统一社会信用代码"
        case .period: "所属期"
        case .personID: "公民身份号码"
        case .name: "姓名"
        case .wageBase: "缴费工资"
        case .change: "变动类型"
        }
    }

    /// Element (or attribute, for `change`) name in the XML format.
    package var xmlName: String {
        switch self {
        case .employerID: "EmployerId"
        case .period: "Period"
        case .personID: "Id"
        case .name: "Name"
        case .wageBase: "WageBase"
        case .change: "@change"
        }
    }

    /// Finds a field by CSV header text, English (any case) or Chinese.
    package init?(header: some StringProtocol) {
        let h = String(header).trimmingSpaces
        if let f = DeclarationField(rawValue: h.lowercased()) { self = f; return }
        guard let f = DeclarationField.allCases.first(where: { $0.chinese == h }) else { return nil }
        self = f
    }
}

/// One row's fields as UTF-8 bytes borrowed from the reader's buffer, valid only for the length of
/// the ``DeclarationCheck/row(bytes:)`` call that receives them. The CSV hot path: a valid row is
/// checked without making a single `String`; text is made only for what is reported.
package struct RowBytes {
    package typealias Field = UnsafeBufferPointer<UInt8>
    package var line: Int
    /// XML only: the position of the `Person` element (1-based), for the findings' paths.
    package var xmlPerson: Int?
    /// XML path of the `Person` element (`/Declaration/Persons/Person[3]`), made only for a finding; nil for CSV.
    package var path: String? { xmlPerson.map { "/Declaration/Persons/Person[\($0)]" } }
    package var employerID: Field?
    package var period: Field?
    package var personID: Field?
    package var name: Field?
    package var wageBase: Field?
    package var change: Field?

    package init(line: Int, xmlPerson: Int? = nil, employerID: Field? = nil, period: Field? = nil, personID: Field? = nil,
                 name: Field? = nil, wageBase: Field? = nil, change: Field? = nil) {
        self.line = line
        self.xmlPerson = xmlPerson
        self.employerID = employerID
        self.period = period
        self.personID = personID
        self.name = name
        self.wageBase = wageBase
        self.change = change
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Without spaces, tabs and ideographic spaces (U+3000) at either end, like `String.trimmingSpaces`.
    package var trimmingSpaces: UnsafeBufferPointer<UInt8> {
        guard let base = baseAddress else { return self }
        var lo = 0
        var hi = count
        while lo < hi {
            if base[lo] == 32 || base[lo] == 9 { lo += 1 } else if hi - lo >= 3 && base[lo] == 0xE3 && base[lo + 1] == 0x80 && base[lo + 2] == 0x80 {
                lo += 3
            } else { break }
        }
        while hi > lo {
            if base[hi - 1] == 32 || base[hi - 1] == 9 { hi -= 1 } else if hi - lo >= 3 && base[hi - 3] == 0xE3 && base[hi - 2] == 0x80 && base[hi - 1] == 0x80 {
                hi -= 3
            } else { break }
        }
        return UnsafeBufferPointer(start: base + lo, count: hi - lo)
    }

    /// The bytes as text (invalid UTF-8 repaired), for findings.
    package var text: String { String(decoding: self, as: UTF8.self) }
}
