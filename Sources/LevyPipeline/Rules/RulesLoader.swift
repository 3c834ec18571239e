import Foundation
import LevyDomain
import LevyXML
import Yams

/// A bad rule: levy stops (exit 1) before touching the inbox and says where and how to fix it.
package struct RulesError: Error, Sendable, CustomStringConvertible {
    package let file: String
    package let line: Int?
    package let problem: String
    package let fix: String

    package var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(problem) — fix: \(fix)"
    }
}

/// Everything levy reads from `Rules/`, checked.
package struct LoadedRules: Sendable {
    package let rules: Rules
    package let clock: AgencyClock
    package let declarationSchema: XMLSchema
    /// `Rules/operators.csv`; nil when the agency has none (then no manual command names an operator).
    package var operators: [String: Operator]? = nil
    /// Rules `approvals`: which manual operations wait for a second person.
    package var approvals: ApprovalRules = .none
    /// Rules `bank_returns.answer_within_days`: working days after its collection date within which
    /// the bank must answer a debit (SPEC §9).
    package var answerWithinDays = 2
}

/// Reads and checks `Rules/` (SPEC §8). Nothing else in levy parses these files.
package enum RulesLoader {
    package static func load(from dir: String) throws(RulesError) -> LoadedRules {
        let levyFile = "Rules/levy.yaml"
        let levy = try yaml(dir + "/levy.yaml", name: levyFile)
        let calendar = try loadCalendar(dir + "/calendar.yaml")
        let banks = try loadBanks(dir + "/banks.yaml")
        let employers = try loadEmployers(dir + "/employers.csv", banks: banks)

        let reader = MappingReader(node: levy, file: levyFile, path: "")
        try reader.allow(["timezone", "agency", "cutoff", "debit_window", "late_fee", "rounding", "bank_returns", "limits", "periods", "approvals"])
        let timezoneNode = try reader.required("timezone")
        let timezone = try reader.string(timezoneNode, "timezone")
        let clock: AgencyClock
        do { clock = try AgencyClock(identifier: timezone) } catch {
            throw RulesError(file: levyFile, line: timezoneNode.mark?.line, problem: "unknown timezone '\(timezone)'",
                             fix: "use an IANA timezone name such as Asia/Shanghai")
        }
        let agency = try reader.mapping("agency")
        try agency.allow(["name", "creditor_id"])
        let agencyName = try agency.string(agency.required("name"), "agency.name")
        let creditorID = try agency.string(agency.required("creditor_id"), "agency.creditor_id")
        guard !creditorID.isEmpty, creditorID.count <= 35 else {
            throw agency.error(at: agency.node, "agency.creditor_id must be 1 to 35 characters", fix: "write the agency's creditor id, e.g. CN-SI-0001")
        }

        let cutoff = try reader.mapping("cutoff")
        try cutoff.allow(["day", "time"])
        let dayNode = try cutoff.required("day")
        guard let cutoffDay = Int(try cutoff.string(dayNode, "cutoff.day")), (1...28).contains(cutoffDay) else {
            throw cutoff.error(at: dayNode, "cutoff.day must be a day of the month from 1 to 28", fix: "write e.g. day: 10")
        }
        let timeNode = try cutoff.required("time")
        guard let cutoffTime = TimeOfDay(try cutoff.string(timeNode, "cutoff.time")) else {
            throw cutoff.error(at: timeNode, "cutoff.time is not a time of day", fix: "write it quoted as \"HH:MM\", e.g. time: \"17:00\"")
        }
        let window = try reader.mapping("debit_window")
        try window.allow(["first_day"])
        let firstNode = try window.required("first_day")
        guard let firstDay = Int(try window.string(firstNode, "debit_window.first_day")), (1...cutoffDay).contains(firstDay) else {
            throw window.error(at: firstNode, "debit_window.first_day must be a day from 1 to cutoff.day (\(cutoffDay))", fix: "write e.g. first_day: 6")
        }
        let lateFee = try reader.mapping("late_fee")
        try lateFee.allow(["daily_rate"])
        let dailyRate = try lateFee.rate(lateFee.required("daily_rate"), "late_fee.daily_rate")

        var rounding = Rounding.halfUp
        if let node = reader.optional("rounding") {
            let text = try reader.string(node, "rounding")
            guard let r = Rounding(rawValue: text) else {
                throw reader.error(at: node, "unknown rounding mode '\(text)'", fix: "write half_up or up_to_jiao")
            }
            rounding = r
        }
        var retry: Set<String> = ["AM04", "MS03"]
        var answerWithin = 2
        if reader.optional("bank_returns") != nil {
            let returns = try reader.mapping("bank_returns")
            try returns.allow(["retry", "answer_within_days"])
            if let node = returns.optional("answer_within_days") {
                let text = try returns.string(node, "bank_returns.answer_within_days")
                guard let days = Int(text), (0...30).contains(days) else {
                    throw returns.error(at: node, "bank_returns.answer_within_days '\(text)' is not a number of working days from 0 to 30", fix: "write answer_within_days: 2")
                }
                answerWithin = days
            }
            if let node = returns.optional("retry") {
                guard let seq = node.sequence else { throw returns.error(at: node, "bank_returns.retry must be a list of reason codes", fix: "write retry: [AM04, MS03]") }
                retry = []
                for n in seq {
                    let code = try returns.string(n, "bank_returns.retry")
                    guard code.count == 4, code.allSatisfy({ $0.isLetter || $0.isNumber }) else {
                        throw returns.error(at: n, "'\(code)' is not an ISO 20022 reason code", fix: "write four-character codes such as AM04")
                    }
                    retry.insert(code.uppercased())
                }
            }
        }
        var maxBytes: Int64 = 256 * 1024 * 1024
        if reader.optional("limits") != nil {
            let limits = try reader.mapping("limits")
            try limits.allow(["max_file_bytes"])
            if let node = limits.optional("max_file_bytes") {
                guard let v = Int64(try limits.string(node, "limits.max_file_bytes")), v > 0 else {
                    throw limits.error(at: node, "limits.max_file_bytes must be a positive whole number of bytes", fix: "write e.g. max_file_bytes: 268435456")
                }
                maxBytes = v
            }
        }

        let periodsNode = try reader.required("periods")
        guard let periodList = periodsNode.sequence, !periodList.isEmpty else {
            throw reader.error(at: periodsNode, "periods must be a non-empty list", fix: "add at least one entry with from, wage_base and rates")
        }
        var periods: [PeriodParameters] = []
        var seen: [Period: Int] = [:]
        for entry in periodList {
            let p = try loadPeriod(entry, file: levyFile)
            if let earlier = seen[p.from] {
                throw RulesError(file: levyFile, line: entry.mark?.line,
                                 problem: "two periods entries start at \(p.from) (the other at line \(earlier)): they overlap",
                                 fix: "keep one entry per starting period")
            }
            seen[p.from] = entry.mark?.line ?? 0
            periods.append(p)
        }
        for employer in employers.values {
            for p in periods where p.workInjury[employer.riskClass] == nil {
                throw RulesError(file: levyFile, line: nil,
                                 problem: "periods entry from \(p.from) has no work_injury rate for risk class \(employer.riskClass) (employer \(employer.id))",
                                 fix: "add \(employer.riskClass): \"0.00x\" under work_injury.by_class")
            }
        }

        let schedule = CollectionSchedule(calendar: calendar, cutoffDay: cutoffDay, cutoffTime: cutoffTime,
                                          debitWindowFirstDay: firstDay)
        let rules = Rules(timezone: timezone, agencyName: agencyName, creditorID: creditorID, schedule: schedule,
                          lateFeeDailyRate: dailyRate, rounding: rounding, retryReasons: retry, maxFileBytes: maxBytes,
                          periods: periods, employers: employers, banks: banks)
        let schema: XMLSchema
        do { schema = try XMLSchema(path: dir + "/declaration.xsd") } catch {
            throw RulesError(file: "Rules/declaration.xsd", line: error.line, problem: "the declaration schema cannot be used: \(error.message)",
                             fix: "restore Rules/declaration.xsd from the levy repository")
        }
        var loaded = LoadedRules(rules: rules, clock: clock, declarationSchema: schema)
        loaded.approvals = try loadApprovals(reader)
        loaded.answerWithinDays = answerWithin
        loaded.operators = try loadOperators(dir + "/operators.csv")
        return loaded
    }

    /// `approvals: { counter_payment_over: "50000.00", withdraw: true, reversal: true }` (optional).
    static func loadApprovals(_ reader: MappingReader) throws(RulesError) -> ApprovalRules {
        guard reader.optional("approvals") != nil else { return .none }
        let approvals = try reader.mapping("approvals")
        try approvals.allow(["counter_payment_over", "withdraw", "reversal"])
        let over = try approvals.optional("counter_payment_over").map { (n: Node) throws(RulesError) in try approvals.money(n, "approvals.counter_payment_over") }
        func flag(_ key: String) throws(RulesError) -> Bool {
            guard let n = approvals.optional(key) else { return false }
            switch try approvals.string(n, "approvals.\(key)") {
            case "true": return true
            case "false": return false
            case let other: throw approvals.error(at: n, "approvals.\(key) '\(other)' is not true or false", fix: "write \(key): true or \(key): false")
            }
        }
        return ApprovalRules(counterPaymentOver: over, withdraw: try flag("withdraw"), reversal: try flag("reversal"))
    }

    /// `Rules/operators.csv`: `operator_id,name,role` (clerk, reviewer or supervisor). Optional.
    static func loadOperators(_ path: String) throws(RulesError) -> [String: Operator]? {
        let file = "Rules/operators.csv"
        guard let rows = try csvTable(path, file: file, header: ["operator_id", "name", "role"], fieldsFix: "write operator_id,name,role") else {
            return nil
        }
        var operators: [String: Operator] = [:]
        for (line, f) in rows {
            guard !f[0].isEmpty, f[0].utf8.count <= 32, f[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw RulesError(file: file, line: line, problem: "operator_id '\(f[0])' is not 1 to 32 letters, digits, - or _", fix: "give each operator a short id such as C001")
            }
            guard let role = OperatorRole(rawValue: f[2].lowercased()) else {
                throw RulesError(file: file, line: line, problem: "role '\(f[2])' is not clerk, reviewer or supervisor", fix: "write clerk (柜员), reviewer (复核) or supervisor (主管)")
            }
            guard operators[f[0]] == nil else { throw RulesError(file: file, line: line, problem: "operator \(f[0]) listed twice", fix: "keep one line per operator") }
            guard f[0] != "levy" else { throw RulesError(file: file, line: line, problem: "'levy' is levy's own name for automatic work", fix: "choose another operator_id") }
            operators[f[0]] = Operator(id: f[0], name: f[1], role: role)
        }
        return operators
    }

    static func loadPeriod(_ node: Node, file: String) throws(RulesError) -> PeriodParameters {
        let entry = MappingReader(node: node, file: file, path: "periods[]")
        try entry.allow(["from", "wage_base", "rates"])
        let fromNode = try entry.required("from")
        guard let from = Period(try entry.string(fromNode, "from")) else {
            throw entry.error(at: fromNode, "periods.from is not a period", fix: "write it as YYYY-MM, e.g. from: 2026-01")
        }
        let base = try entry.mapping("wage_base")
        try base.allow(["floor", "ceiling", "below_floor"])
        let floor = try base.money(base.required("floor"), "wage_base.floor")
        let ceilingNode = try base.required("ceiling")
        let ceiling = try base.money(ceilingNode, "wage_base.ceiling")
        guard floor <= ceiling else {
            throw base.error(at: ceilingNode, "wage_base.ceiling is below the floor", fix: "make the ceiling at least the floor")
        }
        let modeNode = try base.required("below_floor")
        guard let mode = BelowFloor(rawValue: try base.string(modeNode, "below_floor")) else {
            throw base.error(at: modeNode, "below_floor must be reject or raise", fix: "write below_floor: reject (or raise)")
        }
        let rates = try entry.mapping("rates")
        try rates.allow(["pension", "medical", "unemployment", "maternity", "work_injury"])
        func pair(_ key: String) throws(RulesError) -> RatePair {
            let m = try rates.mapping(key)
            try m.allow(["employer", "employee"])
            return RatePair(employer: try m.rate(m.required("employer"), "\(key).employer"),
                            employee: try m.rate(m.required("employee"), "\(key).employee"))
        }
        let pension = try pair("pension")
        let medical = try pair("medical")
        let unemployment = try pair("unemployment")
        let maternityMap = try rates.mapping("maternity")
        try maternityMap.allow(["employer"])
        let maternity = try maternityMap.rate(maternityMap.required("employer"), "maternity.employer")
        let injury = try rates.mapping("work_injury")
        try injury.allow(["by_class"])
        let byClass = try injury.mapping("by_class")
        var classes: [Int: Rate] = [:]
        for (k, v) in byClass.pairs {
            guard let c = Int(k.string ?? ""), (1...8).contains(c) else {
                throw byClass.error(at: k, "work_injury risk class '\(k.string ?? "")' is not 1 to 8", fix: "use classes 1 to 8")
            }
            classes[c] = try byClass.rate(v, "work_injury.by_class.\(c)")
        }
        _ = try byClass.allow(Set((1...8).map(String.init)))
        return PeriodParameters(from: from, floor: floor, ceiling: ceiling, belowFloor: mode, pension: pension, medical: medical,
                                unemployment: unemployment, maternity: maternity, workInjury: classes)
    }

    static func loadCalendar(_ path: String) throws(RulesError) -> AgencyCalendar {
        let file = "Rules/calendar.yaml"
        let node = try yaml(path, name: file)
        let reader = MappingReader(node: node, file: file, path: "")
        try reader.allow(["holidays", "workdays"])
        func dates(_ key: String) throws(RulesError) -> Set<CivilDate> {
            guard let n = reader.optional(key) else { return [] }
            guard let seq = n.sequence else { throw reader.error(at: n, "\(key) must be a list of dates", fix: "write \(key): [2026-10-01, ...]") }
            var result: Set<CivilDate> = []
            for item in seq {
                guard let d = CivilDate(item.string ?? "") else {
                    throw reader.error(at: item, "'\(item.string ?? "")' in \(key) is not a date", fix: "write dates as YYYY-MM-DD")
                }
                result.insert(d)
            }
            return result
        }
        let holidays = try dates("holidays")
        let workdays = try dates("workdays")
        if let both = holidays.intersection(workdays).first {
            throw RulesError(file: file, line: nil, problem: "\(both) is both a holiday and a workday", fix: "keep it in one list only")
        }
        return AgencyCalendar(holidays: holidays, workdays: workdays)
    }

    static func loadBanks(_ path: String) throws(RulesError) -> [String: Bank] {
        let file = "Rules/banks.yaml"
        let node = try yaml(path, name: file)
        let reader = MappingReader(node: node, file: file, path: "")
        var banks: [String: Bank] = [:]
        for (k, v) in reader.pairs {
            let code = k.string ?? ""
            guard !code.isEmpty, code.count <= 16, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw reader.error(at: k, "bank code '\(code)' must be 1 to 16 letters or digits", fix: "use a short code such as ICBC01")
            }
            let bank = MappingReader(node: v, file: file, path: code)
            try bank.allow(["name", "agent_id", "creditor_account"])
            let agentNode = try bank.required("agent_id")
            let agent = try bank.string(agentNode, "\(code).agent_id")
            guard agent.count == 12, agent.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw bank.error(at: agentNode, "agent_id of \(code) must be the 12-digit CNAPS bank code", fix: "write it quoted, e.g. agent_id: \"102100099996\"")
            }
            let account = try bank.string(bank.required("creditor_account"), "\(code).creditor_account")
            guard !account.isEmpty, account.count <= 34 else {
                throw bank.error(at: v, "creditor_account of \(code) must be 1 to 34 characters", fix: "write the agency's account at that bank")
            }
            banks[code] = Bank(code: code, name: try bank.string(bank.required("name"), "\(code).name"), agentID: agent, creditorAccount: account)
        }
        return banks
    }

    static func loadEmployers(_ path: String, banks: [String: Bank]) throws(RulesError) -> [EmployerID: Employer] {
        let file = "Rules/employers.csv"
        let expected = ["employer_id", "name", "risk_class", "bank_code", "account", "mandate_id", "mandate_signed"]
        guard let rows = try csvTable(path, file: file, header: expected, fieldsFix: "write one value per column (empty bank fields for no mandate)") else {
            throw RulesError(file: file, line: nil, problem: "file missing or unreadable", fix: "create it with the header \(expected.joined(separator: ","))")
        }
        var employers: [EmployerID: Employer] = [:]
        for (line, f) in rows {
            guard let id = EmployerID(registered: f[0].uppercased()) else {
                throw RulesError(file: file, line: line, problem: "'\(f[0])' is not an 18-character credit code", fix: "write the employer's unified social credit code")
            }
            guard employers[id] == nil else { throw RulesError(file: file, line: line, problem: "employer \(id) listed twice", fix: "keep one line per employer") }
            guard let risk = Int(f[2]), (1...8).contains(risk) else {
                throw RulesError(file: file, line: line, problem: "risk_class '\(f[2])' is not 1 to 8", fix: "write the employer's industry risk class 1 to 8")
            }
            let bankFields = Array(f[3...6])
            var mandate: Mandate?
            if bankFields.allSatisfy({ $0.isEmpty }) {
                mandate = nil
            } else {
                guard !bankFields.contains(where: { $0.isEmpty }) else {
                    throw RulesError(file: file, line: line, problem: "bank_code, account, mandate_id and mandate_signed must be all filled or all empty",
                                     fix: "fill all four for a debit mandate, or leave all four empty")
                }
                guard banks[f[3]] != nil else {
                    throw RulesError(file: file, line: line, problem: "bank_code '\(f[3])' is not in Rules/banks.yaml", fix: "add the bank to banks.yaml or correct the code")
                }
                guard let signed = CivilDate(f[6]) else {
                    throw RulesError(file: file, line: line, problem: "mandate_signed '\(f[6])' is not a date", fix: "write YYYY-MM-DD")
                }
                guard f[4].count <= 34, f[5].count <= 35 else {
                    throw RulesError(file: file, line: line, problem: "account (≤ 34) or mandate_id (≤ 35) too long", fix: "shorten them to the ISO 20022 limits")
                }
                mandate = Mandate(bankCode: f[3], account: f[4], mandateID: f[5], signed: signed)
            }
            employers[id] = Employer(id: id, name: f[1], riskClass: risk, mandate: mandate)
        }
        return employers
    }

    /// A Rules CSV table (UTF-8, BOM allowed): the header exactly `header`, then each non-blank row's
    /// line and trimmed fields, as many as the header has. nil when the file does not exist.
    static func csvTable(_ path: String, file: String, header: [String], fieldsFix: String) throws(RulesError) -> [(line: Int, fields: [String])]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw RulesError(file: file, line: nil, problem: "not UTF-8", fix: "save it as UTF-8")
        }
        var csv = CSVReader(source: MemorySource(bytes))
        guard let first = csv.next(), first.fields.map({ $0.trimmingSpaces.lowercased() }) == header else {
            throw RulesError(file: file, line: 1, problem: "header is not \(header.joined(separator: ","))", fix: "make the first line exactly that header")
        }
        var rows: [(line: Int, fields: [String])] = []
        while let record = csv.next() {
            if record.fields.allSatisfy({ $0.trimmingSpaces.isEmpty }) { continue }
            if let problem = record.problem { throw RulesError(file: file, line: record.line, problem: problem, fix: "quote fields that contain commas") }
            guard record.fields.count == header.count else {
                throw RulesError(file: file, line: record.line, problem: "\(record.fields.count) fields instead of \(header.count)", fix: fieldsFix)
            }
            rows.append((record.line, record.fields.map { $0.trimmingSpaces }))
        }
        return rows
    }

    static func yaml(_ path: String, name: String) throws(RulesError) -> Node {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RulesError(file: name, line: nil, problem: "file missing or unreadable", fix: "create \(name) (see docs/FORMATS.md)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RulesError(file: name, line: nil, problem: "not UTF-8", fix: "save it as UTF-8")
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw RulesError(file: name, line: nil, problem: "the file is empty", fix: "fill it in (see docs/FORMATS.md)")
            }
            return node
        } catch let e as RulesError {
            throw e
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            // Yams marks the mapping; the operator needs the line of the second key.
            let key = duplicates.first ?? "?"
            let indent = String(repeating: " ", count: max(context.mark.column - 1, 0))
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                .filter { $0.element.hasPrefix(indent + key + ":") && !$0.element.dropFirst(indent.count).hasPrefix(" ") }.map { $0.offset + 1 }
            throw RulesError(file: name, line: lines.dropFirst().first ?? context.mark.line,
                             problem: "the key '\(key)' is given twice\(lines.count > 1 ? " (first at line \(lines[0]))" : "")",
                             fix: "keep one '\(key):' and delete the other")
        } catch let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _) {
            throw RulesError(file: name, line: mark.line, problem: "not valid YAML: \(problem)", fix: "correct the YAML syntax at that line")
        } catch {
            throw RulesError(file: name, line: nil, problem: "not valid YAML: \(error)", fix: "correct the YAML syntax")
        }
    }
}

