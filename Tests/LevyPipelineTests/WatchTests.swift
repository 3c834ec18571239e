import Foundation
import LevyPipeline
import Testing

@Suite struct WatchTests {
    /// A file dropped into a watched root becomes a receipt; SIGTERM stops levy cleanly (exit 0).
    /// Polls with a generous deadline: it asserts the outcome, never the speed.
    @Test func watchPicksUpAFileAndStopsCleanlyOnSIGTERM() throws {
        let root = try TestRoot()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try levyBinary())
        p.arguments = ["watch", "--root", root.path, "--interval", "0.2"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
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
}
