import Foundation
import LevyDomain
import LevyXML

/// A bank for tests: reads a pain.008 levy wrote and answers with a genuine pain.002.001.03.
enum BankSimulator {
    struct Debit { var endToEndID: String; var amount: String }

    /// The transactions of a debit file, read from its XML.
    static func debits(in path: String) throws -> (msgID: String, debits: [Debit]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let root = try XMLTree.parse(bytes).get()
        let initiation = root.child("CstmrDrctDbtInitn")!
        let msgID = initiation["GrpHdr", "MsgId"]!.trimmedText
        var debits: [Debit] = []
        for pmt in initiation.children("PmtInf") {
            for tx in pmt.children("DrctDbtTxInf") {
                debits.append(Debit(endToEndID: tx["PmtId", "EndToEndId"]!.trimmedText, amount: tx.child("InstdAmt")!.trimmedText))
            }
        }
        return (msgID, debits)
    }

    /// Answers each transaction: `"ACSC"`, `"RJCT:AM04"`, `"PDNG"`… (`answer` nil = leave it out of the report).
    static func returnFile(for path: String, reportID: String, groupStatus: String? = nil,
                           amountOverride: [String: String] = [:], answer: (String) -> String?) throws -> String {
        let (msgID, debits) = try debits(in: path)
        var txs = ""
        for d in debits {
            guard let a = answer(d.endToEndID) else { continue }
            let parts = a.split(separator: ":")
            let reason = parts.count > 1 ? "<StsRsnInf><Rsn><Cd>\(parts[1])</Cd></Rsn></StsRsnInf>" : ""
            txs += """
                      <TxInfAndSts>
                        <StsId>\(d.endToEndID)-S</StsId>
                        <OrgnlEndToEndId>\(d.endToEndID)</OrgnlEndToEndId>
                        <TxSts>\(parts[0])</TxSts>\(reason)
                        <OrgnlTxRef><Amt><InstdAmt Ccy="CNY">\(amountOverride[d.endToEndID] ?? d.amount)</InstdAmt></Amt></OrgnlTxRef>
                      </TxInfAndSts>

                """
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
              <CstmrPmtStsRpt>
                <GrpHdr><MsgId>\(reportID)</MsgId><CreDtTm>2026-11-07T09:00:00</CreDtTm></GrpHdr>
                <OrgnlGrpInfAndSts><OrgnlMsgId>\(msgID)</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>\(groupStatus.map { "<GrpSts>\($0)</GrpSts>" } ?? "")</OrgnlGrpInfAndSts>
                <OrgnlPmtInfAndSts>
                  <OrgnlPmtInfId>\(msgID)</OrgnlPmtInfId>
            \(txs)    </OrgnlPmtInfAndSts>
              </CstmrPmtStsRpt>
            </Document>

            """
    }
}