/// Typed, line-aware access to one YAML mapping of a Rules file.
struct MappingReader {
    let node: Node
    let file: String
    let path: String
    var pairs: [(Node, Node)] { node.mapping.map { $0.map { ($0.key, $0.value) } } ?? [] }

    func error(at node: Node, _ problem: String, fix: String) -> RulesError {
        RulesError(file: file, line: node.mark?.line, problem: problem, fix: fix)
    }

    /// Fails on keys not in `keys` and on repeated keys.
    @discardableResult
    func allow(_ keys: Set<String>) throws(RulesError) -> Bool {
        guard node.mapping != nil else {
            throw error(at: node, "\(path.isEmpty ? "the file" : path) must be a mapping of keys to values", fix: "write key: value lines")
        }
        var seen: Set<String> = []
        for (k, _) in pairs {
            let key = k.string ?? ""
            guard keys.contains(key) else {
                throw error(at: k, "unknown key '\(key)'\(path.isEmpty ? "" : " in \(path)")",
                            fix: "use one of: \(keys.sorted().joined(separator: ", ")) (check the spelling)")
            }
            guard seen.insert(key).inserted else { throw error(at: k, "key '\(key)' appears twice", fix: "keep one") }
        }
        return true
    }

    func optional(_ key: String) -> Node? { pairs.first { $0.0.string == key }?.1 }

