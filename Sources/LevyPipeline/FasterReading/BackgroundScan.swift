import Foundation
import LevyDomain
import LevyLedger
import LevyXML

/// ``scanFile(fd:notPlainUTF8:)`` on a thread of its own, while the calling thread parses the file.
final class BackgroundScan: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    /// Written by the scan before it leaves `group`; read only after waiting on it.
    private var result: Result<ScannedFile, any Error>?
    private var notUTF8 = false

    init(fd: Int32) {
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result { try scanFile(fd: fd) { self.lock.withLock { self.notUTF8 = true } } }
            group.leave()
        }
    }

    /// The bytes are known not to be plain UTF-8: a parse that assumed it can stop.
    var isNotUTF8: Bool { lock.withLock { notUTF8 } }

    /// Waits for the scan; every call gives the same result.
    func wait() throws -> ScannedFile {
        group.wait()
        return try result!.get()
    }
}

extension DeclarationFileCheck {
    /// Scans the file (SHA-256 and encoding, ``scanFile(fd:notPlainUTF8:)``) and checks it. `admit`
    /// sees the scan before anything is decided and may stop there (a duplicate): the outcome is then nil.
    ///
    /// A CSV file of ``overlapBytes`` or more, and an XML file of ``validationAsideBytes`` or more
    /// (whose XSD validation then runs on a third thread), is read as UTF-8 while the scan runs on the
    /// other core, and checked against the ledger only once the scan has admitted it. When the scan
    /// finds the bytes are not plain UTF-8 after all (GB18030, NULs), the read stops at its next chunk
    /// and the file is checked again in the usual order, from the scan's findings — the outcome is
    /// always the one ``check(fd:name:scanned:folderEmployer:)`` gives.
    package func scanAndCheck(fd: Int32, name: String, folderEmployer: Employer?,
                              admit: (ScannedFile) throws -> Bool) throws -> (scanned: ScannedFile, outcome: Outcome?) {
        var st = stat()
        var head = [UInt8](repeating: 0, count: 4)
        let headCount = fstat(fd, &st) == 0 ? pread(fd, &head, 4, 0) : -1
        let size = Int64(st.st_size)
        let format = DeclarationFormat(fileName: name)
        let plan = ReadingPlan.choose(format: format, size: size, head: headCount == 4 ? head : nil, check: self)
        guard plan != .onePass else {
            let scanned = try StageClock.measure(.scan) { try scanFile(fd: fd) }
            guard try admit(scanned) else { return (scanned, nil) }
            return (scanned, try StageClock.measure(.parseAndCheck) { try check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer) })
        }
        let scan = BackgroundScan(fd: fd)
        defer { _ = try? scan.wait() }  // the scan reads `fd`: never leave before it is done
        var assumed = EncodingScan()
        head.withUnsafeBufferPointer { assumed.feed(UnsafeBufferPointer(rebasing: $0[0..<($0.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0)])) }
        var optimistic = self
        optimistic.stop = { scan.isNotUTF8 }
        var outcome = try StageClock.measure(.parseAndCheck) {
            if plan == .halves,
               let halves = optimistic.readInHalves(fd: fd, name: name, size: size, bom: assumed.hasUTF8BOM, folderEmployer: folderEmployer) {
                return halves
            }
            return try optimistic.check(fd: fd, name: name, scanned: ScannedFile(sha256: "", size: size, encoding: assumed),
                                        folderEmployer: folderEmployer, completing: false)
        }
        let scanned = try StageClock.measure(.scan) { try scan.wait() }
        guard try admit(scanned) else {
            outcome.validation?.cancel()
            return (scanned, nil)
        }
        let e = scanned.encoding
        guard scanned.size == size, e.validUTF8, !e.sawNUL, !e.hasWideBOM, e.hasUTF8BOM == assumed.hasUTF8BOM else {
            outcome.validation?.cancel()
            return (scanned, try StageClock.measure(.parseAndCheck) { try check(fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer) })
        }
        // (A broken XML document stops before the ledger's questions, as in one pass.)
        if outcome.awaitsLedger { try StageClock.measure(.parseAndCheck) { try complete(&outcome) } }
        return (scanned, outcome)
    }
}
