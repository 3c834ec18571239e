import Foundation

/// A stream of bytes read in chunks, so no file is ever held whole in memory.
package protocol ByteSource {
    /// Appends up to `max` bytes to `buffer`; returns how many (0 at the end).
    mutating func read(into buffer: inout [UInt8], max: Int) -> Int
}

package struct MemorySource: ByteSource {
    let bytes: [UInt8]
    var offset = 0
    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    package mutating func read(into buffer: inout [UInt8], max: Int) -> Int {
        let n = min(max, bytes.count - offset)
        buffer.append(contentsOf: bytes[offset..<offset + n])
        offset += n
        return n
    }
}

/// Reads an open file descriptor (the caller owns it).
package struct FileSource: ByteSource {
    let fd: Int32
    package private(set) var bytesRead = 0
    package init(fd: Int32) { self.fd = fd }
    package mutating func read(into buffer: inout [UInt8], max limit: Int) -> Int {
        let fd = fd
        let n = append(to: &buffer, max: limit) { Glibc.read(fd, $0, $1) }
        bytesRead += n
        return n
    }
}

/// Appends what one read system call gives (`read(pointer, count)`, retried on EINTR) to `buffer`,
/// up to `max` bytes; returns how many (0 at the end or on an error).
private func append(to buffer: inout [UInt8], max limit: Int, _ read: (UnsafeMutableRawPointer, Int) -> Int) -> Int {
    buffer.reserveCapacity(buffer.count + limit)
    var n = 0
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: limit) { chunk in
        repeat { n = read(chunk.baseAddress!, limit) } while n < 0 && errno == EINTR
        if n > 0 { buffer.append(contentsOf: chunk[0..<n]) }
    }
    return Swift.max(n, 0)
}

/// Reads one part of an open file, `offset..<end`, with `pread`: the descriptor's own offset is left
/// alone, so several sources (and a scan) can read one descriptor at once.
package struct PositionedSource: ByteSource {
    let fd: Int32
    private(set) var offset: Int64
    package let end: Int64
    /// Where the bytes read are also counted (the progress of a file read by several sources).
    let counter: ReadCounter?

    package init(fd: Int32, from offset: Int64, to end: Int64, counter: ReadCounter? = nil) {
        self.fd = fd
        self.offset = offset
        self.end = end
        self.counter = counter
    }

    package mutating func read(into buffer: inout [UInt8], max limit: Int) -> Int {
        let want = Int(Swift.min(Int64(limit), Swift.max(0, end - offset)))
        guard want > 0 else { return 0 }
        let (fd, at) = (fd, offset)
        let n = append(to: &buffer, max: want) { pread(fd, $0, $1, off_t(at)) }
        offset += Int64(n)
        counter?.add(n)
        return n
    }
}

/// Bytes read so far by the sources of one file, on any thread.
package final class ReadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: Int64 = 0
    package init() {}
    func add(_ n: Int) { lock.withLock { bytes += Int64(n) } }
    package var total: Int64 { lock.withLock { bytes } }
}

/// Converts another source from a legacy encoding (GB18030) to UTF-8 on the fly with glibc iconv.
package struct TranscodingSource<Inner: ByteSource>: ByteSource {
    var inner: Inner
    let cd: iconv_t
    var pending: [UInt8] = []
    var innerDone = false
    /// Set when the input holds a sequence the encoding does not allow.
    package private(set) var invalid = false

    package init?(_ inner: Inner, from encoding: String) {
        guard let cd = iconv_open("UTF-8", encoding), cd != iconv_t(bitPattern: -1) else { return nil }
        self.inner = inner
        self.cd = cd
    }

    package func close() { iconv_close(cd) }

    package mutating func read(into buffer: inout [UInt8], max limit: Int) -> Int {
        while true {
            if invalid { return 0 }
            if !innerDone && pending.count < 65536 {
                if inner.read(into: &pending, max: 65536) == 0 { innerDone = true }
            }
            if pending.isEmpty { return 0 }
            var out = [UInt8](repeating: 0, count: Swift.max(pending.count * 2, 64))
            var inLeft = pending.count
            var outLeft = out.count
            var consumed = 0
            var produced = 0
            var failure: Int32 = 0
            let cd = self.cd
            var input = pending
            input.withUnsafeMutableBufferPointer { inBuf in
                out.withUnsafeMutableBufferPointer { outBuf in
                    inBuf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: inBuf.count) { inBase in
                        outBuf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: outBuf.count) { outBase in
                            var inPtr: UnsafeMutablePointer<CChar>? = inBase
                            var outPtr: UnsafeMutablePointer<CChar>? = outBase
                            if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 { failure = errno }
                            consumed = inPtr! - inBase
                            produced = outPtr! - outBase
                        }
                    }
                }
            }
            pending.removeFirst(consumed)
            if failure == EILSEQ || (failure == EINVAL && innerDone) {
                invalid = true
            }
            if produced > 0 {
                buffer.append(contentsOf: out[0..<produced])
                return produced
            }
            if invalid || (innerDone && pending.isEmpty) { return 0 }
            if failure == EINVAL && innerDone { invalid = true; return 0 }
        }
    }
}

/// One-shot conversion between encodings (for the `.errors.csv` copy in the file's own encoding).
package func transcode(_ bytes: [UInt8], from: String, to: String) -> [UInt8]? {
    guard let cd = iconv_open(to, from), cd != iconv_t(bitPattern: -1) else { return nil }
    defer { iconv_close(cd) }
    var input = bytes
    var out = [UInt8](repeating: 0, count: bytes.count * 4 + 16)
    var inLeft = input.count
    var outLeft = out.count
    var ok = true
    var produced = 0
    if input.isEmpty { return [] }
    input.withUnsafeMutableBufferPointer { inBuf in
        out.withUnsafeMutableBufferPointer { outBuf in
            _ = inBuf.baseAddress.map { inBase in
                inBase.withMemoryRebound(to: CChar.self, capacity: inBuf.count) { inBase in
                    outBuf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: outBuf.count) { outBase in
                        var inPtr: UnsafeMutablePointer<CChar>? = inBase
                        var outPtr: UnsafeMutablePointer<CChar>? = outBase
                        if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 { ok = false }
                        produced = outPtr! - outBase
                    }
                }
            }
        }
    }
    return ok ? Array(out[0..<produced]) : nil
}