    func required(_ key: String) throws(RulesError) -> Node {
        guard let n = optional(key) else {
            throw error(at: node, "missing key '\(key)'\(path.isEmpty ? "" : " in \(path)")", fix: "add \(key): (see docs/FORMATS.md for the example)")
        }
        return n
    }

    func mapping(_ key: String) throws(RulesError) -> MappingReader {
        let n = try required(key)
        guard n.mapping != nil else { throw error(at: n, "'\(key)' must be a mapping", fix: "write \(key): { ... }") }
        return MappingReader(node: n, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func string(_ n: Node, _ what: String) throws(RulesError) -> String {
        guard let s = n.scalar?.string else { throw error(at: n, "\(what) must be a single value", fix: "write a plain value") }
        return s
    }

    /// A rate: the decimal text exactly as written (quoted or not), never through floating point.
    func rate(_ n: Node, _ what: String) throws(RulesError) -> Rate {
        let text = try string(n, what)
        guard let r = Rate(text) else {
            throw error(at: n, "\(what) '\(text)' is not a decimal rate between 0 and 1", fix: "write a decimal string such as \"0.16\" (at most 9 decimals)")
        }
        return r
    }

    func money(_ n: Node, _ what: String) throws(RulesError) -> Fen {
        let text = try string(n, what)
        guard case .success(let fen) = Yuan.parse(text) else {
            throw error(at: n, "\(what) '\(text)' is not an amount in yuan", fix: "write it like \"4416.00\"")
        }
        return fen
    }
}
