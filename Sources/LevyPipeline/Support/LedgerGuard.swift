import Foundation
import LevyDomain
import LevyLedger

/// What keeps levy from working on the wrong ledger: a deleted or empty one on a root that already
/// holds its outputs, one restored from a backup older than those outputs, and a clock that runs
/// back. Each would reuse declaration ids and message ids, rewrite receipts and debit files with
/// other amounts, or cut a debit for a day that is past. See docs/DECISIONS.md, "The ledger's guards".
package enum LedgerGuard {
    /// The outputs no ledger may forget: written once, never rewritten with other bytes.
    package static let writeOnceFolders = ["Outbox/receipts", "Outbox/debits", "Outbox/notices", "Outbox/rejections"]

    /// Whether an output path (`…/Outbox/<kind>/<folder>/<file>`) is in one of ``writeOnceFolders``.
    /// Asked for every output of a day of small files: by path components, not substring search.
    package static func isWriteOnce(_ path: String) -> Bool {
        let kindFolder = parentFolder(parentFolder(path))
        return writeOnceKinds.contains(lastComponent(kindFolder)) && lastComponent(parentFolder(kindFolder)) == "Outbox"
    }
    static let writeOnceKinds: Set<String> = Set(writeOnceFolders.map { lastComponent($0) })

    /// Beside the ledger: how many outputs it had recorded when levy last finished work on this root.
    static func markPath(_ root: Root) -> String { root.path(".levy/ledger.mark") }

    /// Before the ledger is opened (and so created): a missing or empty ledger on a root whose
    /// outbox or archive holds levy's work is refused, and nothing is created.
    /// - Throws: ``LevyError`` naming the ledger and the restore-from-backup fix.
    package static func checkBeforeOpening(_ root: Root) throws {
        var st = stat()
        let missing = stat(root.ledger, &st) != 0
        guard missing || st.st_size == 0 else { return }
        guard let found = firstFile(root, under: writeOnceFolders + [".levy/archive"]) else { return }
        throw LevyError(.ledgerMissing, """
            \(root.ledger) is \(missing ? "missing" : "empty"), but this root already holds levy's work (\(found)): \
            a new ledger would reuse declaration and message ids and rewrite receipts and debit files with other amounts
            """, fix: """
            restore the ledger from the latest backup (README, "Backups and restore"; `levy backup verify FILE` checks one); \
            nothing was done
            """, file: root.ledger)
    }

    /// After the ledger is opened: a ledger with fewer outputs than levy noted beside it is older
    /// than the outbox (a backup restored over a newer ledger).
    package static func checkAfterOpening(_ root: Root, ledger: any Ledger) throws {
        guard let data = FileManager.default.contents(atPath: markPath(root)),
              let mark = try? JSONDecoder().decode(Mark.self, from: data) else { return }
        let known = try ledger.outputCount()
        guard known < mark.outputs else { return }
        var newer: [String] = []
        for folder in writeOnceFolders {
            guard newer.count < 5 else { break }
            for file in files(root, under: folder) where newer.count < 5 {
                if try !ledger.outputExists(path: file) { newer.append(file) }
            }
        }
        throw LevyError(.ledgerOlder, """
            \(root.ledger) is older than this root's outputs: it records \(known) outputs, levy had written \(mark.outputs) \
            by \(mark.at)\(newer.isEmpty ? "" : "; newer than the ledger: " + newer.joined(separator: ", "))
            """, fix: """
            restore a newer backup, or follow README "Backups and restore" to set the newer outputs aside; nothing was done
            """, file: root.ledger)
    }

    /// Notes how many outputs the ledger records, once levy's work on the root is done.
    package static func note(_ root: Root, ledger: any Ledger, at now: AgencyTime) throws {
        let mark = Mark(outputs: try ledger.outputCount(), at: now.iso8601)
        let data = try JSONEncoder().encode(mark)
        if FileManager.default.contents(atPath: markPath(root)) == data { return }
        try DurableFile.write(Array(data), to: markPath(root), mode: 0o600)
    }

    struct Mark: Codable {
        var outputs: Int
        var at: String
    }

    /// The first regular file under the folders, relative to the root.
    static func firstFile(_ root: Root, under folders: [String]) -> String? {
        for folder in folders {
            if let first = files(root, under: folder).first(where: { _ in true }) { return first }
        }
        return nil
    }

    /// The regular files in the subfolders of a folder of the root (relative to the root), lazily;
    /// dot files and temp files left out.
    static func files(_ root: Root, under folder: String) -> some Sequence<String> {
        let enumerator = FileManager.default.enumerator(atPath: root.path(folder))
        return AnySequence {
            AnyIterator {
                while let name = enumerator?.nextObject() as? String {
                    // Outputs and archived inputs are always inside a folder of their own (employer,
                    // bank, day); a file directly under the folder is not levy's.
                    guard name.contains("/"), !lastComponent(name).hasPrefix("."), !name.hasSuffix(".tmp"),
                          enumerator?.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
                    return folder + "/" + name
                }
                return nil
            }
        }
    }
}

extension WorkplaceJob {
    /// Time never runs back in the ledger: a state-changing command at an earlier "now" than the
    /// latest one levy acted on is refused (a debit cut for a day already past, a payment before
    /// its declaration, a late fee of 0). The latest "now" is recorded before the command acts.
    /// - Throws: ``LevyError`` naming both times and the fix.
    package func admit(now: AgencyTime) throws {
        if try isLaterThanLatest(now) { try ledger.recordNow(iso8601: now.iso8601, instant: now.secondsSince1970) }
    }

    /// Refuses a "now" earlier than the latest one levy acted on; says whether it is later (to record).
    /// A manual command checks first and records once it has acted: a mistyped date that is refused
    /// for another reason does not move levy's time forward.
    func isLaterThanLatest(_ now: AgencyTime) throws -> Bool {
        guard let latest = try ledger.latestNow() else { return true }
        if now.secondsSince1970 < latest.instant {
            throw LevyError(.timeBackwards, """
                it is \(now.iso8601) for this command, but levy already acted at \(latest.iso8601): time cannot run \
                backwards in the ledger
                """, fix: """
                give an --as-of at or after \(latest.iso8601), or fix the machine's clock (timedatectl); nothing was done
                """)
        }
        return now.secondsSince1970 > latest.instant
    }

    /// A manual command's work on the ledger: refused at an earlier time than levy's latest, and
    /// once done, its time recorded and the outputs noted beside the ledger.
    func manualOperation<T>(now: AgencyTime, _ body: () throws -> T) throws -> T {
        let later = try isLaterThanLatest(now)
        let result = try body()
        if later { try ledger.recordNow(iso8601: now.iso8601, instant: now.secondsSince1970) }
        try LedgerGuard.note(root, ledger: ledger, at: now)
        return result
    }
}
