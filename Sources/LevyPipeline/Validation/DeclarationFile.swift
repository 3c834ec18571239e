import Crypto
import Foundation
import LevyDomain
import LevyLedger
import LevyXML

/// The kind of a declaration file, by its extension (the only thing a name is trusted for).
package enum DeclarationFormat: String, Sendable {
    case csv, xml
    package init?(fileName: String) {
        switch (fileName as NSString).pathExtension.lowercased() {
        case "csv": self = .csv
        case "xml": self = .xml
        default: return nil
        }
    }
}

/// What one streaming pass over a file's bytes gives: identity and encoding.
package struct ScannedFile: Sendable {
    package var sha256: String
    package var size: Int64
    package var encoding: EncodingScan
}

/// Hashes a file and scans its encoding in one pass, in 1 MiB chunks read with `pread` (the file
/// offset, which a parse may be using, is left alone). `notPlainUTF8` is called once, as soon as the
/// bytes are known not to be plain UTF-8 (a NUL or an invalid sequence).
package func scanFile(fd: Int32, notPlainUTF8: (() -> Void)? = nil) throws -> ScannedFile {
    var hasher = SHA256()
    var scan = EncodingScan()
    var size: Int64 = 0
    var told = false
    let chunk = 1 << 20
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunk)
    defer { buffer.deallocate() }
    while true {
        let n = pread(fd, buffer.baseAddress!, chunk, off_t(size))
        if n < 0 { if errno == EINTR { continue }; throw LevyError.system("cannot read", "an inbox file", fix: "check the disk") }
        if n == 0 { break }
        let slice = UnsafeBufferPointer(rebasing: buffer[0..<n])
        hasher.update(bufferPointer: UnsafeRawBufferPointer(slice))
        scan.feed(slice)
        size += Int64(n)
        if !told, let notPlainUTF8, !scan.validUTF8 || scan.sawNUL {
            told = true
            notPlainUTF8()
        }
    }
    scan.finish()
    let hex = hexString(hasher.finalize())
    return ScannedFile(sha256: hex, size: size, encoding: scan)
}

/// ``scanFile(fd:notPlainUTF8:)`` on a thread of its own, while the calling thread parses the file.
final class BackgroundScan: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    /// Written by the scan before it leaves `group`; read only after waiting on it.
    private var result: Result<ScannedFile, any Error>?
    private var notUTF8 = false

    init(fd: Int32) {
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result { try scanFile(fd: fd) { self.lock.withLock { self.notUTF8 = true } } }
            group.leave()
        }
    }

    /// The bytes are known not to be plain UTF-8: a parse that assumed it can stop.
    var isNotUTF8: Bool { lock.withLock { notUTF8 } }

    /// Waits for the scan; every call gives the same result.
    func wait() throws -> ScannedFile {
        group.wait()
        return try result!.get()
    }
}

