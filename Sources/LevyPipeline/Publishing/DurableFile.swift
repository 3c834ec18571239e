import Foundation
import Crypto
import CSystemCalls

/// Writes and moves files so that readers never see half a file and a crash never loses one.
package enum DurableFile {
    /// Writes temp (same folder) → fsync → rename → fsync(folder). Mode 0640.
    package static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o640) throws {
        let temp = try writeTemp(bytes, for: path, mode: mode, sync: true)
        try publish(temp, as: path)
        syncDirectory(parentFolder(path))
    }

    /// Writes `bytes` to a temp file beside `path` without fsync and returns the temp's path: one output
    /// of a batch, which ``syncFileSystems(holding:)`` makes durable all at once before ``publish(_:as:)``
    /// renames each into place (``Publisher/finishBatch()``). Until then readers see nothing.
    package static func stage(_ bytes: [UInt8], for path: String, mode: mode_t = 0o640) throws -> String {
        try writeTemp(bytes, for: path, mode: mode, sync: false)
    }

    /// Renames a written (and durable) temp file to its final name. A receipt, notice, rejection or
    /// debit file is written once: when one is already there, the same bytes are left as they are
    /// (a re-run after a crash) and other bytes are refused, never written over.
    package static func publish(_ temp: String, as path: String) throws {
        if LedgerGuard.isWriteOnce(path) { return try publishOnce(temp, as: path) }
        guard rename(temp, path) == 0 else {
            let code = errno
            unlink(temp)
            throw LevyError.system("cannot rename into", path, errno: code, fix: "check that its folder is a folder levy may write to")
        }
    }

    private static func publishOnce(_ temp: String, as path: String) throws {
        var rc = levy_rename_noreplace(temp, path)
        if rc != 0 && (errno == EINVAL || errno == ENOSYS) {
            rc = link(temp, path)
            if rc == 0 { unlink(temp) }
        }
        if rc == 0 { return }
        let code = errno
        defer { unlink(temp) }
        guard code == EEXIST else {
            throw LevyError.system("cannot rename into", path, errno: code, fix: "check that its folder is a folder levy may write to")
        }
        guard sameBytes(temp, path) else {
            throw LevyError(.outputConflict, """
                \(path) already exists with other bytes: levy never writes over a receipt, notice, rejection or debit file
                """, fix: """
                the ledger does not match this outbox (restored or replaced?); restore the ledger that wrote it \
                (README, "Backups and restore"), or set the file aside as evidence and run levy again
                """, file: path)
        }
    }

    /// Whether two files hold the same bytes (read whole: outputs are small, and this is the rare path).
    static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard let x = FileManager.default.contents(atPath: a), let y = FileManager.default.contents(atPath: b) else { return false }
        return x == y
    }

    /// syncfs(2) once per file system holding one of `folders`: every file written there, and every
    /// rename, is on disk when it returns. For a batch of outputs it is the fsync of each temp file and
    /// of each folder, in one call (20,000 employers' receipts are 20,000 folders).
    package static func syncFileSystems(holding folders: some Sequence<String>) throws {
        var done = Set<UInt64>()
        for folder in folders {
            var st = stat()
            guard stat(folder, &st) == 0, done.insert(UInt64(st.st_dev)).inserted else { continue }
            let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw LevyError.system("cannot open to sync it", folder, fix: "check the folder's permissions") }
            defer { close(fd) }
            guard levy_syncfs(fd) == 0 else {
                throw LevyError.system("cannot make durable (syncfs)", folder, fix: "check the disk and free space")
            }
        }
    }

    /// The temp file beside `path` that becomes it on rename: `.<name>.<pid>.tmp` (what
    /// ``removeLeftoverTemps(under:)`` sweeps after a crash).
    package static func tempPath(for path: String) -> String {
        parentFolder(path) + "/." + lastComponent(path) + ".\(getpid()).tmp"
    }

    private static func writeTemp(_ bytes: [UInt8], for path: String, mode: mode_t, sync: Bool) throws -> String {
        let dir = parentFolder(path)
        try Folders.ensure(dir)
        let temp = tempPath(for: path)
        var fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 && errno == ENOENT {  // the folder was removed while levy ran: make it again
            Folders.forget(dir)
            try Folders.ensure(dir)
            fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        }
        guard fd >= 0 else { throw LevyError.system("cannot create", temp, fix: "check the folder's permissions and free space") }
        var failed: Int32 = 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failed = errno; break }
                offset += n
            }
        }
        if failed == 0 && sync && fsync(fd) != 0 { failed = errno }
        fchmod(fd, mode)
        close(fd)
        guard failed == 0 else {
            unlink(temp)
            throw LevyError.system("cannot write", path, errno: failed, fix: "check free space")
        }
        return temp
    }

    /// Moves a file (never following a symlink) and makes both folders durable (or, with
    /// `syncFolders: false`, leaves that to the caller, who gets the folders back to sync once each).
    @discardableResult
    package static func move(_ from: String, to: String, syncFolders: Bool = true) throws -> [String] {
        let dir = parentFolder(to)
        try Folders.ensure(dir)
        guard rename(from, to) == 0 else {
            throw LevyError.system("cannot move \(from) to", to, fix: "both must be on one file system, and levy may write to both folders")
        }
        let folders = [dir, parentFolder(from)]
        if syncFolders { folders.forEach(syncDirectory) }
        return folders
    }

    package static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Removes temporary files (`.<name>.<pid>.tmp`) a crash may have left in a folder tree. A plain
    /// `readdir` walk that never follows a symlink: the tree is a year of receipts, and Foundation's
    /// enumerator cost ~25 µs an entry in path bridging.
    package static func removeLeftoverTemps(under dir: String) {
        guard let d = opendir(dir) else { return }
        defer { closedir(d) }
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            var type = entry.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : ((st.st_mode & S_IFMT) == S_IFREG ? UInt8(DT_REG) : 0)
            }
            if type == UInt8(DT_DIR) {
                removeLeftoverTemps(under: path)
            } else if type == UInt8(DT_REG), name.hasPrefix("."), name.hasSuffix(".tmp") {
                unlink(path)
            }
        }
    }
}

