import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

extension Levy {
    /// Largest return file levy reads (a month of a province's debits fits many times over).
    static let maxReturnBytes = 64 << 20

    /// Takes every complete pain.002 in `Inbox/bank/<bank_code>/`.
    func intakeBankReturns(now: AgencyTime) throws {
        let (folders, strays) = listInbox(root.bankInbox, renamed: loggingRename)
        for stray in strays {
            try quarantine(stray, kind: "bank", now: now, reason: "不在银行目录中 / Not inside a bank folder: returns go in Inbox/bank/<bank_code>/")
        }
        for folder in folders.keys.sorted() {
            for entry in folders[folder]! where admit?(entry) ?? true { try intakeReturn(entry, now: now) }
        }
    }

    func intakeReturn(_ entry: InboxEntry, now: AgencyTime) throws {
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
        guard st.st_size <= Levy.maxReturnBytes else {
            try quarantine(entry, kind: "bank", now: now, reason: "文件过大（\(st.st_size) 字节）/ Too large for a status report (\(st.st_size) bytes)")
            return
        }
        guard let (fd, _) = openRegularFile(entry.path) else { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(st.st_size) + (1 << 20) + 1)  // each read reserves room for 1 MiB more: no copy as it grows
        var source = FileSource(fd: fd)
        while source.read(into: &bytes, max: 1 << 20) > 0 {
            if bytes.count > Levy.maxReturnBytes { break }
        }
        close(fd)
        let sha = sha256Hex(bytes)
        let inboxRel = "Inbox/bank/\(entry.folder)/\(entry.name)"
        let archiveRel = archivePath(for: entry, sha256: sha, now: now)

        if try ledger.file(sha256: sha, folder: entry.folder) != nil {
            // A repeated return changes nothing; keep it with the others.
            var change = LedgerChange()
            change.file = FileRecord(sha256: sha, folder: entry.folder, name: entry.name, receivedAt: now.iso8601,
                                     receivedDate: now.date.description, outcome: .duplicate, inboxPath: inboxRel, archivePath: archiveRel)
            change.journal.append(journalEntry("bank_file_repeated", subject: "\(entry.folder)/\(entry.name)", employer: nil, at: now,
                                               JournalDetail().with("bank", entry.folder).with("sha256", sha)))
            try ledger.apply(change)
            try archive(inboxRel: inboxRel, to: archiveRel, sha256: sha, folder: entry.folder)
            logger.info("repeated bank return ignored", metadata: ["bank": "\(entry.folder)", "file": "\(entry.name)"])
            return
        }
        switch checkReturn(bytes, bank: entry.folder) {
        case .failure(let problem):
            try quarantine(entry, kind: "bank", now: now, reason: "银行回执无法使用，账本未作任何更改 / Return not applied, nothing changed: \(problem.message)")
        case .success(let (file, message)):
            var change = try applyReturn(file, message: message, now: now)
            change.file = FileRecord(sha256: sha, folder: entry.folder, name: entry.name, receivedAt: now.iso8601,
                                     receivedDate: now.date.description, outcome: .applied, inboxPath: inboxRel, archivePath: archiveRel)
            try ledger.apply(change)
            try flushOutputs()
            try archive(inboxRel: inboxRel, to: archiveRel, sha256: sha, folder: entry.folder)
            logger.info("bank return applied", metadata: ["bank": "\(entry.folder)", "file": "\(entry.name)", "msg_id": "\(file.originalMsgID)"])
        }
    }

    /// Checks a return against the schema and against what levy sent: known MsgId, from that bank, same
    /// transactions and amounts. Anything else is forged or broken and must change nothing.
    package func checkReturn(_ bytes: [UInt8], bank: String) -> Result<(ReturnFile, DebitMessage), ReturnProblem> {
        // Streamed against the schema first, so that a forged file is refused before any tree is built.
        if let schema = Levy.pain002Schema {
            let issues = schema.validate(document: bytes)
            if let broken = issues.first(where: { $0.kind != .schema }) {
                return .failure(ReturnProblem("不是格式正确的 XML / not well-formed XML: line \(broken.line): \(broken.message)"))
            }
            if let first = issues.first {
                return .failure(ReturnProblem("不符合 pain.002.001.03 / does not validate against pain.002.001.03: line \(first.line): \(first.message)"))
            }
        }
        let root: XMLNode
        switch XMLTree.parse(bytes) {
        case .failure(let f): return .failure(ReturnProblem("不是格式正确的 XML / not well-formed XML: \(f.summary)"))
        case .success(let r): root = r
        }
        let file: ReturnFile
        switch Pain002.read(root) {
        case .failure(let p): return .failure(p)
        case .success(let f): file = f
        }
        guard let message = try? ledger.debitMessage(msgID: file.originalMsgID) else {
            return .failure(ReturnProblem("OrgnlMsgId \(file.originalMsgID) 不是本中心发出的扣款文件 / names no debit file levy sent"))
        }
        guard message.bankCode == bank else {
            return .failure(ReturnProblem("扣款文件 \(file.originalMsgID) 发给 \(message.bankCode)，回执却来自 \(bank) / answers a file sent to another bank"))
        }
        let sent = Dictionary(uniqueKeysWithValues: message.transactions.map { ($0.declarationID, $0) })
        var seen: Set<String> = []
        for s in file.statuses {
            guard let tx = sent[s.endToEndID] else {
                return .failure(ReturnProblem("交易 \(s.endToEndID) 不在扣款文件 \(file.originalMsgID) 中 / transaction not in the debit file"))
            }
            guard seen.insert(s.endToEndID).inserted else {
                return .failure(ReturnProblem("交易 \(s.endToEndID) 出现两次 / transaction reported twice"))
            }
            if let amount = s.amountFen, amount != tx.amountFen {
                return .failure(ReturnProblem("交易 \(s.endToEndID) 金额 \(Yuan.format(amount)) 与发出的 \(Yuan.format(tx.amountFen)) 不符 / amount differs from what was sent"))
            }
        }
        return .success((file, message))
    }

