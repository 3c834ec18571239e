import Foundation
import GRDB
import GRDBSQLite
import LevyDomain

/// SQLite copies a text bound with this destructor before the bind returns (C's `SQLITE_TRANSIENT`).
nonisolated(unsafe) let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Writes a declaration's roster as `roster_blocks` rows of up to 4,096 persons, 16 bytes each
/// (person key, then base in fen shifted left by 2 with the change in the low bits, little-endian),
/// in ascending key order, and an `insured` row for each person not removed — 128 to a statement,
/// which halves SQLite's per-statement cost against one row per step.
struct RosterBlockWriter {
    static let perBlock = 4096
    static let insuredPerStatement = 128
    static let tailSizes = [32, 16, 4, 1]
    /// The statements' text, made once (a small file's roster was building it on every declaration).
    static let insertInsured: [Int: String] = Dictionary(uniqueKeysWithValues: ([insuredPerStatement] + tailSizes).map { size in
        (size, "INSERT INTO insured (person_key, decl_no) VALUES " + Array(repeating: "(?,?)", count: size).joined(separator: ","))
    })
    let declaration: Int64
    let blockInsert: Statement
    let insuredInsert: Statement
    let db: Database
    var words: [Int64] = []
    var insured: [Int64] = []
    var block: Int64 = 0

    init(_ db: Database, declaration: Int64) throws {
        self.db = db
        self.declaration = declaration
        blockInsert = try db.cachedStatement(sql: "INSERT INTO roster_blocks (decl_no, block, entries) VALUES (?,?,?)")
        insuredInsert = try db.cachedStatement(sql: Self.insertInsured[Self.insuredPerStatement]!)
        words.reserveCapacity(Self.perBlock * 2)
        insured.reserveCapacity(Self.insuredPerStatement)
    }

    /// The hot loop of a large declaration: bind and step directly (no boxed arguments per row).
    mutating func append(_ entry: RosterEntry) throws {
        words.append(entry.personKey.littleEndian)
        words.append((entry.baseFen << 2 | Int64(entry.change.rawValue)).littleEndian)
        if entry.change != .removed {
            insured.append(entry.personKey)
            if insured.count == Self.insuredPerStatement { try flushInsured() }
        }
        if words.count == Self.perBlock * 2 { try flush() }
    }

    mutating func finish() throws {
        if !words.isEmpty { try flush() }
        // The last persons (all of a small declaration's): 32, 16, 4 to a statement, then one by one.
        var start = 0
        for size in Self.tailSizes {
            let statement = try db.cachedStatement(sql: Self.insertInsured[size]!)
            while insured.count - start >= size {
                try insert(insured[start..<start + size], with: statement)
                start += size
            }
        }
        insured.removeAll()
    }

    private mutating func flushInsured() throws {
        try insert(insured[...], with: insuredInsert)
        insured.removeAll(keepingCapacity: true)
    }

    private func insert(_ keys: ArraySlice<Int64>, with statement: Statement) throws {
        let handle = statement.sqliteStatement
        for (i, key) in keys.enumerated() {
            sqlite3_bind_int64(handle, Int32(2 * i + 1), key)
            sqlite3_bind_int64(handle, Int32(2 * i + 2), declaration)
        }
        try step(statement)
    }

    private mutating func flush() throws {
        let handle = blockInsert.sqliteStatement
        sqlite3_bind_int64(handle, 1, declaration)
        sqlite3_bind_int64(handle, 2, block)
        // SQLITE_STATIC (nil): the bytes stay put until the step inside this closure is done.
        try words.withUnsafeBytes { raw in
            _ = sqlite3_bind_blob(handle, 3, raw.baseAddress, Int32(raw.count), nil)
            try step(blockInsert)
        }
        words.removeAll(keepingCapacity: true)
        block += 1
    }

    private func step(_ statement: Statement) throws { try SQLiteLedger.step(statement, db) }
}

/// Reads `roster_blocks` rows back as entries, in key order.
struct RosterBlockReader {
    let blocks: DatabaseValueCursor<Data>
    var current: [Int64] = []
    var index = 0

    init(_ blocks: DatabaseValueCursor<Data>) { self.blocks = blocks }

    mutating func next() throws -> RosterEntry? {
        while index >= current.count {
            guard let data = try blocks.next() else { return nil }
            current = data.withUnsafeBytes { raw in
                (0..<raw.count / 8).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            }
            index = 0
        }
        let key = current[index], packed = current[index + 1]
        index += 2
        return RosterEntry(personKey: key, change: RosterChange(rawValue: UInt8(packed & 3)) ?? .continuing, baseFen: packed >> 2)
    }
}
