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

    package var letter: String {
        switch self {
        case .continuing: ""
        case .added: "A"
        case .removed: "R"
        }
    }
}

/// One person's row of a declaration, as read from CSV or XML, not yet checked.
package struct DeclarationRow: Sendable {
    /// 1-based line of the row (CSV record start; XML `Person` element).
    package var line: Int
    /// XML path of the `Person` element (`/Declaration/Persons/Person[3]`); nil for CSV.
    package var path: String?
    /// CSV only: the row's employer and period columns (nil when the column is absent or XML).
    package var employerID: Substring?
    package var period: Substring?
    package var personID: Substring?
    package var name: Substring?
    package var wageBase: Substring?
    package var change: Substring?

    package init(line: Int, path: String? = nil, employerID: Substring? = nil, period: Substring? = nil,
                 personID: Substring? = nil, name: Substring? = nil, wageBase: Substring? = nil, change: Substring? = nil) {
        self.line = line
        self.path = path
        self.employerID = employerID
        self.period = period
        self.personID = personID
        self.name = name
        self.wageBase = wageBase
        self.change = change
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
