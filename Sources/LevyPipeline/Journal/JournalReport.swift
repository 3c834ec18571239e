import Foundation
import LevyDomain
import LevyLedger

/// `levy audit verify` and `levy audit log`: the journal read back, on a ledger opened read-only.
package enum JournalReport {
    package static func verify(root: Root) throws -> JournalVerdict {
        try ledger(root).verifyJournal()
    }

    package static func entries(root: Root, employer: EmployerID?, from: CivilDate?, to: CivilDate?) throws -> [JournalRecord] {
        try ledger(root).journal(employer: employer, from: from, to: to)
    }

    /// The pending requests as a JSON array (`levy approvals --json`).
    package static func requestsJSON(_ requests: [ApprovalRequest]) -> [UInt8] {
        JSONValue.array(requests.map { r in
            let payload = (try? JSONSerialization.jsonObject(with: Data(r.payload.utf8))).map(value) ?? .string(r.payload)
            return .object([("employer", .optional(r.employer)), ("id", .string(r.id)), ("kind", .string(r.kind)), ("payload", payload),
                            ("requested_at", .string(r.requestedAt)), ("requested_by", .string(r.requestedBy)),
                            ("state", .string(r.state.rawValue)), ("subject", .string(r.subject))])
        }).bytes
    }

    /// The requests waiting for approval, one line each, or a sentence saying there are none.
    package static func requestsText(_ requests: [ApprovalRequest]) -> String {
        guard !requests.isEmpty else { return "No requests wait for approval.\n" }
        return requests.map { r in
            "\(r.id)\t\(r.kind)\t\(r.subject)\t\(r.payload)\trequested by \(r.requestedBy) at \(r.requestedAt)\n"
        }.joined()
    }

    package static func ledger(_ root: Root) throws -> any Ledger {
        var st = stat()
        guard stat(root.ledger, &st) == 0, st.st_size > 0 else {
            throw LevyError(.ledgerMissing, "\(root.ledger): there is no ledger, so no journal", fix: "run levy on this root first")
        }
        do { return try LedgerStore.open(.ledgerFile(root.ledger), readOnly: true) } catch { throw LevyError.explained(error, root: root) }
    }

    /// One line per entry: `seq  at  operator  action  subject  detail`.
    package static func text(_ records: [JournalRecord]) -> String {
        guard !records.isEmpty else { return "No journal entries.\n" }
        return records.map { r in
            "\(r.seq)\t\(r.entry.at)\t\(r.entry.operatorID)\t\(r.entry.action)\t\(r.entry.subject)\t\(r.entry.detail)\n"
        }.joined()
    }

    /// A JSON array of `{seq, at, operator, action, subject, employer, detail, hash}` (detail as an object).
    package static func json(_ records: [JournalRecord]) -> [UInt8] {
        let values: [JSONValue] = records.map { r in
            let detail = (try? JSONSerialization.jsonObject(with: Data(r.entry.detail.utf8))).map(value) ?? .string(r.entry.detail)
            return .object([("action", .string(r.entry.action)), ("at", .string(r.entry.at)), ("detail", detail),
                            ("employer", .optional(r.entry.employer)), ("hash", .string(r.hash)), ("operator", .string(r.entry.operatorID)),
                            ("seq", .int(r.seq)), ("subject", .string(r.entry.subject))])
        }
        return JSONValue.array(values).bytes
    }

    /// A decoded detail object as a JSON value (keys sorted, as every levy JSON has them).
    static func value(_ any: Any) -> JSONValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber: return .int(n.int64Value)
        case let a as [Any]: return .array(a.map(value))
        case let d as [String: Any]: return .object(d.keys.sorted().map { ($0, value(d[$0]!)) })
        default: return .null
        }
    }
}

extension Levy {
    /// This levy's work is a manual command's, done by `operatorID` (or, unnamed, by the Unix user).
    package func manual(by operatorID: String?) -> Levy {
        workplace.operatorID = operatorID ?? "user:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown")
        return self
    }
}
