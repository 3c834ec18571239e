import Foundation
import LevyPipeline
import Testing

/// The inbox is listed folder by folder on a thread of its own, ahead of the intake: the order is
/// still folders by name and each folder's files oldest first, whatever the window.
@Suite struct InboxListingTests {
    /// 30 folders with 0–3 files each (mtimes set out of name order), files still being written,
    /// hidden ones, a stray file and a symlinked folder at the top.
    func inbox() throws -> (TestRoot, expected: [String]) {
        let root = try TestRoot()
        var expected: [String] = []
        for n in 0..<30 {
            let folder = String(format: "F%02d", 29 - n)  // created in reverse name order
            try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(folder)"), withIntermediateDirectories: true)
            for k in 0..<(n % 4) {
                let name = "z\(k).csv"
                try root.write("Inbox/declarations/\(folder)/\(name)", "x")
                // Older as k grows: the listing must put z2 before z1 before z0.
                let when = Date(timeIntervalSince1970: 1_700_000_000 - Double(k) * 60)
                try FileManager.default.setAttributes([.modificationDate: when], ofItemAtPath: root.file("Inbox/declarations/\(folder)/\(name)"))
            }
            try root.write("Inbox/declarations/\(folder)/.hidden.csv", "x")
            try root.write("Inbox/declarations/\(folder)/upload.csv.part", "x")
        }
        for n in 0..<30 {
            let folder = String(format: "F%02d", n)
            let count = (29 - n) % 4
            expected += (0..<count).reversed().map { "\(folder)/z\($0).csv" }
        }
        try root.write("Inbox/declarations/stray.csv", "x")
        try FileManager.default.createSymbolicLink(atPath: root.file("Inbox/declarations/link"), withDestinationPath: root.file("Inbox/declarations/F00"))
        return (root, expected)
    }

    @Test(arguments: [1, 3, 256])
    func foldersByNameFilesOldestFirstWhateverTheWindow(window: Int) throws {
        let (root, expected) = try inbox()
        let listing = InboxListing(root.file("Inbox/declarations"), window: window)
        defer { listing.stop() }
        var seen: [String] = []
        while let e = listing.next() { seen.append("\(e.folder)/\(e.name)") }
        #expect(seen == expected)
        #expect(listing.strays.map(\.name) == ["link", "stray.csv"], "a symlink is not a folder: it is never followed")
        #expect(listing.next() == nil)
        // The same order as the whole listing at once (used by the watch and the bank returns).
        let whole = listInbox(root.file("Inbox/declarations"))
        #expect(whole.folders.keys.sorted().flatMap { f in whole.folders[f]!.map { "\(f)/\($0.name)" } } == expected)
    }

    /// The intake stops early (a failure): the listing thread, waiting for room in its window, ends.
    @Test func stoppingEarlyEndsTheListingThread() throws {
        let (root, _) = try inbox()
        weak var gone: InboxListing?
        do {
            let listing = InboxListing(root.file("Inbox/declarations"), window: 1)
            gone = listing
            _ = listing.next()
            usleep(100_000)  // time for the thread to list the next folder and wait for room
            listing.stop()
        }
        let deadline = Date().addingTimeInterval(10)
        while gone != nil && Date() < deadline { usleep(1_000) }
        #expect(gone == nil, "the thread still holds the listing")
    }

    /// A file whose name is not UTF-8 (a Chinese Windows client's GBK `工资.csv`) used to be listed
    /// under a name that does not exist and left in the inbox forever, unreported. It is renamed in
    /// place — to what the name says in GB18030, else with its stray bytes as `%XX` — and taken.
    @Test func aNameThatIsNotUTF8IsRenamedAndTaken() throws {
        let root = try TestRoot()
        func drop(_ folder: String, _ rawName: [UInt8], _ text: String) throws {
            try FileManager.default.createDirectory(atPath: root.file("Inbox/declarations/\(folder)"), withIntermediateDirectories: true)
            let path = Array((root.file("Inbox/declarations/\(folder)") + "/").utf8) + rawName + [0]
            let fd = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o644) } }
            #expect(fd >= 0)
            _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        try drop(Sample.softwareCo, [0xB9, 0xA4, 0xD7, 0xCA] + Array(".csv".utf8),  // 工资.csv in GBK
                 csv(Sample.softwareCo, "2026-11", [(Sample.persons[0], "张三", "6000", "")]))
        try drop(Sample.tradingCo, [0x78, 0xFF, 0xFE] + Array(".csv".utf8),
                 csv(Sample.tradingCo, "2026-11", [(Sample.persons[1], "李四", "6500", "")]))
        // A listing that is not an intake's (`levy status`, the watch's stability look) renames nothing.
        _ = listInbox(root.file("Inbox/declarations"))
        let gbkPath = Array((root.file("Inbox/declarations/\(Sample.softwareCo)") + "/").utf8) + [0xB9, 0xA4, 0xD7, 0xCA] + Array(".csv".utf8) + [0]
        var st = stat()
        #expect(gbkPath.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { lstat($0.baseAddress!, &st) } } == 0)
        try root.run("2026-11-02T09:00:00")
        #expect(root.files(under: "Inbox/declarations").isEmpty)
        #expect(try root.receipts(Sample.softwareCo).first?["file"] as? String == "工资.csv")
        #expect(try root.receipts(Sample.tradingCo).first?["file"] as? String == "x%FF%FE.csv")
        #expect(Set(root.files(under: ".levy/archive/2026/11/02")) == ["工资.csv", "x%FF%FE.csv"])
    }

    @Test func namesAreMadeUTF8() {
        #expect(utf8Name([0xB9, 0xA4, 0xD7, 0xCA] + Array(".csv".utf8)) == "工资.csv")
        // Not GB18030 either (0xFF): the valid UTF-8 kept, the rest escaped.
        #expect(utf8Name([0x61, 0xC3, 0xA9, 0xFF, 0x2E, 0x63]) == "aé%FF.c")
        #expect(utf8Name([0x80]) == "%80")
    }
}
