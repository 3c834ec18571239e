import Foundation
import LevyDomain
import LevyLedger

/// `levy check FILE`: one declaration file checked as intake would check it — the same reading, the
/// same findings, the same rosters asked of the ledger — and nothing kept. The result prints as the
/// rejection report (or one accepted line) and encodes as JSON (SPEC §2).
package struct FileCheck: Encodable, Sendable {
    package var accepted: Bool
    package var report: RejectionReport
    package var totals: Totals?

    /// What an accepted file would owe.
    package struct Totals: Encodable, Sendable {
        var headcount: Int
        var totalWageBaseFen: Int64
        var employerFen: Int64
        var employeeFen: Int64
        var totalFen: Int64
        init(_ t: ContributionTotals) {
            headcount = t.headcount
            totalWageBaseFen = t.totalBaseFen
            employerFen = t.employerFen
            employeeFen = t.employeeFen
            totalFen = t.totalFen
        }
        enum CodingKeys: String, CodingKey {
            case headcount, totalWageBaseFen = "total_wage_base_fen", employerFen = "employer_fen", employeeFen = "employee_fen", totalFen = "total_fen"
        }
    }

    enum CodingKeys: String, CodingKey { case accepted, report, totals }

    /// The accepted line and its warnings, or the report.
    package let text: String

    /// The employer `--employer` names, as the folder a file is checked as if dropped in.
    /// - Throws: ``LevyError`` (`OP-EMPLOYER-UNKNOWN`) for an employer Rules do not list.
    package static func folderEmployer(_ id: String?, rules: Rules) throws -> Employer? {
        guard let id else { return nil }
        guard let employer = rules.employer(id.uppercased()) else {
            throw LevyError(.unknownEmployer, "--employer \(id) is not in Rules/employers.csv", fix: "check the credit code", file: "Rules/employers.csv")
        }
        return employer
    }

    /// Checks the file at `path`. A symlink or special file is a finding (`E-FILE-TYPE`), as in the inbox.
    /// - Throws: ``LevyError`` for a path with no file (`LEVY-FILE-MISSING`) or one that cannot be opened.
    package static func of(path: String, loaded: LoadedRules, ledger: (any Ledger)?, now: AgencyTime,
                           folderEmployer: Employer?, showsProgress: Bool) throws -> FileCheck {
        let name = (path as NSString).lastPathComponent
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw LevyError(.noSuchFile, "\(path): no such file", fix: "give the path of a declaration", file: path)
        }
        var fileCheck = DeclarationFileCheck(rules: loaded.rules, schema: loaded.declarationSchema, now: now, ledger: ledger)
        fileCheck.showsProgress = showsProgress
        fileCheck.validationAsideBytes = Tuning().validationAsideFrom
        var findings = FindingList()
        var outcome: DeclarationFileCheck.Outcome?
        var sha = ""
        if (st.st_mode & S_IFMT) != S_IFREG {
            findings.add(Finding(code: .fileType, value: name, message: "不是普通文件（符号链接或特殊文件）/ Not a regular file: give the file itself"))
        } else {
            guard let (fd, _) = openRegularFile(path) else {
                throw LevyError.system("cannot open", path, fix: "check that levy may read it")
            }
            defer { close(fd) }
            let (scanned, checked) = try fileCheck.scanAndCheck(fd: fd, name: name, folderEmployer: folderEmployer) { _ in true }
            let settled = try fileCheck.settle(checked!, fd: fd, name: name, scanned: scanned, folderEmployer: folderEmployer)
            sha = scanned.sha256
            outcome = settled
            findings = settled.check.findings
        }
        let accepted = !findings.hasErrors
        let report = RejectionReport(file: name, sha256: sha, employerID: outcome?.check.employer?.id.text,
                                     period: outcome?.check.period?.description, receivedAt: now.iso8601, findings: findings,
                                     encoding: outcome?.encoding)
        let text: String
        if accepted, let check = outcome?.check {
            let t = check.totals
            text = (["\(name): 可以受理 accepted — \(t.headcount) 人 persons, 缴费基数 wage base \(Yuan.format(t.totalBaseFen)), 应缴 total \(Yuan.format(t.totalFen)) (单位 employer \(Yuan.format(t.employerFen)), 个人 employee \(Yuan.format(t.employeeFen)))"]
                    + findings.warnings.map { "  " + $0.textLine }).joined(separator: "\n") + "\n"
        } else {
            text = report.text + "\n"
        }
        return FileCheck(accepted: accepted, report: report, totals: outcome.map { Totals($0.check.totals) }, text: text)
    }
}
