import Foundation

/// A one-line progress bar on an interactive terminal for large files: shown once a file passes
/// 100,000 rows, redrawn every 65,536 rows, erased when the file is done. Never drawn when stderr is
/// not a terminal (logs, pipes, CI).
package final class ProgressBar: @unchecked Sendable {
    let name: String
    let fd: Int32
    let size: Int64
    let started = DispatchTime.now()
    private(set) var drawn = false
    let write: (String) -> Void

    /// Only when stderr is a terminal (or `force`, for tests).
    package static func forFile(name: String, fd: Int32, size: Int64, force: Bool = false) -> ProgressBar? {
        guard force || isatty(STDERR_FILENO) == 1 else { return nil }
        return ProgressBar(name: name, fd: fd, size: size) { writeAll(2, $0.utf8) }
    }

    init(name: String, fd: Int32, size: Int64, write: @escaping (String) -> Void) {
        self.name = name
        self.fd = fd
        self.size = size
        self.write = write
    }

    /// Serializes the halves of a file read in two (``update(half:rows:bytesRead:)``).
    private let lock = NSLock()
    private var rowsByHalf = [0, 0]

    /// Called with the rows read so far (the file is read through `fd`'s offset).
    package func update(rows: Int) {
        draw(rows: rows, position: Int64(lseek(fd, 0, SEEK_CUR)))
    }

    /// Called from either half of a file read in two, with that half's rows and the bytes both have read.
    package func update(half: Int, rows: Int, bytesRead: Int64) {
        lock.withLock {
            rowsByHalf[half] = rows
            draw(rows: rowsByHalf[0] + rowsByHalf[1], position: bytesRead)
        }
    }

    private func draw(rows: Int, position: Int64) {
        guard rows >= 100_000 else { return }
        let fraction = size > 0 && position >= 0 ? min(1, Double(position) / Double(size)) : 0
        let seconds = max(1e-3, Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
        write("\r\u{1B}[K" + Self.line(name: name, fraction: fraction, rows: rows, rowsPerSecond: Double(rows) / seconds))
        drawn = true
    }

    package func finish() {
        lock.withLock { if drawn { write("\r\u{1B}[K") } }
    }

    /// `工资表.csv [##########··········]  52%  1,048,576 rows  812,345 rows/s`
    package static func line(name: String, fraction: Double, rows: Int, rowsPerSecond: Double) -> String {
        let width = 20
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "·", count: width - filled)
        let shown = name.count > 30 ? "…" + String(name.suffix(29)) : name
        return "\(shown) [\(bar)] \(String(format: "%3d", Int(fraction * 100)))%  \(grouped(rows)) rows  \(grouped(Int(rowsPerSecond))) rows/s"
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
