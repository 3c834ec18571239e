import Glibc
import LevyDomain

/// What a bank says about one transaction in a `pain.002.001.03` status report.
package struct ReturnedStatus: Sendable, Hashable {
    package var endToEndID: String
    package var status: String
    package var reason: String?
    /// The amount the bank quotes from the original transaction, when it does.
    package var amountFen: Fen?
    package init(endToEndID: String, status: String, reason: String? = nil, amountFen: Fen? = nil) {
        self.endToEndID = endToEndID
        self.status = status
        self.reason = reason
        self.amountFen = amountFen
    }
}

/// A bank's status report, read and checked for form (not yet against what levy sent).
package struct ReturnFile: Sendable {
    package var msgID = ""
    package var originalMsgID = ""
    package var groupStatus: String?
    package var groupReason: String?
    package var statuses: [ReturnedStatus] = []
}

/// Reads a `pain.002.001.03` as it streams, validated against the schema in the same pass. A
/// transaction's status is its `TxSts`, else its `PmtInf` status, else the group status (the schema
/// puts both before the transactions, so each is known when a transaction ends).
package enum Pain002 {
    package static let namespace = BankSchemas.pain002Namespace

    static let names = ["CstmrPmtStsRpt", "GrpHdr", "MsgId", "OrgnlGrpInfAndSts", "OrgnlMsgId", "GrpSts", "StsRsnInf", "Rsn",
                        "Cd", "Prtry", "OrgnlPmtInfAndSts", "PmtInfSts", "TxInfAndSts", "OrgnlEndToEndId", "TxSts",
                        "OrgnlTxRef", "Amt", "InstdAmt"]

    /// - Returns: the report, or why it cannot be used (not well-formed, not valid, or incomplete).
    package static func read(_ input: XMLInput, schema: XMLSchema) -> Result<ReturnFile, ReturnProblem> {
        var file = ReturnFile()
        var pmtStatus: String?, pmtReason: String?
        var tx = ReturnedStatus(endToEndID: "", status: "")
        var txStatus: String?, txReason: String?, txLine = 0
        var problem: String?
        let issues = BankFileReader.read(input, schema: schema, names: names) { e in
            guard problem == nil else { return }
            switch e.name(0) {
            case "MsgId" where e.ends("CstmrPmtStsRpt", "GrpHdr", "MsgId"): file.msgID = e.value
            case "OrgnlMsgId" where e.ends("OrgnlGrpInfAndSts", "OrgnlMsgId"): file.originalMsgID = e.value
            case "GrpSts" where e.ends("OrgnlGrpInfAndSts", "GrpSts"): file.groupStatus = e.value
            case "PmtInfSts": pmtStatus = e.value
            case "Cd", "Prtry":
                // The first reason given at each level.
                let code = e.value
                guard e.name(1) == "Rsn", e.name(2) == "StsRsnInf", !code.isEmpty else { break }
                switch e.name(3) {
                case "OrgnlGrpInfAndSts": file.groupReason = file.groupReason ?? code
                case "OrgnlPmtInfAndSts": pmtReason = pmtReason ?? code
                case "TxInfAndSts": txReason = txReason ?? code
                default: break
                }
            case "OrgnlEndToEndId" where e.ends("TxInfAndSts", "OrgnlEndToEndId"):
                tx.endToEndID = e.value
                txLine = e.elementLine
            case "TxSts": txStatus = e.value
            case "InstdAmt" where e.ends("OrgnlTxRef", "Amt", "InstdAmt"):
                guard case .success(let fen) = Yuan.parse(e.value), e.currency == "CNY" else {
                    problem = "amount '\(e.value)' of \(tx.endToEndID) is not a CNY amount with 2 decimals (line \(e.elementLine))"
                    return
                }
                tx.amountFen = fen
            case "TxInfAndSts":
                defer { tx = ReturnedStatus(endToEndID: "", status: ""); txStatus = nil; txReason = nil }
                guard !tx.endToEndID.isEmpty else { problem = "a TxInfAndSts without OrgnlEndToEndId (line \(txLine))"; return }
                guard let status = txStatus ?? pmtStatus ?? file.groupStatus else {
                    problem = "no status for \(tx.endToEndID) at transaction, payment or group level"
                    return
                }
                tx.status = status
                tx.reason = txReason ?? pmtReason ?? file.groupReason
                file.statuses.append(tx)
            case "OrgnlPmtInfAndSts":
                pmtStatus = nil
                pmtReason = nil
            default: break
            }
        }
        if let broken = issues.first(where: { $0.kind != .schema }) {
            return .failure(ReturnProblem("不是格式正确的 XML / not well-formed XML: line \(broken.line): \(broken.message)"))
        }
        if let first = issues.first {
            return .failure(ReturnProblem("不符合 pain.002.001.03 / does not validate against pain.002.001.03: line \(first.line): \(first.message)"))
        }
        if let problem { return .failure(ReturnProblem(problem)) }
        guard !file.msgID.isEmpty else { return .failure(ReturnProblem("GrpHdr/MsgId missing")) }
        guard !file.originalMsgID.isEmpty else {
            return .failure(ReturnProblem("OrgnlGrpInfAndSts/OrgnlMsgId missing: the report does not say which debit file it answers"))
        }
        return .success(file)
    }
}
