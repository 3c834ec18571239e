import Foundation
import LevyDomain
import LevyLedger
import LevyXML
import Logging

/// The pipeline over one root: intake, collection, bank exchange and reporting, on one ledger.
package final class Levy {
    package let root: Root
    package let loaded: LoadedRules
    package let ledger: any Ledger
    package let logger: Logger
    /// Which inbox entries may be taken now (`watch` admits only files that stopped changing); nil = all.
    package var admit: ((InboxEntry) -> Bool)?
    /// Persons of a file held in memory before a sorted run is spilled to `.levy/tmp` (``PersonSorter``).
    package var personRunLength = 1 << 17
    /// CSV files from this size on are read in two halves at once (``DeclarationFileCheck/splitBytes``; tests lower it).
    package var splitBytes = DeclarationFileCheck.halvesFrom
    /// XML files from this size on are validated on the other core while their values are read and
    /// written to the ledger (``DeclarationFileCheck/validationAsideBytes``; nil: never; tests lower it).
    package var validationAsideBytes: Int64? = 1 << 20
    /// Draw a progress bar for large files (the command line sets it; nothing is drawn unless stderr is a terminal).
    package var showsProgress = false
    /// Where the temp files of a batch's outputs are written, and the next small file is read ahead.
    let secondCore = SecondCore()
    /// Read and check the next small CSV file on the other core while this one is in the ledger
    /// (``Lookahead``); tests turn it off to compare.
    package var readsAhead = true
    /// How many of the next small files are read ahead while one is in the ledger, and how many of
    /// their bytes at most (what a file read ahead holds is about what it is: its persons, its findings).
    /// 64: a day of 20,000 files on this disk waited 0.68 s for the read with 4 ahead, 0.05 s with 64.
    package var readAheadDepth = 64
    package var readAheadBytes: Int64 = 8 << 20
    /// The most files read ahead at once (tests check the bounds above).
    package internal(set) var mostFilesAhead = 0
    /// Files whose read and check on the other core were used (tests check that the path is taken).
    package internal(set) var filesReadAhead = 0
    /// Declarations written to the ledger before their XSD verdict and taken back (tests check the path).
    package internal(set) var changesTakenBack = 0
    /// Who the journal says did this levy's work: `levy` for automatic work, else the operator of a
    /// manual command (`--operator`).
    package var operatorID = "levy"
    /// When the file in hand was opened (for the processing-latency metric).
    var fileStarted = DispatchTime.now()
    /// Accepted declarations whose outputs and archive moves wait for one shared fsync (``finishBatch()``).
    var batch = DurabilityBatch()
    /// Archive paths this run has used (moved there, or queued to be), and the names each day's
    /// archive folder held when this run first looked into it (``archivePath(for:sha256:now:)``).
    var archiveTargetsThisRun: Set<String> = []
    var archiveNamesAtStart: [String: Set<String>] = [:]
    /// A committed batch the other core is finishing: what to mark written and archived once it is done.
    var finishedElsewhere: (written: [String], archived: [(sha256: String, folder: String)])?
    /// Declarations per durability batch: one ledger fsync and one archive pass for this many files.
    package var batchSize = 256
    /// How many lines of a bank notification are matched against the ledger together, and go to it in
    /// one deferred change (the whole file still commits or rolls back as one).
    package var notificationChunk = 4096
    /// Persons from which an accepted declaration starts a batch of its own: the small files before it
    /// are published before its long roster write, and a failure of that write (a spill read back)
    /// takes no other file's change with it (a failed deferred change takes its whole batch).
    package var largeRoster = 1_000
    /// The temp files a crashed process left have been removed (``recover()``).
    var leftoverTempsSwept = false

    package init(root: Root, loaded: LoadedRules, ledger: any Ledger, logger: Logger) {
        self.root = root
        self.loaded = loaded
        self.ledger = ledger
        self.logger = logger
    }

    /// Opens a root for work: checks Rules (before anything is touched), prepares folders, opens the ledger.
    /// Callers that work on the root take the ``RootLock`` between the two (see ``start(root:loaded:logger:)``).
    /// - Throws: ``RulesError`` for bad rules, ``LevyError`` when the ledger cannot be opened.
    package static func start(root: Root, logger: Logger) throws -> Levy {
        try start(root: root, loaded: try RulesLoader.load(from: root.rules), logger: logger)
    }

    /// Prepares folders and opens (migrating) the ledger with rules already checked. Call it holding the lock:
    /// two first starts must not migrate the same ledger at once.
    package static func start(root: Root, loaded: LoadedRules, logger: Logger) throws -> Levy {
        try root.prepare()
        try LedgerGuard.checkBeforeOpening(root)
        let ledger: SQLiteLedger
        do { ledger = try SQLiteLedger(path: root.ledger) } catch { throw LevyError.explained(error, root: root) }
        try LedgerGuard.checkAfterOpening(root, ledger: ledger)
        return Levy(root: root, loaded: loaded, ledger: ledger, logger: logger)
    }

    /// The agency's "now": `--as-of` or the clock.
    package func now(asOf: String?) throws -> AgencyTime { try loaded.now(asOf: asOf) }

    /// Compiles every ISO 20022 schema of the bank exchange (`levy rules check`); returns their names.
    package static func compileBankSchemas() throws -> [String] {
        try BankSchemas.Kind.allCases.map { kind in
            _ = try schema(kind)
            return kind.rawValue
        }
    }

    /// An ISO 20022 schema, compiled on first use.
    /// - Throws: ``LevyError`` when it does not compile: the debit file or bank file that needed it is
    ///   neither sent nor read, and levy stops (exit 1).
    package static func schema(_ kind: BankSchemas.Kind) throws -> XMLSchema {
        do { return try BankSchemas.schema(kind) } catch {
            throw LevyError("the ISO 20022 schema \(error) does not compile: levy will not send or read a bank file it cannot check — reinstall levy from a clean build")
        }
    }
}

