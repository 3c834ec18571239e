/// What an operator may do (SPEC §10; 综合柜员制): enter, check, authorise.
package enum OperatorRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// 柜员: records counter payments and withdrawals, asks for approvals.
    case clerk
    /// 复核: approves or refuses a clerk's request.
    case reviewer
    /// 主管: everything a reviewer does, and approves reversals (冲正).
    case supervisor
}

/// One operator of `Rules/operators.csv`.
package struct Operator: Sendable, Hashable {
    package let id: String
    package let name: String
    package let role: OperatorRole
    package init(id: String, name: String, role: OperatorRole) {
        self.id = id
        self.name = name
        self.role = role
    }
}

/// A manual operation that may need a second person's approval.
package enum RequestKind: String, Sendable, Hashable, Codable, CaseIterable {
    case counterPayment = "counter_payment", withdraw, reversal
}

/// Rules `approvals`: which manual operations wait for a second person. Absent: none.
package struct ApprovalRules: Sendable, Hashable {
    /// Counter payments of more than this many fen need approval (nil: none do).
    package let counterPaymentOver: Fen?
    package let withdraw: Bool
    package let reversal: Bool

    package init(counterPaymentOver: Fen? = nil, withdraw: Bool = false, reversal: Bool = false) {
        self.counterPaymentOver = counterPaymentOver
        self.withdraw = withdraw
        self.reversal = reversal
    }

    package static let none = ApprovalRules()

    /// Whether this operation waits for approval.
    package func needsApproval(_ kind: RequestKind, amount: Fen = 0) -> Bool {
        switch kind {
        case .counterPayment: counterPaymentOver.map { amount > $0 } ?? false
        case .withdraw: withdraw
        case .reversal: reversal
        }
    }

    /// Why `approver` may not approve (or refuse) a request of `kind` made by `requester`; nil when
    /// they may. Entry and authorisation by different people; a clerk never authorises; reversals
    /// need a supervisor.
    package static func whyNot(approver: Operator, requester: String, kind: RequestKind) -> String? {
        if approver.id == requester { return "\(approver.id) made this request: approval is by a different operator (four eyes)" }
        switch (approver.role, kind) {
        case (.clerk, _): return "\(approver.id) is a clerk (柜员): only a reviewer (复核) or supervisor (主管) approves"
        case (.reviewer, .reversal): return "a reversal (冲正) is approved by a supervisor (主管); \(approver.id) is a reviewer"
        default: return nil
        }
    }
}
