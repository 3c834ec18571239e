import Foundation
import LevyDomain
@testable import LevyPipeline
import Testing

/// The one place that picks how a file is read: each faster way only where its reason holds.
@Suite struct ReadingPlanTests {
    @Test func eachWayIsChosenWhereItsReasonHolds() throws {
        let root = try TestRoot()
        let levy = try root.levy()
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        var check = DeclarationFileCheck(rules: levy.loaded.rules, schema: levy.loaded.declarationSchema, now: now, ledger: nil)
        check.validationAsideBytes = 1 << 20
        let ascii: [UInt8] = Array("姓名".utf8.prefix(4))
        func plan(_ format: DeclarationFormat?, _ size: Int64, _ head: [UInt8]? = nil) -> ReadingPlan {
            ReadingPlan.choose(format: format, size: size, head: head ?? ascii, check: check)
        }
        #expect(plan(.csv, 10_000) == .onePass)
        #expect(plan(.csv, 2 << 20) == .whileScanning)
        #expect(plan(.csv, 5 << 20) == .halves)
        #expect(plan(.csv, 5 << 20, [0xFF, 0xFE, 0x41, 0x00]) == .onePass, "UTF-16: the scan's findings decide")
        #expect(ReadingPlan.choose(format: .csv, size: 5 << 20, head: nil, check: check) == .onePass, "fewer than four bytes")
        #expect(plan(.csv, levy.loaded.rules.maxFileBytes + 1) == .onePass, "too large: rejected from the scan")
        #expect(plan(.xml, 2 << 20) == .whileScanning)
        #expect(plan(.xml, 10_000) == .onePass)
        #expect(plan(nil, 5 << 20) == .onePass)
        check.validationAsideBytes = nil
        #expect(plan(.xml, 5 << 20) == .onePass)
        #expect(ReadingPlan.readsAhead(size: 10_000, fileCheck: check))
        #expect(!ReadingPlan.readsAhead(size: 2 << 20, fileCheck: check))
    }
}
