/// The five insurances (险种) levy collects.
package enum Insurance: String, Sendable, Hashable, Codable, CaseIterable {
    case pension, medical, unemployment, workInjury = "work_injury", maternity

    /// Chinese name for reports.
    package var chinese: String {
        switch self {
        case .pension: "养老保险"
        case .medical: "医疗保险"
        case .unemployment: "失业保险"
        case .workInjury: "工伤保险"
        case .maternity: "生育保险"
        }
    }
}

/// What happens to a wage base below the floor.
package enum BelowFloor: String, Sendable, Hashable, Codable {
    case reject, raise
}

/// Employer and employee rate of one insurance.
package struct RatePair: Sendable, Hashable, Codable {
    package let employer: Rate
    package let employee: Rate
    package init(employer: Rate, employee: Rate) {
        self.employer = employer
        self.employee = employee
    }
}

/// The parameters in force from one period until the next entry (Rules `periods`).
package struct PeriodParameters: Sendable, Hashable {
    package let from: Period
    package let floor: Fen
    package let ceiling: Fen
    package let belowFloor: BelowFloor
    package let pension: RatePair
    package let medical: RatePair
    package let unemployment: RatePair
    package let maternity: Rate
    /// Work-injury employer rate per risk class 1…8.
    package let workInjury: [Int: Rate]

    package init(from: Period, floor: Fen, ceiling: Fen, belowFloor: BelowFloor, pension: RatePair, medical: RatePair,
                 unemployment: RatePair, maternity: Rate, workInjury: [Int: Rate]) {
        self.from = from
        self.floor = floor
        self.ceiling = ceiling
        self.belowFloor = belowFloor
        self.pension = pension
        self.medical = medical
        self.unemployment = unemployment
        self.maternity = maternity
        self.workInjury = workInjury
    }

    /// Rates of each insurance for an employer of the given risk class.
    package func rates(riskClass: Int) -> [Insurance: RatePair] {
        [
            .pension: pension,
            .medical: medical,
            .unemployment: unemployment,
            .workInjury: RatePair(employer: workInjury[riskClass] ?? .zero, employee: .zero),
            .maternity: RatePair(employer: maternity, employee: .zero),
        ]
    }
}

/// An employer registered with the agency (`Rules/employers.csv`).
package struct Employer: Sendable, Hashable {
    package let id: EmployerID
    package let name: String
    package let riskClass: Int
    package let mandate: Mandate?

    package init(id: EmployerID, name: String, riskClass: Int, mandate: Mandate?) {
        self.id = id
        self.name = name
        self.riskClass = riskClass
        self.mandate = mandate
    }
}

/// A direct-debit agreement (委托扣款协议) between an employer, its bank and the agency.
package struct Mandate: Sendable, Hashable {
    package let bankCode: String
    package let account: String
    package let mandateID: String
    package let signed: CivilDate

    package init(bankCode: String, account: String, mandateID: String, signed: CivilDate) {
        self.bankCode = bankCode
        self.account = account
        self.mandateID = mandateID
        self.signed = signed
    }
}

/// A bank the agency collects through (`Rules/banks.yaml`).
package struct Bank: Sendable, Hashable {
    package let code: String
    package let name: String
    /// 12-digit CNAPS bank code.
    package let agentID: String
    package let creditorAccount: String

    package init(code: String, name: String, agentID: String, creditorAccount: String) {
        self.code = code
        self.name = name
        self.agentID = agentID
        self.creditorAccount = creditorAccount
    }
}

/// Everything in `Rules/`, checked and typed.
package struct Rules: Sendable {
    package let timezone: String
    package let agencyName: String
    package let creditorID: String
    package let schedule: CollectionSchedule
    package let lateFeeDailyRate: Rate
    package let rounding: Rounding
    package let retryReasons: Set<String>
    package let maxFileBytes: Int64
    /// Sorted by `from`.
    package let periods: [PeriodParameters]
    package let employers: [EmployerID: Employer]
    package let banks: [String: Bank]

    package init(timezone: String, agencyName: String, creditorID: String, schedule: CollectionSchedule,
                 lateFeeDailyRate: Rate, rounding: Rounding, retryReasons: Set<String>, maxFileBytes: Int64,
                 periods: [PeriodParameters], employers: [EmployerID: Employer], banks: [String: Bank]) {
        self.timezone = timezone
        self.agencyName = agencyName
        self.creditorID = creditorID
        self.schedule = schedule
        self.lateFeeDailyRate = lateFeeDailyRate
        self.rounding = rounding
        self.retryReasons = retryReasons
        self.maxFileBytes = maxFileBytes
        self.periods = periods.sorted { $0.from < $1.from }
        self.employers = employers
        self.banks = banks
    }

    /// The parameters in force for a period, if any entry starts at or before it.
    package func parameters(for period: Period) -> PeriodParameters? {
        periods.last { $0.from <= period }
    }

    package func employer(_ text: String) -> Employer? {
        EmployerID(registered: text).flatMap { employers[$0] }
    }

    package func employer(_ id: EmployerID) -> Employer? { employers[id] }
}
