import LevyDomain

/// One transaction of a notification entry (`NtryDtls/TxDtls`).
package struct CamtDetail: Sendable, Hashable {
    /// `Refs/EndToEndId`: a declaration id when the money is a debit levy sent ("" when absent).
    package var endToEndID = ""
    /// `AmtDtls/TxAmt/Amt` (or `InstdAmt`); nil when the bank gave none (the entry's amount then).
    package var amountFen: Fen?
    /// `RtrInf/Rsn/Cd` (or `Prtry`): why money was taken back.
    package var returnReason: String?
    package var line = 0
}

/// One entry (`Ntry`) of a `camt.054.001.02` notification, checked for form.
package struct CamtEntry: Sendable, Hashable {
    package var line = 0
    package var amountFen: Fen = 0
    /// `CdtDbtInd` `CRDT` (money in) or `DBIT` (money out).
    package var isCredit = true
    /// `Sts` `BOOK`: on the account (anything else is not money yet).
    package var isBooked = false
    /// `BookgDt/Dt` (or the day of `DtTm`).
    package var bookingDate: String?
    package var details: [CamtDetail] = []
}

/// Reads a `camt.054.001.02` (BankToCustomerDebitCreditNotification) as it streams, validated against
/// the schema in the same pass, and hands each entry to `entry` as it ends: nothing but the entry in
/// hand is kept. The account of each notification (`Ntfctn/Acct`) is given to `account` before its
/// entries (the schema puts it first).
package enum Camt054 {
    /// The elements the reader acts on; their position in ``names`` is their tag.
    enum T: UInt16, CaseIterable {
        case BkToCstmrDbtCdtNtfctn, GrpHdr, MsgId, Ntfctn, Acct, Id, Othr, IBAN, Ntry, Amt, CdtDbtInd, Sts, BookgDt, Dt, DtTm
        case NtryDtls, TxDtls, Refs, EndToEndId, AmtDtls, TxAmt, InstdAmt, RtrInf, Rsn, Cd, Prtry
    }
    static let names = T.allCases.map { "\($0)" }

    /// - Parameters:
    ///   - account: each notification's account; returns a problem to refuse the file (not the agency's).
    ///   - entry: each entry; returns a problem to refuse the file.
    /// - Returns: the notification's `MsgId` and how many entries it held, or why the file cannot be used.
    /// - Parameter schema: validate in the same pass; nil when the caller validates on another core.
    package static func read(_ input: XMLInput, schema: XMLSchema?, account: (String) -> String?, entry: (CamtEntry) -> String?)
        -> Result<(msgID: String, entries: Int), ReturnProblem> {
        var msgID = ""
        var current = CamtEntry(), detail = CamtDetail()
        var accountText: String?, accountChecked = false
        var entries = 0
        var problem: String?
        func amount(_ e: ElementPath) -> Fen? {
            guard case .success(let fen) = Yuan.parse(e.value), e.currency == "CNY" else {
                problem = "金额 \(e.value) \(e.currency ?? "") 不是两位小数的人民币金额 / amount '\(e.value)' (line \(e.elementLine)) is not a CNY amount with 2 decimals"
                return nil
            }
            return fen
        }
        let issues = withoutActuallyEscaping(account) { account in
            withoutActuallyEscaping(entry) { entry in
                BankFileReader.read(input, schema: schema, names: names) { e in
                    guard problem == nil, let tag = T(rawValue: e.tag(0)) else { return }
                    // The elements around it, compared as tags (each entry has a dozen elements).
                    func up(_ back: Int) -> T? { T(rawValue: e.tag(back)) }
                    switch tag {
                    case .MsgId where up(1) == .GrpHdr && up(2) == .BkToCstmrDbtCdtNtfctn: msgID = e.value
                    case .Id where up(1) == .Othr && up(2) == .Id && up(3) == .Acct, .IBAN where up(1) == .Id && up(2) == .Acct:
                        accountText = e.value
                    case .Acct where up(1) == .Ntfctn:
                        guard let text = accountText else { problem = "Ntfctn/Acct 没有账号 / names no account"; break }
                        problem = account(text)
                        accountChecked = true
                    case .Amt where up(1) == .Ntry:
                        current.amountFen = amount(e) ?? 0
                        current.line = e.elementLine
                    case .CdtDbtInd where up(1) == .Ntry: current.isCredit = e.value == "CRDT"
                    case .Sts where up(1) == .Ntry: current.isBooked = e.value == "BOOK"
                    case .Dt where up(1) == .BookgDt && up(2) == .Ntry: current.bookingDate = e.value
                    case .DtTm where up(1) == .BookgDt && up(2) == .Ntry: current.bookingDate = String(e.value.prefix(10))
                    case .EndToEndId where up(1) == .Refs && up(2) == .TxDtls: detail.endToEndID = e.value
                    case .Amt where up(1) == .TxAmt && up(2) == .AmtDtls && up(3) == .TxDtls: detail.amountFen = amount(e)
                    case .Amt where up(1) == .InstdAmt && up(2) == .AmtDtls && up(3) == .TxDtls: detail.amountFen = detail.amountFen ?? amount(e)
                    case .Cd where up(1) == .Rsn && up(2) == .RtrInf, .Prtry where up(1) == .Rsn && up(2) == .RtrInf:
                        detail.returnReason = e.value
                    case .TxDtls where up(1) == .NtryDtls:
                        detail.line = e.elementLine
                        current.details.append(detail)
                        detail = CamtDetail()
                    case .Ntry:
                        defer { current = CamtEntry() }
                        guard accountChecked else { problem = "Ntry 出现在账户之前 / an entry before its notification's account"; return }
                        if current.details.isEmpty {
                            current.details = [CamtDetail(endToEndID: "", amountFen: current.amountFen, returnReason: nil, line: current.line)]
                        }
                        if current.details.count == 1, current.details[0].amountFen == nil { current.details[0].amountFen = current.amountFen }
                        let sum = current.details.reduce(Fen(0)) { $0 + ($1.amountFen ?? 0) }
                        guard current.details.allSatisfy({ $0.amountFen != nil }), sum == current.amountFen else {
                            problem = "第 \(current.line) 行的记账金额 \(Yuan.format(current.amountFen)) 与明细合计 \(Yuan.format(sum)) 不符 / entry amount does not equal the sum of its transactions"
                            return
                        }
                        entries += 1
                        problem = entry(current)
                    case .Ntfctn:
                        accountText = nil
                        accountChecked = false
                    default: break
                    }
                    if problem != nil { e.refuse("stopped: \(problem!)") }
                }
            }
        }
        if let problem { return .failure(ReturnProblem(problem)) }
        if let broken = issues.first(where: { $0.kind != .schema }) {
            return .failure(ReturnProblem("不是格式正确的 XML / not well-formed XML: line \(broken.line): \(broken.message)"))
        }
        if let first = issues.first {
            return .failure(ReturnProblem("不符合 camt.054.001.02 / does not validate against camt.054.001.02: line \(first.line): \(first.message)"))
        }
        return .success((msgID, entries))
    }
}
