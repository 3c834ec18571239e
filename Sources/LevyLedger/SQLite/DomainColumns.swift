import GRDB
import GRDBSQLite
import LevyDomain

// The domain's values as SQLite columns: an employer's code, a period and a day are stored as the text
// every report prints (`91370100MA3C5X123P`, `2026-11`, `2026-11-10`), so the ledger stays readable with
// the sqlite3 shell, and are read back straight from the statement's bytes (a notification reads three
// days for each of hundreds of thousands of debits).

extension CivilDate: DatabaseValueConvertible, StatementColumnConvertible {
    package var databaseValue: DatabaseValue { description.databaseValue }

    package static func fromDatabaseValue(_ dbValue: DatabaseValue) -> CivilDate? {
        String.fromDatabaseValue(dbValue).flatMap { CivilDate($0) }
    }

    package init?(sqliteStatement: SQLiteStatement, index: CInt) {
        guard let date = columnBytes(sqliteStatement, index, CivilDate.parse) else { return nil }
        self = date
    }
}

extension Period: DatabaseValueConvertible, StatementColumnConvertible {
    package var databaseValue: DatabaseValue { description.databaseValue }

    package static func fromDatabaseValue(_ dbValue: DatabaseValue) -> Period? {
        String.fromDatabaseValue(dbValue).flatMap { $0.utf8.count == 7 ? Period($0) : nil }
    }

    package init?(sqliteStatement: SQLiteStatement, index: CInt) {
        guard let period = columnBytes(sqliteStatement, index, Period.parse) else { return nil }
        self = period
    }
}

extension EmployerID: DatabaseValueConvertible, StatementColumnConvertible {
    package var databaseValue: DatabaseValue { text.databaseValue }

    /// The ledger holds only codes levy accepted (checked or registered), so it does not check them again.
    package static func fromDatabaseValue(_ dbValue: DatabaseValue) -> EmployerID? {
        String.fromDatabaseValue(dbValue).map { EmployerID(unchecked: $0) }
    }

    package init?(sqliteStatement: SQLiteStatement, index: CInt) {
        self.init(unchecked: String(sqliteStatement: sqliteStatement, index: index))
    }
}

extension PaymentChannel: DatabaseValueConvertible {}

/// A text column's bytes, parsed without a String in between.
private func columnBytes<T>(_ statement: SQLiteStatement, _ index: CInt, _ parse: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
    guard let text = sqlite3_column_text(statement, index) else { return nil }
    return parse(UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))))
}
