import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// A bank file found in `Inbox/bank/<bank_code>/`, open and identified, before its kind is read.
struct BankFile {
    var entry: InboxEntry
    var fd: Int32
    var sha256: String
    var size: Int64
    var inboxRel: String
    var archiveRel: String

    func record(_ outcome: FileOutcome, now: AgencyTime) -> FileRecord {
        FileRecord(sha256: sha256, folder: entry.folder, name: entry.name, receivedAt: now.iso8601, receivedDate: now.date,
                   outcome: outcome, inboxPath: inboxRel, archivePath: archiveRel)
    }
}

/// The bank exchange's intake: every file of `Inbox/bank/<bank_code>/` — a pain.002 status report
/// (``intakeReturn(_:now:)``) or a camt.054 notification (``intakeNotification(_:now:)``), told
/// apart by namespace — checked against its schema and the ledger, applied once, or quarantined.
package final class BankExchange: WorkplaceJob {
    package let workplace: Workplace

    init(_ workplace: Workplace) { self.workplace = workplace }
}

extension BankExchange {
    /// Takes every complete bank file in `Inbox/bank/<bank_code>/`: pain.002 status reports and camt.054
    /// notifications, told apart by their namespace.
    func intakeBankFiles(now: AgencyTime) throws {
        let (folders, strays) = listInbox(root.bankInbox, renamed: loggingRename)
        for stray in strays {
            try quarantine(stray, kind: "bank", now: now, reason: "不在银行目录中 / Not inside a bank folder: bank files go in Inbox/bank/<bank_code>/")
        }
        for folder in folders.keys.sorted() {
            for entry in folders[folder]! where workplace.admits?(entry) ?? true { try intakeBankFile(entry, now: now) }
        }
    }

    func intakeBankFile(_ entry: InboxEntry, now: AgencyTime) throws {
        guard loaded.rules.banks[entry.folder] != nil else {
            try quarantine(entry, kind: "bank", now: now, reason: "目录 \(entry.folder) 不是 Rules/banks.yaml 中的银行 / Folder \(entry.folder) is not a bank in Rules/banks.yaml")
            return
        }
        var st = stat()
        guard lstat(entry.path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            try quarantine(entry, kind: "bank", now: now, reason: "不是普通文件（符号链接或特殊文件）/ Not a regular file (symlink or special file)")
            return
        }
        guard Int64(st.st_size) <= loaded.rules.maxFileBytes else {
            try quarantine(entry, kind: "bank", now: now, reason: "文件过大（\(st.st_size) 字节，上限 \(loaded.rules.maxFileBytes)）/ Larger than Rules limits.max_file_bytes (\(st.st_size) bytes)")
            return
        }
        guard let (fd, _) = openRegularFile(entry.path) else { return }
        defer { close(fd) }
        let scanned = try scanFile(fd: fd)  // the same identity as a declaration's: SHA-256 of the bytes
        let (sha, size) = (scanned.sha256, scanned.size)
        let inboxRel = "Inbox/bank/\(entry.folder)/\(entry.name)"
        let file = BankFile(entry: entry, fd: fd, sha256: sha, size: size, inboxRel: inboxRel,
                            archiveRel: publisher.archivePath(for: entry, sha256: sha, now: now))

        if try ledger.file(sha256: sha, folder: entry.folder) != nil {
            // A repeated bank file changes nothing; keep it with the others.
            var change = LedgerChange()
            change.file = file.record(.duplicate, now: now)
            change.journal.append(journalEntry("bank_file_repeated", subject: "\(entry.folder)/\(entry.name)", employer: nil, at: now,
                                               JournalDetail().with("bank", entry.folder).with("sha256", sha)))
            try ledger.apply(change)
            try publisher.archive(inboxRel: inboxRel, to: file.archiveRel, sha256: sha, folder: entry.folder)
            logger.info("repeated bank file ignored", metadata: ["bank": "\(entry.folder)", "file": "\(entry.name)"])
            return
        }
        switch BankFileReader.messageKind(.fd(fd)) {
        case .pain002: try intakeReturn(file, now: now)
        case .camt054: try intakeNotification(file, now: now)
        case nil:
            try quarantine(entry, kind: "bank", now: now, reason: "既不是 pain.002.001.03 也不是 camt.054.001.02，账本未作任何更改 / Neither a pain.002.001.03 status report nor a camt.054.001.02 notification: nothing changed")
        }
    }

    /// The bank file changed while levy read it (still being written): it stays in the inbox for the next look.
    func changedSinceHashed(_ file: BankFile) -> Bool {
        var st = stat()
        return fstat(file.fd, &st) != 0 || Int64(st.st_size) != file.size
    }
}
