import Foundation
import LevyDomain
import Logging

/// levy's log lines on stderr, one `write(2)` each, in one of two forms (`--log-format`):
///
/// - `text`, for people at a terminal, in swift-log's `StreamLogHandler` form (operators' greps were
///   written for it): `2026-11-06T17:30:00+0800 info levy: employer=… file=… [LevyPipeline] declaration accepted`.
/// - `json`, one object per line for log shippers:
///   `{"ts":"2026-11-06T17:30:00.123+08:00","level":"info","msg":"declaration accepted","employer":"…",…}`.
///   Metadata values are strings; person IDs never reach a log (levy logs employers, files and
///   declaration ids only), and any 15+ digit run is masked as a second guard.
///
/// Written here rather than using `StreamLogHandler`, because a day of small files logs two lines per
/// file and `StreamLogHandler` formatted each one's time with `localtime` + `strftime` (each
/// re-reading `/etc/localtime`), then locked, wrote and flushed a `FILE`: a share of the intake thread
/// as large as a receipt's rendering.
/// The time is formatted once a second (``LogClock``).
package struct LogLineHandler: LogHandler {
    package enum Form: Sendable { case text, json }
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    let label: String
    let form: Form
    let write: @Sendable (String) -> Void

    package init(label: String, form: Form, write: @escaping @Sendable (String) -> Void = writeToStandardError) {
        self.label = label
        self.form = form
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        switch form {
        case .text:
            // One event, one line: a file name with a newline in it must not forge a second one.
            var line = LogClock.now().seconds + " \(event.level) \(label):"
            for key in merged.keys.sorted() { line += " \(key)=\(Self.escapingControls("\(merged[key]!)"))" }
            write(line + " [\(event.source)] \(Self.escapingControls("\(event.message)"))\n")
        case .json:
            var fields: [(String, String)] = [("ts", LogClock.now().milliseconds), ("level", event.level.rawValue), ("msg", "\(event.message)")]
            for key in merged.keys.sorted() where !["ts", "level", "msg"].contains(key) {
                fields.append((key, "\(merged[key]!)"))
            }
            fields.append(("logger", label))
            let quote = JSONValue.quoted
            write("{" + fields.map { "\(quote($0.0)):\(quote(PersonID.redactEmbedded($0.1)))" }.joined(separator: ",") + "}\n")
        }
    }
}

extension LogLineHandler {
    /// Control characters written as escapes (`\n`, `\r`, `\t`, `\u{1B}`), as JSON strings have them.
    static func escapingControls(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// One `write(2)` of the whole line (retried on a short write), so lines from two threads never
/// interleave and nothing waits in a buffer when levy is killed.
package let writeToStandardError: @Sendable (String) -> Void = { line in writeAll(2, Array(line.utf8)) }

/// Writes all of `bytes` to `fd`, retrying short writes; a reader that went away (EPIPE, with
/// SIGPIPE ignored) or any other error drops the rest. Unlike `FileHandle.write`, which stops
/// the process on an error.
package func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) {
    Array(bytes).withUnsafeBufferPointer { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// The agency's time for log lines (Rules `timezone`, once ``use(_:)`` is told it; the machine's
/// until then), formatted at most once a second: `seconds` is `2026-11-06T17:30:00+0800`
/// (`StreamLogHandler`'s form), `milliseconds` is `2026-11-06T17:30:00.123+08:00` (the JSON logs'
/// form). An operator in Shanghai reading the log of a server kept in UTC reads agency time, as on
/// every receipt and report.
package enum LogClock {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: (second: Int, date: String, zone: String, compactZone: String) = (-1, "", "", "")
    nonisolated(unsafe) private static var agencyZone: TimeZone?

    /// Log in this timezone from now on (the agency's, from Rules).
    package static func use(_ timeZone: TimeZone) {
        lock.withLock {
            agencyZone = timeZone
            cached.second = -1
        }
    }

    package static func now() -> (seconds: String, milliseconds: String) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        let second = Int(tv.tv_sec)
        let (date, zone, compactZone) = lock.withLock { () -> (String, String, String) in
            if cached.second != second {
                var parts = tm()
                if let zone = Self.agencyZone {
                    var t = time_t(second + zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second))))
                    gmtime_r(&t, &parts)
                    parts.tm_gmtoff = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
                } else {
                    var t = time_t(second)
                    localtime_r(&t, &parts)
                }
                var buffer = [CChar](repeating: 0, count: 64)
                let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
                let offset = Int(parts.tm_gmtoff)
                let sign = offset < 0 ? "-" : "+"
                let hh = abs(offset) / 3600, mm = abs(offset) % 3600 / 60
                let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
                cached = (second, String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self),
                          "\(sign)\(two(hh)):\(two(mm))", "\(sign)\(two(hh))\(two(mm))")
            }
            return (cached.date, cached.zone, cached.compactZone)
        }
        let ms = Int(tv.tv_usec) / 1000
        let millis = ms < 10 ? "00\(ms)" : (ms < 100 ? "0\(ms)" : "\(ms)")
        return (date + compactZone, date + "." + millis + zone)
    }
}
