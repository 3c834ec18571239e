import Foundation
import LevyDomain
@testable import LevyPipeline
import Testing

/// Amounts as people read them on receipts and pages: yuan with thousands separators and two decimals.
@Suite struct AmountTextTests {
    /// A deliberately different spelling: the yuan text of `Yuan.format`, grouped by hand from the left.
    static func grouped(_ fen: Fen) -> String {
        let plain = Yuan.format(fen)
        let negative = plain.hasPrefix("-")
        let parts = plain.dropFirst(negative ? 1 : 0).split(separator: ".")
        let whole = Array(parts[0])
        var out = ""
        for (i, ch) in whole.enumerated() {
            if i > 0 && (whole.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (negative ? "-" : "") + out + "." + parts[1]
    }

    @Test func groupsThousandsAndKeepsTwoDecimals() {
        #expect(yuanText(0) == "0.00")
        #expect(yuanText(5) == "0.05")
        #expect(yuanText(100) == "1.00")
        #expect(yuanText(123_456) == "1,234.56")
        #expect(yuanText(100_000_000) == "1,000,000.00")
        #expect(yuanText(-123_456_789) == "-1,234,567.89")
        var rng = SystemRandomNumberGenerator()
        var samples: [Fen] = [Fen.max, Fen.min + 1, -1, -99, 99_999, 100_000, 999_999_99]
        for _ in 0..<2_000 { samples.append(Fen.random(in: -10_000_000_000...10_000_000_000, using: &rng)) }
        for fen in samples { #expect(yuanText(fen) == Self.grouped(fen), "\(fen)") }
    }
}

/// levy's own path splitting: what Foundation gives for the paths levy builds, and sane answers where
/// swift-corelibs-foundation is not (with Swift 6.3.1, `deletingLastPathComponent` of the literals `"a"`
/// and `"a/"` traps, and `"///"` gives ""). Slashes inside a path are kept as they are (the kernel reads `a//b` as `a/b`).
@Suite struct PathSplittingTests {
    @Test func parentAndLastComponent() {
        let asFoundation = ["/", "/a", "/a/b", "/a//b", "//a", "a/b", "", "/tmp/r/Outbox/receipts/E/x.json", "/根/收据/回执.txt"]
        for path in asFoundation {
            #expect(parentFolder(path) == (path as NSString).deletingLastPathComponent, "parent of \(path)")
            #expect(lastComponent(path) == (path as NSString).lastPathComponent, "last component of \(path)")
        }
        let odd: [(String, String, String)] = [("a", "", "a"), ("a//b/c", "a//b", "c"), ("a/", "", "a"), ("/a/", "/", "a"), ("/a/b//", "/a", "b"), ("///", "/", "/")]
        for (path, parent, last) in odd {
            #expect(parentFolder(path) == parent, "parent of \(path)")
            #expect(lastComponent(path) == last, "last component of \(path)")
        }
    }
}

/// `Folders` remembers the folders it made so that a day of outputs does not ask the kernel again for
/// each, but not every folder of a day of 20,000 employers: its memory stays bounded, and a folder
/// it forgot is still found (or made again).
@Suite struct FolderMemoryTests {
    @Test func rememberedFoldersStayBoundedAndForgottenOnesStillWork() throws {
        let root = try TestRoot()
        let made = (0..<(Folders.capacity + 200)).map { root.file("Outbox/receipts/E\($0)/x") }
        for dir in made { try Folders.ensure(dir) }
        #expect(Folders.remembered <= Folders.capacity)
        for dir in made.prefix(3) {
            try FileManager.default.removeItem(atPath: dir)
            try Folders.ensure(dir)  // forgotten by now (the memory was cleared when full): made again
            var st = stat()
            #expect(stat(dir, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR)
        }
    }
}

/// Receipts are written by a hand-made JSON writer (they are the output of every accepted file): the
/// bytes must be exactly those of the generic encoder, for any content.
@Suite struct ReceiptJSONTests {
    static func text(_ rng: inout some RandomNumberGenerator) -> String {
        let pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}", "\u{7f}", "é", "中", "回执",
                      "𠀀", "😀", "0", "-", ":", "{", "]"]
        return (0..<Int.random(in: 0...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    @Test func handWrittenJSONEqualsTheEncoder() {
        var rng = SystemRandomNumberGenerator()
        for i in 0..<500 {
            func maybe<T>(_ v: T) -> T? { Bool.random(using: &rng) ? v : nil }
            let warnings = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                FindingJSON(Finding(code: FindingCode.allCases.randomElement(using: &rng)!, line: maybe(Int.random(in: 1...99_999, using: &rng)),
                                    path: maybe(Self.text(&rng)), field: maybe(Self.text(&rng)), value: maybe(Self.text(&rng)),
                                    message: Self.text(&rng)))
            }
            var contributions: [String: ContributionAmounts] = [:]
            for name in ["pension", "medical", "unemployment", "work_injury", "maternity"] where i % 7 != 0 {
                contributions[name] = ContributionAmounts(employerFen: Fen.random(in: 0...9_999_999_999, using: &rng),
                                                          employeeFen: Fen.random(in: 0...9_999_999, using: &rng))
            }
            let receipt = Receipt(
                receiptNo: Self.text(&rng), kind: i % 2 == 0 ? "declaration" : "payment", employerID: Self.text(&rng),
                employerName: Self.text(&rng), period: "2026-11", declarationID: Self.text(&rng), headcount: Int.random(in: 0...1_000_000, using: &rng),
                totalWageBaseFen: Fen.random(in: 0...Fen.max / 2, using: &rng), employerFen: Fen.random(in: -5...5, using: &rng),
                employeeFen: 0, totalFen: Fen.random(in: 0...1 << 40, using: &rng), contributions: contributions, warnings: warnings,
                warningsOmitted: maybe(Int.random(in: 1...1_000, using: &rng)), collection: Self.text(&rng), due: Self.text(&rng),
                supersedes: maybe(Self.text(&rng)), receivedAt: Self.text(&rng), file: maybe(Self.text(&rng)), sha256: maybe(Self.text(&rng)),
                instructions: Self.text(&rng), paidFen: maybe(Fen.random(in: 0...1 << 40, using: &rng)),
                lateFeeFen: maybe(Fen.random(in: 0...1 << 20, using: &rng)), paidAt: maybe(Self.text(&rng)), channel: maybe(Self.text(&rng)))
            let expected = jsonBytes(receipt)
            #expect(receipt.jsonBytes == expected, "\(String(decoding: expected, as: UTF8.self))")
            // The ledger's copy of the amounts (`declarations.contributions`) is read back by JSONDecoder.
            #expect(Receipt.json(contributions).bytes == jsonBytes(contributions))
        }
    }

    @Test func paddingCountsUTF16UnitsAsFoundationDoes() {
        var rng = SystemRandomNumberGenerator()
        for label in ["养老保险 pension", "合计 total", "", "work_injury 工伤保险 and a long tail past width", "𠀀𠀀 wide"] + (0..<200).map({ _ in Self.text(&rng) }) {
            #expect(label.rightPadded(28) == label.padding(toLength: 28, withPad: " ", startingAt: 0), "\(label)")
        }
    }
}