extension LoadedRules {
    /// The agency's "now": `--as-of` or the clock.
    package func now(asOf: String?) throws -> AgencyTime {
        guard let asOf else { return clock.now }
        guard let t = clock.parseAsOf(asOf) else {
            throw LevyError("--as-of '\(asOf)' is not a date-time — write it like 2026-11-10T16:59:00 (agency time, \(rules.timezone))")
        }
        return t
    }
}

extension Levy {
    /// Writes every output the ledger has recorded but not yet written (after a commit, or after a crash).
    package func flushOutputs() throws {
        let pending = try ledger.pendingOutputs()
        guard !pending.isEmpty else { return }
        for output in pending { try DurableFile.write(output.content, to: root.path(output.path)) }
        try ledger.markWritten(paths: pending.map(\.path))
    }

    /// Finishes what a crash left half-done: outputs not yet written, inputs not yet archived, temp files.
    package func recover() throws {
        // Commits a crash left unsynced become durable before any input they name leaves the inbox.
        try ledger.barrier()
        // Temp files are left only by a process that died: swept once per process, not on every look
        // of the watch (the Outbox holds every receipt ever written).
        if !leftoverTempsSwept {
            DurableFile.removeLeftoverTemps(under: root.path("Outbox"))
            DurableFile.removeLeftoverTemps(under: root.path(".levy/archive"))
            leftoverTempsSwept = true
        }
        try flushOutputs()
        for file in try ledger.filesNotArchived() {
            let from = root.path(file.inboxPath)
            var st = stat()
            if lstat(from, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, !file.sha256.isEmpty {
                let fd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 {
                    let same = (try? scanFile(fd: fd))?.sha256 == file.sha256
                    close(fd)
                    if same { try DurableFile.move(from, to: root.path(file.archivePath)) }
                }
            } else if lstat(from, &st) == 0, file.outcome == .rejected, file.sha256.count == 64, (st.st_mode & S_IFMT) != S_IFREG {
                try DurableFile.move(from, to: root.path(file.archivePath))
            }
            try ledger.markArchived(sha256: file.sha256, folder: file.folder)
        }
    }

    /// Does all work due now: recovery, bank returns, declarations, collection, reports.
    package func run(now: AgencyTime) throws {
        archiveTargetsThisRun = []
        archiveNamesAtStart = [:]
        try admit(now: now)
        try recover()
        try journalRulesInForce(now: now)
        try intakeBankFiles(now: now)
        try intakeDeclarations(now: now)
        try StageClock.measure(.outputs) {
            try collect(now: now)
            try writeDailyReports(now: now)
            try writeMetrics(now: now)
        }
        try LedgerGuard.note(root, ledger: ledger, at: now)
    }
}

/// One levy at a time per root: an advisory lock the kernel releases when the process dies,
/// so a crashed run never leaves a stale lock behind.
package final class RootLock {
    let fd: Int32
    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, or returns nil (with the holder's pid) when another levy holds it.
    package static func acquire(_ root: Root, wait: Bool = false) throws -> (lock: RootLock?, holder: String) {
        try FileManager.default.createDirectory(atPath: root.state, withIntermediateDirectories: true)
        let fd = open(root.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LevyError.system("cannot open the lock file", root.lock, fix: "check permissions of .levy/ and free space") }
        if flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buf, 64, 0)
            close(fd)
            return (nil, n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimming(" \n") : "?")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pwrite(fd, pid, pid.count, 0)
        return (RootLock(fd: fd), "")
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// What a batch of accepted declarations left to make durable: outputs written to temp files not yet
/// renamed, inputs still in the inbox. See docs/DESIGN.md, "Batched durability".
struct DurabilityBatch: Sendable {
    var staged: [(temp: String, path: String, rel: String)] = []
    var dirs: Set<String> = []
    var archives: [(from: String, to: String, sha256: String, folder: String)] = []
    var isEmpty: Bool { staged.isEmpty && archives.isEmpty }
}

extension Levy {
    /// Stages a change's outputs (temp files, not yet synced or renamed) and queues its input's archive
    /// move; the change itself waits in the ledger's open batch transaction.
    func deferOutputs(_ outputs: [PendingOutput], archive: (inboxRel: String, archiveRel: String, sha256: String, folder: String)) throws {
        var files: [(content: [UInt8], path: String)] = []
        for output in outputs {
            let path = root.path(output.path)
            batch.staged.append((DurableFile.tempPath(for: path), path, output.path))
            batch.dirs.insert(parentFolder(path))
            files.append((output.content, path))
        }
        let archiveFolder = parentFolder(root.path(archive.archiveRel))
        // The temp files and folders are made on the other core while this one takes the next file.
        secondCore.run { [files] in
            for file in files { _ = try DurableFile.stage(file.content, for: file.path) }
            try Folders.ensure(archiveFolder)
        }
        batch.archives.append((root.path(archive.inboxRel), root.path(archive.archiveRel), archive.sha256, archive.folder))
        archiveTargetsThisRun.insert(archive.archiveRel)
        if batch.archives.count >= batchSize { try finishBatch(overlapping: true) }
    }

    /// Makes a batch durable, in the order that never loses a file and never shows a receipt the ledger
    /// could forget: the ledger commits the batch (fsync of the WAL); the staged outputs are made durable
    /// (syncfs: the fsync of every temp file at once) and only then renamed into place; the inputs leave
    /// the inbox; a second syncfs makes the renames durable; one commit says so. When it returns, every
    /// batch before is finished too.
    ///
    /// When the other core could not stage an output (a full disk) or finish a batch, nothing more is
    /// published or moved: the ledger commits what it holds with its outputs still to write and its
    /// inputs still to archive, which is what a crash at that instant leaves, and ``recover()``
    /// finishes it on the next run.
    package func finishBatch() throws { try finishBatch(overlapping: false) }

    /// `overlapping`: a full batch in the middle of a day. After its commit, the syncs, renames and
    /// archive moves run on the other core while this one takes the next files; the commit that says
    /// they are done goes with the next batch's.
    func finishBatch(overlapping: Bool) throws {
        let failure = StageClock.measure(.outputs) { secondCore.drain() }
        let marks = finishedElsewhere
        finishedElsewhere = nil
        if let failure {
            let staged = batch.staged
            batch = DurabilityBatch()
            for s in staged { unlink(s.temp) }
            try StageClock.measure(.ledger) { try ledger.barrier() }
            throw failure
        }
        if let marks {
            try inOpenBatch { try StageClock.measure(.ledger) { try ledger.finishBatch(written: marks.written, archived: marks.archived) } }
        }
        guard !batch.isEmpty else { return }
        // A commit that fails (a full disk) takes the batch with it: nothing of it may be published.
        try inOpenBatch { try StageClock.measure(.ledger) { try ledger.barrier() } }
        let done = batch
        let written = done.staged.map(\.rel), archived = done.archives.map { (sha256: $0.sha256, folder: $0.folder) }
        if overlapping {
            batch = DurabilityBatch()
            finishedElsewhere = (written, archived)
            secondCore.publish(unlessFailed: { for s in done.staged { unlink(s.temp) } }) { try Self.publish(done) }
        } else {
            // Committed: from here a failure leaves what a crash would, and ``recover()`` finishes it.
            batch = DurabilityBatch()
            try StageClock.measure(.outputs) { try Self.publish(done) }
            try StageClock.measure(.ledger) { try ledger.finishBatch(written: written, archived: archived) }
        }
    }

    /// Runs a deferred ledger change. When it fails, the ledger has rolled back the open batch
    /// (``LedgerChange/deferSync``), so what was staged for it goes too: its temp files are removed
    /// and its inputs stay in the inbox, as a crash before the barrier leaves them; the next run takes
    /// them again. The batch before, already committed, is finished as usual.
    func inOpenBatch(_ change: () throws -> Void) throws {
        do { try change() } catch {
            if secondCore.drain() != nil { finishedElsewhere = nil }  // not published: recover() does it
            for s in batch.staged { unlink(s.temp) }
            batch = DurabilityBatch()
            throw error
        }
    }

    /// The file-system half of finishing a committed batch: temp files durable, renamed into place,
    /// inputs moved to the archive, the renames durable.
    static func publish(_ batch: DurabilityBatch) throws {
        try DurableFile.syncFileSystems(holding: batch.dirs)
        for s in batch.staged { try DurableFile.publish(s.temp, as: s.path) }
        var moved = Set<String>()
        for a in batch.archives {
            var st = stat()
            guard lstat(a.from, &st) == 0 else { continue }
            moved.formUnion(try DurableFile.move(a.from, to: a.to, syncFolders: false))
        }
        try DurableFile.syncFileSystems(holding: batch.dirs.union(moved))
    }
}
