import Crypto
import LevyDomain

/// One change of business state, as the journal keeps it (SPEC §10): when, who, what, to what.
/// Written in the same transaction as the change it records, so neither exists without the other.
package struct JournalEntry: Sendable, Hashable {
    /// Agency time, ISO 8601 with its offset.
    package var at: String
    /// `levy` for automatic work, else the operator who did it.
    package var operatorID: String
    /// What happened: `declaration_accepted`, `debit_cut`, `counter_payment`, …
    package var action: String
    /// What it happened to: a declaration id, a message id, a file.
    package var subject: String
    /// The employer concerned, when there is one (for `levy audit log --employer`).
    package var employer: String?
    /// The facts of the change, as a JSON object (amounts in fen; never a person ID).
    package var detail: String

    package init(at: String, operatorID: String, action: String, subject: String, employer: String? = nil, detail: String) {
        self.at = at
        self.operatorID = operatorID
        self.action = action
        self.subject = subject
        self.employer = employer
        self.detail = detail
    }
}

/// A journal entry in its place: its number and the hash that chains it to the one before.
package struct JournalRecord: Sendable, Hashable {
    package var seq: Int64
    package var entry: JournalEntry
    package var hash: String
    package init(seq: Int64, entry: JournalEntry, hash: String) {
        self.seq = seq
        self.entry = entry
        self.hash = hash
    }
}

/// The hash chain: each entry's hash is SHA-256 over the previous entry's hash and this entry's
/// canonical bytes, so an entry edited, deleted, moved or slipped in breaks every hash after it.
package enum JournalChain {
    /// The "previous hash" of the first entry.
    package static let genesis = String(repeating: "0", count: 64)

    /// The canonical bytes of an entry: the JSON array `[seq, at, operator, action, subject,
    /// employer or null, detail]`, strings escaped one way only.
    package static func canonical(seq: Int64, _ e: JournalEntry) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.append(contentsOf: "\(seq)".utf8)
        for field in [e.at, e.operatorID, e.action, e.subject] {
            out.append(UInt8(ascii: ","))
            appendJSONString(field, to: &out)
        }
        out.append(UInt8(ascii: ","))
        if let employer = e.employer { appendJSONString(employer, to: &out) } else { out.append(contentsOf: "null".utf8) }
        out.append(UInt8(ascii: ","))
        appendJSONString(e.detail, to: &out)
        out.append(UInt8(ascii: "]"))
        return out
    }

    package static func hash(previous: String, seq: Int64, _ e: JournalEntry) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [10])
        hasher.update(data: canonical(seq: seq, e))
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in hasher.finalize() { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Walks entries in stored order and names the first that no longer matches the chain.
    package static func verify(_ records: some Sequence<JournalRecord>) -> JournalVerdict {
        var previous = genesis
        var expected: Int64 = 1
        var count = 0
        var head: JournalRecord?
        for r in records {
            if r.seq != expected {
                return .broken(seq: r.seq, reason: r.seq > expected
                    ? "entries \(expected)…\(r.seq - 1) are missing before entry \(r.seq)"
                    : "entry \(r.seq) is out of order (expected \(expected))")
            }
            guard hash(previous: previous, seq: r.seq, r.entry) == r.hash else {
                return .broken(seq: r.seq, reason: "entry \(r.seq) does not match its hash: its content, or an entry before it, was changed, moved or inserted")
            }
            previous = r.hash
            expected += 1
            count += 1
            head = r
        }
        return .intact(count: count, head: head.map { ($0.seq, $0.hash) })
    }
}

/// What `levy audit verify` finds.
package enum JournalVerdict: Sendable {
    case intact(count: Int, head: (seq: Int64, hash: String)?)
    case broken(seq: Int64, reason: String)
}
