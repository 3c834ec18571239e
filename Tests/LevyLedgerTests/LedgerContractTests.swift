import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import Testing

/// The behaviour every ledger backend must have, written once against the `Ledger` seam and run
/// against each backend (SQLite today; PostgreSQL joins `Backend.all` when SPEC §12 is built). The
/// pipeline's tests check what levy does with it; these check what the pipeline relies on.
enum Backend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    var testDescription: String { rawValue }

    /// A fresh, empty ledger, and how to open the same one again (as after a crash).
    func make() throws -> (ledger: any Ledger, reopen: () throws -> any Ledger, cleanup: () -> Void) {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("levy-contract-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let path = dir.appendingPathComponent("ledger.sqlite").path
            return (try LedgerStore.open(.ledgerFile(path)), { try LedgerStore.open(.ledgerFile(path)) }, { try? FileManager.default.removeItem(at: dir) })
        }
    }
}

@Suite struct LedgerContractTests {
    static func declaration(_ employer: EmployerID, _ period: Period, seq: Int = 1, state: DeclarationState = .accepted, total: Fen = 100_00)
        -> DeclarationRecord {
        DeclarationRecord(id: "\(employer)-\(period.compact)-0\(seq)", employerID: employer, period: period,
                          seq: seq, state: state, headcount: 1, totalBaseFen: 6000_00, employerFen: total, employeeFen: 0, totalFen: total,
                          contributionsJSON: "{}", collection: .debit, due: "\(period)-10T17:00:00+08:00", dueDate: period.day(10),
                          receivedAt: "\(period)-03T10:00:00+08:00", supersedes: nil)
    }

    static func file(_ sha: String, _ folder: String, outcome: FileOutcome = .accepted) -> FileRecord {
        FileRecord(sha256: sha, folder: folder, name: "\(sha).csv", receivedAt: "2026-11-03T10:00:00+08:00", receivedDate: "2026-11-03",
                   outcome: outcome, inboxPath: "Inbox/x/\(sha).csv", archivePath: ".levy/archive/\(sha).csv")
    }

    /// Accepts a declaration with its roster, as intake does.
    static func accept(_ ledger: any Ledger, _ d: DeclarationRecord, persons: [Int64], sha: String, replacing old: DeclarationRecord? = nil) throws {
        var change = LedgerChange()
        change.file = file(sha, d.employerID.text)
        change.newDeclaration = (d, RosterSource(persons.map { RosterEntry(personKey: $0, change: .continuing, baseFen: 6000_00) }))
        if var old {
            old.state = .superseded
            change.declarationUpdates.append(old)
        }
        change.money.append(MoneyMovement(day: "2026-11-03", kind: .declared, declarationID: d.id, employerID: d.employerID, amountFen: d.totalFen))
        change.journal.append(JournalEntry(at: "2026-11-03T10:00:00+08:00", operatorID: "levy", action: "declaration_accepted", subject: d.id,
                                           employer: d.employerID.text, detail: "{}"))
        change.outputs.append(PendingOutput(path: "Outbox/receipts/\(d.employerID)/\(d.id).json", content: Array("{}".utf8)))
        try ledger.apply(change)
    }

    @Test(arguments: Backend.allCases)
    func theCurrentDeclarationOfAPeriodAndItsReplacement(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        let first = Self.declaration("A", "2026-11")
        try Self.accept(ledger, first, persons: [1, 2], sha: "s1")
        #expect(try ledger.currentDeclaration(employer: "A", period: "2026-11")?.id == first.id)
        #expect(try ledger.nextSequence(employer: "A", period: "2026-11") == 2)
        let second = Self.declaration("A", "2026-11", seq: 2, total: 150_00)
        try Self.accept(ledger, second, persons: [1, 3], sha: "s2", replacing: first)
        #expect(try ledger.currentDeclaration(employer: "A", period: "2026-11")?.id == second.id)
        #expect(try ledger.declaration(id: first.id)?.state == .superseded)
        #expect(try ledger.currentDeclaration(employer: "A", period: "2026-12") == nil)
        #expect(try ledger.declarations(states: [.accepted], period: "2026-11").map(\.id) == [second.id])
    }

