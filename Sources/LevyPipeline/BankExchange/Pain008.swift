import LevyDomain

/// One direct debit in a pain.008 file.
package struct DirectDebit: Sendable, Hashable {
    package var endToEndID: String
    package var amountFen: Fen
    package var mandate: Mandate
    package var debtorName: String
    package var debtorID: String
    package var remittance: String
}

/// Renders a `pain.008.001.02` CustomerDirectDebitInitiation: one file per bank per collection day,
/// one `PmtInf`, amounts with 2 decimals, `NbOfTxs`/`CtrlSum` computed here (the schema does not check them).
package enum Pain008 {
    package static func render(msgID: String, createdAt: String, collectionDate: CivilDate, creditorName: String,
                               creditorID: String, bank: Bank, debits: [DirectDebit]) -> [UInt8] {
        precondition(!debits.isEmpty && msgID.count <= 35)
        precondition(Set(debits.map(\.endToEndID)).count == debits.count, "duplicate EndToEndId")
        let sum = debits.reduce(Fen(0)) { $0 + $1.amountFen }
        func agent(_ id: String) -> String {
            "<FinInstnId><ClrSysMmbId><ClrSysId><Cd>CNAPS</Cd></ClrSysId><MmbId>\(esc(id))</MmbId></ClrSysMmbId></FinInstnId>"
        }
        var x = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02">
              <CstmrDrctDbtInitn>
                <GrpHdr>
                  <MsgId>\(esc(msgID))</MsgId>
                  <CreDtTm>\(createdAt)</CreDtTm>
                  <NbOfTxs>\(debits.count)</NbOfTxs>
                  <CtrlSum>\(Yuan.format(sum))</CtrlSum>
                  <InitgPty><Nm>\(esc(creditorName))</Nm><Id><OrgId><Othr><Id>\(esc(creditorID))</Id></Othr></OrgId></Id></InitgPty>
                </GrpHdr>
                <PmtInf>
                  <PmtInfId>\(esc(msgID))</PmtInfId>
                  <PmtMtd>DD</PmtMtd>
                  <NbOfTxs>\(debits.count)</NbOfTxs>
                  <CtrlSum>\(Yuan.format(sum))</CtrlSum>
                  <PmtTpInf><SvcLvl><Prtry>SI-CONTRIBUTION</Prtry></SvcLvl><SeqTp>RCUR</SeqTp></PmtTpInf>
                  <ReqdColltnDt>\(collectionDate)</ReqdColltnDt>
                  <Cdtr><Nm>\(esc(creditorName))</Nm></Cdtr>
                  <CdtrAcct><Id><Othr><Id>\(esc(bank.creditorAccount))</Id></Othr></Id><Ccy>CNY</Ccy></CdtrAcct>
                  <CdtrAgt>\(agent(bank.agentID))</CdtrAgt>
                  <ChrgBr>SLEV</ChrgBr>

            """
        for d in debits {
            x += """
                      <DrctDbtTxInf>
                        <PmtId><EndToEndId>\(esc(d.endToEndID))</EndToEndId></PmtId>
                        <InstdAmt Ccy="CNY">\(Yuan.format(d.amountFen))</InstdAmt>
                        <DrctDbtTx><MndtRltdInf><MndtId>\(esc(d.mandate.mandateID))</MndtId><DtOfSgntr>\(d.mandate.signed)</DtOfSgntr></MndtRltdInf></DrctDbtTx>
                        <DbtrAgt>\(agent(bank.agentID))</DbtrAgt>
                        <Dbtr><Nm>\(esc(String(d.debtorName.prefix(140))))</Nm><Id><OrgId><Othr><Id>\(esc(d.debtorID))</Id></Othr></OrgId></Id></Dbtr>
                        <DbtrAcct><Id><Othr><Id>\(esc(d.mandate.account))</Id></Othr></Id></DbtrAcct>
                        <RmtInf><Ustrd>\(esc(String(d.remittance.prefix(140))))</Ustrd></RmtInf>
                      </DrctDbtTxInf>

                """
        }
        x += """
                </PmtInf>
              </CstmrDrctDbtInitn>
            </Document>

            """
        return Array(x.utf8)
    }

    static func esc(_ s: String) -> String { escapeMarkup(s) }
}
