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

    /// Plain UTF-8 CSV files from this size on are read in two halves at once (``readInHalves``), on
    /// the parse-while-scanning path (which they take even below ``overlapBytes``). Tests set it low to
    /// take that path with small files.
    package var splitBytes: Int64 = Self.halvesFrom
    package static let halvesFrom: Int64 = 4 << 20

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
        let previous = try ledger.previousDeclaration(employer: employer.id, before: period)
        let inArrears = check.removalCount > 0 ? try ledger.hasArrears(employer: employer.id) : false
        let current = try ledger.currentDeclaration(employer: employer.id, period: period)
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
        try ledger.withRosterReaders(previous: previous, period: period, except: employer.id,
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