    @Test(arguments: Backend.allCases)
    func rostersArePerPeriodAndPersonsInsuredElsewhereAreFound(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        try Self.accept(ledger, Self.declaration("A", "2026-10"), persons: [5, 1, 3], sha: "a10")
        try Self.accept(ledger, Self.declaration("B", "2026-11"), persons: [3, 9], sha: "b11")
        let previous = try #require(try ledger.previousDeclaration(employer: "A", before: "2026-11"))
        let (roster, elsewhere) = try ledger.withRosterReaders(previous: previous, period: "2026-11", except: "A", additions: 3) { readers in
            var keys: [Int64] = []
            while let next = readers.previous, let key = try next() { keys.append(key) }
            return (keys, try [1, 3, 9].map { try readers.insuredElsewhere($0) })
        }
        #expect(roster == [1, 3, 5], "the previous roster, ascending")
        #expect(elsewhere == [nil, "B", "B"], "insured by B in November")
        #expect(try ledger.previousDeclaration(employer: "A", before: "2026-10") == nil)
    }

    @Test(arguments: Backend.allCases)
    func aChangeIsAllOrNothing(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        var change = LedgerChange()
        change.file = Self.file("x", "A")
        change.newDeclaration = (Self.declaration("A", "2026-11"), RosterSource([]))
        change.outputs.append(PendingOutput(path: "Outbox/x.json", content: [1]))
        change.confirm = { throw CancellationError() }
        #expect(throws: CancellationError.self) { try ledger.apply(change) }
        #expect(try ledger.currentDeclaration(employer: "A", period: "2026-11") == nil)
        #expect(try ledger.file(sha256: "x", folder: "A") == nil)
        #expect(try ledger.pendingOutputs().isEmpty)
        #expect(try ledger.journal(employer: nil, from: nil, to: nil).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func aFileIsTakenOnceAndOutputsSurviveACrashUntilWritten(_ backend: Backend) throws {
        let (ledger, reopen, cleanup) = try backend.make()
        defer { cleanup() }
        try Self.accept(ledger, Self.declaration("A", "2026-11"), persons: [1], sha: "s1")
        // The same bytes from the same folder again: the ledger refuses a second record.
        var again = LedgerChange()
        again.file = Self.file("s1", "A")
        #expect(throws: (any Error).self) { try ledger.apply(again) }
        #expect(try ledger.file(sha256: "s1", folder: "A")?.outcome == .accepted)
        // A crash between the ledger and the outbox: the outputs are still owed after reopening.
        let reopened = try reopen()
        #expect(try reopened.pendingOutputs().map(\.path) == ["Outbox/receipts/A/A-202611-01.json"])
        #expect(try reopened.filesNotArchived().map(\.sha256) == ["s1"])
        try reopened.finishBatch(written: ["Outbox/receipts/A/A-202611-01.json"], archived: [("s1", "A")])
        try reopened.barrier()
        #expect(try reopened.pendingOutputs().isEmpty)
        #expect(try reopened.filesNotArchived().isEmpty)
        #expect(try reopened.outputExists(path: "Outbox/receipts/A/A-202611-01.json"))
    }

