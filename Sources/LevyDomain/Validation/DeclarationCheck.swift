/// One person as declared, kept while a file is checked: 32 bytes, so a run of them sorts and
/// spills to disk cheaply (see ``PersonLog``).
package struct DeclaredPerson: Sendable, Hashable {
    /// ``PersonID/key``: the first 17 digits as an integer.
    package var key: Int64
    /// Base after floor/ceiling (0 for a removal or a row whose base is wrong).
    package var baseFen: Fen
    package var line: Int32
    package var ordinal: Int32
    package var change: RosterChange

    package init(key: Int64, baseFen: Fen, line: Int32, ordinal: Int32, change: RosterChange) {
        self.key = key
        self.baseFen = baseFen
        self.line = line
        self.ordinal = ordinal
        self.change = change
    }

    /// Roster order: by person, then by position in the file (the first occurrence first).
    package static func precedes(_ a: DeclaredPerson, _ b: DeclaredPerson) -> Bool {
        a.key != b.key ? a.key < b.key : a.ordinal < b.ordinal
    }
}

/// Where a check puts the persons it reads, so that a file's persons are never all held in memory:
/// the pipeline's sink sorts them in bounded runs and spills to disk, then hands them back in
/// roster order (``DeclaredPerson/precedes(_:_:)``) for ``DeclarationCheck/finish(persons:previousRoster:insuredElsewhere:removalsInArrears:xmlTotals:)``.
package protocol PersonLog: AnyObject {
    func append(_ person: DeclaredPerson)
}

/// A ``PersonLog`` that keeps everything in memory: the default for checks that end at file level
/// (wrong type, duplicate, non-regular file) and never read a row. Files that are read use the
/// pipeline's spilling sorter.
package final class PersonsInMemory: PersonLog {
    package private(set) var persons: [DeclaredPerson] = []
    package init() {}
    package func append(_ person: DeclaredPerson) { persons.append(person) }
}

/// What a check counts row by row. The counts of consecutive parts of one file, each checked on its
/// own, add up to those of the whole (``add(_:lineOffset:)``).
package struct RowCounts: Sendable {
    package var findings = FindingList()
    package var totals = ContributionTotals()
    package var rows = 0
    /// Sum of declared (not adjusted) bases of persons not marked R, for the XML totals check.
    package var declaredBaseFen: Fen = 0
    /// Persons not marked R.
    package var declaredHeadcount = 0
    package var removals = 0
    /// Rows marked `A`.
    package var additions = 0

    package init() {}

    /// Adds the counts of the part of the file that follows, whose first line is line `lineOffset + 1`.
    package mutating func add(_ later: RowCounts, lineOffset: Int) {
        findings.append(later.findings, lineOffset: lineOffset)
        totals.add(later.totals)
        rows += later.rows
        declaredBaseFen += later.declaredBaseFen
        declaredHeadcount += later.declaredHeadcount
        removals += later.removals
        additions += later.additions
    }
}