    /// The ledger change a checked return makes (applied by the caller in one transaction).
    func applyReturn(_ file: ReturnFile, message: DebitMessage, now: AgencyTime) throws -> LedgerChange {
        var change = LedgerChange()
        var statuses = file.statuses
        if statuses.isEmpty, let group = file.groupStatus {
            // No transaction listed: the group status speaks for every transaction of the file.
            statuses = message.transactions.map { ReturnedStatus(endToEndID: $0.declarationID, status: group, reason: file.groupReason) }
        }
        let collectionDay = CivilDate(message.collectionDate)!
        for s in statuses {
            guard let tx = message.transactions.first(where: { $0.declarationID == s.endToEndID }),
                  tx.status == "sent" || tx.status == "PDNG" || tx.status == "ACTC",
                  var d = try ledger.declaration(id: s.endToEndID), d.state == .inFlight, d.debitMsgID == message.msgID else { continue }
            switch s.status {
            case "ACSC", "ACCP":
                d.state = .paid
                d.paidFen = d.totalFen
                d.lateFeeFen = 0
                d.paidAt = loaded.clock.at(collectionDay, loaded.rules.schedule.cutoffTime).iso8601
                d.channel = "debit"
                change.outputs.append(contentsOf: try paymentReceipt(d))
                change.journal.append(journalEntry("debit_paid", subject: d.id, employer: d.employerID, at: now,
                                                   JournalDetail().with("msg_id", message.msgID).with("status", s.status).with("paid_fen", d.paidFen)))
            case "RJCT":
                let reason = s.reason ?? "NARR"
                if loaded.rules.retryReasons.contains(reason) {
                    if let period = Period(d.period), try nextWindowDay(after: collectionDay, period: period, now: now) != nil {
                        d.state = .accepted
                        change.journal.append(journalEntry("debit_refused_retry", subject: d.id, employer: d.employerID, at: now,
                                                           JournalDetail().with("msg_id", message.msgID).with("reason", reason)))
                    } else {
                        d.state = .overdue
                        d.failReason = reason
                        change.outputs.append(contentsOf: notice(d, kind: "overdue", reason: "debit_refused:\(reason)", now: now))
                        change.journal.append(journalEntry("debit_refused_overdue", subject: d.id, employer: d.employerID, at: now,
                                                           JournalDetail().with("msg_id", message.msgID).with("reason", reason).with("unpaid_fen", d.totalFen)))
                    }
                } else {
                    d.state = .failed
                    d.failReason = reason
                    change.outputs.append(contentsOf: notice(d, kind: "debit_failed", reason: "\(reason): \(ReasonCodes.describe(reason))", now: now))
                    change.journal.append(journalEntry("debit_failed", subject: d.id, employer: d.employerID, at: now,
                                                       JournalDetail().with("msg_id", message.msgID).with("reason", reason).with("unpaid_fen", d.totalFen)))
                }
            default:
                // PDNG, ACTC and anything else not final: nothing changes yet.
                change.transactionUpdates.append((message.msgID, DebitTransaction(declarationID: tx.declarationID, amountFen: tx.amountFen,
                                                                                  status: s.status, reason: s.reason)))
                continue
            }
            change.declarationUpdates.append(d)
            change.transactionUpdates.append((message.msgID, DebitTransaction(declarationID: tx.declarationID, amountFen: tx.amountFen,
                                                                              status: s.status, reason: s.reason)))
        }
        return change
    }
}

/// ISO 20022 return reasons levy knows, kept as data (DOMAIN.md); an unknown code is final and needs a person.
package enum ReasonCodes {
    static let table: [String: String] = [
        "AM04": "余额不足 insufficient funds",
        "MS03": "原因未说明 reason not specified",
        "AC01": "账号错误 incorrect account number",
        "AC04": "账户已销户 closed account",
        "AC06": "账户冻结 blocked account",
        "AG01": "交易被禁止 transaction forbidden",
        "MD01": "无扣款授权 no mandate",
        "MD06": "付款人要求退款 refund requested by debtor",
        "MS02": "付款人拒绝 refused by debtor",
        "AM05": "重复扣款 duplicate",
    ]
    package static func describe(_ code: String) -> String { table[code] ?? "未知原因代码，请人工核实 unknown reason code: check with the bank" }
}