/// The XSD validation of a large XML declaration, on a thread of its own, while the calling thread
/// reads the values without the schema (``DeclarationFileCheck/validationAsideBytes``): libxml2's
/// validator is two thirds of an XML file's parse, and nothing of levy's waits for it but the verdict.
package final class AsideValidation: @unchecked Sendable {
    private let group = DispatchGroup()
    /// Written by the validating thread before it leaves `group`; read only after waiting on it.
    private var valid = false
    private let lock = NSLock()
    private var cancelledFlag = false
    private var cancelled: Bool { lock.withLock { cancelledFlag } }

    /// Starts validating the file open at `fd` (read through a descriptor of its own, closed when done:
    /// the caller may close `fd` whenever it likes). A file it cannot read again counts as invalid:
    /// it is then read with the schema on the calling thread.
    init(fd: Int32, encoding: String?, schema: XMLSchema) {
        let own = dup(fd)
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            if own >= 0 {
                let issues = DeclarationXMLReader.validate(fd: own, encoding: encoding, schema: schema, stop: { self.cancelled })
                valid = !cancelled && !issues.contains { $0.kind == .schema }
                close(own)
            }
            group.leave()
        }
    }

    /// Stops the validation at its next chunk: its verdict is no longer wanted.
    func cancel() { lock.withLock { cancelledFlag = true } }

    /// Waits for the verdict: true when the schema found nothing (what the reading thread finds about
    /// syntax and encoding, it finds itself).
    package var isValid: Bool {
        group.wait()
        return valid
    }

    /// Thrown to take back a change written before the verdict came, when the document is not valid.
    package struct Invalid: Error, CustomStringConvertible {
        package var description: String { "the XML declaration does not match declaration.xsd" }
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
        self.check = check.continuation(persons: persons)
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

/// The full check of one declaration file: file-level tests, streaming parse, then the ledger's context.
package struct DeclarationFileCheck {
    package let rules: Rules
    package let schema: XMLSchema
    package let now: AgencyTime
    /// The ledger for roster, insured-elsewhere, arrears and lock checks (nil: nothing known, e.g. `levy check` on a new root).
    package let ledger: (any Ledger)?
    /// Where the persons of a large file are spilled while it is checked (see ``PersonSorter``).
    package let spillDirectory: String
    /// Persons held in memory before a sorted run is spilled (tests make it tiny to force spilling).
    package let runLength: Int
    /// Draw a progress bar for large files when stderr is a terminal.
    package var showsProgress = false
    /// Ends a CSV parse early (the background scan found the file is not plain UTF-8).
    var stop: (() -> Bool)?

    package init(rules: Rules, schema: XMLSchema, now: AgencyTime, ledger: (any Ledger)?,
                 spillDirectory: String = NSTemporaryDirectory(), runLength: Int = 1 << 17) {
        self.runLength = runLength
        self.rules = rules
        self.schema = schema
        self.now = now
        self.ledger = ledger
        self.spillDirectory = spillDirectory
    }

    package struct Outcome {
        package var check: DeclarationCheck
        /// The file's persons, readable in roster order (for the ledger's roster insert).
        package var persons: PersonSorter
        package var format: DeclarationFormat?
        package var encoding: TextEncoding?
        /// The declaration this one replaces (same employer and period, nothing paid or in flight).
        package var replaces: DeclarationRecord?
        /// CSV header count, for the `.errors.csv` copy.
        package var csvColumns = 0
        /// An XML document's own totals, compared with its persons when the check completes.
        package var xmlTotals: XMLTotals?
        /// Checked without the ledger so far (`completing: false`): ``complete(_:)`` is still to run.
        package var awaitsLedger = false
        /// An XML file's XSD verdict, still to come (see ``validationAsideBytes``): the outcome holds
        /// only if the document turns out valid; ``settle(_:fd:name:scanned:folderEmployer:)`` or a
        /// change's ``LevyLedger/LedgerChange/confirm`` waits for it.
        package var validation: AsideValidation?
        package var isAccepted: Bool { check.isAccepted }
    }

    /// XML files from this size on are validated against the XSD on another thread while their values
    /// are read (``AsideValidation``); nil: always on the reading thread, in the same parse. Whoever
    /// sets it must settle an outcome's ``Outcome/validation``.
    package var validationAsideBytes: Int64?

    /// CSV files from this size on are parsed while they are scanned (``scanAndCheck(fd:name:folderEmployer:admit:)``);
    /// below it a second thread costs more than it saves. Tests set 0 to take that path with small files.
    package var overlapBytes: Int64 = 1 << 20

    /// Scans the file (SHA-256 and encoding, ``scanFile(fd:notPlainUTF8:)``) and checks it. `admit`
    /// sees the scan before anything is decided and may stop there (a duplicate): the outcome is then nil.
    ///
    /// A CSV file of ``overlapBytes`` or more, and an XML file of ``validationAsideBytes`` or more
    /// (whose XSD validation then runs on a third thread), is read as UTF-8 while the scan runs on the
    /// other core, and checked against the ledger only once the scan has admitted it. When the scan
    /// finds the bytes are not plain UTF-8 after all (GB18030, NULs), the read stops at its next chunk
    /// and the file is checked again in the usual order, from the scan's findings — the outcome is
    /// always the one ``check(fd:name:scanned:folderEmployer:)`` gives.
    package func scanAndCheck(fd: Int32, name: String, folderEmployer: Employer?,
                              admit: (ScannedFile) throws -> Bool) throws -> (scanned: ScannedFile, outcome: Outcome?) {
        var st = stat()
        var head = [UInt8](repeating: 0, count: 4)
        let headCount = fstat(fd, &st) == 0 ? pread(fd, &head, 4, 0) : -1
        let size = Int64(st.st_size)
        let wideBOM = head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF])
        let format = DeclarationFormat(fileName: name)
        let overlaps = format == .csv ? size >= min(overlapBytes, splitBytes) : format == .xml && validationAsideBytes.map { size >= $0 } == true
        guard overlaps, headCount == 4, !wideBOM, size <= rules.maxFileBytes else {
            let scanned = try StageClock.measure(.scan) { try scanFile(fd: fd) }
            guard try admit(scanned) else { return (scanned, nil) }
            return (scanned, try StageClock.measure(.parseAndCheck) { try check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer) })
        }
        let scan = BackgroundScan(fd: fd)
        defer { _ = try? scan.wait() }  // the scan reads `fd`: never leave before it is done
        var assumed = EncodingScan()
        head.withUnsafeBufferPointer { assumed.feed(UnsafeBufferPointer(rebasing: $0[0..<($0.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0)])) }
        var optimistic = self
        optimistic.stop = { scan.isNotUTF8 }
        var outcome = try StageClock.measure(.parseAndCheck) {
            if format == .csv, size >= splitBytes,
               let halves = optimistic.readInHalves(fd: fd, name: name, size: size, bom: assumed.hasUTF8BOM, folderEmployer: folderEmployer) {
                return halves
            }
            return try optimistic.check(fd: fd, name: name, scanned: ScannedFile(sha256: "", size: size, encoding: assumed),
                                        folderEmployer: folderEmployer, completing: false)
        }
        let scanned = try StageClock.measure(.scan) { try scan.wait() }
        guard try admit(scanned) else {
            outcome.validation?.cancel()
            return (scanned, nil)
        }
        let e = scanned.encoding
        guard scanned.size == size, e.validUTF8, !e.sawNUL, !e.hasWideBOM, e.hasUTF8BOM == assumed.hasUTF8BOM else {
            outcome.validation?.cancel()
            return (scanned, try StageClock.measure(.parseAndCheck) { try check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer) })
        }
        // (A broken XML document stops before the ledger's questions, as in one pass.)
        if outcome.awaitsLedger { try StageClock.measure(.parseAndCheck) { try complete(&outcome) } }
        return (scanned, outcome)
    }

    /// Plain UTF-8 CSV files from this size on are read in two halves at once (``readInHalves``), on
    /// the parse-while-scanning path (which they take even below ``overlapBytes``). Tests set it low to
    /// take that path with small files.
    package var splitBytes: Int64 = Self.halvesFrom
    package static let halvesFrom: Int64 = 4 << 20

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
        check.absorb(rest.check, lineOffset: lines)
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

    /// Checks the file open at `fd` (already scanned). `folderEmployer` is the employer whose folder it is in.
    /// Without `completing`, a file that was read is left for ``complete(_:)`` (what the ledger knows).
    package func check(fd: Int32, name: String, scanned: ScannedFile, folderEmployer: Employer?,
                       completing: Bool = true) throws -> Outcome {
        let format = DeclarationFormat(fileName: name)
        // A row is at least ~40 bytes (an 18-character ID, a code, a period, a base): no more persons than that.
        let persons = PersonSorter(directory: spillDirectory, runLength: runLength, expected: Int(scanned.size / 40) + 1)
        let bar = showsProgress ? ProgressBar.forFile(name: name, fd: fd, size: scanned.size) : nil
        if let bar { persons.onProgress = { bar.update(rows: $0) } }
        defer { bar?.finish() }
        var check = DeclarationCheck(format: format == .xml ? .xml : .csv, rules: rules, now: now, folderEmployer: folderEmployer,
                                     persons: persons)
        var outcome = Outcome(check: check, persons: persons, format: format)
        func fileLevel(_ finding: Finding) -> Outcome {
            var c = DeclarationCheck(format: format == .xml ? .xml : .csv, rules: rules, now: now, folderEmployer: folderEmployer)
            c.add(finding)
            return Outcome(check: c, persons: PersonSorter(directory: spillDirectory, runLength: runLength), format: format)
        }
        guard let format else {
            return fileLevel(Finding(code: .fileType, value: safeFileName(name),
                                     message: "只接受 .csv 或 .xml 申报文件：请另存为 CSV（逗号分隔）后重新提交 / Only .csv and .xml declarations are accepted: save as CSV and send again"))
        }
        if scanned.size > rules.maxFileBytes {
            return fileLevel(Finding(code: .fileTooLarge, value: "\(scanned.size)",
                                     message: "文件大小 \(scanned.size) 字节超过上限 \(rules.maxFileBytes) 字节：请拆分后分别提交 / File of \(scanned.size) bytes is over the limit of \(rules.maxFileBytes): contact the agency"))
        }
        if scanned.size == 0 {
            return fileLevel(Finding(code: .fileEmpty, message: "文件为空：请提交含表头和人员明细的申报文件 / The file is empty: send the declaration with its header and rows"))
        }
        let encodingProblem = Finding(code: .fileEncoding,
                                      message: "文件编码无法识别：请以 UTF-8 或 GB18030（Excel 的“CSV（逗号分隔）”）保存后重新提交 / Not UTF-8 or GB18030 text: save as CSV UTF-8 or CSV (comma delimited) and send again")
        if scanned.encoding.sawNUL || scanned.encoding.hasWideBOM { return fileLevel(encodingProblem) }
        let encoding: TextEncoding = scanned.encoding.validUTF8 ? (scanned.encoding.hasUTF8BOM ? .utf8BOM : .utf8) : .gb18030
        outcome.encoding = encoding
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw LevyError(.system, "cannot rewind \(name)") }

        switch format {
        case .csv:
            var valid = true
            if encoding == .gb18030 {
                guard var source = TranscodingSource(FileSource(fd: fd), from: "GB18030") else {
                    throw LevyError(.encodingUnavailable, "iconv has no GB18030 converter", fix: "install the glibc locale data (libc-bin)")
                }
                defer { source.close() }
                outcome.csvColumns = readCSV(source: &source, into: &check)
                valid = !source.invalid
            } else {
                var source = StoppableSource(inner: FileSource(fd: fd), stop: stop)
                if encoding == .utf8BOM { var skip: [UInt8] = []; _ = source.inner.read(into: &skip, max: 3) }
                outcome.csvColumns = readCSV(source: &source, into: &check)
            }
            if !valid { return fileLevel(encodingProblem) }
        case .xml:
            var head: [UInt8] = []
            var source = FileSource(fd: fd)
            _ = source.read(into: &head, max: 4096)
            if case .doctype(let line)? = scanProlog(head) {
                var c = check
                c.add(Finding(code: .xmlSyntax, line: line, path: "/", field: nil, value: "<!DOCTYPE",
                              message: "不接受 DOCTYPE/DTD 与实体声明：请删除 <!DOCTYPE …> / DOCTYPE and entity declarations are not accepted: remove <!DOCTYPE …>"))
                return Outcome(check: c, persons: persons, format: format)
            }
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw LevyError(.system, "cannot rewind \(name)") }
            let declared = String(decoding: head.prefix(200), as: UTF8.self).lowercased()
            let xmlEncoding: String? = encoding == .gb18030 && !declared.contains("encoding=") ? "GB18030" : nil
            let aside = validationAsideBytes.map { scanned.size >= $0 } == true
                ? AsideValidation(fd: fd, encoding: xmlEncoding, schema: schema) : nil
            let (issues, totals) = DeclarationXMLReader.read(fd: fd, encoding: xmlEncoding, schema: aside == nil ? schema : nil,
                                                             into: &check, stop: stop)
            if stop?() == true {
                aside?.cancel()
                outcome.check = check
                return outcome  // thrown away by the caller
            }
            if issues.contains(where: { $0.kind == .encoding }) {
                aside?.cancel()
                return fileLevel(encodingProblem)
            }
            if let aside, !issues.isEmpty {
                // A broken document: its report lists the schema's findings up to the break, in the
                // order one validating parse gives them.
                if !aside.isValid {
                    var again = self
                    again.validationAsideBytes = nil
                    return try again.check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer, completing: completing)
                }
            }
            for issue in issues {
                let code: FindingCode = issue.kind == .schema ? .xmlSchema : .xmlSyntax
                let fix = issue.kind == .schema
                    ? "请按 declaration.xsd 的结构更正 / correct the document to match declaration.xsd"
                    : "XML 格式不正确，请检查标签是否配对 / the XML is not well-formed: check that every tag is closed"
                check.add(Finding(code: code, line: issue.line == 0 ? nil : issue.line, path: nil, field: nil, value: nil,
                                  message: "\(issue.message)：\(fix)"))
            }
            if issues.contains(where: { $0.kind == .syntax || $0.endedTheRead }) {
                // A broken document stops early: report what was found, not the persons it never reached.
                outcome.check = check
                return outcome
            }
            outcome.xmlTotals = totals
            outcome.validation = issues.isEmpty ? aside : nil
        }
        outcome.check = check
        if completing { try complete(&outcome) } else { outcome.awaitsLedger = true }
        return outcome
    }

    /// Waits for the XSD verdict of an outcome that was checked while its file was validated on another
    /// thread: a valid document's outcome stands; an invalid one's file is read again with the schema
    /// in the same parse, and gives exactly the report that reading gives.
    package func settle(_ outcome: Outcome, fd: Int32, name: String, scanned: ScannedFile, folderEmployer: Employer?) throws -> Outcome {
        guard let validation = outcome.validation else { return outcome }
        var settled = outcome
        settled.validation = nil
        if validation.isValid { return settled }
        var again = self
        again.validationAsideBytes = nil
        return try again.check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer)
    }

    /// Completes the check of a file read by ``check(fd:name:scanned:folderEmployer:completing:)``:
    /// what only the ledger knows (rosters, insured elsewhere, arrears, locks).
    func complete(_ outcome: inout Outcome) throws {
        outcome.awaitsLedger = false
        let current = try StageClock.measure(.roster) { try finish(&outcome.check, persons: outcome.persons, xmlTotals: outcome.xmlTotals) }
        outcome.replaces = outcome.check.isAccepted ? current : nil
    }

    /// Reads a CSV declaration into the check; returns the header's column count.
    func readCSV<S: ByteSource>(source: inout S, into check: inout DeclarationCheck) -> Int {
        var reader = CSVReader(source: source)
        defer { source = reader.source }
        guard let layout = readHeader(&reader, into: &check) else { return 0 }
        var rows = CSVRowFeeder(layout: layout)
        while reader.nextRow({ rows.feed($0, into: &check) }) != nil {}
        return layout.count
    }

    /// Reads the header (after any blank lines) and checks its column names; nil when the file has no
    /// line that is not blank.
    func readHeader<S: ByteSource>(_ reader: inout CSVReader<S>, into check: inout DeclarationCheck) -> CSVLayout? {
        guard var header = reader.next() else { return nil }
        while header.isBlank, let next = reader.next() { header = next }
        if header.isBlank { return nil }
        var columns: [DeclarationField: Int] = [:]
        if let problem = header.problem {
            check.add(Finding(code: .csvHeader, line: header.line, message: "表头行格式错误：\(problem)"))
        }
        for (i, name) in header.fields.enumerated() {
            let trimmed = name.trimming(" \t\u{FEFF}")
            if trimmed.lowercased() == "errors" || trimmed == "错误" { continue }  // our own column in a re-sent .errors.csv
            guard let field = DeclarationField(header: trimmed) else {
                check.add(Finding(code: .csvHeader, line: header.line, field: String(trimmed.prefix(100)), value: String(trimmed.prefix(100)),
                                  message: "未知列名“\(trimmed.prefix(100))”：列名应为 employer_id, period, person_id, name, wage_base, change 或对应中文 / Unknown column: use the English or Chinese column names of the format"))
                continue
            }
            if columns[field] != nil {
                check.add(Finding(code: .csvHeader, line: header.line, field: field.rawValue, value: trimmed,
                                  message: "列“\(trimmed)”重复：每列只能出现一次 / Column appears twice: keep one"))
                continue
            }
            columns[field] = i
        }
        for field in DeclarationField.allCases where field != .change && columns[field] == nil {
            check.add(Finding(code: .csvHeader, line: header.line, field: field.rawValue,
                              message: "缺少列 \(field.rawValue)（\(field.chinese)）：请在表头加上该列 / Missing column \(field.rawValue): add it to the header"))
        }
        return CSVLayout(count: header.fields.count, employer: columns[.employerID], period: columns[.period],
                         person: columns[.personID], name: columns[.name], base: columns[.wageBase], change: columns[.change])
    }

    /// Adds what only the ledger knows, then completes the check in one merge of the sorted persons
    /// with the ledger's rosters. Gives the employer's current declaration of the period, which an
    /// accepted file replaces (nil without a ledger).
    func finish(_ check: inout DeclarationCheck, persons: PersonSorter, xmlTotals: XMLTotals?) throws -> DeclarationRecord? {
        try persons.checkFailure()
        guard let employer = check.employer, let period = check.period, let ledger else {
            check.finish(persons: persons.sortedReader(), xmlTotals: xmlTotals)
            try persons.checkFailure()
            return nil
        }
        let previous = try ledger.previousDeclaration(employer: employer.id.text, before: period.description)
        let inArrears = check.removalCount > 0 ? try ledger.hasArrears(employer: employer.id.text) : false
        let current = try ledger.currentDeclaration(employer: employer.id.text, period: period.description)
        let lockedBy = current.flatMap { [.inFlight, .paid].contains($0.state) || $0.paidFen > 0 ? $0 : nil }
        // An employer's first declaration adds everyone it lists; later ones add the rows marked A.
        let additions = previous == nil ? check.declaredHeadcount : check.addedCount
        // A small file's persons are asked about together (one query per 64, not one per person).
        var candidates: [Int64]?
        if additions > 0 && additions <= 2_000 && persons.count <= 2_000 {
            let next = persons.sortedReader()
            var keys: [Int64] = []
            while let p = next() {
                if p.change != .removed && keys.last != p.key { keys.append(p.key) }
            }
            candidates = keys
        }
        try ledger.withRosterReaders(previous: previous, period: period.description, except: employer.id.text,
                                     additions: additions, candidates: candidates) { readers in
            var failure: (any Error)?
            let previousRoster = readers.previous.map { read in
                { () -> Int64? in
                    do { return try read() } catch { failure = failure ?? error; return nil }
                }
            }
            check.finish(persons: persons.sortedReader(), previousRoster: previousRoster, insuredElsewhere: { key in
                do { return try readers.insuredElsewhere(key).flatMap { EmployerID(registered: $0) } } catch {
                    failure = failure ?? error
                    return nil
                }
            }, removalsInArrears: inArrears, xmlTotals: xmlTotals)
            if let failure { throw failure }
        }
        try persons.checkFailure()
        if let lockedBy {
            let what = lockedBy.state == .paid ? "已缴费 / is paid" : (lockedBy.state == .inFlight ? "正在银行扣款中 / has a debit in flight" : "已部分缴费 / is paid in part")
            check.add(Finding(code: .declarationLocked, field: "period", value: lockedBy.id,
                              message: "本单位 \(period) 的申报 \(lockedBy.id) \(what)：不能再替换，如需更正请到经办窗口办理 / The declaration of this period can no longer be replaced: correct it at the service counter"))
        }
        return current
    }
}

