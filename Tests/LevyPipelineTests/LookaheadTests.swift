import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
@testable import LevyPipeline
import Testing

/// A day of small files: the next file is read and checked on the other core while the one before
/// it is in the ledger, and the receipts' temp files are written there too. Nothing of that may
/// change what a day produces, nor what a failure or a stop leaves behind.
@Suite struct LookaheadTests {
    /// Every kind of file a day brings, in the order that makes a later file depend on an earlier one.
    func dropDay(into root: TestRoot) throws {
        // Folders are taken in order: trading (9135…), software (9137…0), building (9137…2), restaurant (9137…3).
        try root.drop(Sample.tradingCo, "a.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[0], "张三", "6500", ""),
                                                                                (Sample.persons[3], "赵六", "7000", "")]))
        // Adds the person the trading company declared a moment before: insured elsewhere.
        try root.drop(Sample.softwareCo, "c.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", ""),
                                                                                  (Sample.persons[1], "李四", "100", "")]))
        try root.drop(Sample.softwareCo, "d.csv", "\u{FEFF}" + csv(Sample.softwareCo, "2026-11", [(Sample.persons[1], "李四", "7000", "")]))
        try root.drop(Sample.softwareCo, "e.xml", xml(Sample.softwareCo, "2026-10", [(Sample.persons[1], "李四", "6000.00", "")]))
        let building = csv(Sample.buildingCo, "2026-11", [(Sample.persons[2], "王五", "6000", "")])
        try root.drop(Sample.buildingCo, "f.csv", building)
        try root.drop(Sample.buildingCo, "g.csv", building)  // byte-identical: a duplicate
        try root.drop(Sample.buildingCo, "h.csv", "")
        try FileManager.default.createSymbolicLink(atPath: root.file("Inbox/declarations/\(Sample.buildingCo)/i.csv"),
                                                   withDestinationPath: "/etc/hostname")
        try root.write("Inbox/declarations/\(Sample.restaurant)/工资表.csv", gb18030(
            "姓名,公民身份号码,缴费工资,变动类型,所属期,统一社会信用代码\r\n\"周八, 小\",\(Sample.persons[5]),4800.00,,202611,\(Sample.restaurant)\r\n"))
        try root.write("Inbox/declarations/\(Sample.restaurant)/broken.csv", [0x80, 0x81, 0xFF, 0xFE, 0x80, 0x0A, 0xC3])
        try root.drop(Sample.restaurant, "k.xml", AsideValidationTests.schemaOnlyInvalid(Sample.restaurant))
        try root.drop("91110000000000000X", "j.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[4], "孙七", "6000", "")]))
        // One mtime for all, the symlink too (it is part of a non-regular file's identity): two roots, one day.
        let at = timespec(tv_sec: 1_793_000_000, tv_nsec: 0)
        for f in root.files(under: "Inbox/declarations") + ["i.csv"].map({ "\(Sample.buildingCo)/\($0)" }) {
            _ = utimensat(AT_FDCWD, root.file("Inbox/declarations/\(f)"), [at, at], AT_SYMLINK_NOFOLLOW)
        }
    }

    func contents(of root: TestRoot, under rel: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for f in root.files(under: rel) { result[f] = try Data(contentsOf: URL(fileURLWithPath: root.file("\(rel)/\(f)"))) }
        return result
    }

    /// Reading ahead (64 files, one, or one at a time for want of bytes) or not: the same day.
    @Test func readingAheadChangesNothingADayProduces() throws {
        var outboxes: [[String: Data]] = [], archives: [[String]] = [], declarations: [[String]] = [], readAhead: [Int] = []
        var mostAtOnce: [Int] = []
        for (reads, depth, bytes) in [(true, 64, Int64(8 << 20)), (true, 1, Int64(8 << 20)), (true, 64, Int64(1)), (false, 64, Int64(8 << 20))] {
            let root = try TestRoot()
            try dropDay(into: root)
            let levy = try root.levy()
            levy.tuning.readsAhead = reads
            levy.tuning.readAheadDepth = depth
            levy.tuning.readAheadBytes = bytes
            levy.tuning.batchSize = 3  // batches end between files read ahead, too
            try levy.run(now: try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00")))
            readAhead.append(try #require(try root.metric("levy_speed_files_read_ahead")))
            mostAtOnce.append(try #require(try root.metric("levy_speed_most_files_ahead")))
            outboxes.append(try contents(of: root, under: "Outbox").filter { !$0.key.hasPrefix("reports/") })
            archives.append(root.files(under: ".levy/archive") + root.files(under: ".levy/quarantine"))
            declarations.append(try root.ledger().declarations(states: DeclarationState.current + [.superseded], period: "2026-11")
                .map { "\($0.id) \($0.state.rawValue) \($0.totalFen)" }.sorted())
            #expect(root.files(under: "Inbox/declarations").isEmpty)
            #expect(root.files(under: "Outbox").allSatisfy { !$0.hasSuffix(".tmp") })
            #expect(try root.ledger().pendingOutputs().isEmpty)
        }
        // Every regular file of a registered employer but the first taken: a, b, c, d, e.xml, f, g, h,
        // broken, k.xml, 工资表 (the unregistered folder sorts first; the symlink i.csv is taken the usual way).
        #expect(readAhead == [11, 11, 11, 0])
        // 64 ahead: all twelve files after the first at once (the symlink's read finds no regular
        // file and leaves nothing to use); one ahead; one at a time for want of bytes, but the empty
        // h.csv holds none, so the symlink after it is read beside it; none.
        #expect(mostAtOnce == [12, 1, 2, 0])
        for other in outboxes.dropFirst() {
            let differing = Set(outboxes[0].keys).union(other.keys).filter { outboxes[0][$0] != other[$0] }.sorted()
            #expect(outboxes[0] == other, "outboxes differ: \(differing)")
        }
        #expect(outboxes[0].keys.contains { $0.hasPrefix("rejections/\(Sample.softwareCo)/c") })  // insured elsewhere
        #expect(outboxes[0].keys.contains { $0.hasPrefix("rejections/\(Sample.buildingCo)/g") })  // the duplicate
        #expect(outboxes[0].keys.contains { $0.hasPrefix("rejections/\(Sample.restaurant)/k") })  // the XSD refuses it
        #expect(Set(archives).count == 1)
        #expect(archives[0].count == 14)
        #expect(Set(declarations).count == 1)
        #expect(declarations[0].count == 5)  // a (superseded by b), b, d, f, 工资表
    }

    /// A file read ahead but not admitted (still being written, in a watch) is let go untouched and
    /// taken on a later look, from what it holds then.
    @Test func aFileReadAheadButNotAdmittedIsTakenLater() throws {
        let root = try TestRoot()
        try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        let late = try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        let levy = try root.levy()
        let now = try #require(levy.loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        levy.workplace.admits = { $0.name == "a.csv" }
        try levy.run(now: now)
        #expect(try root.metric("levy_speed_files_read_ahead") == 0)  // b.csv was read ahead (it comes first) and let go
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(root.exists(late))
        // The sender finishes the file: a second person.
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", ""),
                                                                                (Sample.persons[2], "王五", "6000", "")]))
        levy.workplace.admits = nil
        try levy.run(now: now)
        #expect(!root.exists(late))
        #expect(try root.receipts(Sample.tradingCo).first?["headcount"] as? Int == 2)
    }

    /// When the other core cannot write a receipt's temp file, the run fails loudly, and the batch is
    /// left as a crash would leave it: committed, its receipts still to write, its inputs in the inbox.
    /// The next run finishes it, taking nothing twice. With batches of one file, the batch before the
    /// failing one is being finished on the other core when the failure is found.
    @Test(arguments: [256, 1]) func aReceiptTheOtherCoreCannotWriteIsWrittenByTheNextRun(batchSize: Int) throws {
        let root = try TestRoot()
        let input = try root.drop(Sample.softwareCo, "a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        try root.write("Outbox/receipts/\(Sample.softwareCo)", "not a folder")
        let now = try #require(try root.levy().loaded.clock.parseAsOf("2026-11-03T09:00:00"))
        #expect(throws: LevyError.self) {
            let levy = try root.levy()
            levy.tuning.batchSize = batchSize
            try levy.run(now: now)
        }
        #expect(root.exists(input))
        #expect(try root.ledger().pendingOutputs().count == 4)
        #expect(try root.ledger().filesNotArchived().count == 2)
        #expect(root.files(under: "Outbox").allSatisfy { !$0.hasSuffix(".tmp") })

        try FileManager.default.removeItem(atPath: root.file("Outbox/receipts/\(Sample.softwareCo)"))
        try root.levy().run(now: now)
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.ledger().pendingOutputs().isEmpty)
        #expect(try root.ledger().declarations(states: DeclarationState.current, period: "2026-11").count == 2)
    }
}
