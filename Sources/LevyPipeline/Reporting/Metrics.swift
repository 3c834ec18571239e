import Foundation
import LevyDomain
import LevyLedger

/// `.levy/metrics/levy.prom`: Prometheus text format for node_exporter's textfile collector
/// (`--collector.textfile.directory=<root>/.levy/metrics`). Rewritten after every run from the
/// ledger, so the counters survive restarts and never go backwards.
enum Metrics {
    /// Upper bounds (seconds) of the file-processing latency histogram.
    static let latencyBuckets: [Double] = [0.01, 0.05, 0.25, 1, 5, 30, 120]

    /// The counters one processed declaration file adds (in the same transaction as the file).
    static func fileCounters(rows: Int, seconds: Double) -> [String: Int64] {
        var c: [String: Int64] = ["rows_read": Int64(rows), "processing_microseconds": Int64(seconds * 1e6), "processing_files": 1]
        for (i, bound) in latencyBuckets.enumerated() where seconds <= bound { c["processing_bucket_\(i)"] = 1 }
        return c
    }

    static func render(_ m: LedgerMetrics, speed: SpeedCounters, lastRun: AgencyTime, wallClock: Double) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func label(_ s: String) -> String { s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }

        family("levy_files_total", "counter", "Input files by outcome (accepted, rejected, duplicate, quarantined, applied bank returns).")
        for outcome in ["accepted", "rejected", "duplicate", "quarantined", "applied"] {
            out += "levy_files_total{outcome=\"\(outcome)\"} \(m.files[outcome] ?? 0)\n"
        }
        family("levy_rows_total", "counter", "Person rows read from declaration files.")
        out += "levy_rows_total \(m.counters["rows_read"] ?? 0)\n"
        family("levy_debit_transactions_total", "counter", "Direct debit transactions sent, per bank.")
        for d in m.debits { out += "levy_debit_transactions_total{bank=\"\(label(d.bank))\"} \(d.transactions)\n" }
        family("levy_debit_yuan_total", "counter", "Amount sent for direct debit, per bank, in yuan.")
        for d in m.debits { out += "levy_debit_yuan_total{bank=\"\(label(d.bank))\"} \(Yuan.format(d.fen))\n" }
        family("levy_bank_returns_total", "counter", "Debit transactions answered by a bank, by status and reason.")
        for r in m.returns { out += "levy_bank_returns_total{status=\"\(label(r.status))\",reason=\"\(label(r.reason))\"} \(r.count)\n" }
        family("levy_declarations", "gauge", "Declarations by state.")
        for d in m.declarations { out += "levy_declarations{state=\"\(label(d.state))\"} \(d.count)\n" }
        family("levy_declarations_yuan", "gauge", "Contributions of the declarations in each state, in yuan.")
        for d in m.declarations { out += "levy_declarations_yuan{state=\"\(label(d.state))\"} \(Yuan.format(d.fen))\n" }
        family("levy_file_processing_seconds", "histogram", "Time from opening a declaration file to its receipt or rejection being recorded.")
        // Each file bumps every bucket whose bound it is under, so the stored counts are already cumulative.
        for (i, bound) in latencyBuckets.enumerated() {
            out += "levy_file_processing_seconds_bucket{le=\"\(bound)\"} \(m.counters["processing_bucket_\(i)"] ?? 0)\n"
        }
        let count = m.counters["processing_files"] ?? 0
        out += "levy_file_processing_seconds_bucket{le=\"+Inf\"} \(count)\n"
        out += "levy_file_processing_seconds_sum \(String(format: "%.6f", Double(m.counters["processing_microseconds"] ?? 0) / 1e6))\n"
        out += "levy_file_processing_seconds_count \(count)\n"
        family("levy_speed_files_read_ahead", "gauge", "Files this levy process read and checked on the other core while the one before was in the ledger.")
        out += "levy_speed_files_read_ahead \(speed.filesReadAhead)\n"
        family("levy_speed_most_files_ahead", "gauge", "The most files this levy process held read ahead at once.")
        out += "levy_speed_most_files_ahead \(speed.mostFilesAhead)\n"
        family("levy_speed_declarations_taken_back", "gauge", "Declarations this levy process wrote before their XSD verdict and took back (the file was then rejected).")
        out += "levy_speed_declarations_taken_back \(speed.declarationsTakenBack)\n"
        family("levy_last_run_timestamp_seconds", "gauge", "When levy last finished a run (Unix time).")
        out += "levy_last_run_timestamp_seconds \(Int(wallClock))\n"
        family("levy_last_run_as_of_info", "gauge", "The agency time the last run worked as of.")
        out += "levy_last_run_as_of_info{as_of=\"\(lastRun.iso8601)\"} 1\n"
        return out
    }
}

extension DailyReporting {
    func writeMetrics(now: AgencyTime, speed: SpeedCounters) throws {
        let text = Metrics.render(try ledger.metrics(), speed: speed, lastRun: now, wallClock: Date().timeIntervalSince1970)
        try DurableFile.write(Array(text.utf8), to: root.path(".levy/metrics/levy.prom"))
    }
}
