import Foundation
import LevyDomain
import LevyLedger

/// The facts of a journal entry, as a compact JSON object in the order given (amounts in fen).
/// Built from declaration ids, employers, files and amounts only: never a person ID.
struct JournalDetail {
    private var out: [UInt8] = [UInt8(ascii: "{")]

    init() {}

    func with(_ key: String, _ value: String?) -> JournalDetail {
        var copy = self
        copy.key(key)
        if let value { appendJSONString(PersonID.redactEmbedded(value), to: &copy.out) } else { copy.out.append(contentsOf: "null".utf8) }
        return copy
    }

    func with(_ key: String, _ value: Int64) -> JournalDetail {
        var copy = self
        copy.key(key)
        copy.out.append(contentsOf: "\(value)".utf8)
        return copy
    }

    private mutating func key(_ key: String) {
        if out.count > 1 { out.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &out)
        out.append(UInt8(ascii: ":"))
    }

    var text: String { String(decoding: out + [UInt8(ascii: "}")], as: UTF8.self) }
}

extension WorkplaceJob {
    /// A journal entry of this levy's work: automatic work is operator `levy`, a manual command's
    /// is the operator who gave it (``operatorID``).
    func journalEntry(_ action: String, subject: String, employer: String?, at now: AgencyTime, _ detail: JournalDetail) -> JournalEntry {
        JournalEntry(at: now.iso8601, operatorID: operatorID, action: action, subject: PersonID.redactEmbedded(subject),
                     employer: employer, detail: detail.text)
    }

    /// The Rules in force, as a fingerprint: a change is journaled (`rules_changed`) on the first
    /// run that sees it, with the fingerprints before and after.
    func journalRulesInForce(now: AgencyTime) throws {
        var hasher = [UInt8]()
        for name in ["levy.yaml", "calendar.yaml", "employers.csv", "banks.yaml", "declaration.xsd"] {
            hasher += Array(name.utf8) + [0]
            hasher += Array(FileManager.default.contents(atPath: root.path("Rules/\(name)")) ?? Data()) + [0]
        }
        let fingerprint = sha256Hex(hasher)
        let before = try ledger.meta("rules_sha256")
        guard before != fingerprint else { return }
        var change = LedgerChange()
        change.meta["rules_sha256"] = fingerprint
        change.journal.append(journalEntry("rules_changed", subject: "Rules/", employer: nil, at: now,
                                           JournalDetail().with("before", before).with("after", fingerprint)))
        try ledger.apply(change)
    }
}
