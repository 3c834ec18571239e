import Foundation
import LevyPipeline
import Testing

@Suite struct WatchTests {
    /// A file dropped into a watched root becomes a receipt; SIGTERM stops levy cleanly (exit 0).
    /// Polls with a generous deadline: it asserts the outcome, never the speed.
    @Test func watchPicksUpAFileAndStopsCleanlyOnSIGTERM() throws {
        let root = try TestRoot()
        let p = try startLevy(["watch", "--root", root.path, "--interval", "0.2"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        // A partial upload under a temporary name is left alone; the renamed, complete file is taken.
        try root.drop(Sample.softwareCo, "upload.csv.part", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        usleep(600_000)
        #expect(root.exists("Inbox/declarations/\(Sample.softwareCo)/upload.csv.part"))
        try FileManager.default.moveItem(atPath: root.file("Inbox/declarations/\(Sample.softwareCo)/upload.csv.part"),
                                         toPath: root.file("Inbox/declarations/\(Sample.softwareCo)/upload.csv"))
        let deadline = Date().addingTimeInterval(60)
        while try Date() < deadline && root.receipts(Sample.softwareCo).isEmpty { usleep(100_000) }
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
    }

    /// inotify: with a 10-minute interval, a file renamed into the inbox and one written in place are
    /// both taken within a couple of looks (polling alone would wait out the interval).
    @Test func inotifyWakesTheWatchLongBeforeTheInterval() throws {
        let root = try TestRoot()
        let p = try startLevy(["watch", "--root", root.path, "--interval", "600", "--as-of", "2026-11-03T09:00:00"])
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        usleep(500_000)  // let it take its first look and set up its watches
        // Renamed in, as a careful sender delivers (the new employer folder is watched as it appears).
        try root.write("staging/a.csv", csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(Sample.softwareCo)"), withIntermediateDirectories: true)
        usleep(200_000)
        try FileManager.default.moveItem(atPath: root.file("staging/a.csv"), toPath: root.file("Inbox/declarations/\(Sample.softwareCo)/a.csv"))
        // Written in place.
        try root.drop(Sample.tradingCo, "b.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        let deadline = Date().addingTimeInterval(120)  // far below the 600 s interval, far above what it takes
        while try Date() < deadline && (root.receipts(Sample.softwareCo).isEmpty || root.receipts(Sample.tradingCo).isEmpty) {
            usleep(100_000)
        }
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// SIGTERM and SIGINT while a large file is in hand: the service group asks the watch to stop,
    /// the file is finished (receipt, archive, ledger), no other file is started, levy exits 0;
    /// a later `levy run` takes what was left, and every file ends with exactly one receipt.
    @Test(arguments: [SIGTERM, SIGINT])
    func stopDuringALargeFileFinishesItAndStartsNoOther(signal: Int32) throws {
        let root = try TestRoot()
        let big = try bigDeclaration(in: root, rows: 150_000)
        let log = root.file("watch.log")
        let p = try startLevy(["watch", "--root", root.path, "--interval", "0.2", "--as-of", "2026-11-03T09:00:00"], stderrTo: log)
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(Sample.softwareCo)"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: big, toPath: root.file("Inbox/declarations/\(Sample.softwareCo)/big.csv"))
        let deadline = Date().addingTimeInterval(120)
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        while Date() < deadline && !logText().contains("declaration file taken") { usleep(20_000) }
        // A second file arrives while the first is in hand, then the stop signal.
        try root.drop(Sample.tradingCo, "small.csv", csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6000", "")]))
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0)
        let text = logText()
        #expect(text.contains("stop requested"))
        #expect(text.contains("stopped cleanly"))
        // The file in hand was finished, not abandoned.
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(!root.exists("Inbox/declarations/\(Sample.softwareCo)/big.csv"))
        // Nothing half-written anywhere in the outbox.
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: root.file("Outbox")).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)
        // Nothing lost: the next run takes the small file if the watch had not, and nothing twice.
        let after = try levy(["run", "--root", root.path, "--as-of", "2026-11-03T09:05:00"])
        #expect(after.status == 0)
        #expect(try root.receipts(Sample.softwareCo).count == 1)
        #expect(try root.receipts(Sample.tradingCo).count == 1)
    }
}
