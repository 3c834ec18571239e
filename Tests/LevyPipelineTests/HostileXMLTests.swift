import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import LevyXML
import Testing

/// An element with thousands of attributes made libxml2 (which checks them for duplicates in
/// quadratic time) hang for minutes; such a start tag is refused before libxml2 sees it.
@Suite struct HostileXMLTests {
    func declaration(attributes: Int, comment: Int = 0, lineEnd: String = "\n") -> String {
        var tag = "<Person"
        tag.reserveCapacity(attributes * 12)
        for i in 0..<attributes { tag += " a\(i)=\"1\"" }
        let body = xml(Sample.buildingCo, "2026-11", [(Sample.persons[3], "赵六", "6000.00", "")])
        let withComment = comment > 0 ? body.replacingOccurrences(of: "<Persons>", with: "<!-- " + String(repeating: "说明 ", count: comment / 7) + " --><Persons>") : body
        return withComment.replacingOccurrences(of: "<Person>", with: tag + ">").replacingOccurrences(of: "\n", with: lineEnd)
    }

    @Test(arguments: [200_000, 1_000_000])
    func anElementWithThousandsOfAttributesIsRefusedAtOnce(attributes: Int) throws {
        let root = try TestRoot()
        let path = root.file("many.xml")
        let text = declaration(attributes: attributes)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let tagLine = text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("<Person ") }.map { $0 + 1 }
        let r = try levy(["check", path, "--root", root.path, "--employer", Sample.buildingCo, "--as-of", "2026-11-02T09:00:00", "--json"])
        #expect(r.status == 3)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let errors = try #require((report["report"] as? [String: Any])?["errors"] as? [[String: Any]])
        #expect(errors.map { $0["code"] as? String } == ["E-XML-SCHEMA"])
        let message = errors.first?["message"] as? String ?? ""
        #expect(message.contains("start tag is longer than 8 KiB"), "\(message)")
        #expect(!message.contains("Huge input lookup") && !message.contains("internal error"), "\(message)")
        #expect(errors.first?["line"] as? Int == tagLine, "the line of the tag")
    }

    @Test func aLongCommentAndManyElementsAreFine() throws {
        let root = try TestRoot()
        let path = root.file("ok.xml")
        // A 64 KiB comment, and the same document with CR-only line ends and a few attributes.
        try declaration(attributes: 0, comment: 64 << 10).write(toFile: path, atomically: true, encoding: .utf8)
        let r = try levy(["check", path, "--root", root.path, "--employer", Sample.buildingCo, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 0, "\(r.stdout)")
    }

    /// The guard's windows against a byte-by-byte reading of where start tags begin and end, on
    /// random documents cut into random chunks.
    @Test func theGuardFindsExactlyTheStartTagsThatFillAWindow() throws {
        var rng = SplitMix64(state: 7)
        for _ in 0..<300 {
            var doc: [UInt8] = []
            while doc.count < 40_000 {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: doc += Array("<!-- ".utf8) + Array(repeating: UInt8(ascii: "c"), count: Int.random(in: 0..<12_000, using: &rng)) + Array(" -->".utf8)
                case 1: doc += Array("<E".utf8) + Array(repeating: UInt8(ascii: " "), count: Int.random(in: 0..<12_000, using: &rng)) + Array(">".utf8)
                case 2: doc += Array(repeating: UInt8(ascii: "t"), count: Int.random(in: 0..<12_000, using: &rng))
                default: doc += Array("<A b=\"1\">x</A>".utf8)
                }
            }
            // Byte by byte: the longest start tag (from its `<` to its `>`).
            var longest = 0, open: Int?
            for (i, b) in doc.enumerated() {
                if b == UInt8(ascii: "<") { open = doc[i + 1] == UInt8(ascii: "!") ? nil : i }
                if b == UInt8(ascii: ">"), let o = open { longest = max(longest, i - o); open = nil }
            }
            var guardian = TagLengthGuard()
            var found = false
            var start = 0
            while start < doc.count && !found {
                let n = min(Int.random(in: 1...70_000, using: &rng), doc.count - start)
                found = doc[start..<start + n].withUnsafeBytes { guardian.inspect($0) } != nil
                start += n
            }
            if longest >= TagLengthGuard.limit { #expect(found, "a start tag of \(longest) bytes passed") }
            if longest < 4096 - 1 { #expect(!found, "refused with no start tag longer than \(longest)") }
        }
    }
}

extension HostileXMLTests {
    @Test func aBankReturnWithThousandsOfAttributesIsQuarantined() throws {
        let root = try TestRoot()
        var tag = "<GrpHdr"
        for i in 0..<200_000 { tag += " a\(i)=\"1\"" }
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>\(tag)><MsgId>X</MsgId></GrpHdr></CstmrPmtStsRpt></Document>
            """
        try root.write("Inbox/bank/ICBC01/ret.xml", text)
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(root.files(under: "Inbox/bank").isEmpty)
        let reasons = root.files(under: ".levy/quarantine").filter { $0.hasSuffix(".reason.txt") }
        #expect(reasons.count == 1)
        let reason = try String(contentsOfFile: root.file(".levy/quarantine/\(reasons[0])"), encoding: .utf8)
        #expect(reason.contains("start tag is longer than 8 KiB"), "\(reason)")
    }
}

/// A file appended to while levy reads it is left in the inbox: what is archived is always exactly
/// the bytes that were judged (the SHA-256 in the ledger is the archived file's, the headcount its rows).
@Suite struct ChangingFileTests {
    /// The n-th of a million distinct resident IDs (1,000 per birth date from 1960 on).
    static func person(_ n: Int) -> String {
        let birth = CivilDate(year: 1960, month: 1, day: 1).adding(days: n / 1000).compact
        return PersonID.withCheckCharacter("110105\(birth)\(String(format: "%03d", n % 1000))")
    }

    @Test func aFileThatGrowsWhileReadWaitsForTheNextLook() throws {
        let root = try TestRoot()
        let rel = try root.drop(Sample.softwareCo, "big.csv", csv(Sample.softwareCo, "2026-11", (0..<150_000).map {
            (Self.person($0), "员工", "6000.00", "")
        }))
        let path = root.file(rel)
        let writing = ManagedAtomicFlag()
        let writer = Thread {
            let fd = open(path, O_WRONLY | O_APPEND)
            var n = 150_000
            while writing.isSet {
                let row = Array("\(Sample.softwareCo),2026-11,\(Self.person(n)),员工,6000.00,\n".utf8)
                _ = write(fd, row, row.count)
                n += 1
                usleep(200)
            }
            close(fd)
            writing.finished()
        }
        writing.set()
        writer.start()
        let r = try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:00:00"])
        writing.stopAndWait()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("changed while it was read"), "\(r.stderr.suffix(500))")
        #expect(root.exists(rel), "left in the inbox")
        #expect(root.files(under: "Outbox/receipts").isEmpty)

        // Once the writer is done, the next look takes it: the archive holds the bytes judged.
        #expect(try levy(["run", "--root", root.path, "--as-of", "2026-11-02T09:05:00"]).status == 0)
        let receipt = try #require(try root.receipts(Sample.softwareCo).first)
        let archived = try #require(root.files(under: ".levy/archive").first)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: root.file(".levy/archive/\(archived)")))
        #expect(receipt["sha256"] as? String == sha256Hex(bytes))
        #expect(receipt["headcount"] as? Int == bytes.count { $0 == 10 } - 1)
    }
}

/// A flag the test thread and the writer thread share.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    private let done = DispatchSemaphore(value: 0)
    var isSet: Bool { lock.withLock { on } }
    func set() { lock.withLock { on = true } }
    func finished() { done.signal() }
    func stopAndWait() {
        lock.withLock { on = false }
        done.wait()
    }
}
