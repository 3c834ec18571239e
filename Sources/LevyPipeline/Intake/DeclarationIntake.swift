import Foundation
import LevyDomain
import LevyLedger
import Logging

/// Opens an inbox file as levy reads every input: never through a symlink, never waiting on a FIFO,
/// and only when what was opened is a regular file (it may have been swapped since it was listed).
/// Gives the descriptor (the caller closes it) and the file's size; nil otherwise.
package func openRegularFile(_ path: String) -> (fd: Int32, size: Int64)? {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        return nil
    }
    return (fd, Int64(st.st_size))
}

/// Declaration intake: every complete file of `Inbox/declarations/<employer>/` is read, checked
/// against the Rules and the rosters, and accepted (a receipt; the declaration in the ledger) or
/// rejected (a report listing every problem) — then archived. The plain path is
/// ``intakeDeclaration(_:now:ahead:)``: open, scan and check, decide, record, publish; the faster
/// ways of reading a file are chosen in `Validation/` (``DeclarationFileCheck``) and here (reading
/// ahead, ``Lookahead``), and none changes what a file gets.
package final class DeclarationIntake: WorkplaceJob {
    package let workplace: Workplace
    /// Draw a progress bar for large files (the command line sets it; nothing is drawn unless stderr is a terminal).
    package var showsProgress = false
    /// What the speed machinery did in this process (written to the metrics with each run).
    package internal(set) var speed = SpeedCounters()
    /// When the file in hand was opened (for the processing-latency metric).
    var fileStarted = DispatchTime.now()

    init(_ workplace: Workplace) { self.workplace = workplace }

    var background: BackgroundWork { workplace.background }
}

extension DeclarationIntake {
    /// Takes every complete declaration in `Inbox/declarations/`.
    func intakeDeclarations(now: AgencyTime) throws {
        // Folders are listed on a thread of their own while the files of earlier ones are taken.
        let listing = InboxListing(root.declarationsInbox, renamed: loggingRename)
        defer { listing.stop() }
        for stray in listing.strays {
            try quarantine(stray, kind: "declarations", now: now,
                           reason: "不在单位目录中：申报文件须放在 Inbox/declarations/<统一社会信用代码>/ / Not inside an employer folder: files go in Inbox/declarations/<employer_id>/")
        }
        // The next files are read and checked on the other core while this one is in the ledger: up
        // to `tuning.readAheadDepth` of them and `tuning.readAheadBytes` of their bytes, so that a file whose blocks
        // must come from the disk has been read by the time its turn comes.
        var next: [(entry: InboxEntry, ahead: Lookahead?, tried: Bool)] = []
        var bytesAhead: Int64 = 0
        defer { for n in next { n.ahead?.discard() } }
        do {
            while true {
                while next.count <= tuning.readAheadDepth, let e = listing.next() { next.append((e, nil, false)) }
                guard !next.isEmpty else { break }
                let (entry, mine, _) = next.removeFirst()
                if mine != nil { bytesAhead -= entry.size }
                guard workplace.admits?(entry) ?? true else {
                    mine?.discard()
                    continue
                }
                for k in next.indices where !next[k].tried {
                    guard bytesAhead == 0 || bytesAhead + next[k].entry.size <= tuning.readAheadBytes else { break }
                    next[k].ahead = lookahead(next[k].entry, now: now)
                    next[k].tried = true
                    if next[k].ahead != nil { bytesAhead += next[k].entry.size }
                }
                speed.mostFilesAhead = max(speed.mostFilesAhead, next.count { $0.ahead != nil })
                try intakeDeclaration(entry, now: now, ahead: mine)
            }
        } catch {
            // What the batch holds so far is whole (each file's change is all or nothing): keep it.
            try? publisher.finishBatch()
            throw error
        }
        try publisher.finishBatch()
    }


