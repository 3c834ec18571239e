import Foundation
import LevyDomain
import LevyLedger

/// Publishing: what makes a change's outputs appear in `Outbox/` and its input leave the inbox, never
/// before the ledger holds the change and never lost after (temp → fsync → rename; SPEC §1). Small
/// declarations share one durability batch: one ledger commit, one sync of the file system, one
/// archive pass for many files (docs/DESIGN.md, "Batched durability"); the syncs and renames of a full
/// batch run on the other core (``BackgroundWork``) while the intake takes the next files.
///
/// The archive's names are chosen here too: a name this run used, or the day's archive held, is
/// never given again.
package final class Publisher {
    let root: Root
    /// Only the ledger's durability: the publisher asks no business question.
    let ledger: any LedgerDurability
    /// Where the temp files of a batch's outputs are written, and its syncs and renames run.
    let background: BackgroundWork
    /// Accepted declarations whose outputs and archive moves wait for one shared fsync (``finishBatch()``).
    var batch = DurabilityBatch()
    /// Archive paths this run has used (moved there, or queued to be), and the names each day's
    /// archive folder held when this run first looked into it (``archivePath(for:sha256:now:)``).
    var archiveTargetsThisRun: Set<String> = []
    var archiveNamesAtStart: [String: Set<String>] = [:]
    /// A committed batch the other core is finishing: what to mark written and archived once it is done.
    var finishedElsewhere: (written: [String], archived: [(sha256: String, folder: String)])?
    /// The temp files a crashed process left have been removed (``recover()``).
    var leftoverTempsSwept = false

    init(root: Root, ledger: any LedgerDurability, background: BackgroundWork) {
        self.root = root
        self.ledger = ledger
        self.background = background
    }

    /// A run starts: the archive is listed afresh (another process may have added to it since).
    func beginRun() {
        archiveTargetsThisRun = []
        archiveNamesAtStart = [:]
    }

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

    /// Where an input goes in the archive: `.levy/archive/YYYY/MM/DD/<name>` (SPEC §1), under its own
    /// name. When that name is taken (another employer's `工资.csv`, the same employer's second file
    /// of the day) or is not safe, the folder it came from (employer or bank) goes before the name,
    /// then also the SHA-256's first 12 hex digits, then all 64, then a count: an archived input is
    /// never overwritten, not even by the same bytes, and the ledger records where each one went.
    ///
    /// A name is taken when this run used it, or when the day's archive held it when this run first
    /// looked (one listing per run and day): levy holds the lock, so nothing else adds to it meanwhile.
    /// One folder per day, not one per employer: a day of 20,000 small files made 20,000 archive
    /// folders, each a `mkdir` on the other core (DECISIONS 40).
    func archivePath(for entry: InboxEntry, sha256: String, now: AgencyTime) -> String {
        let day = ".levy/archive/" + now.date.description.split(separator: "-").joined(separator: "/") + "/"
        if archiveNamesAtStart[day] == nil {
            archiveNamesAtStart[day] = Set((try? FileManager.default.contentsOfDirectory(atPath: root.path(day))) ?? [])
        }
        let atStart = archiveNamesAtStart[day]!
        func isFree(_ name: String) -> Bool { !atStart.contains(name) && !archiveTargetsThisRun.contains(day + name) }
        let plain = safeFileName(entry.name)
        if plain == entry.name && isFree(plain) { return day + plain }
        // Bounded so that the longest candidate stays under NAME_MAX (255 bytes).
        let owner = boundedUTF8(safeFileName(entry.folder.isEmpty ? "_" : entry.folder), 40)
        let tail = boundedUTF8(plain, 120)
        for candidate in ["\(owner)-\(tail)", "\(owner)-\(sha256.prefix(12))-\(tail)", "\(owner)-\(sha256)-\(tail)"] where isFree(candidate) {
            return day + candidate
        }
        var n = 2
        while !isFree("\(owner)-\(sha256)-\(n)-\(tail)") { n += 1 }
        return day + "\(owner)-\(sha256)-\(n)-\(tail)"
    }

    /// Moves a processed input into the archive and records that it is there.
    func archive(inboxRel: String, to archiveRel: String, sha256: String, folder: String) throws {
        archiveTargetsThisRun.insert(archiveRel)
        let from = root.path(inboxRel)
        var st = stat()
        if lstat(from, &st) == 0 { try DurableFile.move(from, to: root.path(archiveRel)) }
        try ledger.markArchived(sha256: sha256, folder: folder)
    }

    /// Stages a change's outputs (temp files, not yet synced or renamed) and queues its input's archive
    /// move; the change itself waits in the ledger's open batch transaction.
    /// `batchSize`: the batch is finished once it holds this many files (``Tuning/batchSize``).
    func stage(_ outputs: [PendingOutput], archive: (inboxRel: String, archiveRel: String, sha256: String, folder: String),
               batchSize: Int) throws {
        var files: [(content: [UInt8], path: String)] = []
        for output in outputs {
            let path = root.path(output.path)
            batch.staged.append((DurableFile.tempPath(for: path), path, output.path))
            batch.dirs.insert(parentFolder(path))
            files.append((output.content, path))
        }
        let archiveFolder = parentFolder(root.path(archive.archiveRel))
        // The temp files and folders are made on the other core while this one takes the next file.
        background.run { [files] in
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
        let failure = StageClock.measure(.outputs) { background.drain() }
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
            background.publish(unlessFailed: { for s in done.staged { unlink(s.temp) } }) { try Self.publish(done) }
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
            if background.drain() != nil { finishedElsewhere = nil }  // not published: recover() does it
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

/// What a batch of accepted declarations left to make durable: outputs written to temp files not yet
/// renamed, inputs still in the inbox. See docs/DESIGN.md, "Batched durability".
struct DurabilityBatch: Sendable {
    var staged: [(temp: String, path: String, rel: String)] = []
    var dirs: Set<String> = []
    var archives: [(from: String, to: String, sha256: String, folder: String)] = []
    var isEmpty: Bool { staged.isEmpty && archives.isEmpty }
}

