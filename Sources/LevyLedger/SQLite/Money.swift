import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// The bank's money (SPEC §9): movements, the receivable, exceptions, debits awaiting the bank, settlement.
extension SQLiteLedger {
    // MARK: The bank's money

    package func moneyTotals(day: CivilDate) throws -> [(kind: MoneyKind, bank: String?, fen: Fen)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT kind, bank, fen FROM money_daily WHERE day = ? ORDER BY kind, bank", arguments: [day]).compactMap { row in
                let bank: String = row[1]
                return MoneyKind(rawValue: row[0]).map { (kind: $0, bank: bank.isEmpty ? nil : bank, fen: row[2]) }
            }
        }
    }

    package func receivable(before day: CivilDate) throws -> Fen {
        let signed = MoneyKind.allCases.filter { $0.receivableSign != 0 }
            .map { "WHEN '\($0.rawValue)' THEN \($0.receivableSign)" }.joined(separator: " ")
        return try read { db in
            try Fen.fetchOne(db, sql: "SELECT COALESCE(SUM(fen * CASE kind \(signed) ELSE 0 END), 0) FROM money_daily WHERE day < ?",
                             arguments: [day]) ?? 0
        }
    }

    package func receivableOutstanding() throws -> Fen {
        try read { db in
            try Fen.fetchOne(db, sql: """
                SELECT COALESCE(SUM(total_fen + fee_charged_fen - paid_fen), 0) FROM declarations INDEXED BY declarations_owed
                WHERE \(Self.owedCondition)
                """) ?? 0
        }
    }

    package func bankExceptions(day: CivilDate) throws -> [BankException] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bank_exceptions WHERE day = ? ORDER BY id", arguments: [day]).compactMap { row in
                guard let kind = BankException.Kind(rawValue: row["kind"]) else { return nil }
                return BankException(day: row["day"], kind: kind, bank: row["bank"], declarationID: row["declaration_id"],
                                     amountFen: row["amount_fen"], expectedFen: row["expected_fen"], since: row["since"],
                                     file: row["file"], note: row["note"])
            }
        }
    }

    package func awaitingBank(collectedOnOrBefore day: CivilDate) throws -> [DebitStanding] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.standingColumns) FROM awaiting_bank a JOIN declarations ON declarations.id = a.declaration_id
                WHERE a.debit_date <= ? ORDER BY a.debit_date, a.declaration_id
                """, arguments: [day]).map(Self.standing)
        }
    }

    static let standingColumns = """
        declarations.id, declarations.employer_id, declarations.state, declarations.channel, declarations.total_fen, \
        declarations.paid_fen, declarations.debit_msg_id, \(settledOnColumn), declarations.debit_date, declarations.confirmed_on
        """

    static func standing(_ row: Row) -> DebitStanding {
        DebitStanding(id: row[0], employerID: row[1], state: DeclarationState(rawValue: row[2]) ?? .accepted, channel: row[3],
                      totalFen: row[4], paidFen: row[5], debitMsgID: row[6], settledOn: row[7], debitDate: row[8], confirmedOn: row[9])
    }

    package func settleConfirmedDebits(_ credits: [(id: String, amountFen: Fen, day: CivilDate)], bank: String) throws -> [Bool] {
        var settled = [Bool](repeating: false, count: credits.count)
        guard !credits.isEmpty else { return settled }
        try write(deferred: true) { db in
            // 300 credits a statement, bound by hand (half a million of them): each row of VALUES is matched
            // against the narrow row of a debit awaiting the bank (no declaration row is read or written),
            // RETURNING says which matched, and what is settled no longer awaits the bank.
            var from = 0
            while from < credits.count {
                let part = credits[from..<min(from + 300, credits.count)]
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO settlements (declaration_id, settled_on)
                    SELECT v.column1, v.column3 FROM (VALUES \(Array(repeating: "(?,?,?)", count: part.count).joined(separator: ","))) AS v
                    JOIN awaiting_bank a ON a.declaration_id = v.column1
                    WHERE a.total_fen = v.column2 AND a.confirmed AND a.debit_msg_id IN (SELECT msg_id FROM debit_messages WHERE bank_code = ?)
                    ON CONFLICT(declaration_id) DO NOTHING RETURNING declaration_id
                    """)
                let handle = insert.sqliteStatement
                var index: Int32 = 1
                for c in part {
                    sqlite3_bind_text(handle, index, c.id, -1, sqliteTransient)
                    sqlite3_bind_int64(handle, index + 1, c.amountFen)
                    sqlite3_bind_text(handle, index + 2, c.day.description, -1, sqliteTransient)
                    index += 3
                }
                sqlite3_bind_text(handle, index, bank, -1, sqliteTransient)
                var returned: [String] = []
                returned.reserveCapacity(part.count)
                var rc = sqlite3_step(handle)
                while rc == SQLITE_ROW {
                    returned.append(String(cString: sqlite3_column_text(handle, 0)))
                    rc = sqlite3_step(handle)
                }
                sqlite3_reset(handle)
                guard rc == SQLITE_DONE else { throw Self.failure(rc, db, sql: insert.sql) }
                if !returned.isEmpty {
                    // Nearly always every credit of the part settled: no need to find which.
                    if returned.count == part.count {
                        for i in part.indices { settled[i] = true }
                    } else {
                        var ids = Set(returned)
                        for i in part.indices where ids.remove(part[i].id) != nil { settled[i] = true }
                    }
                    let delete = try db.cachedStatement(sql: "DELETE FROM awaiting_bank WHERE declaration_id IN (\(Array(repeating: "?", count: returned.count).joined(separator: ",")))")
                    for (i, id) in returned.enumerated() { sqlite3_bind_text(delete.sqliteStatement, Int32(i + 1), id, -1, sqliteTransient) }
                    try Self.step(delete, db)
                }
                from += part.count
            }
        }
        return settled
    }

    package func debitMessageIDs(bank: String) throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT msg_id FROM debit_messages WHERE bank_code = ?", arguments: [bank])) }
    }

    package func movements(declarationID: String) throws -> [MoneyMovement] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM money WHERE declaration_id = ? ORDER BY id"), arguments: [declarationID])
                .compactMap { row in
                    guard let kind = MoneyKind(rawValue: row["kind"]) else { return nil }
                    return MoneyMovement(day: row["day"], kind: kind, bank: row["bank"], declarationID: row["declaration_id"],
                                         employerID: row["employer_id"], amountFen: row["amount_fen"], ref: row["ref"], feeFen: row["fee_fen"])
                }
        }
    }

    package func declarations(employer: EmployerID, from: Period, to: Period) throws -> [DeclarationRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.declarationColumns) FROM declarations WHERE employer_id = ? AND period BETWEEN ? AND ? AND state IN (\(Self.currentStates))
                ORDER BY period, seq
                """, arguments: [employer, from, to]).map(Self.declarationRecord)
        }
    }

    package func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }.filter { $0 != "ok" }
    }
}
