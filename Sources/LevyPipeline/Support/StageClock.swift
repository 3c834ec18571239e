import Foundation

/// The stages a declaration goes through, for `--stats` and the benchmark's per-stage figures.
package enum Stage: Int, CaseIterable, Sendable {
    /// Hash and encoding scan of the file's bytes.
    case scan
    /// Reading, decoding (GB18030), splitting records or XML nodes into fields, and the row checks and
    /// contribution arithmetic: one stage, because they alternate row by row and timing each row
    /// would cost more than the check itself (two clock reads per row doubled the row's cost).
    case parseAndCheck
    /// Sorting the persons into runs (and spilling them) for the roster merge: the time the parse waits
    /// for the spiller thread, and the sort of the last, in-memory run.
    case sort
    /// The merge of the sorted persons with the ledger's rosters (roster, insured elsewhere).
    case roster
    /// The ledger transaction: declaration, roster, file record, counters.
    case ledger
    /// Receipts, rejection reports, archive moves, day reports, debit files.
    case outputs

    package var name: String { self == .parseAndCheck ? "parse_check" : String(describing: self) }
}

/// Exclusive time per ``Stage``: a stage entered inside another is charged to itself only, so the
/// figures add up to the time spent. Off unless `--stats` asks; no stage is timed per row.
/// Only the thread that enabled it is timed: work levy hands to another thread (the second half of a
/// large file, the spiller, the next small file read ahead) is not charged, and the time the working
/// thread waits for it is charged to the stage it waits in.
package enum StageClock {
    nonisolated(unsafe) package private(set) static var enabled = false
    nonisolated(unsafe) private static var owner = pthread_self()
    nonisolated(unsafe) private static var totals = [UInt64](repeating: 0, count: Stage.allCases.count)
    nonisolated(unsafe) private static var stack: [Stage] = []
    nonisolated(unsafe) private static var mark: UInt64 = 0

    @inline(__always)
    package static func measure<T>(_ stage: Stage, _ body: () throws -> T) rethrows -> T {
        guard enabled, pthread_equal(owner, pthread_self()) != 0 else { return try body() }
        enter(stage)
        defer { leave() }
        return try body()
    }

    /// Times the calling thread's stages from now on (`--stats`).
    package static func enable() {
        owner = pthread_self()
        enabled = true
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private static func enter(_ stage: Stage) {
        let t = now()
        if let outer = stack.last { totals[outer.rawValue] += t - mark }
        stack.append(stage)
        mark = t
    }

    private static func leave() {
        let t = now()
        if let inner = stack.popLast() { totals[inner.rawValue] += t - mark }
        mark = t
    }

    /// Seconds per stage so far.
    package static var seconds: [(Stage, Double)] { Stage.allCases.map { ($0, Double(totals[$0.rawValue]) / 1e9) } }

    /// One line for stderr: `levy stages: scan_s=0.120 parse_check_s=0.410 …`.
    package static var line: String {
        "levy stages: " + seconds.map { String(format: "%@_s=%.3f", $0.0.name, $0.1) }.joined(separator: " ")
    }
}
