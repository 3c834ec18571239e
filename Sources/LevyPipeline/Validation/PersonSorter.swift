import Foundation
import LevyDomain

/// The persons of one declaration file in bounded memory: an external merge sort.
///
/// Persons arrive in file order and are kept in a buffer of ``runLength``; a full buffer is sorted
/// into roster order and written to an unlinked temporary file (a *run*). Reading back merges the
/// runs and the last buffer, so a 10-million-row file needs two buffers of ``runLength`` persons
/// plus read buffers that share 2 MiB across the runs. The runs vanish with the process: nothing to clean after a crash.
/// Readable any number of times (the roster check, then the ledger insert).
///
/// A full buffer is sorted and spilled on a thread of its own while the parse fills the next one
/// (the machine has two cores; the parse keeps one busy): at most one buffer is in the spiller's
/// hands, so memory stays at two buffers. The `sort` stage counts only the time the parse waits.
package final class PersonSorter: PersonLog, @unchecked Sendable {
    /// Persons kept in memory before a run is spilled (32 bytes each: 128 Ki persons = 4 MiB).
    package let runLength: Int
    private let directory: String
    private var buffer: [DeclaredPerson]
    /// Touched by the spiller while a spill is in flight; read by the owner after ``waitForSpill()``.
    private var runs: [Run] = []
    private var sortedTail = false
    /// The first I/O error, raised by ``checkFailure()``: `append` cannot throw mid-parse.
    package private(set) var failure: (any Error)?
    package private(set) var count = 0
    /// The spiller: one buffer at a time, sorted and written while the next fills.
    private lazy var spiller = DispatchQueue(label: "levy.person-sorter")
    private var spilling = false

    /// - Parameter directory: where runs are spilled (a folder of the root, or the system's temp).
    /// - Parameter expected: about how many persons will come (a small file's are known from its size):
    ///   a day of small files holds 64 sorters at once (files read ahead), and room for 4,096 persons
    ///   each was 128 KB apiece.
    package init(directory: String, runLength: Int = 1 << 17, expected: Int = 4096) {
        self.directory = directory
        self.runLength = max(2, runLength)
        buffer = []
        buffer.reserveCapacity(min(self.runLength, max(16, min(expected, 4096))))
    }

    deinit {
        waitForSpill()
        for run in runs { close(run.fd) }
    }

    /// Called every 65,536 persons with the count so far (the progress bar).
    package var onProgress: ((Int) -> Void)?

    package func append(_ person: DeclaredPerson) {
        count += 1
        if count & 0xFFFF == 0, let onProgress { onProgress(count) }
        buffer.append(person)
        if buffer.count >= runLength { spill() }
    }

    /// Number of runs on disk (for tests and the benchmark).
    package var spilledRuns: Int {
        waitForSpill()
        return runs.count
    }

    package func checkFailure() throws {
        waitForSpill()
        if let failure { throw failure }
    }

    /// Hands the full buffer to the spiller (after the previous one is done) and starts a new one.
    private func spill() {
        waitForSpill()
        let full = RunBuffer()
        full.persons.reserveCapacity(runLength)
        swap(&full.persons, &buffer)
        spilling = true
        spiller.async { [self, full] in spillRun(full) }
    }

    /// A full buffer on its way to the spiller, which takes it out and so holds its only reference:
    /// the sort is done in place, not into a copy (4 MiB less at the peak).
    private final class RunBuffer: @unchecked Sendable {
        var persons: [DeclaredPerson] = []
    }

    /// Waits until the spiller has finished the buffer it holds (charged to the `sort` stage).
    private func waitForSpill() {
        guard spilling else { return }
        StageClock.measure(.sort) { spiller.sync {} }
        spilling = false
    }

    private func spillRun(_ full: RunBuffer) {
        guard failure == nil else { return }
        var run: [DeclaredPerson] = []
        swap(&run, &full.persons)
        RosterSort.sort(&run)
        var fd: Int32 = -1
        do {
            fd = try Self.anonymousFile(in: directory)
            var written = 0
            var coder = RunCoding.Encoder()
            defer { coder.deallocate() }
            try run.withUnsafeBufferPointer { persons in
                for person in persons {
                    coder.append(person)
                    if coder.isFull { try coder.flush { written += try write($0, to: fd) } }
                }
            }
            try coder.flush { written += try write($0, to: fd) }
            runs.append(Run(fd: fd, count: run.count, bytes: written))
        } catch {
            if fd >= 0 { close(fd) }
            failure = error
        }
    }

    /// Writes all of `bytes`; returns how many.
    private func write(_ bytes: UnsafeBufferPointer<UInt8>, to fd: Int32) throws -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw LevyError.system("cannot spill persons to", directory, fix: "check free space in .levy/tmp")
            }
            offset += n
        }
        return offset
    }

    /// An open file with no name: created, then unlinked at once.
    static func anonymousFile(in directory: String) throws -> Int32 {
        try Folders.ensure(directory)
        var template = Array((directory + "/persons-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw LevyError.system("cannot create a temporary file in", directory, fix: "check the folder's permissions and free space") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// A reader of every person in roster order. Errors reading a run are kept in ``failure``.
    package func sortedReader() -> () -> DeclaredPerson? {
        waitForSpill()
        if !sortedTail {
            StageClock.measure(.sort) { RosterSort.sort(&buffer) }
            sortedTail = true
        }
        // The runs' read buffers share 2 MiB (64 KiB each up to 32 runs, never under 8 KiB): a 10M-row
        // file has 154 runs, and 64 KiB each would be 10 MB of the peak.
        let chunk = max(8 << 10, min(RunReader.chunk, (2 << 20) / max(1, runs.count)))
        var sources: [RunReader] = runs.map { RunReader(run: $0, owner: self, chunk: chunk) }
        var tail = 0
        let last = buffer
        // A small binary heap of the sources' heads (index -1 is the in-memory tail).
        var heads: [(person: DeclaredPerson, source: Int)] = []
        for i in sources.indices { if let p = sources[i].next() { heads.append((p, i)) } }
        if !last.isEmpty { heads.append((last[0], -1)); tail = 1 }
        func less(_ a: Int, _ b: Int) -> Bool { DeclaredPerson.precedes(heads[a].person, heads[b].person) }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heads.count && less(l, m) { m = l }
                if r < heads.count && less(r, m) { m = r }
                if m == i { return }
                heads.swapAt(i, m)
                i = m
            }
        }
        for i in stride(from: heads.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        return {
            guard let top = heads.first else { return nil }
            let refill: DeclaredPerson?
            if top.source < 0 {
                refill = tail < last.count ? last[tail] : nil
                if refill != nil { tail += 1 }
            } else {
                refill = sources[top.source].next()
            }
            if let refill {
                heads[0] = (refill, top.source)
            } else {
                heads[0] = heads[heads.count - 1]
                heads.removeLast()
            }
            if !heads.isEmpty { siftDown(0) }
            return top.person
        }
    }

    fileprivate func fail(_ error: any Error) { if failure == nil { failure = error } }

    /// One sorted run on disk. The persons of a run adopted from another sorter (the second half of a
    /// file) are moved down by the lines and rows before that half when they are read back.
    private struct Run {
        let fd: Int32
        let count: Int
        /// Its length on disk (``RunCoding``).
        let bytes: Int
        var lineShift: Int32 = 0
        var ordinalShift: Int32 = 0
    }

    /// Takes over the persons of `rest`, the sorter of a file's second half read on its own: its
    /// persons come after `rows` rows and `lines` lines of this one. `rest` is left empty.
    package func adopt(_ rest: PersonSorter, lines: Int, rows: Int) {
        waitForSpill()
        if !rest.buffer.isEmpty { rest.spill() }
        rest.waitForSpill()
        if let failure = rest.failure { fail(failure) }
        let (lineShift, ordinalShift) = (Int32(clamping: lines), Int32(clamping: rows))
        for var run in rest.runs {
            run.lineShift = run.lineShift &+ lineShift
            run.ordinalShift = run.ordinalShift &+ ordinalShift
            runs.append(run)
        }
        count += rest.count
        rest.runs = []
        rest.count = 0
    }

    /// Reads one spilled run with `pread` through a small buffer, decoding as it goes.
    private struct RunReader {
        let fd: Int32
        let count: Int
        let bytes: Int
        let lineShift: Int32
        let ordinalShift: Int32
        unowned let owner: PersonSorter
        /// Bytes of the run read from the file so far.
        var offset = 0
        var buffer: [UInt8]
        var position = 0
        var decoder = RunCoding.Decoder()
        var decoded = 0
        /// Bytes read at a time (at most ``chunk``).
        static let chunk = 64 << 10

        init(run: Run, owner: PersonSorter, chunk: Int) {
            self.fd = run.fd
            self.count = run.count
            self.bytes = run.bytes
            self.lineShift = run.lineShift
            self.ordinalShift = run.ordinalShift
            self.owner = owner
            buffer = []
            buffer.reserveCapacity(chunk)
        }

        mutating func next() -> DeclaredPerson? {
            guard decoded < count else { return nil }
            if buffer.count - position < RunCoding.maxBytes && offset < bytes && !refill() {
                decoded = count
                return nil
            }
            let person = buffer.withUnsafeBufferPointer { decoder.next(from: $0, at: &position) }
            guard var person else {
                owner.fail(LevyError(.spillDamaged, "spilled persons read back damaged"))
                decoded = count
                return nil
            }
            decoded += 1
            person.line &+= lineShift
            person.ordinal &+= ordinalShift
            return person
        }

        /// Keeps the bytes not decoded yet and reads more after them.
        private mutating func refill() -> Bool {
            buffer.removeSubrange(0..<position)
            position = 0
            let want = min(buffer.capacity - buffer.count, bytes - offset)
            let have = buffer.count
            let (fd, at) = (fd, offset)
            var failed = false
            buffer.append(contentsOf: repeatElement(0, count: want))
            buffer.withUnsafeMutableBytes { raw in
                var done = 0
                while done < want {
                    let got = pread(fd, raw.baseAddress! + have + done, want - done, off_t(at + done))
                    if got < 0 && errno == EINTR { continue }
                    if got <= 0 { failed = true; break }
                    done += got
                }
            }
            if failed {
                owner.fail(LevyError.system("cannot read spilled persons back from", ".levy/tmp", fix: "check the disk"))
                return false
            }
            offset += want
            return true
        }
    }
}
