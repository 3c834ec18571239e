import LevyDomain

/// How one declaration file is read. The plain way is one pass: scan the bytes (SHA-256, encoding),
/// then parse and check them (``DeclarationFileCheck/check(fd:name:scanned:folderEmployer:completing:)``).
/// Four faster ways give exactly what that pass gives — the tests compare them file for file — and
/// each is chosen here, in one place, for the reason written beside it:
///
/// - ``whileScanning``: parse while the other core scans (``BackgroundScan``);
/// - ``halves``: the same, a CSV file read in two halves at once (``DeclarationFileCheck/readInHalves(fd:name:size:bom:folderEmployer:)``);
/// - an XML file's XSD validation beside its read (``AsideValidation``; part of ``whileScanning``);
/// - small files read ahead on the other core while the one before is in the ledger
///   (``Lookahead``, chosen by ``readsAhead(size:fileCheck:)``).
enum ReadingPlan: Equatable {
    /// Scan, then parse: small files (a second thread costs more than it saves), a file whose first
    /// bytes show UTF-16 or that is too large (the scan's findings decide it), and anything when the
    /// faster ways are turned off.
    case onePass
    /// Parse as UTF-8 while the other core scans. A CSV file from ``DeclarationFileCheck/overlapBytes``:
    /// the scan and the parse each take about half of a file's time. An XML file from
    /// ``DeclarationFileCheck/validationAsideBytes``: its XSD validation (two thirds of its parse) runs on
    /// a third thread. If the scan finds the bytes were not plain UTF-8, the file is read again in one pass.
    case whileScanning
    /// A CSV file from ``DeclarationFileCheck/splitBytes``: its two halves are parsed at once, while
    /// the scan runs — the parse is the longest part of a large file.
    case halves

    /// The plan for a file of `size` bytes whose first four bytes are `head` (nil: fewer than four).
    static func choose(format: DeclarationFormat?, size: Int64, head: [UInt8]?, check: DeclarationFileCheck) -> ReadingPlan {
        guard let head, size <= check.rules.maxFileBytes,
              !head.starts(with: [0xFF, 0xFE]), !head.starts(with: [0xFE, 0xFF]) else { return .onePass }
        switch format {
        case .csv?:
            if size >= check.splitBytes { return .halves }
            return size >= check.overlapBytes ? .whileScanning : .onePass
        case .xml?:
            return check.validationAsideBytes.map { size >= $0 } == true ? .whileScanning : .onePass
        case nil:
            return .onePass
        }
    }

    /// Whether a file of `size` bytes is small enough to be read ahead: a file below the sizes where
    /// a read uses the other core itself (``whileScanning``, ``halves``).
    static func readsAhead(size: Int64, fileCheck: DeclarationFileCheck) -> Bool {
        size < min(fileCheck.overlapBytes, fileCheck.splitBytes)
    }
}
