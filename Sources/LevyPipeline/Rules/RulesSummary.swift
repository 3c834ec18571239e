import LevyDomain

extension LoadedRules {
    /// What `levy rules check` prints: the agency, its calendar and fee rules, the bank exchange's
    /// schemas (compiled: a levy that could not check a debit file says so now), and the parameters
    /// in force per period.
    /// - Throws: ``LevyError`` (`LEVY-SCHEMA`) when an ISO 20022 schema does not compile.
    package func summaryText() throws -> String {
        let schemas = try Levy.compileBankSchemas()
        let r = rules
        var lines = [
            "Rules OK — \(r.agencyName) (\(r.creditorID)), timezone \(r.timezone)",
            "cutoff: day \(r.schedule.cutoffDay) at \(r.schedule.cutoffTime); debit window from day \(r.schedule.debitWindowFirstDay); late fee \(r.lateFeeDailyRate) a day; rounding \(r.rounding.rawValue); retry \(r.retryReasons.sorted().joined(separator: ",")); banks answer within \(answerWithinDays) working days",
            "ISO 20022 schemas: " + schemas.joined(separator: ", ") + " compiled",
            "employers: \(r.employers.count) (\(r.employers.values.filter { $0.mandate != nil }.count) with a debit mandate); banks: \(r.banks.keys.sorted().joined(separator: ", "))",
        ]
        for (i, p) in r.periods.enumerated() {
            let until = i + 1 < r.periods.count ? "until \(r.periods[i + 1].from.adding(months: -1))" : "onwards"
            let due = r.schedule.dueDay(of: p.from)
            lines += [
                "",
                "periods from \(p.from) \(until):",
                "  wage base floor \(Yuan.format(p.floor)), ceiling \(Yuan.format(p.ceiling)), below floor: \(p.belowFloor.rawValue)",
                "  pension \(p.pension.employer) / \(p.pension.employee); medical \(p.medical.employer) / \(p.medical.employee); unemployment \(p.unemployment.employer) / \(p.unemployment.employee); maternity \(p.maternity)",
                "  work injury by class: " + p.workInjury.keys.sorted().map { "\($0): \(p.workInjury[$0]!)" }.joined(separator: ", "),
                "  \(p.from): due \(due) \(r.schedule.cutoffTime); debit window \(r.schedule.debitWindow(of: p.from).map(\.description).joined(separator: ", "))",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The operator a manual command names (SPEC §10): required, and listed in Rules/operators.csv,
    /// when the agency has one (else automatic work and manual commands alike are `levy`'s).
    /// - Throws: ``LevyError`` (`USAGE-OPERATOR`, exit 64) for a missing or unknown operator.
    package func checkOperator(_ id: String?) throws {
        guard let operators else { return }
        guard let id else {
            throw LevyError(.unknownOperator, "--operator is required: Rules/operators.csv lists who may do manual operations",
                            fix: "give your operator id", file: "Rules/operators.csv")
        }
        guard operators[id] != nil else {
            throw LevyError(.unknownOperator, "unknown operator '\(id)': not in Rules/operators.csv",
                            fix: "check the id, or ask a supervisor to add the operator", file: "Rules/operators.csv")
        }
    }
}