    /// Starts reading `entry` on the other core, when it is a small CSV or XML file of a registered employer's
    /// folder: what ``DeclarationFileCheck/scanAndCheck(fd:name:folderEmployer:admit:)`` would do for
    /// it, up to the questions only the ledger answers (a duplicate, the rosters), which wait for its turn.
    func lookahead(_ entry: InboxEntry, now: AgencyTime) -> Lookahead? {
        guard tuning.readsAhead, DeclarationFormat(fileName: entry.name) != nil, let employer = loaded.rules.employer(entry.folder),
              employer.id.text == entry.folder else { return nil }
        let fileCheck = declarationFileCheck(now: now, ledger: nil)
        guard ReadingPlan.readsAhead(size: entry.size, fileCheck: fileCheck) else { return nil }
        let ahead = Lookahead(entry: entry, fileCheck: fileCheck, employer: employer)
        background.readAhead { ahead.read() }
        return ahead
    }

    /// A file of 1 MiB or more takes long enough that the log says it is in hand before its outcome
    /// (`declaration file taken`); a smaller one's line is a debug line (`LEVY_LOG=debug`): its outcome
    /// follows within milliseconds, and a day of 20,000 files would log 40,000 lines, not 20,000.
    func logTaken(_ entry: InboxEntry, bytes: Int64) {
        logger.log(level: bytes >= 1 << 20 ? .info : .debug, "declaration file taken",
                   metadata: ["employer": "\(entry.folder)", "file": "\(safeFileName(entry.name))", "bytes": "\(bytes)"])
    }

    func intakeDeclaration(_ entry: InboxEntry, now: AgencyTime, ahead: Lookahead? = nil) throws {
        fileStarted = ahead?.started ?? DispatchTime.now()
        let rules = loaded.rules
        guard let employer = rules.employer(entry.folder), employer.id.text == entry.folder else {
            try quarantine(entry, kind: "declarations", now: now,
                           reason: "目录 \(entry.folder) 不是已登记单位：无法确定申报单位 / Folder \(entry.folder) is not a registered employer: the file cannot be attributed")
            return
        }
        let inboxRel = "Inbox/declarations/\(entry.folder)/\(entry.name)"
        if let ahead, let read = try StageClock.measure(.parseAndCheck, { try ahead.take() }) {
            // Read and checked on the other core: only the ledger's questions are left.
            defer { close(read.fd) }
            speed.filesReadAhead += 1
            logTaken(entry, bytes: read.scanned.size)
            let earlier = try earlierFile(read.scanned, folder: entry.folder)
            var outcome = read.outcome
            if earlier == nil && outcome.awaitsLedger {
                let fileCheck = declarationFileCheck(now: now, ledger: ledger)
                try StageClock.measure(.parseAndCheck) { try fileCheck.complete(&outcome) }
            }
            try conclude(entry, inboxRel: inboxRel, fd: read.fd, scanned: read.scanned, outcome: earlier == nil ? outcome : nil,
                         earlier: earlier, employer: employer, now: now)
            return
        }
        var st = stat()
        guard lstat(entry.path, &st) == 0 else { return }
        let fd = (st.st_mode & S_IFMT) == S_IFREG ? openRegularFile(entry.path)?.fd ?? -1 : -1
        defer { if fd >= 0 { close(fd) } }
        if fd < 0 && (st.st_mode & S_IFMT) == S_IFREG && (errno == EACCES || errno == EPERM) {
            // The agency's problem, not the employer's: nothing is rejected or archived; the file waits.
            logger.error("declaration file cannot be read by levy: left in the inbox — give the user levy runs as read access (chmod g+r, or the SFTP umask)", metadata: [
                "employer": "\(entry.folder)", "file": "\(safeFileName(entry.name))", "error": "\(String(cString: strerror(errno)))",
            ])
            return
        }

        guard fd >= 0 else {
            // Symlinks, FIFOs, sockets, folders: never opened, never followed; rejected and archived as they are.
            let kind = (st.st_mode & S_IFMT) == S_IFLNK ? "符号链接 symlink" : ((st.st_mode & S_IFMT) == S_IFDIR ? "目录 folder" : "特殊文件 special file")
            var check = DeclarationCheck(format: .csv, rules: rules, now: now, folderEmployer: employer)
            check.add(Finding(code: .fileType, value: safeFileName(entry.name),
                              message: "不是普通文件（\(kind)）：请直接上传 .csv 或 .xml 文件本身 / Not a regular file (\(kind)): upload the .csv or .xml file itself"))
            let identity = sha256Hex(Array("non-regular:\(entry.folder)/\(entry.name)@\(now.iso8601)#\(entry.mtime)".utf8))
            try reject(entry, inboxRel: inboxRel, sha256: identity, check: check, encoding: nil, fd: -1, columns: 0,
                       earlier: nil, now: now)
            return
        }

        logTaken(entry, bytes: Int64(st.st_size))
        var fileCheck = declarationFileCheck(now: now, ledger: ledger)
        fileCheck.showsProgress = showsProgress
        var earlier: FileRecord?
        let (scanned, checked) = try fileCheck.scanAndCheck(fd: fd, name: entry.name, folderEmployer: employer) { scanned in
            earlier = try earlierFile(scanned, folder: entry.folder)
            return earlier == nil
        }
        try conclude(entry, inboxRel: inboxRel, fd: fd, scanned: scanned, outcome: checked, earlier: earlier, employer: employer, now: now)
    }

