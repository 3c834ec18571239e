import Foundation
import LevyDomain
import LevyLedger

/// `levy backup`: a consistent copy of the ledger taken while `run` and `watch` work, with a
/// manifest that lets anyone check the copy later (`levy backup verify`). A copy of
/// `ledger.sqlite` made with `cp` under a running watch can be torn (a page from before a commit
/// beside one from after it); SQLite's backup reads one snapshot.
package enum LedgerBackup {
    /// The manifest beside each copy (`<copy>.manifest.json`).
    package struct Manifest: Codable, Sendable {
        package var file: String
        package var takenAt: String
        package var sha256: String
        package var bytes: Int64
        package var counts: LedgerCounts

        enum CodingKeys: String, CodingKey {
            case file, takenAt = "taken_at", sha256, bytes, counts
        }
    }

    /// Copies the root's ledger into `folder` as `levy-ledger-YYYYMMDD-HHMMSS.sqlite` (agency time)
    /// with its manifest, both durable before this returns.
    /// - Returns: the copy's path and its manifest.
    /// - Throws: ``LevyError`` when there is no ledger or the folder cannot be written.
    package static func take(root: Root, to folder: String, now: AgencyTime) throws -> (path: String, manifest: Manifest) {
        var st = stat()
        guard stat(root.ledger, &st) == 0, st.st_size > 0 else {
            throw LevyError(.ledgerMissing, "\(root.ledger): there is no ledger to back up", fix: "run levy on this root first")
        }
        try Folders.ensure(folder)
        let name = "levy-ledger-\(now.date.compact)-\(now.time.description.filter { $0 != ":" }).sqlite"
        let path = folder + "/" + name
        guard !FileManager.default.fileExists(atPath: path) else {
            throw LevyError(.pathInTheWay, "\(path) already exists", fix: "a backup is never written over; wait a second or choose another folder")
        }
        let temp = DurableFile.tempPath(for: path)
        unlink(temp)
        let counts: LedgerCounts
        do {
            counts = try LedgerStore.backup(.ledgerFile(root.ledger), to: temp)
        } catch {
            unlink(temp)
            throw LevyError.explained(error, root: root)
        }
        let fd = open(temp, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LevyError.system("cannot read the copy", temp, fix: "check the backup folder") }
        let scanned = try scanFile(fd: fd)
        fsync(fd)
        close(fd)
        chmod(temp, 0o600)
        try DurableFile.publish(temp, as: path)
        let manifest = Manifest(file: name, takenAt: now.iso8601, sha256: scanned.sha256, bytes: scanned.size, counts: counts)
        try DurableFile.write(try jsonData(manifest), to: path + ".manifest.json", mode: 0o600)
        return (path, manifest)
    }

    /// Checks a copy against its manifest: the bytes (SHA-256), SQLite's integrity check, a ledger
    /// version this levy can work with, and the counts.
    /// - Returns: the manifest, when every check holds.
    /// - Throws: ``LevyError`` naming the first check that fails.
    package static func verify(_ path: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path + ".manifest.json") else {
            throw LevyError(.backupInvalid, "\(path).manifest.json: no manifest beside the copy", fix: "only a copy made by `levy backup` can be verified")
        }
        guard let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else {
            throw LevyError(.backupInvalid, "\(path).manifest.json: not a levy backup manifest")
        }
        guard let fd = openRegularFile(path)?.fd else { throw LevyError(.backupInvalid, "\(path): cannot open the copy") }
        let scanned = try scanFile(fd: fd)
        close(fd)
        guard scanned.sha256 == manifest.sha256 else {
            throw LevyError(.backupInvalid, "\(path): the copy's SHA-256 is \(scanned.sha256), the manifest says \(manifest.sha256)", fix: "the copy was changed or damaged; use another backup")
        }
        // Checked on a scratch copy: opening the copy itself (WAL mode) would write beside it.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("levy-verify-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { unlink(scratch + suffix) } }
        try FileManager.default.copyItem(atPath: path, toPath: scratch)
        let ledger: any Ledger
        do { ledger = try LedgerStore.open(.ledgerFile(scratch), readOnly: true) } catch let e as LedgerError {
            throw LevyError(.backupInvalid, e.message.replacingOccurrences(of: scratch, with: path))
        }
        let problems = try ledger.integrityCheck()
        guard problems.isEmpty else { throw LevyError(.backupInvalid, "\(path): SQLite's integrity check failed: \(problems.prefix(3).joined(separator: "; "))", fix: "use another backup") }
        let counts = try ledger.counts()
        guard counts == manifest.counts else {
            throw LevyError(.backupInvalid, "\(path): the copy holds \(counts), the manifest says \(manifest.counts)", fix: "use another backup")
        }
        return manifest
    }

    static func jsonData(_ manifest: Manifest) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(manifest)) + [10]
    }
}
