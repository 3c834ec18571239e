import LevyDomain

/// `Outbox/receipts/<employer>/<declaration_id>-reversal.json/.txt` (SPEC §9, §10): a payment undone,
/// and what the employer owes again.
struct ReversalReceipt {
    var receiptNo: String
    var employerID: String
    var employerName: String
    var period: String
    var declarationID: String
    var reversedReceiptNo: String
    var reversedFen: Fen
    var reason: String
    var reversedAt: String
    var owedFen: Fen
    /// The declaration's state after the reversal (`accepted` before its due date, `overdue` after).
    var state: String

    var jsonBytes: [UInt8] {
        JSONValue.object([
            ("receipt_no", .string(receiptNo)), ("kind", .string("reversal")), ("employer_id", .string(employerID)),
            ("employer_name", .string(employerName)), ("period", .string(period)), ("declaration_id", .string(declarationID)),
            ("reversed_receipt_no", .string(reversedReceiptNo)), ("reversed_fen", .int(reversedFen)), ("reason", .string(reason)),
            ("reversed_at", .string(reversedAt)), ("owed_fen", .int(owedFen)), ("state", .string(state)),
        ]).bytes
    }

    var text: String {
        [
            "社会保险费冲正回执 / Payment reversal receipt",
            String(repeating: "=", count: 60),
            "回执编号 receipt no.:      \(receiptNo)",
            "单位 employer:             \(employerID) \(employerName)",
            "所属期 period:             \(period)",
            "申报编号 declaration id:   \(declarationID)",
            "冲正缴费回执 reversed:     \(reversedReceiptNo)",
            "冲正金额 reversed amount:  \(Yuan.format(reversedFen)) 元",
            "冲正原因 reason:           \(reason)",
            "冲正时间 reversed at:      \(reversedAt)",
            "仍应缴纳 owed again:       \(Yuan.format(owedFen)) 元（滞纳金按日另计 / late fee accrues from the day after the due day）",
            "请到经办窗口缴纳 / Pay at the service counter.",
        ].joined(separator: "\n") + "\n"
    }
}
