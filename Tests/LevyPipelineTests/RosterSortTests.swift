import LevyDomain
@testable import LevyPipeline
import Testing

/// The radix sort of a run gives exactly the order of the comparison sort it replaced, on the
/// shapes a declaration can take: real person keys, duplicates, one person many times, sorted and
/// reversed files, keys at the ends of the range.
@Suite struct RosterSortTests {
    private struct Shape: CustomStringConvertible, Sendable {
        let description: String
        let keys: @Sendable (Int, inout SplitMix64) -> Int64
    }

    private static let shapes: [Shape] = [
        Shape(description: "person keys of one city") { _, r in 37_010_219_800_000_000 + Int64(r.next() % 400_000_000_000) },
        Shape(description: "few keys, many duplicates") { _, r in Int64(r.next() % 50) },
        Shape(description: "one person on every row") { _, _ in 11_010_119_900_307_123 },
        Shape(description: "already sorted") { i, _ in Int64(i) * 1_000 + 11_000_000_000_000_000 },
        Shape(description: "reversed") { i, _ in 99_999_999_999_999_999 - Int64(i) * 7 },
        Shape(description: "extremes") { i, r in [Int64.min, Int64.max, 0, -1, 1][Int(r.next() % 5)] &+ Int64(i % 3) },
        Shape(description: "full 64-bit spread") { _, r in Int64(bitPattern: r.next()) },
    ]

    @Test(arguments: [0, 1, 2, 23, 24, 25, 300, 5_000, 70_000])
    func radixOrderIsRosterOrder(count: Int) {
        for shape in Self.shapes {
            var random = SplitMix64(state: UInt64(count) &* 31 &+ UInt64(shape.description.utf8.count))
            var persons: [DeclaredPerson] = (0..<count).map { i in
                DeclaredPerson(key: shape.keys(i, &random), baseFen: Fen(i), line: Int32(i + 2), ordinal: Int32(i + 1),
                               change: RosterChange(rawValue: UInt8(i % 3))!)
            }
            // Runs are filled in file order, but the sort must not depend on it.
            if count > 2 { persons.swapAt(0, count - 1) }
            let expected = persons.sorted(by: DeclaredPerson.precedes)
            RosterSort.sort(&persons)
            let same = persons == expected  // a Bool: the arrays would flood the log on failure
            #expect(same, "\(shape) with \(count) persons")
        }
    }
}
