/// The stable codes of SPEC §3. `E-` rejects the declaration; `W-` is printed on the receipt.
package enum FindingCode: String, Sendable, Hashable, Codable, CaseIterable {
    case fileEncoding = "E-FILE-ENCODING"
    case fileEmpty = "E-FILE-EMPTY"
    case fileTooLarge = "E-FILE-TOO-LARGE"
    case fileType = "E-FILE-TYPE"
    case fileDuplicate = "E-FILE-DUPLICATE"
    case csvHeader = "E-CSV-HEADER"
    case csvRow = "E-CSV-ROW"
    case xmlSyntax = "E-XML-SYNTAX"
    case xmlSchema = "E-XML-SCHEMA"
    case employerID = "E-EMPLOYER-ID"
    case employerUnknown = "E-EMPLOYER-UNKNOWN"
    case employerMismatch = "E-EMPLOYER-MISMATCH"
    case period = "E-PERIOD"
    case idOld15 = "E-ID-OLD15"
    case idChecksum = "E-ID-CHECKSUM"
    case idBirthDate = "E-ID-BIRTHDATE"
    case personDuplicate = "E-PERSON-DUPLICATE"
    case baseFormat = "E-BASE-FORMAT"
    case baseBelowFloor = "E-BASE-BELOW-FLOOR"
    case baseRaised = "W-BASE-RAISED"
    case baseCapped = "W-BASE-CAPPED"
    case headcount = "E-HEADCOUNT"
    case rosterMissing = "E-ROSTER-MISSING"
    case rosterUnknown = "E-ROSTER-UNKNOWN"
    case personInsuredElsewhere = "E-PERSON-INSURED-ELSEWHERE"
    case removalArrears = "E-REMOVAL-ARREARS"
    case declarationLocked = "E-DECL-LOCKED"

    package var isError: Bool { rawValue.hasPrefix("E-") }
}

/// One problem (or warning) found in a declaration file: where, what, and how to fix it.
///
/// Rejections are data, not errors: findings flow into receipts and rejection reports.
package struct Finding: Sendable, Hashable, Codable {
    package let code: FindingCode
    /// 1-based line in the file (the record's first line for CSV); nil for file-level findings.
    package let line: Int?
    /// XML element path, e.g. `/Declaration/Persons/Person[3]/Id`; nil for CSV.
    package let path: String?
    /// The field, by its English column name (`person_id`, `wage_base`, …).
    package let field: String?
    /// The value found, person IDs masked.
    package let value: String?
    /// What is wrong and how to fix it, in Chinese then English.
    package let message: String

    package init(code: FindingCode, line: Int? = nil, path: String? = nil, field: String? = nil, value: String? = nil,
                 message: String) {
        self.code = code
        self.line = line
        self.path = path
        // Whatever a broken file puts where: no person ID leaves levy unmasked (see PersonID.redactEmbedded).
        self.field = field.map(PersonID.redactEmbedded)
        self.value = value.map(PersonID.redactEmbedded)
        self.message = PersonID.redactEmbedded(message)
    }

    /// The same finding, `lines` further down the file (a finding of a file's second half, read on its own).
    package func movedDown(by lines: Int) -> Finding {
        Finding(moving: self, to: line.map { $0 + lines })
    }

    private init(moving finding: Finding, to line: Int?) {
        code = finding.code
        self.line = line
        path = finding.path
        field = finding.field
        value = finding.value
        message = finding.message
    }
}

/// The findings of one file, capped so a broken million-row file yields a readable report.
///
/// When there are more than ``cap``, the ones kept are those nearest the top of the file (file-level
/// findings first), whatever order they were found in: roster findings come out in person order.
package struct FindingList: Sendable {
    package static let cap = 1000
    package private(set) var items: [Finding] = []
    /// The order each kept finding was found in, to keep sorting stable within a line.
    private var found: [Int] = []
    private var seen = 0
    /// Index in `items` of the kept finding that sorts last (valid when full).
    private var lastIndex = 0
    /// Findings beyond the cap, counted but not kept.
    package private(set) var omitted = 0
    package private(set) var errorCount = 0

    package init() {}

    private func sortsBefore(_ a: (line: Int, found: Int), _ b: (line: Int, found: Int)) -> Bool {
        a.line != b.line ? a.line < b.line : a.found < b.found
    }

    private func key(_ i: Int) -> (line: Int, found: Int) { (items[i].line ?? 0, found[i]) }

    package mutating func add(_ finding: Finding) {
        if finding.code.isError { errorCount += 1 }
        seen += 1
        if items.count < FindingList.cap {
            items.append(finding)
            found.append(seen)
            if items.count == FindingList.cap { findLast() }
            return
        }
        omitted += 1
        // Full: the new finding replaces the last kept one if it sorts before it.
        guard sortsBefore((finding.line ?? 0, seen), key(lastIndex)) else { return }
        items[lastIndex] = finding
        found[lastIndex] = seen
        findLast()
    }

    /// Whether a finding at `line` found now would be kept: the list is not full, or the line comes
    /// before the last one kept (on the same line, the one found first is kept).
    package func keeps(line: Int?) -> Bool {
        items.count < FindingList.cap || (line ?? 0) < (items[lastIndex].line ?? 0)
    }

    /// Counts a finding ``keeps(line:)`` said would be dropped, without it: what ``add(_:)`` of it
    /// would have counted.
    package mutating func countDropped(isError: Bool) {
        if isError { errorCount += 1 }
        seen += 1
        omitted += 1
    }

    private mutating func findLast() {
        var last = 0
        for i in 1..<items.count where sortsBefore(key(last), key(i)) { last = i }
        lastIndex = last
    }

    /// Takes in the findings of a file's second half, read on its own (its lines start after
    /// `lineOffset` lines of this one, and everything in it was found after everything here). Keeps
    /// what one list fed with both halves in turn would keep: the nearest the top, up to the cap.
    package mutating func append(_ rest: FindingList, lineOffset: Int) {
        let (seenHere, errorsHere) = (seen, errorCount)
        for i in rest.items.indices.sorted(by: { rest.found[$0] < rest.found[$1] }) {
            add(rest.items[i].movedDown(by: lineOffset))
        }
        seen = seenHere + rest.seen
        omitted = seen - items.count
        errorCount = errorsHere + rest.errorCount
    }

    package var hasErrors: Bool { errorCount > 0 }
    package var warnings: [Finding] { sorted.filter { !$0.code.isError } }

    /// Findings ordered by line (file-level ones first), stable within a line.
    package var sorted: [Finding] {
        items.indices.sorted { sortsBefore(key($0), key($1)) }.map { items[$0] }
    }
}
