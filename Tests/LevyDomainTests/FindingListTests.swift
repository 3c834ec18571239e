import LevyDomain
import Testing

@Suite struct FindingListTests {
    /// Roster findings arrive in person order, not line order: the cap keeps the ones nearest the top.
    @Test func capKeepsTheFindingsNearestTheTopWhateverOrderTheyCameIn() {
        var list = FindingList()
        // Every line of 1...3000 once, in a scrambled order (7919 is prime to 3000).
        for line in (0..<3_000).map({ $0 * 7_919 % 3_000 + 1 }) { list.add(Finding(code: .rosterUnknown, line: line, message: "x")) }
        list.add(Finding(code: .rosterMissing, message: "file-level"))
        #expect(list.errorCount == 3_001)
        #expect(list.omitted == 2_001)
        let kept = list.sorted
        #expect(kept.count == FindingList.cap)
        #expect(kept.first?.line == nil)
        #expect(kept.dropFirst().map(\.line) == (1..<FindingList.cap).map { Optional($0) })
    }

    @Test func findingsOnOneLineKeepTheOrderTheyWereFoundIn() {
        var list = FindingList()
        list.add(Finding(code: .baseFormat, line: 5, message: "b"))
        list.add(Finding(code: .idChecksum, line: 5, message: "a"))
        list.add(Finding(code: .csvHeader, line: 1, message: "h"))
        #expect(list.sorted.map(\.message) == ["h", "b", "a"])
    }

    /// A finding the full list would drop at once is only counted (its message is never built): the
    /// list ends as if it had been added, whatever order the lines come in.
    @Test func countingADroppedFindingIsAddingIt() {
        var added = FindingList(), counted = FindingList()
        var built = 0
        for i in 0..<5_000 {
            let line: Int? = i % 97 == 0 ? nil : (i * 7_919 % 3_000 + 1)
            let code: FindingCode = i % 3 == 0 ? .baseCapped : .idChecksum  // a warning among the errors
            let finding = Finding(code: code, line: line, message: "\(i)")
            added.add(finding)
            if counted.keeps(line: line) { built += 1; counted.add(finding) } else { counted.countDropped(isError: code.isError) }
        }
        #expect(counted.sorted == added.sorted)
        #expect(counted.omitted == added.omitted && counted.errorCount == added.errorCount)
        #expect(built < 5_000)
    }
}
