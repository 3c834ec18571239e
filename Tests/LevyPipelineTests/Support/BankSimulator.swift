import Foundation
import LevyDomain
import LevyXML

/// A bank for tests: reads a pain.008 levy wrote and answers with a genuine pain.002.001.03.
enum BankSimulator {
    struct Debit { var endToEndID: String; var amount: String }

    /// The transactions of a debit file, read from its XML.
    static func debits(in path: String) throws -> (msgID: String, debits: [Debit]) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let root = try TestXML.parse(bytes)
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

extension BankSimulator {
    /// One transaction of a notification: money in (`credit`) or taken back with a return reason.
    struct Movement {
        var endToEndID: String
        var amount: String
        var credit = true
        var reason: String?
    }

    /// A genuine camt.054.001.02 notification of the agency's account: one booked entry per movement,
    /// or one batch entry holding them all (`batch`: the entry's amount is their sum).
    static func notification(id: String, account: String = "1602000000000001", booked: String = "2026-11-07",
                             batch: Bool = false, _ movements: [Movement]) -> String {
        func detail(_ m: Movement) -> String {
            let reason = m.reason.map { "<RtrInf><Rsn><Cd>\($0)</Cd></Rsn></RtrInf>" } ?? ""
            return "<TxDtls><Refs><EndToEndId>\(m.endToEndID)</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy=\"CNY\">\(m.amount)</Amt></TxAmt></AmtDtls>\(reason)</TxDtls>"
        }
        func entry(_ amount: String, credit: Bool, _ details: String) -> String {
            """
                  <Ntry><Amt Ccy="CNY">\(amount)</Amt><CdtDbtInd>\(credit ? "CRDT" : "DBIT")</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>\(booked)</Dt></BookgDt><BkTxCd/><NtryDtls>\(details)</NtryDtls></Ntry>

            """
        }
        var entries = ""
        if batch, !movements.isEmpty {
            let sum = movements.reduce(Int64(0)) { $0 + (try! Yuan.parse($1.amount).get()) }
            entries = entry(Yuan.format(sum), credit: movements[0].credit, movements.map(detail).joined())
        } else {
            entries = movements.map { entry($0.amount, credit: $0.credit, detail($0)) }.joined()
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
              <BkToCstmrDbtCdtNtfctn>
                <GrpHdr><MsgId>\(id)</MsgId><CreDtTm>\(booked)T18:00:00</CreDtTm></GrpHdr>
                <Ntfctn>
                  <Id>\(id)-1</Id><CreDtTm>\(booked)T18:00:00</CreDtTm>
                  <Acct><Id><Othr><Id>\(account)</Id></Othr></Id></Acct>
            \(entries)    </Ntfctn>
              </BkToCstmrDbtCdtNtfctn>
            </Document>

            """
    }

    /// Credits for every transaction of a debit file, as the bank books them.
    static func credits(for path: String, except: Set<String> = []) throws -> [Movement] {
        try debits(in: path).debits.filter { !except.contains($0.endToEndID) }.map { Movement(endToEndID: $0.endToEndID, amount: $0.amount) }
    }
}