    /// The file already processed with the same bytes from the same folder. Empty files all have
    /// the same bytes: each is rejected as empty, never as a duplicate of another.
    func earlierFile(_ scanned: ScannedFile, folder: String) throws -> FileRecord? {
        scanned.size == 0 ? nil : try ledger.file(sha256: scanned.sha256, folder: folder)
    }

    /// The checker of this root's declaration files (`ledger` nil: without the ledger's questions).
    func declarationFileCheck(now: AgencyTime, ledger: (any Ledger)?) -> DeclarationFileCheck {
        var fileCheck = DeclarationFileCheck(rules: loaded.rules, schema: loaded.declarationSchema, now: now, ledger: ledger,
                                             spillDirectory: root.path(".levy/tmp"), runLength: tuning.personRunLength)
        fileCheck.splitBytes = tuning.halvesFrom
        fileCheck.validationAsideBytes = ledger == nil ? nil : tuning.validationAsideFrom
        return fileCheck
    }

    /// Accepts or rejects a checked file; `outcome` nil means it is byte-identical to `earlier`.
    func conclude(_ entry: InboxEntry, inboxRel: String, fd: Int32, scanned: ScannedFile, outcome checked: DeclarationFileCheck.Outcome?,
                  earlier: FileRecord?, employer: Employer, now: AgencyTime) throws {
        let rules = loaded.rules
        // The archive is the agency's evidence: what is judged must be exactly the bytes archived.
        // A file still being written (its size or mtime moved since it was listed, or more bytes
        // than were hashed) waits in the inbox for the next look.
        if fd >= 0, changedWhileRead(entry, fd: fd, hashed: scanned.size) {
            logger.warning("declaration file changed while it was read: left in the inbox for the next look", metadata: [
                "employer": "\(entry.folder)", "file": "\(safeFileName(entry.name))", "listed_bytes": "\(entry.size)", "hashed_bytes": "\(scanned.size)",
            ])
            return
        }
        // Archived, it is evidence holding person IDs: readable by levy's group at most, as every
        // output is (a no-op where levy does not own the file).
        if fd >= 0 { fchmod(fd, 0o640) }
        guard let outcome = checked else {
            let earlier = earlier!
            var check = DeclarationCheck(format: .csv, rules: rules, now: now, folderEmployer: employer)
            check.add(Finding(code: .fileDuplicate, value: earlier.name,
                              message: "与 \(earlier.receivedAt) 已处理的文件“\(earlier.name)”完全相同（结果：\(earlier.outcome.rawValue)\(earlier.declarationID.map { "，申报编号 \($0)" } ?? "")）：无需重复提交 / Byte-identical to a file already processed (\(earlier.outcome.rawValue)): nothing to do"))
            try reject(entry, inboxRel: inboxRel, sha256: scanned.sha256, check: check, encoding: nil, fd: -1, columns: 0,
                       earlier: earlier, now: now, outcome: .duplicate)
            return
        }
        func settled() throws {
            let settled = try declarationFileCheck(now: now, ledger: ledger)
                .settle(outcome, fd: fd, name: entry.name, scanned: scanned, folderEmployer: employer)
            try conclude(entry, inboxRel: inboxRel, fd: fd, scanned: scanned, outcome: settled, earlier: nil, employer: employer, now: now)
        }
        // Rejected anyway: the report waits for the XSD's findings.
        if outcome.validation != nil && !outcome.isAccepted { return try settled() }
        if outcome.isAccepted {
            do {
                try StageClock.measure(.outputs) {
                    try accept(entry, inboxRel: inboxRel, sha256: scanned.sha256, outcome: outcome, employer: employer, now: now)
                }
            } catch is AsideValidation.Invalid {
                // Written before the XSD's verdict, and taken back: the file is read again with the schema.
                speed.declarationsTakenBack += 1
                try settled()
            }
        } else {
            // Every empty file has the same bytes: its identity in the ledger is its name and time.
            let identity = scanned.size == 0 ? sha256Hex(Array("empty:\(entry.folder)/\(entry.name)@\(now.iso8601)#\(entry.mtime)".utf8)) : nil
            try StageClock.measure(.outputs) { try reject(entry, inboxRel: inboxRel, sha256: scanned.sha256, check: outcome.check, encoding: outcome.encoding,
                       fd: outcome.format == .csv && outcome.csvColumns > 0 ? fd : -1, columns: outcome.csvColumns,
                       earlier: nil, now: now, identity: identity) }
        }
    }