    @Test(arguments: Backend.allCases)
    func aDebitInFlightIsAnsweredOnceAndSettledOnce(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        var d = Self.declaration("A", "2026-11")
        try Self.accept(ledger, d, persons: [1], sha: "s1")
        var cut = LedgerChange()
        d.state = .inFlight
        d.debitDate = "2026-11-06"
        d.debitMsgID = "LEVY-ICBC01-20261106"
        cut.declarationUpdates = [d]
        cut.debitMessage = DebitMessage(msgID: "LEVY-ICBC01-20261106", bankCode: "ICBC01", collectionDate: "2026-11-06", path: "Outbox/debits/x.xml",
                                        transactions: [DebitTransaction(declarationID: d.id, amountFen: d.totalFen)])
        cut.cutDone = "2026-11-06"
        try ledger.apply(cut)
        #expect(try ledger.cutDone(collectionDate: "2026-11-06"))
        #expect(try ledger.debitMessages(collectionDate: "2026-11-06").map(\.transactions.count) == [1])
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").map(\.id) == [d.id])
        // The bank confirms it: paid, awaiting its credit; a credit settles it once.
        var paid = d
        paid.state = .paid
        paid.paidFen = d.totalFen
        paid.channel = .debit
        var answer = LedgerChange()
        answer.declarationUpdates = [paid]
        answer.transactionUpdates = [("LEVY-ICBC01-20261106", DebitTransaction(declarationID: d.id, amountFen: d.totalFen, status: "ACSC"))]
        try ledger.apply(answer)
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").map(\.state) == [.paid])
        #expect(try ledger.settleConfirmedDebits([(d.id, d.totalFen + 1, "2026-11-07")], bank: "ICBC01") == [false], "another amount")
        #expect(try ledger.settleConfirmedDebits([(d.id, d.totalFen, "2026-11-07")], bank: "CCB01") == [false], "another bank")
        #expect(try ledger.settleConfirmedDebits([("nobody", d.totalFen, "2026-11-07"), (d.id, d.totalFen, "2026-11-07"),
                                                  (d.id, d.totalFen, "2026-11-07")], bank: "ICBC01") == [false, true, false],
                "the first of two credits for one debit settles it")
        #expect(try ledger.settleConfirmedDebits([(d.id, d.totalFen, "2026-11-08")], bank: "ICBC01") == [false], "settled once")
        try ledger.barrier()
        #expect(try ledger.declaration(id: d.id)?.settledOn == "2026-11-07")
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").isEmpty)
    }

    /// Declarations in some states, of every period, are found period by period (a loose scan of the
    /// periods, not a read of every declaration); a reversal takes a settlement away.
    @Test(arguments: Backend.allCases)
    func declarationsInAStateAreFoundInEveryPeriod(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        let periods: [Period] = ["2026-08", "2026-09", "2026-10", "2026-11"]
        var overdue: [String] = []
        for (i, period) in periods.enumerated() {
            for (n, employer) in (["A", "B", "C"] as [EmployerID]).enumerated() {
                var d = Self.declaration(employer, period)
                try Self.accept(ledger, d, persons: [Int64(10 * i + n)], sha: "s\(i)\(n)")
                // Overdue: A in August and October, B in October; the rest stay accepted or are paid.
                let late = (i == 0 && n == 0) || (i == 2 && n < 2)
                if late || n == 2 {
                    d.state = late ? .overdue : .paid
                    var change = LedgerChange()
                    change.declarationUpdates = [d]
                    try ledger.apply(change)
                    if late { overdue.append(d.id) }
                }
            }
        }
        #expect(try ledger.periods(states: [.overdue]) == ["2026-08", "2026-10"])
        #expect(try ledger.periods(states: [.accepted, .overdue]) == periods)
        #expect(try ledger.periods(states: [.failed]).isEmpty)
        #expect(try ledger.declarations(states: [.overdue], period: nil).map(\.id) == overdue)
        #expect(try Set(ledger.declarations(states: [.paid, .overdue], period: nil).map(\.id)).count == 4 + 3)
        #expect(try ledger.declarations(states: [.overdue], period: "2026-10").map(\.id) == Array(overdue.dropFirst()))
        // A debit confirmed, credited, then returned: settled, then no longer.
        var d = try #require(try ledger.declarations(states: [.accepted], period: "2026-11").first)
        d.state = .paid
        d.channel = .debit
        d.paidFen = d.totalFen
        d.debitDate = "2026-11-06"
        d.settledOn = "2026-11-07"
        var settle = LedgerChange()
        settle.declarationUpdates = [d]
        try ledger.apply(settle)
        #expect(try ledger.declaration(id: d.id)?.settledOn == "2026-11-07")
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").isEmpty, "settled: the bank is done with it")
        // As a reversal leaves it (WhatIsOwed's undoPayment): owed again, past its due date.
        d.reversedFen = d.paidFen
        d.paidFen = 0
        d.channel = nil
        d.settledOn = nil
        d.state = .overdue
        var reverse = LedgerChange()
        reverse.declarationUpdates = [d]
        try ledger.apply(reverse)
        #expect(try ledger.declaration(id: d.id)?.settledOn == nil)
        #expect(try ledger.declaration(id: d.id)?.state == .overdue)
        #expect(try ledger.awaitingBank(collectedOnOrBefore: "2026-11-30").isEmpty, "owed at the counter, not awaited from the bank")
    }

    @Test(arguments: Backend.allCases)
    func arrearsAndTheReceivableFollowTheMovements(_ backend: Backend) throws {
        let (ledger, _, cleanup) = try backend.make()
        defer { cleanup() }
        var d = Self.declaration("A", "2026-11", total: 1000_00)
        try Self.accept(ledger, d, persons: [1], sha: "s1")
        #expect(try !ledger.hasArrears(employer: "A"))
        d.state = .overdue
        var late = LedgerChange()
        late.declarationUpdates = [d]
        try ledger.apply(late)
        #expect(try ledger.hasArrears(employer: "A"))
        // A part-payment on the 13th: a fee charged, part of the money received.
        d.feeChargedFen = 150
        d.paidFen = 400_00
        var pay = LedgerChange()
        pay.declarationUpdates = [d]
        pay.money = [MoneyMovement(day: "2026-11-13", kind: .lateFee, declarationID: d.id, employerID: "A", amountFen: 150, ref: "RP-1"),
                     MoneyMovement(day: "2026-11-13", kind: .paid, declarationID: d.id, employerID: "A", amountFen: 400_00, ref: "RP-1")]
        try ledger.apply(pay)
        #expect(try ledger.receivable(before: "2026-11-13") == 1000_00)
        #expect(try ledger.receivable(before: "2026-11-14") == 1000_00 + 150 - 400_00)
        #expect(try ledger.receivableOutstanding() == 1000_00 + 150 - 400_00)
        #expect(try Dictionary(uniqueKeysWithValues: ledger.moneyTotals(day: "2026-11-13").map { ($0.kind, $0.fen) }) == [.lateFee: 150, .paid: 400_00])
        #expect(try ledger.movements(declarationID: d.id).map(\.kind) == [.lateFee, .paid], "payments kept one by one")
        #expect(try ledger.hasArrears(employer: "A"), "still in arrears for the rest")
    }

    @Test(arguments: Backend.allCases)
    func theJournalIsOneChainAcrossChanges(_ backend: Backend) throws {
        let (ledger, reopen, cleanup) = try backend.make()
        defer { cleanup() }
        try Self.accept(ledger, Self.declaration("A", "2026-11"), persons: [1], sha: "s1")
        try Self.accept(ledger, Self.declaration("B", "2026-11"), persons: [2], sha: "s2")
        let reopened = try reopen()
        guard case .intact(let count, let head) = try reopened.verifyJournal() else {
            Issue.record("the chain is broken")
            return
        }
        #expect(count == 2)
        #expect(head?.seq == 2)
        #expect(try reopened.journal(employer: "B", from: nil, to: nil).map(\.entry.subject) == ["B-202611-01"])
    }

    /// The factory is the one door: a location no backend serves is refused with a message that says
    /// what to give instead, and a read-only open creates nothing.
    @Test func theStoreOpensOnlyWhatABackendServes() throws {
        #expect { try LedgerStore.open(URL(string: "postgres://db.example/levy")!) } throws: { error in
            "\(error)".contains("no PostgreSQL ledger yet") && "\(error)".contains("SQLite")
        }
        #expect { try LedgerStore.open(URL(string: "ftp://example/ledger")!) } throws: { error in
            "\(error)".contains("give a file path or a postgres:// URL")
        }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("levy-none-\(UUID().uuidString).sqlite").path
        #expect(throws: (any Error).self) { try LedgerStore.open(.ledgerFile(missing), readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
