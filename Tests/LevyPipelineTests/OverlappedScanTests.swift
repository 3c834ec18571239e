import Foundation
import LevyDomain
import LevyLedger
@testable import LevyPipeline
import Testing

/// A large CSV file is parsed as UTF-8 while its scan (SHA-256, encoding) runs on the other core, and
/// checked against the ledger only once the scan has admitted it. Whatever the bytes turn out to be,
/// the outcome is the one of scan-then-check. (`FuzzTests` compares the two paths on mutated files too.)
@Suite struct OverlappedScanTests {
    /// 20,000 rows: over the 1 MiB from which `levy run` takes this path.
    static func largeRows(name: String) -> [(String, String, String, String)] {
        (0..<20_000).map { (Sample.person($0), name, String(5_000 + $0 % 17_000) + ".50", "") }
    }

    /// Scan then check, and check while scanning, of the same bytes.
    func bothWays(_ bytes: [UInt8], root: TestRoot, name: String = "f.csv",
                  overlapBytes: Int64 = 0) throws -> (DeclarationFileCheck.Outcome, DeclarationFileCheck.Outcome, ScannedFile, ScannedFile) {
        let (fd, check, employer) = try root.declarationFile(bytes, name: name)
        defer { close(fd) }
        var fileCheck = check
        let scanned = try scanFile(fd: fd)
        let sequential = try fileCheck.check(fd: fd, name: name, scanned: scanned, folderEmployer: employer)
        fileCheck.overlapBytes = overlapBytes
        var admitted: ScannedFile?
        let (overlapScanned, overlapping) = try fileCheck.scanAndCheck(fd: fd, name: name, folderEmployer: employer) {
            admitted = $0
            return true
        }
        #expect(admitted?.sha256 == overlapScanned.sha256)
        return (sequential, try #require(overlapping), scanned, overlapScanned)
    }

    @Test func everyEncodingGivesTheOutcomeOfScanThenCheck() throws {
        let root = try TestRoot()
        let text = csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""), (Sample.persons[1], "李四", "3000", ""),
                                                    (Sample.persons[2], "王五", "abc", "")])
        let nul = Array(text.utf8).enumerated().map { $0.offset == 80 ? 0 : $0.element }
        let utf16: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let late = Array(csv(Sample.softwareCo, "2026-11", (0..<2_000).map { (Sample.person($0), "Zhang", "6000", "") }).utf8)
            + gb18030("\(Sample.softwareCo),2026-11,\(Sample.person(2_000)),赵六,6000,\n")  // not UTF-8 only at the very end
        let cases: [(String, [UInt8], TextEncoding?)] = [
            ("UTF-8", Array(text.utf8), .utf8), ("UTF-8 with BOM", [0xEF, 0xBB, 0xBF] + Array(text.utf8), .utf8BOM),
            ("GB18030", gb18030(text), .gb18030), ("GB18030 late", late, .gb18030), ("NUL", nul, nil), ("UTF-16", utf16, nil),
            ("invalid", [0x80, 0x81, 0xFF, 0xFE, 0x80, 0x0A, 0xC3, 0x41], nil),
        ]
        for (label, bytes, encoding) in cases {
            let (sequential, overlapping, scanned, overlapScanned) = try bothWays(bytes, root: root)
            #expect(sameOutcome(sequential, overlapping), "\(label)")
            #expect(scanned.sha256 == overlapScanned.sha256 && scanned.size == overlapScanned.size, "\(label)")
            if let encoding { #expect(overlapping.encoding == encoding, "\(label)") }
        }
        // The base that is not a number is reported the same way on both paths, with its line.
        let (_, overlapping, _, _) = try bothWays(Array(text.utf8), root: root)
        #expect(overlapping.check.findings.items.contains { $0.code == .baseFormat && $0.line == 4 })
        #expect(!overlapping.isAccepted)
    }

    /// When the scan does not admit the file (a duplicate), nothing is asked of the ledger and no outcome is given.
    @Test func aFileTheScanDoesNotAdmitHasNoOutcome() throws {
        let root = try TestRoot()
        let path = root.file("d.csv")
        try Data(csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]).utf8).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let levy = try root.levy()
        var fileCheck = DeclarationFileCheck(rules: levy.loaded.rules, schema: levy.loaded.declarationSchema,
                                             now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")), ledger: levy.ledger)
        fileCheck.overlapBytes = 0
        let (scanned, outcome) = try fileCheck.scanAndCheck(fd: fd, name: "d.csv", folderEmployer: nil) { _ in false }
        #expect(outcome == nil)
        #expect(scanned.sha256 == (try scanFile(fd: fd)).sha256)
    }

    /// End to end with the shipped threshold: a 1.2 MB UTF-8 file and a 1.2 MB GB18030 file are accepted
    /// with the totals of the sequential check; the same bytes again are a duplicate.
    @Test(arguments: ["UTF-8", "GB18030"])
    func largeFilesRunEndToEnd(_ encoding: String) throws {
        let root = try TestRoot()
        let text = csv(Sample.softwareCo, "2026-11", Self.largeRows(name: "张三"))
        let bytes = encoding == "GB18030" ? gb18030(text) : Array(text.utf8)
        #expect(Int64(bytes.count) >= DeclarationFileCheck(rules: try root.levy().loaded.rules,
                                                           schema: try root.levy().loaded.declarationSchema,
                                                           now: try #require(try root.levy().loaded.clock.parseAsOf("2026-11-03T09:00:00")),
                                                           ledger: nil).overlapBytes)
        let (sequential, _, _, _) = try bothWays(bytes, root: root, overlapBytes: Int64.max)
        #expect(sequential.isAccepted)
        #expect(sequential.encoding == (encoding == "GB18030" ? .gb18030 : .utf8))
        try root.write("Inbox/declarations/\(Sample.softwareCo)/big.csv", bytes)
        try root.run("2026-11-03T09:00:00")
        let receipts = try root.receipts(Sample.softwareCo)
        #expect(receipts.count == 1)
        let receipt = try #require(receipts.first)
        #expect(receipt["headcount"] as? Int == 20_000)
        #expect((receipt["total_fen"] as? NSNumber)?.int64Value == sequential.check.totals.totalFen)
        try root.write("Inbox/declarations/\(Sample.softwareCo)/again.csv", bytes)
        try root.run("2026-11-03T10:00:00")
        #expect(codes(try root.rejection(Sample.softwareCo)) == ["E-FILE-DUPLICATE"])
        #expect(root.files(under: "Inbox/declarations").isEmpty)
    }
}
