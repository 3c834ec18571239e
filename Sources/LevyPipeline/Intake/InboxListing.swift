import Foundation

/// A file name levy must not pick up yet: hidden, or still being written by its sender.
package func isIgnoredName(_ name: String) -> Bool {
    let lower = name.lowercased()
    return name.hasPrefix(".") || lower.hasSuffix(".tmp") || lower.hasSuffix(".part") || lower.hasSuffix(".filepart")
        || lower.hasSuffix(".done")
}

/// An entry found in an inbox folder.
package struct InboxEntry: Sendable {
    package var folder: String
    package var name: String
    package var path: String
    package var mtime: Double
    package var size: Int64
}

/// Lists the entries of each subfolder of an inbox, oldest first (the order they were received in).
/// `renamed`: names that are not UTF-8 are renamed (only by an intake, under the root's lock).
package func listInbox(_ dir: String, renamed: (@Sendable (_ from: String, _ to: String) -> Void)? = nil)
    -> (folders: [String: [InboxEntry]], strays: [InboxEntry]) {
    let listing = InboxListing(dir, listsAhead: false, renamed: renamed)
    var folders: [String: [InboxEntry]] = [:]
    while let (folder, entries) = listing.nextFolder() { folders[folder] = entries }
    return (folders, listing.strays)
}

/// An inbox's entries in the order levy takes them — folders by name, each folder's entries oldest
/// first — listed folder by folder on a thread of its own, at most `window` folders ahead of the
/// reader, while the files of earlier folders are processed.
///
/// A day of 20,000 employers is 20,000 folders: listing them all before the first file costs a read
/// of the disk per folder whose directory block is no longer cached, each waited for by the thread
/// that then processes the files (docs/PERFORMANCE.md has the figures). The
/// folders are told from files by the type the directory gives (`d_type`), not by reading each
/// one's inode.
package final class InboxListing: @unchecked Sendable {
    /// Entries directly in the inbox, not in a folder (quarantined: they cannot be attributed).
    package let strays: [InboxEntry]
    private let dir: String
    private let folders: [String]
    private let window: Int
    private let listsAhead: Bool
    private let renamed: (@Sendable (_ from: String, _ to: String) -> Void)?
    private let condition = NSCondition()
    private var listed: [[InboxEntry]] = []
    private var taken = 0
    private var stopped = false
    private var current: [InboxEntry] = []
    private var index = 0

    /// `listsAhead: false` lists each folder when it is asked for, on the caller's thread. `renamed` is
    /// told of each entry renamed because its name was not UTF-8 (``directoryEntries(_:renamed:)``),
    /// on whichever thread listed it.
    package init(_ dir: String, window: Int = 256, listsAhead: Bool = true,
                 renamed: (@Sendable (_ from: String, _ to: String) -> Void)? = nil) {
        self.dir = dir
        self.window = max(1, window)
        self.renamed = renamed
        var folders: [String] = [], strays: [InboxEntry] = []
        for (name, type) in (directoryEntries(dir, renamed: renamed) ?? []).sorted(by: { $0.name < $1.name }) where !isIgnoredName(name) {
            let path = dir + "/" + name
            if type == UInt8(DT_DIR) {
                folders.append(name)
            } else if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard lstat(path, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR { folders.append(name) } else if let e = Self.entry("", name, path) { strays.append(e) }
            } else if let e = Self.entry("", name, path) {
                strays.append(e)
            }
        }
        self.folders = folders
        self.strays = strays
        self.listsAhead = listsAhead && !folders.isEmpty
        if self.listsAhead {
            let thread = Thread { [self] in listAhead() }
            thread.name = "levy.inbox-listing"
            thread.start()
        }
    }

    /// The next entry to take, or nil when every folder's are taken.
    package func next() -> InboxEntry? {
        while index == current.count {
            guard let (_, entries) = nextFolder() else { return nil }
            current = entries
            index = 0
        }
        defer { index += 1 }
        return current[index]
    }

    /// The next folder's name and entries (oldest first), or nil after the last folder.
    package func nextFolder() -> (String, [InboxEntry])? {
        guard taken < folders.count else { return nil }
        let folder = folders[taken]
        guard listsAhead else {
            taken += 1
            return (folder, Self.entries(of: folder, in: dir, renamed: renamed))
        }
        condition.lock()
        while listed.isEmpty { condition.wait() }
        let entries = listed.removeFirst()
        taken += 1
        condition.signal()
        condition.unlock()
        return (folder, entries)
    }

    /// Stops the listing thread, which holds the listing until it ends: call it when done, as the
    /// intake may stop early (a failure) with folders still to list.
    package func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func listAhead() {
        for folder in folders {
            condition.lock()
            while !stopped && listed.count >= window { condition.wait() }
            let stop = stopped
            condition.unlock()
            if stop { return }
            let entries = Self.entries(of: folder, in: dir, renamed: renamed)
            condition.lock()
            listed.append(entries)
            condition.signal()
            condition.unlock()
        }
    }

    private static func entries(of folder: String, in dir: String,
                                renamed: (@Sendable (_ from: String, _ to: String) -> Void)?) -> [InboxEntry] {
        let path = dir + "/" + folder
        return (directoryEntries(path, renamed: renamed) ?? []).filter { !isIgnoredName($0.name) }
            .compactMap { entry(folder, $0.name, path + "/" + $0.name) }
            .sorted { ($0.mtime, $0.name) < ($1.mtime, $1.name) }
    }

    private static func entry(_ folder: String, _ name: String, _ path: String) -> InboxEntry? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        return InboxEntry(folder: folder, name: name, path: path, mtime: mtime, size: Int64(st.st_size))
    }
}