/// The folder a path is in, as `NSString.deletingLastPathComponent` gives it for the absolute paths levy
/// builds (`/a/b/c` → `/a/b`, `/a` → `/`), without its Foundation bridging: outputs and archive moves
/// ask it several times per file.
package func parentFolder(_ path: String) -> String {
    let slash = UInt8(ascii: "/")
    var bytes = Array(path.utf8)
    while bytes.count > 1 && bytes.last == slash { bytes.removeLast() }
    guard let cut = bytes.lastIndex(of: slash) else { return "" }
    var end = cut
    while end > 1 && bytes[end - 1] == slash { end -= 1 }
    return end == 0 ? "/" : String(decoding: bytes[..<end], as: UTF8.self)
}

/// The last component of a path (`/a/b/c.json` → `c.json`), as `NSString.lastPathComponent` gives it.
package func lastComponent(_ path: String) -> String {
    let slash = UInt8(ascii: "/")
    var bytes = Array(path.utf8)
    while bytes.count > 1 && bytes.last == slash { bytes.removeLast() }
    guard let cut = bytes.lastIndex(of: slash) else { return String(decoding: bytes, as: UTF8.self) }
    return bytes.count == 1 ? "/" : String(decoding: bytes[(cut + 1)...], as: UTF8.self)
}

/// SHA-256 as lowercase hex.
package func sha256Hex(_ bytes: some DataProtocol) -> String {
    hexString(SHA256.hash(data: bytes))
}

/// `0`–`9`, `a`–`f` as UTF-8 bytes (digests, JSON escapes).
package let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Bytes as lowercase hex (a digest's usual spelling).
package func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    for b in bytes { out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

/// A file name safe to reuse in our folders: control characters and slashes replaced, length bounded.
package func safeFileName(_ name: String) -> String {
    var s = String(name.unicodeScalars.map { $0.value < 32 || $0 == "/" || $0 == "\\" || $0.value == 127 ? "_" : Character($0) })
    if s.hasPrefix(".") { s = "_" + s.dropFirst() }
    if s.isEmpty { s = "_" }
    if s.utf8.count > 120 { s = String(s.prefix(60)) }
    return s
}

/// The longest start of `text` that is at most `limit` bytes of UTF-8, cut between characters.
package func boundedUTF8(_ text: String, _ limit: Int) -> String {
    guard text.utf8.count > limit else { return text }
    var out = "", bytes = 0
    for c in text {
        bytes += c.utf8.count
        guard bytes <= limit else { break }
        out.append(c)
    }
    return out
}

/// Creates folders (and their parents) as `mkdir -p` does, remembering the ones known to exist:
/// a day of small files writes thousands of outputs into a few hundred folders, and Foundation's
/// `createDirectory(withIntermediateDirectories:)` looked at every path component each time.
/// At most ``capacity`` are remembered: a day of 20,000 employers makes 40,000 folders (receipts and
/// archive), each used once, and remembering them all grew the process by ~4 MB.
package enum Folders {
    nonisolated(unsafe) private static var known = Set<String>()
    private static let lock = NSLock()
    static let capacity = 1_024

    package static func ensure(_ dir: String, mode: mode_t = 0o750) throws {
        if lock.withLock({ known.contains(dir) }) { return }
        if mkdir(dir, mode) != 0 && errno != EEXIST {
            guard errno == ENOENT else {
                throw LevyError.system("cannot create folder", dir, fix: "check permissions and free space")
            }
            let parent = parentFolder(dir)
            guard !parent.isEmpty, parent != dir else { throw LevyError(.system, "cannot create folder \(dir)") }
            try ensure(parent, mode: mode)
            if mkdir(dir, mode) != 0 && errno != EEXIST {
                throw LevyError.system("cannot create folder", dir, fix: "check permissions and free space")
            }
        }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { throw LevyError(.pathInTheWay, "\(dir) is in the way: levy needs a folder there and found a file", fix: "move the file away (keep it if it is evidence) and run levy again") }
        lock.withLock {
            if known.count >= capacity { known.removeAll(keepingCapacity: true) }
            known.insert(dir)
        }
    }

    /// How many folders are remembered now (never more than ``capacity``).
    static var remembered: Int { lock.withLock { known.count } }

    package static func forget(_ dir: String) {
        lock.withLock { _ = known.remove(dir) }
    }
}
