import Foundation
import LevyDomain
import LevyLedger

/// A rejection report (SPEC §7): every problem of a file, with line, field and fix.
package struct RejectionReport: Encodable, Sendable {
    package var file: String
    package var sha256: String
    package var employerID: String?
    package var period: String?
    package var receivedAt: String
    package var errors: [FindingJSON]
    package var warnings: [FindingJSON]
    package var errorsOmitted: Int
    package var encoding: String?
    /// For `E-FILE-DUPLICATE`: what became of the earlier identical file.
    package var earlier: EarlierOutcome?

    package struct EarlierOutcome: Encodable, Sendable {
        var file: String
        var receivedAt: String
        var outcome: String
        var declarationID: String?
        var report: String?
        enum CodingKeys: String, CodingKey {
            case file, receivedAt = "received_at", outcome, declarationID = "declaration_id", report
        }
    }

    enum CodingKeys: String, CodingKey {
        case file, sha256, employerID = "employer_id", period, receivedAt = "received_at", errors, warnings
        case errorsOmitted = "errors_omitted", encoding, earlier
    }

    package init(file: String, sha256: String, employerID: String?, period: String?, receivedAt: String,
                 findings: FindingList, encoding: TextEncoding?, earlier: FileRecord? = nil) {
        self.file = file
        self.sha256 = sha256
        self.employerID = employerID
        self.period = period
        self.receivedAt = receivedAt
        let sorted = findings.sorted
        errors = sorted.filter { $0.code.isError }.map(FindingJSON.init)
        warnings = sorted.filter { !$0.code.isError }.map(FindingJSON.init)
        errorsOmitted = findings.omitted
        self.encoding = encoding?.rawValue
        self.earlier = earlier.map {
            EarlierOutcome(file: $0.name, receivedAt: $0.receivedAt, outcome: $0.outcome.rawValue, declarationID: $0.declarationID,
                           report: $0.reportPath)
        }
    }

    /// The report for people.
    package var text: String {
        var lines = ["社会保险费申报退回通知 / Declaration rejected", String(repeating: "=", count: 60)]
        lines.append("文件 file:            \(file)")
        lines.append("SHA-256:              \(sha256)")
        if let employerID { lines.append("单位 employer:        \(employerID)") }
        if let period { lines.append("所属期 period:        \(period)") }
        lines.append("受理时间 received at: \(receivedAt)")
        if let earlier {
            lines.append("此前已处理的相同文件 earlier identical file: \(earlier.file)，\(earlier.receivedAt)，结果 outcome \(earlier.outcome)"
                         + (earlier.declarationID.map { "，申报编号 \($0)" } ?? ""))
        }
        lines.append("")
        lines.append("发现 \(errors.count + errorsOmitted) 个问题，请全部更正后重新提交整个文件 / \(errors.count + errorsOmitted) problems: correct them all and send the whole file again:")
        for e in errors { lines.append("  " + e.finding.textLine) }
        if errorsOmitted > 0 { lines.append("  …另有 \(errorsOmitted) 个问题未列出 / \(errorsOmitted) more not listed") }
        if !warnings.isEmpty {
            lines.append("")
            lines.append("提示 warnings:")
            for w in warnings { lines.append("  " + w.finding.textLine) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Writes the employer's rows as sent plus an `errors` column, in the file's own encoding.
package enum ErrorsCSV {
    /// Also returns, from the same pass, the header and the rows with an error (for the HTML page).
    @discardableResult
    package static func write(sourceFD fd: Int32, encoding: TextEncoding, columns: Int, findings: FindingList,
                              to path: String) throws -> (header: [String], rows: [OffendingRow]) {
        var byLine: [Int: [String]] = [:]
        var errorsByLine: [Int: [Finding]] = [:]
        var general: [String] = []
        for f in findings.sorted {
            let text = "[\(f.code.rawValue)]" + (f.field.map { " \($0)" } ?? "") + (f.value.map { "=\($0)" } ?? "") + " " + f.message
            if let line = f.line { byLine[line, default: []].append(text) } else { general.append(text) }
            if let line = f.line, f.code.isError { errorsByLine[line, default: []].append(f) }
        }
        var header: [String] = []
        var offending: [OffendingRow] = []
        if findings.omitted > 0 { general.append("…另有 \(findings.omitted) 个问题 / \(findings.omitted) more problems") }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw LevyError(.system, "cannot rewind the declaration for its .errors.csv") }
        let writer = try DurableWriter(path: path)
        do {
            func emit(_ utf8: [UInt8]) throws {
                if encoding == .gb18030 {
                    guard let converted = transcode(utf8, from: "UTF-8", to: "GB18030") else { throw LevyError(.encodingUnavailable, "cannot re-encode to GB18030") }
                    writer.write(converted)
                } else {
                    writer.write(utf8)
                }
            }
            func quoted(_ s: String) -> [UInt8] { Array(("\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"").utf8) }
            if encoding == .utf8BOM { writer.write([0xEF, 0xBB, 0xBF]) }
            var first = true
            try forEachCSVRecord(fd: fd, encoding: encoding) { record in
                var out = record.raw
                if first {
                    out.append(contentsOf: Array(",errors".utf8))
                    header = Array(record.fields.prefix(40))
                    first = false
                } else {
                    if let problems = errorsByLine[record.line] {
                        offending.append(OffendingRow(line: record.line, cells: Array(record.fields.prefix(40)), problems: problems))
                    }
                    out.append(UInt8(ascii: ","))
                    out.append(contentsOf: quoted((byLine[record.line] ?? []).joined(separator: "; ")))
                }
                out.append(contentsOf: [13, 10])
                try emit(out)
            }
            if !general.isEmpty {
                var out = [UInt8](repeating: UInt8(ascii: ","), count: max(columns, 1))
                out.append(contentsOf: quoted(general.joined(separator: "; ")))
                out.append(contentsOf: [13, 10])
                try emit(out)
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        return (header, offending)
    }
}

/// Reads a CSV declaration from the start, decoded to UTF-8 from its own encoding, record by record.
func forEachCSVRecord(fd: Int32, encoding: TextEncoding, _ body: (CSVRecord) throws -> Void) throws {
    guard lseek(fd, 0, SEEK_SET) == 0 else { throw LevyError(.system, "cannot rewind the declaration") }
    func each<S: ByteSource>(_ source: S) throws {
        var reader = CSVReader(source: source)
        while let record = reader.next() { try body(record) }
    }
    switch encoding {
    case .gb18030:
        guard let source = TranscodingSource(FileSource(fd: fd), from: "GB18030") else { throw LevyError(.encodingUnavailable, "no GB18030 converter") }
        defer { source.close() }
        try each(source)
    case .utf8BOM:
        var source = FileSource(fd: fd)
        var skip: [UInt8] = []
        _ = source.read(into: &skip, max: 3)
        try each(source)
    case .utf8:
        try each(FileSource(fd: fd))
    }
}
