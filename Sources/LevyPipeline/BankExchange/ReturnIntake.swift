import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

extension BankExchange {
    /// Applies a pain.002 status report in one transaction, or quarantines it when it is broken or forged.
    func intakeReturn(_ file: BankFile, now: AgencyTime) throws {
        _ = try Levy.schema(.pain002)
        switch checkReturn(.fd(file.fd), bank: file.entry.folder) {
        case .failure(let problem):
            try quarantine(file.entry, kind: "bank", now: now, reason: "银行回执无法使用，账本未作任何更改 / Return not applied, nothing changed: \(problem.message)")
        case .success(let (report, message)):
            guard !changedSinceHashed(file) else { return }
            var change = try applyReturn(report, message: message, now: now)
            change.file = file.record(.applied, now: now)
            try ledger.apply(change)
            try publisher.flushOutputs()
            try publisher.archive(inboxRel: file.inboxRel, to: file.archiveRel, sha256: file.sha256, folder: file.entry.folder)
            logger.info("bank return applied", metadata: ["bank": "\(file.entry.folder)", "file": "\(file.entry.name)", "msg_id": "\(report.originalMsgID)"])
        }
    }

    /// Checks a return against the schema and against what levy sent: known MsgId, from that bank, same
    /// transactions and amounts. Anything else is forged or broken and must change nothing.
    package func checkReturn(_ input: XMLInput, bank: String) -> Result<(ReturnFile, DebitMessage), ReturnProblem> {
        // Streamed and validated in one pass: no tree, whatever the file's size.
        let file: ReturnFile
        guard let schema = try? Levy.schema(.pain002) else { return .failure(ReturnProblem("pain.002.001.03.xsd does not compile")) }
        switch Pain002.read(input, schema: schema) {
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
        let collectionDay = message.collectionDate
        for s in statuses {
            guard let tx = message.transactions.first(where: { $0.declarationID == s.endToEndID }),
                  tx.status == "sent" || tx.status == "PDNG" || tx.status == "ACTC",
                  var d = try ledger.declaration(id: s.endToEndID), d.state == .inFlight, d.debitMsgID == message.msgID else { continue }
            switch s.status {
            case "ACSC", "ACCP":
                // Taken from the account on the collection day: no late fee, whenever the report comes.
                let paidAt = loaded.clock.at(collectionDay, loaded.rules.schedule.cutoffTime).iso8601
                _ = d.pay(d.outstandingFen, on: collectionDay, at: paidAt, channel: .debit, dailyRate: loaded.rules.lateFeeDailyRate)
                d.confirmedOn = now.date
                let (number, receipt) = try paymentReceipt(d, paid: tx.amountFen, feePart: 0, remaining: d.outstandingFen)
                change.outputs.append(contentsOf: receipt)
                change.money.append(MoneyMovement(day: now.date, kind: .paid, bank: message.bankCode, declarationID: d.id,
                                                  employerID: d.employerID, amountFen: tx.amountFen, ref: number))
                change.money.append(MoneyMovement(day: now.date, kind: .confirmed, bank: message.bankCode, declarationID: d.id,
                                                  employerID: d.employerID, amountFen: tx.amountFen, ref: message.msgID))
                change.journal.append(journalEntry("debit_paid", subject: d.id, employer: d.employerID.text, at: now,
                                                   JournalDetail().with("msg_id", message.msgID).with("status", s.status).with("paid_fen", d.paidFen)))
            case "RJCT":
                let reason = s.reason ?? "NARR"
                change.money.append(MoneyMovement(day: now.date, kind: .rejected, bank: message.bankCode, declarationID: d.id,
                                                  employerID: d.employerID, amountFen: tx.amountFen, ref: message.msgID))
                if loaded.rules.retryReasons.contains(reason) {
                    if try nextWindowDay(after: collectionDay, period: d.period, now: now) != nil {
                        d.state = .accepted
                        change.journal.append(journalEntry("debit_refused_retry", subject: d.id, employer: d.employerID.text, at: now,
                                                           JournalDetail().with("msg_id", message.msgID).with("reason", reason)))
                    } else {
                        d.state = .overdue
                        d.failReason = reason
                        change.outputs.append(contentsOf: notice(d, kind: "overdue", reason: "debit_refused:\(reason)", now: now))
                        change.journal.append(journalEntry("debit_refused_overdue", subject: d.id, employer: d.employerID.text, at: now,
                                                           JournalDetail().with("msg_id", message.msgID).with("reason", reason).with("unpaid_fen", d.totalFen)))
                    }
                } else {
                    d.state = .failed
                    d.failReason = reason
                    change.outputs.append(contentsOf: notice(d, kind: "debit_failed", reason: "\(reason): \(ReasonCodes.describe(reason))", now: now))
                    change.journal.append(journalEntry("debit_failed", subject: d.id, employer: d.employerID.text, at: now,
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
