import Foundation
import LevyDomain

/// One record of a CSV file (RFC 4180), with its raw text for the `.errors.csv` copy.
package struct CSVRecord: Sendable {
    /// 1-based line where the record starts.
    package var line: Int
    package var fields: [String]
    /// The record's bytes as sent (UTF-8), without its line terminator.
    package var raw: [UInt8]
    /// Bad quoting or an over-long record, in words an employer understands.
    package var problem: String?

    package var isBlank: Bool { fields.allSatisfy { $0.trimming(" \t").isEmpty } }
}

/// Streams RFC 4180 records (comma, `"` quoting, CRLF or LF) from UTF-8 bytes, in bounded memory:
/// a record longer than ``maxRecordBytes`` is cut off and reported, then reading resumes at the next line.
package struct CSVReader<Source: ByteSource> {
    package static var maxRecordBytes: Int { 1 << 20 }
    package static var maxFields: Int { 1000 }

    var source: Source
    var buffer: [UInt8] = []
    var pos = 0
    var done = false
    var line = 1
    /// The hot path's field ranges: one table allocated per reader, written in place for each row (no
    /// array growth or uniqueness check per field).
    let fields = FieldTable(capacity: Self.maxFields + 1)
    var scratch: [UInt8] = []
    /// The last record read ended with its line end (not at the end of the data, nor inside quotes
    /// left open): reading stopped exactly at a record boundary.
    private(set) var endedAtLineEnd = false

    package init(source: Source) { self.source = source }

    @inline(__always)
    mutating func nextByte() -> UInt8? {
        if pos == buffer.count {
            if done { return nil }
            buffer.removeAll(keepingCapacity: true)
            pos = 0
            if source.read(into: &buffer, max: 1 << 16) == 0 { done = true; return nil }
        }
        let b = buffer[pos]
        pos += 1
        return b
    }

    @inline(__always)
    mutating func peekByte() -> UInt8? {
        if pos == buffer.count {
            if done { return nil }
            buffer.removeAll(keepingCapacity: true)
            pos = 0
            if source.read(into: &buffer, max: 1 << 16) == 0 { done = true; return nil }
        }
        return buffer[pos]
    }

    enum State { case fieldStart, unquoted, quoted, afterQuote }

    package mutating func next() -> CSVRecord? {
        guard peekByte() != nil else { return nil }
        let start = line
        var fields: [String] = []
        var field: [UInt8] = []
        var raw: [UInt8] = []
        var problem: String?
        var state = State.fieldStart
        var tooMany = false

        func endField() {
            if fields.count < Self.maxFields { fields.append(String(decoding: field, as: UTF8.self)) } else { tooMany = true }
            field.removeAll(keepingCapacity: true)
        }

        while let b = nextByte() {
            if raw.count >= Self.maxRecordBytes {
                // Skip to the end of the physical line and report; memory stays bounded.
                var c: UInt8? = b
                while let x = c, x != 10 { c = nextByte() }
                endedAtLineEnd = c == 10
                line += 1
                return CSVRecord(line: start, fields: [], raw: Array(raw.prefix(200)),
                                 problem: "行过长（超过 1 MiB），可能是引号未闭合 / record longer than 1 MiB (unclosed quote?)")
            }
            switch state {
            case .quoted:
                if b == UInt8(ascii: "\"") { state = .afterQuote } else {
                    if b == 10 { line += 1 }
                    field.append(b)
                }
                raw.append(b)
                continue
            case .fieldStart, .unquoted, .afterQuote:
                break
            }
            if b == 10 || b == 13 {
                if b == 13, peekByte() == 10 { _ = nextByte() }
                line += 1
                endedAtLineEnd = true
                endField()
                return finish(start, fields, raw, problem, tooMany)
            }
            raw.append(b)
            switch state {
            case .fieldStart:
                if b == UInt8(ascii: "\"") { state = .quoted } else if b == UInt8(ascii: ",") { endField() } else {
                    field.append(b)
                    state = .unquoted
                }
            case .unquoted:
                if b == UInt8(ascii: ",") { endField(); state = .fieldStart } else {
                    if b == UInt8(ascii: "\"") && problem == nil {
                        problem = "字段中间出现引号：含引号的字段须整体用引号括起，内部引号写两次 / quote inside an unquoted field: quote the whole field and double inner quotes"
                    }
                    field.append(b)
                }
            case .afterQuote:
                if b == UInt8(ascii: "\"") { field.append(b); state = .quoted } else if b == UInt8(ascii: ",") {
                    endField()
                    state = .fieldStart
                } else {
                    if problem == nil {
                        problem = "闭合引号后还有字符：请把整个字段放在引号内 / text after a closing quote: put the whole field in quotes"
                    }
                    field.append(b)
                    state = .unquoted
                }
            case .quoted:
                break
            }
        }
        endedAtLineEnd = false
        if state == .quoted {
            problem = "引号未闭合：字段以引号开始但直到文件末尾没有结束 / unclosed quote: a quoted field never ends"
        }
        endField()
        return finish(start, fields, raw, problem, tooMany)
    }

    private func finish(_ line: Int, _ fields: [String], _ raw: [UInt8], _ problem: String?, _ tooMany: Bool) -> CSVRecord {
        CSVRecord(line: line, fields: fields, raw: raw,
                  problem: problem ?? (tooMany ? "字段过多（超过 \(Self.maxFields) 个） / more than \(Self.maxFields) fields" : nil))
    }

    // MARK: Hot path

    /// Reads the next record and hands its fields to `body` as bytes borrowed from the reader's buffer
    /// (valid only during the call); nil at the end. A plain record (no quotes, no bare CR) is split
    /// in place without copying or making text; any other record goes through ``next()`` and gets
    /// exactly the same fields and problems.
    package mutating func nextRow<T>(_ body: (CSVRow) -> T) -> T? {
        guard let lineEnd = completeLine() else { return slowRow(body) }
        var end = lineEnd
        if end > pos && buffer[end - 1] == 13 { end -= 1 }
        let start = pos
        // Locals only in the closure: capturing `self` would copy the reader (and retain its arrays) per row.
        let starts = fields.starts, ends = fields.ends, limit = Self.maxFields
        let line = self.line
        let result: T?? = buffer.withUnsafeBufferPointer { all in
            let base = all.baseAddress!
            var count = 0
            var fieldStart = start
            var i = start
            while i < end {
                let b = base[i]
                if b == 44 {  // ,
                    if count == limit { return nil }  // too many fields: the careful path reports it
                    starts[count] = fieldStart
                    ends[count] = i
                    count += 1
                    fieldStart = i + 1
                } else if b == 34 || b == 13 {  // a quote or a bare CR: the careful path
                    return nil
                }
                i += 1
            }
            starts[count] = fieldStart
            ends[count] = end
            count += 1
            if count > limit { return nil }
            return .some(body(CSVRow(line: line, problem: nil, base: base, starts: UnsafeBufferPointer(start: starts, count: count),
                                     ends: UnsafeBufferPointer(start: ends, count: count))))
        }
        guard let delivered = result else { return slowRow(body) }
        endedAtLineEnd = lineEnd < buffer.count
        pos = endedAtLineEnd ? lineEnd + 1 : lineEnd
        self.line += 1
        return delivered
    }

    /// Makes sure the current line is whole in the buffer; returns the index of its LF (or the end of
    /// the data when the file ends without one). nil when nothing is left, or the line is over
    /// ``maxRecordBytes`` (``next()`` then cuts it off and reports it in bounded memory).
    mutating func completeLine() -> Int? {
        var from = pos
        while true {
            let found: Int? = buffer.withUnsafeBufferPointer { all in
                guard from < all.count, let base = all.baseAddress,
                      let hit = memchr(base + from, 10, all.count - from) else { return nil }
                return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            if let found { return found - pos > Self.maxRecordBytes ? nil : found }
            if done { return pos < buffer.count && buffer.count - pos <= Self.maxRecordBytes ? buffer.count : nil }
            if buffer.count - pos > Self.maxRecordBytes { return nil }
            if pos > 0 {
                buffer.removeSubrange(0..<pos)
                pos = 0
            }
            from = buffer.count
            if source.read(into: &buffer, max: 1 << 18) == 0 { done = true }
        }
    }

    private mutating func slowRow<T>(_ body: (CSVRow) -> T) -> T? {
        guard let record = next() else { return nil }
        scratch.removeAll(keepingCapacity: true)
        let starts = fields.starts, ends = fields.ends
        let count = min(record.fields.count, Self.maxFields)
        for (i, field) in record.fields.prefix(count).enumerated() {
            starts[i] = scratch.count
            scratch.append(contentsOf: field.utf8)
            ends[i] = scratch.count
        }
        scratch.append(0)  // never empty: every view has a base address
        return scratch.withUnsafeBufferPointer {
            body(CSVRow(line: record.line, problem: record.problem, base: $0.baseAddress!,
                        starts: UnsafeBufferPointer(start: starts, count: count), ends: UnsafeBufferPointer(start: ends, count: count)))
        }
    }
}

/// Start and end offsets of a record's fields, allocated once per reader and reused for every row.
final class FieldTable {
    let starts: UnsafeMutablePointer<Int>
    let ends: UnsafeMutablePointer<Int>

    init(capacity: Int) {
        starts = .allocate(capacity: capacity)
        ends = .allocate(capacity: capacity)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
    }
}

/// One CSV record's fields as bytes borrowed from the reader (see ``CSVReader/nextRow(_:)``).
package struct CSVRow {
    package let line: Int
    /// Bad quoting or an over-long record (see ``CSVRecord/problem``).
    package let problem: String?
    let base: UnsafePointer<UInt8>
    let starts: UnsafeBufferPointer<Int>
    let ends: UnsafeBufferPointer<Int>

    package var count: Int { starts.count }
    package subscript(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + starts[i], count: ends[i] - starts[i])
    }
    /// Every field empty or spaces and tabs only.
    package var isBlank: Bool {
        for i in 0..<count {
            for b in self[i] where b != 32 && b != 9 { return false }
        }
        return true
    }
}
