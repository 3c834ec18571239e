import Foundation

/// A large output written in pieces: temp file in the target folder, then fsync → rename → fsync(folder).
package final class DurableWriter {
    let path: String
    let temp: String
    let fd: Int32
    var buffer: [UInt8] = []
    /// The errno of the first write that failed (0: none).
    var failed: Int32 = 0

    package init(path: String, mode: mode_t = 0o640) throws {
        self.path = path
        try Folders.ensure(parentFolder(path))
        temp = DurableFile.tempPath(for: path)
        fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LevyError.system("cannot create", temp, fix: "check the folder's permissions and free space") }
        fchmod(fd, mode)
        buffer.reserveCapacity(1 << 16)
    }

    package func write(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; if failed == 0 { failed = errno }; return }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Makes the file durable under its final name.
    package func commit() throws {
        flush()
        if failed == 0 && fsync(fd) != 0 { failed = errno }
        close(fd)
        if failed == 0 && rename(temp, path) != 0 { failed = errno }
        guard failed == 0 else {
            unlink(temp)
            throw LevyError.system("cannot write", path, errno: failed, fix: "check free space")
        }
        DurableFile.syncDirectory(parentFolder(path))
    }

    package func abandon() {
        close(fd)
        unlink(temp)
    }
}
