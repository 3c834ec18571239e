import Foundation
import LevyDomain
import Logging

/// One JSON object per line on stderr, for log shippers (`--log-format json`):
/// `{"ts":"2026-11-06T17:30:00.123+08:00","level":"info","msg":"declaration accepted","employer":"…",…}`.
/// Metadata values are strings; person IDs never reach a log (levy logs employers, files and
/// declaration ids only), and any 15+ digit run is masked as a second guard.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable (String) -> Void

    package init(label: String, write: @escaping @Sendable (String) -> Void = writeToStandardError) {
        self.label = label
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields: [(String, String)] = [("ts", Self.timestamp()), ("level", event.level.rawValue), ("msg", "\(event.message)")]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() where !["ts", "level", "msg"].contains(key) {
            fields.append((key, "\(merged[key]!)"))
        }
        fields.append(("logger", label))
        let body = fields.map { "\(Self.quote($0.0)):\(Self.quote(PersonID.redactEmbedded($0.1)))" }.joined(separator: ",")
        write("{" + body + "}\n")
    }

    static func quote(_ s: String) -> String { JSONValue.quoted(s) }

    static func timestamp() -> String { LogClock.now().milliseconds }
}
