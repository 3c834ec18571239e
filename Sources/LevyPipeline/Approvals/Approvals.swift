import Foundation
import LevyDomain
import LevyLedger
import Logging

/// A manual operation checked and ready: the change it makes, and what a request for it keeps so
/// that the approval can check and build it again as of the approval's time.
struct ManualOperation {
    var kind: RequestKind
    var subject: String
    var employer: String
    var amount: Fen
    var change: LedgerChange
    /// What the operator is told once it is done (a receipt's path, a declaration id).
    var result: String
    /// The command's own arguments.
    var payload: [String: String]
}

/// What a manual command did: its work, or a request waiting for a second operator.
package enum ManualOutcome: Equatable, Sendable {
    case done(String)
    case requested(String)
}

extension ServiceCounter {
    /// Applies a manual operation, or, when Rules `approvals` say it needs a second person, records
    /// a request instead: nothing else changes until it is approved (SPEC §10).
    func applyOrRequest(_ operation: ManualOperation, now: AgencyTime) throws -> ManualOutcome {
        guard loaded.approvals.needsApproval(operation.kind, amount: operation.amount) else {
            try ledger.apply(operation.change)
            try publisher.flushOutputs()
            return .done(operation.result)
        }
        let id = String(format: "REQ-%06d", try ledger.nextRequestNumber())
        var change = LedgerChange()
        change.request = ApprovalRequest(id: id, kind: operation.kind.rawValue, subject: operation.subject, employer: operation.employer,
                                         payload: Self.payloadJSON(operation.payload), requestedBy: operatorID, requestedAt: now.iso8601)
        change.journal.append(journalEntry("request_recorded", subject: id, employer: operation.employer, at: now,
                                           JournalDetail().with("kind", operation.kind.rawValue).with("of", operation.subject)
                                               .with("amount_fen", operation.amount)))
        try ledger.apply(change)
        logger.info("manual operation waits for approval", metadata: ["request": "\(id)", "kind": "\(operation.kind.rawValue)", "operator": "\(operatorID)"])
        return .requested(id)
    }

    /// `levy approve`: a different operator, reviewer or supervisor (supervisor for reversals),
    /// approves a pending request; the operation is checked again and applied as of now, with the
    /// outputs it has when done directly.
    /// - Throws: ``LevyError`` saying why it cannot be approved; nothing is applied then.
    package func approve(_ id: String, now: AgencyTime) throws -> ManualOutcome {
        try manualOperation(now: now) {
            let (request, kind) = try decidable(id)
            let approver = operatorID
            // The operation is the requester's: built as of now, under their name.
            workplace.operatorID = request.requestedBy
            defer { workplace.operatorID = approver }
            let payload = try Self.payload(request.payload)
            var operation: ManualOperation
            switch kind {
            case .counterPayment:
                operation = try counterPayment(employer: payload["employer"] ?? "", period: payload["period"] ?? "", amount: payload["amount"] ?? "", now: now)
            case .withdraw:
                operation = try withdrawal(employer: payload["employer"] ?? "", period: payload["period"] ?? "", now: now)
            case .reversal:
                operation = try reversal(receiptNo: payload["receipt_no"] ?? "", reason: payload["reason"] ?? "", now: now)
            }
            operation.change.journal = operation.change.journal.map { entry in
                var e = entry
                e.detail = String(e.detail.dropLast()) + ",\"approved_by\":\(JSONValue.quoted(approver)),\"request\":\(JSONValue.quoted(id))}"
                return e
            }
            var decided = request
            decided.state = .approved
            decided.decidedBy = approver
            decided.decidedAt = now.iso8601
            operation.change.request = decided
            workplace.operatorID = approver
            operation.change.journal.insert(journalEntry("request_approved", subject: id, employer: request.employer, at: now,
                                                         JournalDetail().with("kind", request.kind).with("of", request.subject)
                                                             .with("requested_by", request.requestedBy)), at: 0)
            try ledger.apply(operation.change)
            try publisher.flushOutputs()
            return .done(operation.result)
        }
    }

    /// `levy refuse`: closes a pending request with a reason; nothing else changes.
    package func refuse(_ id: String, reason: String, now: AgencyTime) throws -> String {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw LevyError(.missingReason, "a refusal needs a --reason: the clerk is told why", fix: "give --reason \"…\" saying why") }
        return try manualOperation(now: now) {
            var (request, _) = try decidable(id)
            request.state = .refused
            request.decidedBy = operatorID
            request.decidedAt = now.iso8601
            request.reason = reason
            var change = LedgerChange()
            change.request = request
            change.journal.append(journalEntry("request_refused", subject: id, employer: request.employer, at: now,
                                               JournalDetail().with("kind", request.kind).with("of", request.subject)
                                                   .with("requested_by", request.requestedBy).with("reason", reason)))
            try ledger.apply(change)
            return id
        }
    }

    /// The requests waiting for a decision, oldest first.
    package func pendingRequests() throws -> [ApprovalRequest] { try ledger.requests(state: .pending) }

    /// A pending request this levy's operator may decide (four eyes), or why not.
    private func decidable(_ id: String) throws -> (ApprovalRequest, RequestKind) {
        guard let request = try ledger.request(id: id), let kind = RequestKind(rawValue: request.kind) else {
            throw LevyError(.unknownRequest, "no request \(id)", fix: "`levy approvals` lists the pending ones")
        }
        guard request.state == .pending else {
            throw LevyError(.requestDecided, "request \(id) is already \(request.state.rawValue) (by \(request.decidedBy ?? "?") at \(request.decidedAt ?? "?"))", fix: "nothing to do")
        }
        guard let operators = loaded.operators else {
            throw LevyError(.notAllowed, "deciding a request needs Rules/operators.csv: levy must know who may approve", fix: "add Rules/operators.csv (operator_id,name,role)", file: "Rules/operators.csv")
        }
        guard let decider = operators[operatorID] else {
            throw LevyError(.unknownOperator, "unknown operator '\(operatorID)': not in Rules/operators.csv", fix: "check the id, or ask a supervisor to add the operator", file: "Rules/operators.csv")
        }
        if let why = ApprovalRules.whyNot(approver: decider, requester: request.requestedBy, kind: kind) {
            throw LevyError(.notAllowed, "request \(id) cannot be decided by \(operatorID): \(why)", fix: "a second operator with the right role decides it (reviewer or supervisor; a supervisor for reversals)")
        }
        return (request, kind)
    }

    static func payloadJSON(_ payload: [String: String]) -> String {
        "{" + payload.keys.sorted().map { "\(JSONValue.quoted($0)):\(JSONValue.quoted(payload[$0]!))" }.joined(separator: ",") + "}"
    }

    static func payload(_ json: String) throws -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String] else {
            throw LevyError(.notAllowed, "the request's arguments cannot be read", fix: "refuse it and record the operation again")
        }
        return object
    }
}