    /// Whether an open inbox file differs from what its listing saw, or from the bytes hashed.
    func changedWhileRead(_ entry: InboxEntry, fd: Int32, hashed: Int64) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return true }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return Int64(st.st_size) != entry.size || hashed != entry.size || mtime != entry.mtime
    }

    var secondsSinceFileStarted: Double { Double(DispatchTime.now().uptimeNanoseconds - fileStarted.uptimeNanoseconds) / 1e9 }

    func accept(_ entry: InboxEntry, inboxRel: String, sha256: String, outcome: DeclarationFileCheck.Outcome,
                employer: Employer, now: AgencyTime) throws {
        let check = outcome.check
        let period = check.period!
        let schedule = loaded.rules.schedule
        let dueDay = schedule.dueDay(of: period)
        let due = loaded.clock.at(dueDay, schedule.cutoffTime)
        let late = schedule.isAfterDue(now, period: period) && check.totals.totalFen > 0
        let collection: CollectionMode = late ? .late : (employer.mandate == nil ? .counter : .debit)
        let seq = try ledger.nextSequence(employer: employer.id, period: period)
        let id = "\(employer.id.text)-\(period.compact)-\(seq < 10 ? "0" : "")\(seq)"
        let totals = check.totals
        let contributions = Dictionary(uniqueKeysWithValues: Insurance.allCases.map { ($0.rawValue, totals.byInsurance[$0]!) })
        let contributionsJSON = String(decoding: Receipt.json(contributions).bytes, as: UTF8.self)
        var record = DeclarationRecord(
            id: id, employerID: employer.id, period: period, seq: seq, state: late ? .overdue : .accepted,
            headcount: totals.headcount, totalBaseFen: totals.totalBaseFen, employerFen: totals.employerFen,
            employeeFen: totals.employeeFen, totalFen: totals.totalFen, contributionsJSON: contributionsJSON,
            collection: collection, due: due.iso8601, dueDate: dueDay, receivedAt: now.iso8601,
            supersedes: outcome.replaces?.id)
        record.failReason = late ? "late" : nil

        let warnings = check.findings.warnings
        let receipt = Receipt(
            receiptNo: "RC-\(id)", kind: "declaration", employerID: employer.id.text, employerName: employer.name,
            period: period.description, declarationID: id, headcount: totals.headcount,
            totalWageBaseFen: totals.totalBaseFen, employerFen: totals.employerFen, employeeFen: totals.employeeFen,
            totalFen: totals.totalFen, contributions: contributions, warnings: warnings.map(FindingJSON.init),
            warningsOmitted: check.findings.omitted > 0 ? check.findings.omitted : nil, collection: collection.rawValue,
            due: due.iso8601, supersedes: outcome.replaces?.id, receivedAt: now.iso8601, file: entry.name, sha256: sha256,
            instructions: instructions(collection: collection, employer: employer, period: period, due: due, totalFen: totals.totalFen))

        var change = LedgerChange()
        let archiveRel = publisher.archivePath(for: entry, sha256: sha256, now: now)
        let receiptBase = "Outbox/receipts/\(employer.id.text)/\(id)"
        change.file = FileRecord(sha256: sha256, folder: entry.folder, name: entry.name, receivedAt: now.iso8601,
                                 receivedDate: now.date, outcome: .accepted, employerID: employer.id,
                                 period: period, declarationID: id, reportPath: receiptBase + ".json",
                                 inboxPath: inboxRel, archivePath: archiveRel)
        let next = outcome.persons.sortedReader()
        let persons = outcome.persons
        change.newDeclaration = (record, RosterSource {
            try persons.checkFailure()
            return next().map { RosterEntry(personKey: $0.key, change: $0.change, baseFen: $0.baseFen) }
        })
        change.money.append(MoneyMovement(day: now.date, kind: .declared, declarationID: id, employerID: employer.id,
                                          amountFen: totals.totalFen))
        if var old = outcome.replaces {
            old.state = .superseded
            change.declarationUpdates.append(old)
            change.money.append(MoneyMovement(day: now.date, kind: .withdrawn, declarationID: old.id, employerID: old.employerID,
                                              amountFen: old.outstandingFen))
        }
        change.outputs.append(PendingOutput(path: receiptBase + ".json", content: receipt.jsonBytes))
        change.outputs.append(PendingOutput(path: receiptBase + ".txt", content: Array(receipt.text.utf8)))
        if late {
            change.outputs.append(contentsOf: overdueNotice(record, reason: "late_declaration", now: now))
        }
        var detail = JournalDetail().with("period", period.description).with("file", entry.name).with("sha256", sha256)
            .with("headcount", Int64(totals.headcount)).with("total_fen", totals.totalFen).with("collection", collection.rawValue)
        if let replaced = outcome.replaces?.id { detail = detail.with("supersedes", replaced) }
        change.journal.append(journalEntry(outcome.replaces == nil ? "declaration_accepted" : "declaration_replaced", subject: id,
                                           employer: employer.id.text, at: now, detail))
        change.counters = Metrics.fileCounters(rows: check.rowCount, seconds: secondsSinceFileStarted)
        change.deferSync = true
        if let validation = outcome.validation {
            // Written while the other core validates the file; the verdict is waited for last, and an
            // invalid document takes the change back (``AsideValidation/Invalid``).
            change.confirm = { if !validation.isValid { throw AsideValidation.Invalid() } }
        }
        // A large roster opens a batch of its own (see ``Tuning/largeRoster``), as does a change that may be taken back.
        if outcome.persons.count >= tuning.largeRoster || outcome.validation != nil { try publisher.finishBatch() }
        try publisher.inOpenBatch { try StageClock.measure(.ledger) { try ledger.apply(change) } }
        try publisher.stage(change.outputs, archive: (inboxRel, archiveRel, sha256, entry.folder), batchSize: tuning.batchSize)
        logger.info("declaration accepted", metadata: [
            "outcome": "accepted", "employer": "\(employer.id.text)", "file": "\(entry.name)", "declaration": "\(id)",
            "headcount": "\(totals.headcount)", "total_fen": "\(totals.totalFen)", "collection": "\(collection.rawValue)",
        ])
    }

    func instructions(collection: CollectionMode, employer: Employer, period: Period, due: AgencyTime, totalFen: Fen) -> String {
        if totalFen == 0 {
            return "本期应缴金额为零（仅有减员），无需缴费，不会扣款 / Nothing is due this period (removals only): nothing will be debited"
        }
        switch collection {
        case .debit:
            let window = loaded.rules.schedule.debitWindow(of: period)
            let bank = employer.mandate.flatMap { loaded.rules.banks[$0.bankCode] }?.name ?? ""
            let account = employer.mandate.map { "****" + String($0.account.suffix(4)) } ?? ""
            return "将在 \(window.first?.description ?? "") 至 \(window.last?.description ?? "") 的扣款日从 \(bank) 账户 \(account) 委托扣款，请保证余额充足 / Will be debited from the account \(account) at \(bank) on a debit day between \(window.first?.description ?? "") and \(window.last?.description ?? ""): keep enough funds"
        case .counter:
            return "本单位未签订委托扣款协议：请于 \(due.date) \(loaded.rules.schedule.cutoffTime) 前到经办窗口缴费 / No debit mandate: pay at the service counter before the due date"
        case .late:
            return "申报晚于缴费截止时间，不再委托扣款：请到经办窗口缴纳社保费及滞纳金（每日 \(loaded.rules.lateFeeDailyRate)）/ Declared after the due date: not debited; pay at the counter with the late fee"
        }
    }

    func reject(_ entry: InboxEntry, inboxRel: String, sha256: String, check: DeclarationCheck, encoding: TextEncoding?,
                fd: Int32, columns: Int, earlier: FileRecord?, now: AgencyTime, outcome: FileOutcome = .rejected,
                identity: String? = nil) throws {
        let sha256Shown = sha256
        let sha256 = identity ?? sha256
        // A rejection is made durable on its own, after the batch before it (whose staged outputs it must not meet).
        try publisher.finishBatch()
        let stem = safeFileName((entry.name as NSString).deletingPathExtension.isEmpty ? entry.name : (entry.name as NSString).deletingPathExtension)
        // A report is never written over: the same name again (a correction, a duplicate sent twice)
        // gets the file's first SHA-256 digits, then a count.
        let plain = "Outbox/rejections/\(entry.folder)/\(stem)"
        var base = plain
        var n = 1
        while try ledger.outputExists(path: base + ".json") {
            base = plain + "-" + String(sha256.prefix(8)) + (n > 1 ? "-\(n)" : "")
            n += 1
        }
        let report = RejectionReport(file: entry.name, sha256: sha256Shown, employerID: check.employer?.id.text ?? entry.folder,
                                     period: check.period?.description, receivedAt: now.iso8601, findings: check.findings,
                                     encoding: encoding, earlier: earlier)
        var header: [String] = [], rows: [OffendingRow] = []
        if fd >= 0, let encoding {
            // Large and derived from the input: written before commit, rewritten identically by a re-run.
            // The same pass picks the offending rows for the HTML page.
            (header, rows) = try ErrorsCSV.write(sourceFD: fd, encoding: encoding, columns: columns, findings: check.findings,
                                                 to: root.path(base + ".errors.csv"))
        }
        let page = RejectionPage.render(report, findings: check.findings, header: header, rows: rows)
        let archiveRel = publisher.archivePath(for: entry, sha256: sha256, now: now)
        var change = LedgerChange()
        change.file = FileRecord(sha256: sha256, folder: entry.folder, name: entry.name, receivedAt: now.iso8601,
                                 receivedDate: now.date, outcome: outcome, employerID: EmployerID(registered: entry.folder),
                                 period: check.period, reportPath: base + ".json", inboxPath: inboxRel,
                                 archivePath: archiveRel)
        change.outputs.append(PendingOutput(path: base + ".json", content: jsonBytes(report)))
        change.outputs.append(PendingOutput(path: base + ".txt", content: Array(report.text.utf8)))
        change.outputs.append(PendingOutput(path: base + ".html", content: Array(page.utf8)))
        change.journal.append(journalEntry(outcome == .duplicate ? "file_duplicate" : "file_rejected", subject: "\(entry.folder)/\(entry.name)",
                                           employer: entry.folder, at: now,
                                           JournalDetail().with("sha256", sha256Shown).with("errors", Int64(check.findings.errorCount)).with("report", base + ".json")))
        change.counters = Metrics.fileCounters(rows: check.rowCount, seconds: secondsSinceFileStarted)
        try ledger.apply(change)
        try publisher.flushOutputs()
        try publisher.archive(inboxRel: inboxRel, to: archiveRel, sha256: sha256, folder: entry.folder)
        logger.info("declaration rejected", metadata: [
            "outcome": "\(outcome.rawValue)", "employer": "\(entry.folder)", "file": "\(entry.name)", "errors": "\(check.findings.errorCount)",
            "codes": "\(Set(check.findings.items.filter { $0.code.isError }.map(\.code.rawValue)).sorted().joined(separator: ","))",
        ])
    }
}
