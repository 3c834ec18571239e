import LevyDomain
import LevyXML

/// What a bank says about one transaction in a `pain.002.001.03` status report.
package struct ReturnedStatus: Sendable, Hashable {
    package var endToEndID: String
    package var status: String
    package var reason: String?
    /// The amount the bank quotes from the original transaction, when it does.
    package var amountFen: Fen?
}

/// A bank's status report, read and checked for form (not yet against what levy sent).
package struct ReturnFile: Sendable {
    package var msgID: String
    package var originalMsgID: String
    package var groupStatus: String?
    package var groupReason: String?
    package var statuses: [ReturnedStatus]
}

package enum Pain002 {
    package static let namespace = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"

    /// Reads a return file. A transaction's status is its `TxSts`, else its `PmtInf` status, else the group status.
    /// Returns a reason for people when the file is not a usable pain.002.
    package static func read(_ root: XMLNode) -> Result<ReturnFile, ReturnProblem> {
        guard root.name == "Document", root.namespace == namespace, let report = root.child("CstmrPmtStsRpt") else {
            return .failure(ReturnProblem("not a pain.002.001.03 status report (root \(root.name), namespace \(root.namespace))"))
        }
        guard let msgID = report["GrpHdr", "MsgId"]?.trimmedText, !msgID.isEmpty else {
            return .failure(ReturnProblem("GrpHdr/MsgId missing"))
        }
        guard let group = report.child("OrgnlGrpInfAndSts"), let original = group.child("OrgnlMsgId")?.trimmedText, !original.isEmpty else {
            return .failure(ReturnProblem("OrgnlGrpInfAndSts/OrgnlMsgId missing: the report does not say which debit file it answers"))
        }
        let groupStatus = group.child("GrpSts")?.trimmedText
        let groupReason = reason(group)
        var statuses: [ReturnedStatus] = []
        for pmt in report.children("OrgnlPmtInfAndSts") {
            let pmtStatus = pmt.child("PmtInfSts")?.trimmedText
            let pmtReason = reason(pmt)
            for tx in pmt.children("TxInfAndSts") {
                guard let e2e = tx.child("OrgnlEndToEndId")?.trimmedText, !e2e.isEmpty else {
                    return .failure(ReturnProblem("a TxInfAndSts without OrgnlEndToEndId (line \(tx.line))"))
                }
                guard let status = tx.child("TxSts")?.trimmedText ?? pmtStatus ?? groupStatus else {
                    return .failure(ReturnProblem("no status for \(e2e) at transaction, payment or group level"))
                }
                var amount: Fen?
                if let amt = tx["OrgnlTxRef", "Amt", "InstdAmt"] {
                    guard case .success(let fen) = Yuan.parse(amt.trimmedText), amt.attributes["Ccy"] == "CNY" else {
                        return .failure(ReturnProblem("amount '\(amt.trimmedText)' of \(e2e) is not a CNY amount with 2 decimals"))
                    }
                    amount = fen
                }
                statuses.append(ReturnedStatus(endToEndID: e2e, status: status, reason: reason(tx) ?? pmtReason ?? groupReason,
                                               amountFen: amount))
            }
        }
        return .success(ReturnFile(msgID: msgID, originalMsgID: original, groupStatus: groupStatus, groupReason: groupReason,
                                   statuses: statuses))
    }

    static func reason(_ node: XMLNode) -> String? {
        for info in node.children("StsRsnInf") {
            if let code = info["Rsn", "Cd"]?.trimmedText ?? info["Rsn", "Prtry"]?.trimmedText, !code.isEmpty { return code }
        }
        return nil
    }
}

package struct ReturnProblem: Error, Sendable {
    package let message: String
    package init(_ message: String) { self.message = message }
}
