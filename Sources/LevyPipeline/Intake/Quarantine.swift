import Foundation
import LevyDomain
import LevyLedger
import Logging

extension WorkplaceJob {
    /// Moves an input nobody can be held to (unknown folder, forged bank file) aside, with a reason beside it.
    func quarantine(_ entry: InboxEntry, kind: String, now: AgencyTime, reason: String) throws {
        try publisher.finishBatch()
        let stamp = now.date.compact + "T" + now.time.description.filter { $0 != ":" }
        let target = "\(root.quarantine)/\(kind)/\(safeFileName(entry.folder.isEmpty ? "_" : entry.folder))/\(stamp)-\(safeFileName(entry.name))"
        let text = """
            隔离原因 / quarantined because: \(reason)
            原路径 / from: Inbox/\(kind)/\(entry.folder.isEmpty ? "" : entry.folder + "/")\(safeFileName(entry.name))
            时间 / at: \(now.iso8601)
            处理 / what to do: 核实来源后，将文件放入正确的目录重新处理，或保留备查 / check where it came from; move it into the right inbox folder to process it, or keep it as evidence

            """
        try DurableFile.write(Array(text.utf8), to: target + ".reason.txt")
        try DurableFile.move(entry.path, to: target)
        var change = LedgerChange()
        change.file = FileRecord(sha256: "", folder: entry.folder, name: entry.name, receivedAt: now.iso8601,
                                 receivedDate: now.date, outcome: .quarantined, reportPath: nil,
                                 inboxPath: "Inbox/\(kind)/\(entry.folder)/\(entry.name)",
                                 archivePath: String(target.dropFirst(root.path.count + 1)))
        change.journal.append(journalEntry("file_quarantined", subject: "\(kind)/\(entry.folder)/\(entry.name)", employer: nil, at: now,
                                           JournalDetail().with("reason", reason)))
        try ledger.apply(change)
        try ledger.markArchived(sha256: "", folder: entry.folder)
        logger.warning("input quarantined", metadata: ["outcome": "quarantined", "folder": "\(entry.folder)", "file": "\(entry.name)", "reason": "\(reason)"])
    }

    /// What an intake's listing is told when it renames an inbox file whose name was not UTF-8.
    var loggingRename: @Sendable (_ from: String, _ to: String) -> Void {
        { [logger] from, to in
            logger.warning("inbox file renamed: its name was not UTF-8", metadata: ["from": "\(from)", "to": "\(to)"])
        }
    }
}