/// Where a CSV declaration's columns are, from its header.
struct CSVLayout: Sendable {
    let count: Int
    let employer: Int?, period: Int?, person: Int?, name: Int?, base: Int?, change: Int?
}

/// Hands a CSV declaration's records, after the header, to a check: a record with the wrong number of
/// fields or bad quoting is reported, any other is checked as a row.
struct CSVRowFeeder {
    let layout: CSVLayout
    /// Blank lines not reported yet: they are a problem only when a record comes after them.
    private(set) var pendingBlank: [Int] = []
    /// A record that is not a blank line has been fed (the blank lines before it were in the middle).
    private(set) var sawRecord = false

    init(layout: CSVLayout) { self.layout = layout }

    static func blankLine(_ line: Int) -> Finding {
        Finding(code: .csvRow, line: line, message: "空行：请删除文件中间的空行 / Blank line in the middle of the file: delete it")
    }

    @inline(__always)
    mutating func feed(_ record: CSVRow, into check: inout DeclarationCheck) {
        if record.problem == nil && record.isBlank { pendingBlank.append(record.line); return }
        sawRecord = true
        if !pendingBlank.isEmpty {
            for line in pendingBlank { check.add(Self.blankLine(line)) }
            pendingBlank.removeAll()
        }
        if let problem = record.problem {
            check.add(.csvRow, line: record.line, message: problem)
            return
        }
        let count = layout.count
        guard record.count == count else {
            check.add(.csvRow, line: record.line, value: "\(record.count)",
                      message: "本行有 \(record.count) 个字段，表头有 \(count) 列：含逗号的字段请用引号括起 / \(record.count) fields but the header has \(count): quote fields that contain commas")
            return
        }
        let l = layout
        check.row(bytes: RowBytes(line: record.line, employerID: l.employer.map { record[$0] },
                                  period: l.period.map { record[$0] }, personID: l.person.map { record[$0] },
                                  name: l.name.map { record[$0] }, wageBase: l.base.map { record[$0] },
                                  change: l.change.map { record[$0] }))
    }
}
