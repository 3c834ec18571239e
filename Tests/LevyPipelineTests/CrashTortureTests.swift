import LevyTestSupport
import Foundation
import LevyDomain
import LevyLedger
import LevyPipeline
import Testing

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Kills `levy run` at random instants, many times, then lets it finish, and compares with a clean run.
@Suite(.serialized) struct CrashTortureTests {
    /// How many tortured runs met a full disk (the torture must really fill it).
    let diskFullRuns = Tally()
    static let employerCount = 300

    /// Registers extra employers with mandates and drops one declaration each (some broken).
    func populate(_ root: TestRoot) throws -> [String] {
        var employers: [String] = []
        var lines = ""
        for i in 0..<Self.employerCount {
            let id = EmployerID.withCheckCharacter("913701\(String(format: "%03d", i))MA3C5X12")!.text
            employers.append(id)
            let bank = i % 2 == 0 ? "ICBC01" : "CCB01"
            lines += "\(id),测试单位\(i),\(i % 8 + 1),\(bank),62220200000\(String(format: "%05d", i)),M-T-\(i),2025-01-01\n"
        }
        let path = root.file("Rules/employers.csv")
        let existing = try String(contentsOfFile: path, encoding: .utf8)
        try (existing + lines).write(toFile: path, atomically: true, encoding: .utf8)
        for (i, id) in employers.enumerated() {
            var rows: [(String, String, String, String)] = []
            for j in 0..<(3 + i % 5) { rows.append((Sample.person(i * 10 + j), "员工\(j)", "\(5000 + 37 * i + j).\(i % 10)0", "")) }
            if i % 7 == 3 { rows.append(("370102900101123", "旧号", "6000", "")) }   // rejected file
            try root.drop(id, "decl-\(i).csv", csv(id, "2026-11", rows))
        }
        return employers
    }

