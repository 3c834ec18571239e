import Foundation
import LevyDomain
import LevyLedger
import LevyXML

extension DeclarationFileCheck {
    /// Reads a CSV file assumed to be plain UTF-8 in two halves, the second on another thread, and gives
    /// what ``check(fd:name:scanned:folderEmployer:completing:)`` gives without completing.
    ///
    /// The cut is the first line end past the middle. The first half is read up to its first row (the
    /// header, and the employer and period every later row is compared with: ``DeclarationCheck/firstRowSettled``),
    /// then the second half starts from a copy of that check while the first goes on to the cut. The
    /// first half's reader is the judge of the cut: it started at the top of the file, so only it knows
    /// whether that line end closes a record or sits inside a quoted field. If it does not close one, or
    /// the first row comes after it, nil: the caller reads the file in one pass. Each half spills its
    /// persons on its own, in runs of half the usual length (memory stays as it was); the second's
    /// findings, lines and ordinals are moved down by the first's when they are joined.
    func readInHalves(fd: Int32, name: String, size: Int64, bom: Bool, folderEmployer: Employer?) -> Outcome? {
        guard let cut = Self.lineEnd(after: size / 2, fd: fd, size: size) else { return nil }
        let persons = PersonSorter(directory: spillDirectory, runLength: max(2, runLength / 2))
        let restPersons = PersonSorter(directory: spillDirectory, runLength: persons.runLength)
        let bar = showsProgress ? ProgressBar.forFile(name: name, fd: fd, size: size) : nil
        let read = ReadCounter()
        if let bar {
            persons.onProgress = { bar.update(half: 0, rows: $0, bytesRead: read.total) }
            restPersons.onProgress = { bar.update(half: 1, rows: $0, bytesRead: read.total) }
        }
        defer { bar?.finish() }
        var check = DeclarationCheck(format: .csv, rules: rules, now: now, folderEmployer: folderEmployer, persons: persons)
        var reader = CSVReader(source: StoppableSource(inner: PositionedSource(fd: fd, from: bom ? 3 : 0, to: cut, counter: read), stop: stop))
        guard let layout = readHeader(&reader, into: &check) else { return nil }
        var rows = CSVRowFeeder(layout: layout)
        while !check.firstRowSettled, reader.nextRow({ rows.feed($0, into: &check) }) != nil {}
        guard check.firstRowSettled else { return nil }

        let rest = SecondHalf(from: check, persons: restPersons, layout: layout,
                              source: StoppableSource(inner: PositionedSource(fd: fd, from: cut, to: size, counter: read), stop: stop))
        while reader.nextRow({ rows.feed($0, into: &check) }) != nil {}
        rest.wait()
        guard reader.endedAtLineEnd else { return nil }  // the cut is inside a quoted field

        if rest.rows.sawRecord {
            for line in rows.pendingBlank { check.add(CSVRowFeeder.blankLine(line)) }
        }
        let lines = reader.line - 1
        persons.adopt(rest.persons, lines: lines, rows: check.rowCount)
        check.counted.add(rest.check.counted, lineOffset: lines)
        var outcome = Outcome(check: check, persons: persons, format: .csv)
        outcome.encoding = bom ? .utf8BOM : .utf8
        outcome.csvColumns = layout.count
        outcome.awaitsLedger = true
        return outcome
    }

    /// The offset just past the first LF at or after `middle` (within 1 MiB); nil if there is none, or
    /// nothing after it.
    static func lineEnd(after middle: Int64, fd: Int32, size: Int64) -> Int64? {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var at = middle
        while at < size && at - middle < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(at)) }
            if n <= 0 { return nil }
            if let i = chunk[0..<n].firstIndex(of: 10) {
                let cut = at + Int64(i) + 1
                return cut < size ? cut : nil
            }
            at += Int64(n)
        }
        return nil
    }
}

/// The second half of a CSV file, read on a thread of its own from its own check (see
/// ``DeclarationFileCheck/readInHalves(fd:name:size:bom:folderEmployer:)``).
final class SecondHalf: @unchecked Sendable {
    private let group = DispatchGroup()
    /// Written by the reading thread before it leaves `group`; read only after ``wait()``.
    private(set) var check: DeclarationCheck
    private(set) var rows: CSVRowFeeder
    let persons: PersonSorter

    private let source: StoppableSource<PositionedSource>

    init(from check: DeclarationCheck, persons: PersonSorter, layout: CSVLayout, source: StoppableSource<PositionedSource>) {
        // The first row's employer, period and schedule, and whatever else it settled; nothing counted.
        var rest = check
        rest.persons = persons
        rest.counted = RowCounts()
        self.check = rest
        self.persons = persons
        self.source = source
        rows = CSVRowFeeder(layout: layout)
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            var reader = CSVReader(source: self.source)
            var (check, rows) = (self.check, self.rows)  // locals in the loop: no exclusivity checks per row
            while reader.nextRow({ rows.feed($0, into: &check) }) != nil {}
            (self.check, self.rows) = (check, rows)
            group.leave()
        }
    }

    func wait() { group.wait() }
}

/// A source that ends early when `stop` says so (checked once per read of up to 256 KiB).
struct StoppableSource<Inner: ByteSource>: ByteSource {
    var inner: Inner
    let stop: (() -> Bool)?
    mutating func read(into buffer: inout [UInt8], max: Int) -> Int {
        if let stop, stop() { return 0 }
        return inner.read(into: &buffer, max: max)
    }
}
