import Foundation

/// Wakes `levy watch` when something happens in `Inbox/` (Linux inotify), instead of sleeping out
/// the whole interval: a file dropped in is looked at within a second. The periodic look stays as
/// the safety net (missed events, network filesystems, the debit cut at its time).
///
/// A file renamed into a folder (`IN_MOVED_TO`, how a careful sender delivers) is complete at once;
/// a file written in place (`IN_CLOSE_WRITE`) still needs two looks with the same size and mtime.
package final class InboxWatcher {
    private let fd: Int32
    private var folders: [Int32: String] = [:]
    /// Paths that arrived by rename since the last call: complete.
    package private(set) var renamedIn: Set<String> = []

    /// nil when inotify is not available (the watch then polls).
    package init?(inboxes: [String]) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
        for inbox in inboxes {
            addWatch(inbox)
            for sub in (try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? [] {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: inbox + "/" + sub, isDirectory: &isDir), isDir.boolValue {
                    addWatch(inbox + "/" + sub)
                }
            }
        }
    }

    deinit { close(fd) }

    private func addWatch(_ path: String) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF)
        let wd = inotify_add_watch(fd, path, mask)
        if wd >= 0 { folders[wd] = path }
    }

    /// Waits up to `timeout` seconds for an event; returns true when something happened.
    package func wait(timeout: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(max(0, timeout) * 1000))
        guard ready > 0 else { return false }
        drain()
        return true
    }

    /// Forgets the renames already acted on.
    package func take() -> Set<String> {
        defer { renamedIn.removeAll() }
        return renamedIn
    }

    private func drain() {
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            if n <= 0 { return }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = buffer + offset + MemoryLayout<inotify_event>.size
                let name = event.len > 0
                    ? String(decoding: UnsafeRawBufferPointer(start: nameStart, count: Int(event.len)).prefix { $0 != 0 }, as: UTF8.self)
                    : ""
                if let folder = folders[event.wd], !name.isEmpty {
                    let path = folder + "/" + name
                    if event.mask & UInt32(IN_ISDIR) != 0 {
                        if event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { addWatch(path) }  // a new employer folder
                    } else if event.mask & UInt32(IN_MOVED_TO) != 0 {
                        renamedIn.insert(path)
                    }
                }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
    }
}
