import Foundation
import GRDB
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// A file system of a few MiB of the test's own (tmpfs, mounted for the test; CI runs as root), so
/// that a full disk is real: SQLite's journal, the outputs' temp files, the archive's folders and
/// the renames meet ENOSPC as they would on an agency's server.
final class SmallFileSystem {
    let url: URL
    init(megabytes: Int, inodes: Int? = nil) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("levy-fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var options = "size=\(megabytes)m,mode=0755"
        if let inodes { options += ",nr_inodes=\(inodes)" }
        let r = try run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", url.path])
        try #require(r == 0, "mounting a tmpfs needs root (CI runs as root)")
    }

    deinit {
        _ = try? run("/bin/umount", ["-l", url.path])
        try? FileManager.default.removeItem(at: url)
    }

    /// Bytes still free for an ordinary writer.
    var free: Int64 {
        var vfs = statvfs()
        statvfs(url.path, &vfs)
        return Int64(vfs.f_bavail) * Int64(vfs.f_frsize)
    }

    /// Fills the file system until `leave` bytes are free, with a file that ``release()`` removes.
    func fill(leaving leave: Int64) throws {
        let filler = url.appendingPathComponent("filler").path
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x5a, count: 64 << 10)
        while free > leave {
            let n = Int(min(Int64(chunk.count), free - leave))
            guard write(fd, chunk, max(n, 4096)) > 0 else { break }
        }
    }

    /// Frees what ``fill(leaving:)`` took, and lifts an inode limit (a remount keeps the files).
    func release() throws {
        unlink(url.appendingPathComponent("filler").path)
        #expect(try run("/bin/mount", ["-o", "remount,nr_inodes=1000000", url.path]) == 0)
    }

    private func run(_ tool: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// A full disk at any point of a run never publishes or archives what the ledger did not keep, and
/// levy says which file system is full; once space is freed, the next run takes every file.
@Suite(.serialized) struct DiskFullTests {
    static let files = 400

    /// Registers `count` employers with mandates and drops one small declaration each (every 9th broken).
    static func populate(_ root: TestRoot, count: Int) throws {
        var lines = ""
        for i in 0..<count {
            let id = EmployerID.withCheckCharacter("913702\(String(format: "%03d", i))MA3C5X12")!.text
            lines += "\(id),满盘单位\(i),\(i % 8 + 1),ICBC01,62220200001\(String(format: "%05d", i)),M-F-\(i),2025-01-01\n"
            var rows: [(String, String, String, String)] = []
            for j in 0..<3 { rows.append((Sample.person(i * 10 + j), "员工\(j)", "\(5000 + i).00", "")) }
            if i % 9 == 4 { rows.append(("370102900101123", "旧号", "6000", "")) }
            try root.drop(id, "decl-\(i).csv", csv(id, "2026-11", rows))
        }
        let path = root.file("Rules/employers.csv")
        try (String(contentsOfFile: path, encoding: .utf8) + lines).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// What the outbox, the archive and the inbox say against what the ledger kept: a receipt only
    /// for a declaration the ledger holds, an archived input only for a file the ledger recorded, and
    /// every other input still in the inbox.
    static func checkNothingPublishedBeyondTheLedger(_ root: TestRoot) throws -> (accepted: Int, recorded: Int) {
        // Read with SQL: a run that found no room may have left the ledger part-way through its migrations.
        let ledger = try DatabaseQueue(path: root.file(".levy/ledger.sqlite"), configuration: { var c = Configuration(); c.readonly = true; return c }())
        let declarations = Set(try ledger.read { db in
            try db.tableExists("declarations") ? try String.fetchAll(db, sql: "SELECT id FROM declarations") : []
        })
        let receipts = root.files(under: "Outbox/receipts").filter { $0.hasSuffix(".json") }
        for r in receipts {
            let id = String(lastComponent(r).dropLast(".json".count))
            #expect(declarations.contains(id), "receipt \(r) published for a declaration the ledger does not hold")
        }
        var recorded = 0
        for day in ["2026-11-05"] {
            recorded += try ledger.read { db in
                try db.tableExists("files")
                    ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files WHERE received_date = ? AND outcome IN ('accepted','rejected')", arguments: [day]) ?? 0
                    : 0
            }
        }
        let archived = root.files(under: ".levy/archive").count
        let waiting = root.files(under: "Inbox/declarations").count
        #expect(archived <= recorded, "\(archived) inputs archived, \(recorded) recorded in the ledger")
        #expect(archived + waiting == Self.files, "no input lost: \(archived) archived + \(waiting) waiting")
        return (declarations.count, recorded)
    }

    /// The sweep: from too little room to open the ledger, through a full journal at a batch's
    /// commit (where SQLite rolls the batch back by itself), to full while staging outputs and while
    /// making the archive's folders (an inode limit).
    static let levels: [(free: Int64, inodes: Int?)] =
        stride(from: 160, through: 3_360, by: 320).map { (Int64($0) << 10, nil) } + [(8 << 20, 1_700), (8 << 20, 1_250)]

    @Test(arguments: Self.levels)
    func aFullDiskPublishesNothingTheLedgerLostAndTheNextRunTakesEverything(free: Int64, inodes: Int?) throws {
        let fs = try SmallFileSystem(megabytes: 24, inodes: inodes)
        let root = try TestRoot(under: fs.url)
        try Self.populate(root, count: Self.files)
        // The ledger exists and the inputs are on disk: only what the run writes can fail.
        #expect(try levy(["rules", "check", "--root", root.path]).status == 0)
        try fs.fill(leaving: free)

        let full = try levy(["run", "--root", root.path, "--as-of", "2026-11-05T10:00:00"])
        #expect(full.status == 1, "the disk filled up during the run")
        #expect(full.stderr.contains("disk full"), "the message says the disk is full: \(full.stderr)")
        #expect(full.stderr.contains(fs.url.path), "and names the file system: \(full.stderr)")
        #expect(!full.stderr.contains("NSCocoaErrorDomain"), "\(full.stderr)")
        _ = try Self.checkNothingPublishedBeyondTheLedger(root)

        try fs.release()
        let again = try levy(["run", "--root", root.path, "--as-of", "2026-11-05T10:00:00"])
        #expect(again.status == 0, "\(again.stderr)")
        let (accepted, recorded) = try Self.checkNothingPublishedBeyondTheLedger(root)
        #expect(recorded == Self.files, "every file taken once space was freed")
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        let broken = (0..<Self.files).count { $0 % 9 == 4 }
        #expect(accepted == Self.files - broken)
        #expect(root.files(under: "Outbox/receipts").filter { $0.hasSuffix(".json") }.count == accepted)
        #expect(root.files(under: "Outbox/rejections").filter { $0.hasSuffix(".json") }.count == broken)
        // The debit cut collects every accepted declaration.
        let cut = try levy(["run", "--root", root.path, "--as-of", "2026-11-06T17:30:00"])
        #expect(cut.status == 0, "\(cut.stderr)")
        let sent = try BankSimulator.debits(in: root.file("Outbox/debits/ICBC01/LEVY-ICBC01-20261106.xml")).debits.count
        #expect(sent == accepted)
    }
}

extension DiskFullTests {
    /// Every writer levy has says a full disk as one (errno kept), so the operator's message names it.
    @Test func everyWriterSaysAFullDiskAsOne() throws {
        let fs = try SmallFileSystem(megabytes: 2)
        try fs.fill(leaving: 0)
        let root = Root(path: fs.url.path)
        var errors: [any Error] = []
        do { try DurableFile.write(Array(repeating: 1, count: 100_000), to: fs.url.appendingPathComponent("a.json").path) } catch { errors.append(error) }
        do {
            let writer = try DurableWriter(path: fs.url.appendingPathComponent("b.errors.csv").path)
            writer.write(Array(repeating: 2, count: 200_000))
            try writer.commit()
        } catch { errors.append(error) }
        #expect(errors.count == 2)
        for error in errors {
            #expect(LevyError.isDiskFull(error), "\(error)")
            #expect("\(LevyError.explained(error, root: root))".hasPrefix("disk full: the file system holding"), "\(error)")
        }
    }
}
