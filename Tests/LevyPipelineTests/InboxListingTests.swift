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
}
