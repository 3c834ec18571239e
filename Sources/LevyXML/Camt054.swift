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

/// One entry (`Ntry`) of a `camt.054.001.02` notification: what its transactions share (the schema
/// puts all of it before `NtryDtls`, so it is known when each transaction is read).
package struct CamtEntry: Sendable, Hashable {
    package var line = 0
    package var amountFen: Fen = 0
    /// `CdtDbtInd` `CRDT` (money in) or `DBIT` (money out).
    package var isCredit = true
    /// `Sts` `BOOK`: on the account (anything else is not money yet).
    package var isBooked = false
    /// `BookgDt/Dt`, or the day of `DtTm` (an `ISODateTime`, whose first ten characters are its day).
    package var bookingDate: CivilDate?
}

/// Reads a `camt.054.001.02` (BankToCustomerDebitCreditNotification) as it streams, validated against
/// the schema in the same pass, and hands each transaction (`TxDtls`, or an entry without any) to `transaction`
/// with its entry: nothing but the transaction in hand is kept, whether a notification has 500,000
/// entries or one batch entry of 500,000 transactions. An entry whose amount is not the sum of its
/// transactions refuses the whole file (checked as it ends: its transactions are already handed on,
/// so the caller applies nothing until the read succeeds). The account of each notification
/// (`Ntfctn/Acct`) is given to `account` before its entries (the schema puts it first).
package enum Camt054 {
    /// The elements the reader acts on; their position in ``names`` is their tag.
    enum T: UInt16, CaseIterable {
        case BkToCstmrDbtCdtNtfctn, GrpHdr, MsgId, Ntfctn, Acct, Id, Othr, IBAN, Ntry, Amt, CdtDbtInd, Sts, BookgDt, Dt, DtTm
        case NtryDtls, TxDtls, Refs, EndToEndId, AmtDtls, TxAmt, InstdAmt, RtrInf, Rsn, Cd, Prtry
    }
    static let names = T.allCases.map { "\($0)" }

    /// - Parameters:
    ///   - account: each notification's account; returns a problem to refuse the file (not the agency's).
    ///   - transaction: each transaction with its entry; returns a problem to refuse the file.
    /// - Returns: the notification's `MsgId` and how many entries it held, or why the file cannot be used.
    /// - Parameter schema: validate in the same pass; nil when the caller validates on another core.
    package static func read(_ input: XMLInput, schema: XMLSchema?, account: (String) -> String?, transaction: (CamtEntry, CamtDetail) -> String?)
        -> Result<(msgID: String, entries: Int), ReturnProblem> {
        var msgID = ""
        var current = CamtEntry(), detail = CamtDetail()
        // The entry's transactions so far: one held back (it may be the only one, without an amount of
        // its own), how many, and their sum.
        var held: CamtDetail?
        var transactions = 0, sum: Fen = 0
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
            withoutActuallyEscaping(transaction) { transaction in
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
                    case .Dt where up(1) == .BookgDt && up(2) == .Ntry: current.bookingDate = CivilDate(e.value)
                    case .DtTm where up(1) == .BookgDt && up(2) == .Ntry: current.bookingDate = CivilDate(e.value.prefix(10))
                    case .EndToEndId where up(1) == .Refs && up(2) == .TxDtls: detail.endToEndID = e.value
                    case .Amt where up(1) == .TxAmt && up(2) == .AmtDtls && up(3) == .TxDtls: detail.amountFen = amount(e)
                    case .Amt where up(1) == .InstdAmt && up(2) == .AmtDtls && up(3) == .TxDtls: detail.amountFen = detail.amountFen ?? amount(e)
                    case .Cd where up(1) == .Rsn && up(2) == .RtrInf, .Prtry where up(1) == .Rsn && up(2) == .RtrInf:
                        detail.returnReason = e.value
                    case .TxDtls where up(1) == .NtryDtls:
                        guard accountChecked else { problem = "Ntry 出现在账户之前 / an entry before its notification's account"; return }
                        detail.line = e.elementLine
                        if let previous = held {
                            // A batch entry: every transaction must say its own amount.
                            guard let amount = previous.amountFen else {
                                problem = "第 \(previous.line) 行的明细没有金额 / a transaction of a batch entry without AmtDtls/TxAmt"
                                return
                            }
                            sum += amount
                            problem = transaction(current, previous)
                        }
                        held = detail
                        transactions += 1
                        detail = CamtDetail()
                    case .Ntry:
                        defer {
                            current = CamtEntry()
                            held = nil
                            transactions = 0
                            sum = 0
                        }
                        guard accountChecked else { problem = "Ntry 出现在账户之前 / an entry before its notification's account"; return }
                        // An entry without transactions is one line of its own amount; an only
                        // transaction without an amount has the entry's.
                        var last = held ?? CamtDetail(endToEndID: "", amountFen: current.amountFen, returnReason: nil, line: current.line)
                        if transactions <= 1, last.amountFen == nil { last.amountFen = current.amountFen }
                        guard let amount = last.amountFen, sum + amount == current.amountFen else {
                            problem = "第 \(current.line) 行的记账金额 \(Yuan.format(current.amountFen)) 与明细合计 \(Yuan.format(sum + (last.amountFen ?? 0))) 不符 / entry amount does not equal the sum of its transactions"
                            return
                        }
                        entries += 1
                        problem = transaction(current, last)
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
