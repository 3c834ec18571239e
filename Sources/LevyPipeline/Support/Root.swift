import Foundation

/// The folders of one levy root (SPEC §1).
package struct Root: Sendable {
    package let url: URL
    /// The root's absolute path, standardized once (every output path is made from it).
    package let path: String
    private let prefix: String

    package init(path: String) {
        url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        self.path = url.path
        prefix = self.path.hasSuffix("/") ? self.path : self.path + "/"
    }

    /// A path inside the root, from one relative to it (`Outbox/receipts/…`).
    package func path(_ relative: String) -> String {
        relative.hasPrefix("/") ? prefix + relative.drop { $0 == "/" } : prefix + relative
    }

    package var declarationsInbox: String { path("Inbox/declarations") }
    package var bankInbox: String { path("Inbox/bank") }
    package var rules: String { path("Rules") }
    package var state: String { path(".levy") }
    package var ledger: String { path(".levy/ledger.sqlite") }
    package var quarantine: String { path(".levy/quarantine") }
    package var lock: String { path(".levy/lock") }

    /// Creates the folders levy writes to (inbox folders too, so an agency can start from an empty
    /// root), before any work: a file in the way of one (`Outbox/receipts`, `.levy/metrics`…) stops
    /// levy at once with its path, not after the day's work.
    package func prepare() throws {
        for p in ["Inbox/declarations", "Inbox/bank", "Outbox/receipts", "Outbox/rejections", "Outbox/notices",
                  "Outbox/debits", "Outbox/reports", ".levy/archive", ".levy/quarantine", ".levy/metrics", ".levy/tmp"] {
            try Folders.ensure(path(p))
        }
    }
}

extension Root {
    /// Complete or not, the files waiting in `Inbox/` (declarations and bank returns).
    package func filesWaiting() -> Int {
        [declarationsInbox, bankInbox].reduce(0) { total, dir in
            let (folders, strays) = listInbox(dir)
            return total + strays.count + folders.values.reduce(0) { $0 + $1.count }
        }
    }

    /// Quarantined inputs (each has a `.reason.txt` beside it).
    package func quarantinedFiles() -> Int {
        guard let walker = FileManager.default.enumerator(atPath: quarantine) else { return 0 }
        var n = 0
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".reason.txt") { n += 1 }
        }
        return n
    }
}
