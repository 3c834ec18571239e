import Foundation
import LevyDomain
import LevyPipeline
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
