import Foundation

/// What this process has used so far: for `--stats`, the benchmarks and the memory tests.
package struct ProcessStats: Sendable {
    package var wallSeconds: Double
    package var cpuSeconds: Double
    /// Peak resident set of this process image (`VmHWM`: from exec, not inherited from a parent).
    package var peakRSSKiB: Int

    /// Measures since `start` (a `DispatchTime` taken when the command began).
    package static func since(_ start: DispatchTime) -> ProcessStats {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return ProcessStats(wallSeconds: wall, cpuSeconds: cpu, peakRSSKiB: peakResidentKiB() ?? Int(usage.ru_maxrss))
    }

    /// `VmHWM` from `/proc/self/status` (Linux); nil elsewhere.
    static func peakResidentKiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst(6).filter(\.isNumber))
        }
        return nil
    }

    /// One line for stderr: `levy stats: wall_s=1.23 cpu_s=1.10 peak_rss_kib=40960`.
    package var line: String {
        String(format: "levy stats: wall_s=%.3f cpu_s=%.3f peak_rss_kib=%d", wallSeconds, cpuSeconds, peakRSSKiB)
    }
}