    func runToCompletion(_ root: TestRoot, asOf: String) throws {
        let r = try levy(["run", "--root", root.path, "--as-of", asOf])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// Starts `levy run` and SIGKILLs it after a random delay, `kills` times. On a file system of its
    /// own, some of the runs meet a full disk instead (filled to a random level, freed after); with
    /// `past`, some are asked to act at a time levy has already passed, and must change nothing.
    func torture(_ root: TestRoot, asOf: String, kills: Int, rng: inout SplitMix64, disk: SmallFileSystem? = nil, past: String? = nil) throws {
        for k in 0..<kills {
            // The first run of a phase meets a disk with next to no room: a full disk for sure.
            let roll = k == 0 ? 0 : Int.random(in: 0..<8, using: &rng)
            if let disk, roll < 2 {
                try disk.fill(leaving: k == 0 ? 40_000 : Int64.random(in: 40_000...3_000_000, using: &rng))
                let r = try levy(["run", "--root", root.path, "--as-of", asOf])
                try disk.release()
                #expect(r.status == 0 || r.stderr.contains("disk full"), "\(r.stderr.suffix(400))")
                if r.status != 0 { diskFullRuns.add() }
                continue
            }
            if let past, roll == 2 {
                let r = try levy(["run", "--root", root.path, "--as-of", past])
                #expect(r.status == 1 && r.stderr.contains("time cannot run backwards"), "\(r.stderr.suffix(400))")
                continue
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try levyBinary())
            p.arguments = ["run", "--root", root.path, "--as-of", asOf]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 1_000...400_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
    }

    /// Everything a user sees in Outbox (bytes), minus the day's derived reports' `as_of`-free parts, which are compared too.
    func snapshot(_ root: TestRoot) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for f in root.files(under: "Outbox") { result[f] = try Data(contentsOf: URL(fileURLWithPath: root.file("Outbox/\(f)"))) }
        return result
    }

    func checkInvariants(_ root: TestRoot) throws {
        #expect(root.files(under: "Inbox/declarations").isEmpty, "every input archived")
        #expect(root.files(under: "Inbox/bank").filter { !$0.hasSuffix(".gitkeep") }.isEmpty)
        let temps = (root.files(under: "Outbox") + root.files(under: ".levy/archive")).filter { $0.hasSuffix(".tmp") }
        #expect(temps.isEmpty, "no temporary files left: \(temps)")
        let ledger = try root.ledger()
        #expect(try ledger.integrityCheck().isEmpty)
        // Every change has its journal entry and the chain holds, whatever instant the kills hit.
        if case .broken(let seq, let reason) = try ledger.verifyJournal() { Issue.record("journal broken at \(seq): \(reason)") }
        let declared = Set(try ledger.declarations(states: DeclarationState.allCases, period: nil).map(\.id))
        let journaled = Set(try ledger.journal(employer: nil, from: nil, to: nil)
            .filter { ["declaration_accepted", "declaration_replaced"].contains($0.entry.action) }.map(\.entry.subject))
        #expect(declared == journaled, "a declaration without its entry, or an entry without its declaration")
        // No EndToEndId twice on one collection day; a later day only re-presents one the bank refused
        // with a retryable reason (AM04/MS03), and never one that was paid.
        var days: [String: [String]] = [:]
        for f in root.files(under: "Outbox/debits") {
            let day = String(f.suffix(12).prefix(8))
            days[day, default: []] += try BankSimulator.debits(in: root.file("Outbox/debits/\(f)")).debits.map(\.endToEndID)
        }
        for (day, ids) in days { #expect(Set(ids).count == ids.count, "an EndToEndId twice on \(day)") }
        var presented: [String: Int] = [:]
        for ids in days.values { for id in ids { presented[id, default: 0] += 1 } }
        for (id, times) in presented where times > 1 {
            let d = try #require(try ledger.declaration(id: id))
            #expect(d.state != .paid || d.channel == .debit, "\(id) re-presented")
            #expect(d.state != .failed, "\(id) re-presented after a final refusal")
        }
    }

    /// Runs `clean` once and `tortured` under 25 random kills plus a final run; both outboxes must be identical.
    func phase(_ clean: TestRoot, _ tortured: TestRoot, asOf: String, seed: UInt64, rng: inout SplitMix64,
               disk: SmallFileSystem? = nil, past: String? = nil) throws -> [String: Data] {
        try runToCompletion(clean, asOf: asOf)
        try torture(tortured, asOf: asOf, kills: 25, rng: &rng, disk: disk, past: past)
        try runToCompletion(tortured, asOf: asOf)
        let a = try snapshot(clean), b = try snapshot(tortured)
        #expect(a.keys.sorted() == b.keys.sorted(), "seed \(seed)")
        for (k, v) in a where b[k] != v { Issue.record("seed \(seed): \(k) differs after crashes at \(asOf)") }
        try checkInvariants(tortured)
        return a
    }

    @Test func killedAtRandomMomentsYieldsTheSameOutboxAsACleanRun() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["LEVY_TORTURE_SEED"] ?? "") ?? UInt64.random(in: 0...UInt64.max)
        print("crash torture seed \(seed) (replay with LEVY_TORTURE_SEED=\(seed))")
        var rng = SplitMix64(state: seed)
        // The tortured root is on a small file system of its own, which the torture fills now and then.
        let disk = try SmallFileSystem(megabytes: 96)
        let clean = try TestRoot(), tortured = try TestRoot(under: disk.url)
        _ = try populate(clean)
        _ = try populate(tortured)

        // Phase 1: intake and the debit cut of November 6th.
        let a1 = try phase(clean, tortured, asOf: "2026-11-06T17:30:00", seed: seed, rng: &rng, disk: disk)
        #expect(a1.keys.filter { $0.hasPrefix("receipts/") && $0.hasSuffix(".json") }.count > 250)

        // Phase 2: the banks answer (same bytes to both roots); apply returns under fire.
        for root in [clean, tortured] {
            for bank in ["ICBC01", "CCB01"] {
                let file = root.file("Outbox/debits/\(bank)/LEVY-\(bank)-20261106.xml")
                var n = 0
                let text = try BankSimulator.returnFile(for: file, reportID: "RET-\(bank)") { _ in
                    n += 1
                    return n % 3 == 0 ? "RJCT:AM04" : (n % 5 == 0 ? "RJCT:AC04" : "ACSC")
                }
                try root.write("Inbox/bank/\(bank)/ret.xml", text)
            }
        }
        let a2 = try phase(clean, tortured, asOf: "2026-11-09T17:10:00", seed: seed, rng: &rng, disk: disk, past: "2026-11-06T10:00:00")
        #expect(diskFullRuns.count > 0, "seed \(seed): no tortured run met a full disk")
        #expect(a2.keys.contains { $0.hasSuffix("-payment.json") })
        #expect(a2.keys.contains { $0.hasPrefix("debits/") && $0.contains("20261109") }, "AM04 retried on the 9th")

        // Phase 3: the banks' notifications (SPEC §9), applied under fire: credits for what they
        // confirmed, one refund after settlement (MD06), one credit levy cannot match.
        for root in [clean, tortured] {
            for bank in ["ICBC01", "CCB01"] {
                let debits = try BankSimulator.debits(in: root.file("Outbox/debits/\(bank)/LEVY-\(bank)-20261106.xml")).debits
                var movements: [BankSimulator.Movement] = []
                for (i, d) in debits.enumerated() where (i + 1) % 3 != 0 && (i + 1) % 5 != 0 {
                    movements.append(.init(endToEndID: d.endToEndID, amount: d.amount))
                }
                if let first = movements.first { movements.append(.init(endToEndID: first.endToEndID, amount: first.amount, credit: false, reason: "MD06")) }
                movements.append(.init(endToEndID: "UNKNOWN-\(bank)", amount: "9.99"))
                let account = bank == "ICBC01" ? "1602000000000001" : "3705000000000002"
                try root.write("Inbox/bank/\(bank)/camt.xml", BankSimulator.notification(id: "N-\(bank)", account: account, booked: "2026-11-09", movements))
            }
        }
        let a3 = try phase(clean, tortured, asOf: "2026-11-10T09:00:00", seed: seed, rng: &rng, disk: disk, past: "2026-11-09T10:00:00")
        #expect(a3.keys.filter { $0.hasSuffix("-reversal.json") }.count == 2, "one refund per bank")
        let reconciliation = try tortured.json("Outbox/reports/reconciliation-2026-11-10.json")
        #expect(reconciliation["balanced"] as? Bool == true, "seed \(seed)")
        #expect((reconciliation["exceptions"] as? [[String: Any]])?.filter { $0["kind"] as? String == "unknown_reference" }.count == 2)

        // Same ledger: every declaration in the same state with the same amounts.
        let states = { (root: TestRoot) in
            try root.ledger().declarations(states: DeclarationState.allCases, period: nil)
                .map { "\($0.id) \($0.state) \($0.totalFen) \($0.paidFen) \($0.settledOn?.description ?? "-") \($0.reversedFen)" }
        }
        #expect(try states(clean) == states(tortured), "seed \(seed)")
        // And the same journal, entry for entry.
        let journal = { (root: TestRoot) in try root.ledger().journal(employer: nil, from: nil, to: nil).map { "\($0.seq) \($0.entry.action) \($0.entry.subject) \($0.hash)" } }
        #expect(try journal(clean) == journal(tortured), "seed \(seed)")
    }
}

/// A count shared by a test's helpers.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var count: Int { lock.withLock { n } }
    func add() { lock.withLock { n += 1 } }
}
