import Foundation
import LevyDomain
@testable import LevyPipeline
import Testing

/// The CSV hot path splits plain records in place; quoted records, bare CRs and over-long lines take
/// the careful state machine. Both must give the same fields, findings and totals, wherever records
/// fall across the reader's 256 KiB refills.
@Suite struct CSVHotPathTests {
    /// Every field of `text`'s records as the hot path sees them, and as `next()` sees them.
    func bothWays(_ text: [UInt8]) -> (hot: [[String]], careful: [[String]], hotLines: [Int], carefulLines: [Int]) {
        var hot = CSVReader(source: MemorySource(text))
        var careful = CSVReader(source: MemorySource(text))
        var a: [[String]] = [], b: [[String]] = [], la: [Int] = [], lb: [Int] = []
        while let (fields, line) = hot.nextRow({ row in ((0..<row.count).map { row[$0].text }, row.line) }) {
            a.append(fields)
            la.append(line)
        }
        while let r = careful.next() {
            b.append(r.fields)
            lb.append(r.line)
        }
        return (a, b, la, lb)
    }

    @Test func sameFieldsAndLinesAsTheCarefulReader() {
        let samples = [
            "a,b,c\n1,2,3\n",
            "a,b\r\n1,2\r\n\r\n3,4",          // CRLF, a blank line, no final newline
            "a,\"b,c\",d\n\"x\"\"y\",z,\n",      // quotes and doubled quotes
            "a\rb\r\nc,d\n",                     // bare CR ends a record
            "x,\"multi\nline\",y\nlast,row,here\n",
            ",,\n,\n\n",
            "ab\"c,d\n",                         // a quote inside an unquoted field: the careful path reports it
        ]
        for sample in samples {
            let r = bothWays(Array(sample.utf8))
            #expect(r.hot == r.careful, "\(sample.debugDescription)")
            #expect(r.hotLines == r.carefulLines, "\(sample.debugDescription)")
        }
    }

    @Test func recordsAcrossRefillsAndOverLongLines() {
        // ~2.5 MiB of records whose lengths vary, so many straddle the 256 KiB refills; one over-long line.
        var text = ""
        var i = 0
        while text.utf8.count < 2_600_000 {
            text += "\(i),\(String(repeating: "字", count: i % 97)),\(i % 3 == 0 ? "\"q,\(i)\"" : "p\(i)")\n"
            i += 1
            if i == 5_000 { text += String(repeating: "x", count: (1 << 20) + 10) + "\n" }
        }
        let r = bothWays(Array(text.utf8))
        #expect(r.hot.count == r.careful.count)
        let sameFields = r.hot == r.careful, sameLines = r.hotLines == r.carefulLines  // not printed: megabytes
        #expect(sameFields)
        #expect(sameLines)
        #expect(r.careful[5_000].isEmpty, "the over-long line is cut off and reported, not split")
        #expect(r.hot.count == i + 1)
    }

    /// A whole declaration written plainly and with every field quoted: the same findings and totals.
    @Test func plainAndQuotedDeclarationsAgree() throws {
        let root = try TestRoot()
        let loaded = try RulesLoader.load(from: root.file("Rules"))
        let employer = try #require(loaded.rules.employer(Sample.softwareCo))
        var rows: [[String]] = []
        for n in 0..<30_000 {
            let id = n == 77 ? "11010519491231002" : PersonID.withCheckCharacter("110105" + String(format: "%04d%02d%02d%03d", 1970 + n / 10_000, n / 800 % 12 + 1, n / 30 % 28 + 1, n % 1000))
            let base = n % 500 == 1 ? "12.345" : (n % 700 == 3 ? "  3000 " : "\(4000 + n % 30_000).5")
            rows.append([Sample.softwareCo, "2026-11", id, "某\(n)", base, n % 1000 == 5 ? "X" : ""])
        }
        let header = "employer_id,period,person_id,name,wage_base,change\n"
        let plain = header + rows.map { $0.joined(separator: ",") + "\n" }.joined()
        let quoted = header + rows.map { $0.map { "\"\($0)\"" }.joined(separator: ",") + "\r\n" }.joined()
        func outcome(_ text: String) throws -> (findings: [String], totals: ContributionTotals) {
            let o = try FuzzTests.check(Array(text.utf8), name: "d.csv", loaded: loaded, dir: root.url, employer: employer)
            return (o.check.findings.sorted.map { "\($0.code.rawValue)@\($0.line ?? 0):\($0.value ?? "")" }, o.check.totals)
        }
        let a = try outcome(plain)
        let b = try outcome(quoted)
        #expect(a.findings == b.findings)
        #expect(a.totals == b.totals)
        #expect(a.findings.contains { $0.hasPrefix("E-BASE-FORMAT@") })
        #expect(a.findings.contains { $0.hasPrefix("E-ID-CHECKSUM@79") })
        #expect(a.totals.headcount > 29_000)
    }
}