/// The check of one declaration file, fed row by row so a file is never held in memory.
///
/// Feed the header values (XML) or rows (CSV, which carry employer and period on each row), then
/// ``finish(persons:previousRoster:insuredElsewhere:removalsInArrears:xmlTotals:)`` with the persons
/// in roster order and what the ledger knows. The result is the findings and the contribution
/// totals; the roster is what went into the ``PersonLog``. Pure: no I/O, the pipeline asks the ledger.
/// Memory does not depend on the number of rows.
package struct DeclarationCheck {
    package enum Format: Sendable { case csv, xml }

    package let format: Format
    package let rules: Rules
    package let now: AgencyTime
    /// The employer whose folder the file came from (nil for `levy check` without `--employer`).
    package let folderEmployer: Employer?

    /// What the rows added up to so far: findings, totals, counts.
    package var counted = RowCounts()
    package var findings: FindingList { counted.findings }
    package var totals: ContributionTotals { counted.totals }
    package var rowCount: Int { counted.rows }
    /// Sum of declared (not adjusted) bases of persons not marked R, for the XML totals check.
    package var declaredBaseFen: Fen { counted.declaredBaseFen }
    package var declaredHeadcount: Int { counted.declaredHeadcount }
    package var removalCount: Int { counted.removals }
    /// Rows marked `A`: the additions when the employer has a roster already.
    package var addedCount: Int { counted.additions }
    package private(set) var employer: Employer?
    package private(set) var period: Period?
    package private(set) var schedule: ContributionSchedule?
    /// Where each valid person goes (the pipeline's spilling sorter, or ``PersonsInMemory``).
    package var persons: any PersonLog

    private var employerText: String?
    /// The first row's employer and period bytes: a row repeating them needs no check (CSV hot path).
    private var employerSeen: [UInt8]?
    private var periodSeen: [UInt8]?
    private var employerRaw: Substring?
    private var periodRaw: Substring?
    private var periodText: String?
    private var periodLine: Int?
    private var periodPath: String?

    package init(format: Format, rules: Rules, now: AgencyTime, folderEmployer: Employer?,
                 persons: any PersonLog = PersonsInMemory()) {
        self.format = format
        self.persons = persons
        self.rules = rules
        self.now = now
        self.folderEmployer = folderEmployer
        self.employer = folderEmployer
    }

    package mutating func add(_ finding: Finding) { counted.findings.add(finding) }

    /// Adds a finding of a row or a person, building its value and message (and their redaction) only
    /// when the capped list keeps it; one it would drop at once is only counted: a broken file of
    /// millions of rows would otherwise make a message per row for a report that keeps 1,000.
    package mutating func add(_ code: FindingCode, line: Int?, path: String? = nil, field: String? = nil,
                              value: @autoclosure () -> String? = nil, message: @autoclosure () -> String) {
        guard counted.findings.keeps(line: line) else { return counted.findings.countDropped(isError: code.isError) }
        counted.findings.add(Finding(code: code, line: line, path: path, field: field, value: value(), message: message()))
    }

    // MARK: Header values

    /// Checks the employer named by the file (XML header, or each CSV row).
    package mutating func employer(_ raw: Substring, line: Int, path: String?) {
        if let first = employerRaw, raw == first { return }  // the same text as the first row: nothing new to say
        let text = String(raw).trimmingSpaces.uppercased()
        if let first = employerText {
            if text != first {
                add(Finding(code: .employerMismatch, line: line, path: path, field: "employer_id", value: text,
                            message: "统一社会信用代码与第一行（\(first)）不一致：一个文件只能申报一个单位 / Employer differs from the first row (\(first)): one file, one employer"))
            }
            return
        }
        employerText = text
        employerRaw = raw
        let registered = rules.employer(text)
        if registered == nil, case .failure(let problem) = EmployerID.parse(text) {
            let why: String
            switch problem {
            case .malformed: why = "应为18位（数字及除I、O、S、V、Z外的大写字母）/ must be 18 characters of 0-9 and A-Z without I, O, S, V, Z"
            case .checksum(let expected): why = "校验位错误，按 GB 32100 应为 \(expected) / check character wrong, GB 32100 gives \(expected)"
            }
            add(Finding(code: .employerID, line: line, path: path, field: "employer_id", value: text,
                        message: "统一社会信用代码无效：\(why)；请核对营业执照 / Invalid credit code: check the business licence"))
        } else if registered == nil {
            add(Finding(code: .employerUnknown, line: line, path: path, field: "employer_id", value: text,
                        message: "单位未在经办机构登记（Rules/employers.csv）：请先办理参保登记 / Employer not registered with the agency: register it first"))
        }
        if let folder = folderEmployer {
            if text != folder.id.text {
                add(Finding(code: .employerMismatch, line: line, path: path, field: "employer_id", value: text,
                            message: "文件中的单位与提交目录（\(folder.id.text)）不符：只能申报本单位 / Employer differs from the folder the file was dropped in (\(folder.id.text)): declare your own employer only"))
            }
        } else {
            employer = registered
            resolveSchedule()
        }
    }

    /// Checks the period named by the file (XML header, or each CSV row).
    package mutating func period(_ raw: Substring, line: Int, path: String?) {
        if let first = periodRaw, raw == first { return }
        let text = String(raw).trimmingSpaces
        guard let parsed = Period(text) else {
            add(Finding(code: .period, line: line, path: path, field: "period", value: text,
                        message: "所属期格式错误：应为 YYYY-MM 或 YYYYMM，例如 \(now.date.period) / Period malformed: write YYYY-MM or YYYYMM"))
            return
        }
        if let known = period {
            if parsed != known {
                add(Finding(code: .period, line: line, path: path, field: "period", value: text,
                            message: "所属期与第一行（\(known)）不一致：一个文件只能申报一个所属期 / Period differs from the first row (\(known)): one file, one period"))
            }
            return
        }
        period = parsed
        periodText = text
        periodRaw = raw
        periodLine = line
        periodPath = path
        if parsed > now.date.period {
            add(Finding(code: .period, line: line, path: path, field: "period", value: text,
                        message: "所属期 \(parsed) 晚于当前所属期 \(now.date.period)：不能提前申报 / Period is later than the current one (\(now.date.period)): declare it when it starts"))
        } else if rules.parameters(for: parsed) == nil {
            add(Finding(code: .period, line: line, path: path, field: "period", value: text,
                        message: "所属期 \(parsed) 没有有效的缴费参数（Rules/levy.yaml periods）：请核对所属期 / No contribution parameters in force for this period: check the period"))
        }
        resolveSchedule()
    }

    private mutating func resolveSchedule() {
        guard schedule == nil, let employer, let period, let parameters = rules.parameters(for: period) else { return }
        schedule = ContributionSchedule(parameters: parameters, riskClass: employer.riskClass, rounding: rules.rounding)
    }

    // MARK: Rows

    /// Checks one person's row, given as bytes borrowed for the call (see ``RowBytes``), and adds it
    /// to the roster and totals. Text is made only for what is reported.
    package mutating func row(bytes row: RowBytes) {
        counted.rows += 1
        if let e = row.employerID, !Self.same(e, employerSeen) {
            employer(Substring(e.text), line: row.line, path: nil)
            if employerSeen == nil { employerSeen = Array(e) }
        }
        if let p = row.period, !Self.same(p, periodSeen) {
            period(Substring(p.text), line: row.line, path: nil)
            if periodSeen == nil { periodSeen = Array(p) }
        }

        var change = RosterChange.continuing
        if let raw = row.change {
            if let c = RosterChange(bytes: raw) {
                change = c
            } else {
                add(format == .csv ? .csvRow : .xmlSchema, line: row.line, path: path(of: row, .change),
                    field: "change", value: raw.text,
                    message: "变动类型只能为空（续保）、A（增员）或 R（减员） / change must be empty (continuing), A (added) or R (removed)")
            }
        }

        let person = checkPersonID(row)
        let base = checkBase(row, change: change)

        if change == .added { counted.additions += 1 }
        if change == .removed { counted.removals += 1 } else if let declared = base {
            counted.declaredHeadcount += 1
            counted.declaredBaseFen += declared
        } else {
            counted.declaredHeadcount += 1
        }

        guard let person else { return }
        // A person declared twice is found when the sorted persons are read back in `finish`; the
        // file is then rejected, so counting both rows here changes nothing anyone sees.
        var adjusted: Fen = 0
        if change != .removed, let declared = base, schedule != nil {
            // Used in place: binding the schedule (`if let`) would copy it, with its rates, for every row.
            adjusted = schedule.unsafelyUnwrapped.adjust(declared).base
            schedule.unsafelyUnwrapped.add(base: adjusted, to: &counted.totals)
        }
        persons.append(DeclaredPerson(key: person.key, baseFen: adjusted, line: Int32(clamping: row.line),
                                      ordinal: Int32(clamping: rowCount), change: change))
    }

    /// The bytes equal those already seen (the employer or period of the first row).
    private static func same(_ bytes: RowBytes.Field, _ seen: [UInt8]?) -> Bool {
        guard let seen, seen.count == bytes.count else { return false }
        return seen.withUnsafeBufferPointer { s in
            for i in 0..<bytes.count where s[i] != bytes[i] { return false }
            return true
        }
    }

    private func path(of row: RowBytes, _ field: DeclarationField) -> String? {
        guard let base = row.path else { return nil }
        return field == .change ? base + "/@change" : base + "/" + field.xmlName
    }

    private mutating func checkPersonID(_ row: RowBytes) -> PersonID? {
        let field = (row.personID ?? RowBytes.Field(start: nil, count: 0)).trimmingSpaces
        let parsed = field.baseAddress == nil ? .failure(.malformed) : PersonID.parse(bytes: field, today: now.date)
        if case .success(let id) = parsed { return id }
        let raw = field.text
        let where_ = (line: row.line, path: path(of: row, .personID))
        switch parsed {
        case .success:
            break
        case .failure(.old15):
            add(.idOld15, line: where_.line, path: where_.path, field: "person_id", value: PersonID.mask(raw),
                message: "15位旧身份证号码不能使用：请提供该人员现行的18位公民身份号码 / Old 15-digit ID: ask the person for the 18-digit resident ID")
        case .failure(.malformed):
            add(.idChecksum, line: where_.line, path: where_.path, field: "person_id", value: PersonID.mask(raw),
                message: "公民身份号码应为18位（17位数字加校验位 0-9 或 X） / Resident ID must be 18 characters: 17 digits and a check character 0-9 or X")
        case .failure(.checksum(let expected)):
            add(.idChecksum, line: where_.line, path: where_.path, field: "person_id", value: PersonID.mask(raw),
                message: "公民身份号码校验位错误（按 GB 11643 应为 \(expected)）：请核对号码 / Check character wrong (GB 11643 gives \(expected)): check the ID number")
        case .failure(.birthDate):
            add(.idBirthDate, line: where_.line, path: where_.path, field: "person_id", value: PersonID.mask(raw),
                message: "公民身份号码中的出生日期（第7-14位）不存在或晚于今天：请核对号码 / Birth date in the ID (digits 7-14) is impossible: check the ID number")
        }
        return nil
    }

    /// Returns the declared base in fen when it is a valid amount.
    private mutating func checkBase(_ row: RowBytes, change: RosterChange) -> Fen? {
        let field = (row.wageBase ?? RowBytes.Field(start: nil, count: 0)).trimmingSpaces
        if change == .removed && field.isEmpty { return nil }
        let declared: Fen
        switch field.baseAddress == nil ? .failure(.notANumber) : Yuan.parse(bytes: field) {
        case .success(let fen): declared = fen
        case .failure(let problem):
            let (zh, en): (String, String)
            switch problem {
            case .notANumber: (zh, en) = ("不是数字", "not a number")
            case .negative: (zh, en) = ("不能为负数", "negative")
            case .tooManyDecimals: (zh, en) = ("最多两位小数", "more than 2 decimals")
            case .tooLarge: (zh, en) = ("数额过大", "too large")
            }
            add(.baseFormat, line: row.line, path: path(of: row, .wageBase), field: "wage_base", value: field.text,
                message: "缴费工资\(zh)：请填写以元为单位、最多两位小数的金额，如 6000.00 / Wage base \(en): write yuan with up to 2 decimals, e.g. 6000.00")
            return nil
        }
        guard change != .removed, schedule != nil else { return declared }
        let adjustment = schedule.unsafelyUnwrapped.adjust(declared).adjustment
        if adjustment == .none { return declared }
        let p = schedule.unsafelyUnwrapped.parameters
        let raw = field.text
        let path = path(of: row, .wageBase)
        switch adjustment {
        case .belowFloor:
            add(.baseBelowFloor, line: row.line, path: path, field: "wage_base", value: raw,
                message: "缴费工资低于 \(p.from) 起执行的缴费基数下限 \(Yuan.format(p.floor)) 元：请按不低于下限申报 / Below the floor of \(Yuan.format(p.floor)) yuan in force from \(p.from): declare at least the floor")
        case .raised:
            add(.baseRaised, line: row.line, path: path, field: "wage_base", value: raw,
                message: "缴费工资低于下限，已按下限 \(Yuan.format(p.floor)) 元计征 / Below the floor: raised to \(Yuan.format(p.floor)) yuan")
        case .capped:
            add(.baseCapped, line: row.line, path: path, field: "wage_base", value: raw,
                message: "缴费工资高于上限，已按上限 \(Yuan.format(p.ceiling)) 元计征 / Above the ceiling: capped at \(Yuan.format(p.ceiling)) yuan")
        case .none:
            break
        }
        return declared
    }

    /// The employer and period every later row is compared with are known: the first row has been
    /// read, and its period (when the file has one) was valid. From here a later part of the file can be
    /// checked on its own, by a copy of this check with nothing counted, and its ``counted`` added back.
    package var firstRowSettled: Bool { rowCount > 0 && (periodSeen == nil || period != nil) }

    // MARK: Whole file

    private func personPath(_ person: DeclaredPerson, _ field: DeclarationField) -> String? {
        format == .xml ? "/Declaration/Persons/Person[\(person.ordinal)]/\(field.xmlName)" : nil
    }

    /// Completes the check: one merge of the file's persons (in roster order) with the employer's
    /// last roster, so nothing but the current person and the current roster key is in memory.
    /// - Parameters:
    ///   - persons: the next person in ``DeclaredPerson/precedes(_:_:)`` order, nil at the end.
    ///   - previousRoster: the next key of the employer's last accepted roster before this period,
    ///     ascending, removals left out; nil when this is the employer's first declaration.
    ///   - insuredElsewhere: the other employer on whose roster for this period a person is; asked
    ///     only for additions (rows marked `A`, or every row of a first declaration), keys ascending.
    ///   - removalsInArrears: the employer has overdue contributions, so removals are refused.
    ///   - xmlTotals: `Headcount` and `TotalWageBase` of an XML file, with their lines.
    package mutating func finish(persons next: () -> DeclaredPerson?, previousRoster: (() -> Int64?)? = nil,
                                 insuredElsewhere: (Int64) -> EmployerID? = { _ in nil },
                                 removalsInArrears: Bool = false, xmlTotals: XMLTotals? = nil) {
        if rowCount == 0 {
            add(Finding(code: .fileEmpty, message: "文件中没有人员明细：请至少申报一名参保人员 / No person rows: declare at least one person"))
        }
        if employerText == nil && rowCount > 0 {
            add(Finding(code: .csvHeader, field: "employer_id", message: "缺少统一社会信用代码 / The employer_id is missing"))
        }
        if let xmlTotals { checkTotals(xmlTotals) }

        var rosterKey = previousRoster?()
        func missing(_ key: Int64) {
            add(Finding(code: .rosterMissing, field: "person_id", value: PersonID(key: key).masked,
                        message: "上月参保名单中的该人员本月未申报：继续参保请照常申报，离职请申报并在变动类型填 R（减员） / On the last roster but missing here: declare the person, or mark R (removed) if they left"))
        }
        var first: DeclaredPerson?
        while let person = next() {
            if let first, first.key == person.key {
                add(.personDuplicate, line: Int(person.line), path: personPath(person, .personID), field: "person_id",
                    value: PersonID(key: person.key).masked,
                    message: "同一人员重复申报（首次见第 \(first.line) 行）：每人只保留一行 / Same person twice (first on line \(first.line)): keep one row per person")
                continue
            }
            first = person
            let isAddition: Bool
            if let nextRosterKey = previousRoster {
                while let key = rosterKey, key < person.key {
                    missing(key)
                    rosterKey = nextRosterKey()
                }
                let onRoster = rosterKey == person.key
                if onRoster { rosterKey = nextRosterKey() }
                if !onRoster && person.change != .added {
                    let message = person.change == .removed
                        ? "减员人员不在本单位上月参保名单中：请删除此行 / Removed person is not on the employer's last roster: delete this row"
                        : "该人员不在本单位上月参保名单中：新增人员请在变动类型填 A（增员） / Not on the employer's last roster: mark a new person A (added)"
                    add(.rosterUnknown, line: Int(person.line), path: personPath(person, .personID), field: "person_id",
                        value: PersonID(key: person.key).masked, message: message)
                }
                isAddition = person.change == .added
            } else {
                // A first declaration sets the roster (SPEC §3): its R rows are people who left before
                // levy knew the employer, so they are accepted and kept off the roster.
                isAddition = person.change != .removed
            }
            if isAddition, let other = insuredElsewhere(person.key) {
                add(.personInsuredElsewhere, line: Int(person.line), path: personPath(person, .personID),
                    field: "person_id", value: PersonID(key: person.key).masked,
                    message: "该人员本期已在其他单位（\(other.text)）参保：请原单位先办理减员 / Insured by another employer (\(other.text)) this period: that employer must remove the person first")
            }
            if removalsInArrears && person.change == .removed {
                add(.removalArrears, line: Int(person.line), path: personPath(person, .change), field: "change",
                    value: PersonID(key: person.key).masked,
                    message: "单位有欠缴的逾期社保费，暂不能办理减员：请先缴清欠费及滞纳金，或到经办窗口办理 / The employer has unpaid overdue contributions: pay them first, or remove staff at the counter")
            }
        }
        if let nextRosterKey = previousRoster {
            while let key = rosterKey {
                missing(key)
                rosterKey = nextRosterKey()
            }
        }
    }

    private mutating func checkTotals(_ totals: XMLTotals) {
        if let headcount = totals.headcount, headcount != declaredHeadcount {
            add(Finding(code: .headcount, line: totals.headcountLine, path: "/Declaration/Headcount", field: "Headcount",
                        value: String(headcount),
                        message: "申报人数 \(headcount) 与明细中非减员人数 \(declaredHeadcount) 不符：请更正 Headcount / Headcount \(headcount) but \(declaredHeadcount) persons not marked R are listed: correct Headcount"))
        }
        if let total = totals.totalWageBase, total != declaredBaseFen {
            add(Finding(code: .headcount, line: totals.totalLine, path: "/Declaration/TotalWageBase", field: "TotalWageBase",
                        value: Yuan.format(total),
                        message: "缴费工资合计 \(Yuan.format(total)) 与明细合计 \(Yuan.format(declaredBaseFen)) 不符：请更正 TotalWageBase / TotalWageBase differs from the sum of the persons' wage bases (\(Yuan.format(declaredBaseFen))): correct it"))
        }
    }

    /// Whether the declaration can be accepted (no `E-` finding).
    package var isAccepted: Bool { !findings.hasErrors }
}

/// The totals an XML declaration states about itself.
package struct XMLTotals: Sendable, Hashable {
    package var headcount: Int?
    package var headcountLine: Int?
    package var totalWageBase: Fen?
    package var totalLine: Int?
    package init() {}
}