/// The names in a folder (without `.` and `..`) and their types as the directory records them
/// (`DT_DIR`, `DT_REG`, …, or `DT_UNKNOWN` on a file system that does not say); nil when it cannot
/// be opened.
///
/// A name that is not UTF-8 (a Chinese Windows client uploading `工资.csv` in GBK) is renamed in place
/// first, to what it says in GB18030 or, failing that, with each byte that is not UTF-8 written as
/// `%XX` (``utf8Name(_:)``): levy's paths are Swift strings, and such a file used to be listed under a
/// name that does not exist, then silently left in the inbox forever (DECISIONS 42). Only a listing
/// given `renamed` (the intake, which holds the root's lock) renames, and is told of each rename;
/// any other (`levy status`, the watch's stability look) leaves such a name alone and unlisted.
func directoryEntries(_ path: String, renamed: ((_ from: String, _ to: String) -> Void)? = nil) -> [(name: String, type: UInt8)]? {
    guard let d = opendir(path) else { return nil }
    defer { closedir(d) }
    var out: [(name: String, type: UInt8)] = []
    while let e = readdir(d) {
        let raw = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: UInt8.self, capacity: 256) { Array(UnsafeBufferPointer(start: $0, count: strlen(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)))) }
        }
        if raw == [0x2E] || raw == [0x2E, 0x2E] { continue }
        if let name = String(validating: raw, as: UTF8.self) {
            out.append((name, e.pointee.d_type))
            continue
        }
        // Not UTF-8: renamed to a UTF-8 name that is free, else left alone and not listed.
        guard let renamed else { continue }
        let wanted = utf8Name(raw)
        var chosen: String?
        for n in 0..<100 {
            let candidate = n == 0 ? wanted : "\(n)-\(wanted)"
            var st = stat()
            guard lstat(path + "/" + candidate, &st) != 0 else { continue }
            let from = Array(path.utf8) + [UInt8(ascii: "/")] + raw + [0]
            let moved = from.withUnsafeBufferPointer { f in
                f.baseAddress!.withMemoryRebound(to: CChar.self, capacity: f.count) { Glibc.rename($0, path + "/" + candidate) }
            }
            if moved == 0 { chosen = candidate }
            break
        }
        guard let chosen else { continue }
        renamed(String(decoding: raw, as: UTF8.self), chosen)
        out.append((chosen, e.pointee.d_type))
    }
    return out
}

/// A file name's bytes as UTF-8: decoded as GB18030 when they are that (what Chinese Windows
/// writes), else each byte that is not part of valid UTF-8 written as `%XX`. Never empty, never `/`.
package func utf8Name(_ raw: [UInt8]) -> String {
    if let bytes = transcode(raw, from: "GB18030", to: "UTF-8"), let name = String(validating: bytes, as: UTF8.self),
       !name.isEmpty, !name.contains("/"), !name.unicodeScalars.contains(where: { $0.value < 32 }) {
        return name
    }
    var out = ""
    var i = 0
    while i < raw.count {
        // The longest valid UTF-8 sequence starting here (1–4 bytes), else one escaped byte.
        var taken = false
        for length in stride(from: min(4, raw.count - i), through: 1, by: -1) {
            if let piece = String(validating: raw[i..<i + length], as: UTF8.self), piece.unicodeScalars.count == 1,
               piece.unicodeScalars.first!.value >= 32 {
                out += piece
                i += length
                taken = true
                break
            }
        }
        if !taken {
            out += "%" + String(format: "%02X", raw[i])
            i += 1
        }
    }
    return out
}
