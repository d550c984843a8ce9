import HGCore
import HGCrypto
import HGGraph
import HGState
import HGStore
import HGWorkTree

/// One thing `verify` found wrong, with the object and file it is in.
public struct VerifyProblem: Sendable, Equatable {
    /// A short category, e.g. `hash`, `signature`, `index`, `heads`.
    public let check: String
    /// The object concerned, if any.
    public let object: ObjectID?
    /// The file concerned (relative to the repository root).
    public let file: String?
    public let message: String

    /// The invariant the problem breaks.
    public var invariant: Invariant { Invariant(check: check) }
}

/// One row of the audit table: an invariant of INVARIANTS.md, how many things
/// were checked against it and how many broke it.
public struct InvariantResult: Sendable, Equatable {
    public let invariant: Invariant
    public var checked: Int
    public var violations: Int
}

/// One author's operations, for the audit's per-author summary.
public struct AuthorSummary: Sendable, Equatable {
    public let author: PeerID
    public var operations: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Sequence numbers at which the author signed more than one operation.
    public var forks: Int
}

/// Two valid operations by one author with one sequence number, kept as proof.
public struct Equivocation: Sendable {
    public let author: PeerID
    public let sequence: UInt64
    /// Both operations, signed: anyone can check the signatures.
    public let first: Operation
    public let second: Operation
}

/// What `verify` found.
public struct VerifyReport: Sendable {
    public var objects = 0
    public var operations = 0
    public var blobs = 0
    public var signatures = 0
    public var authors = 0
    public var problems: [VerifyProblem] = []
    /// Notes that are not errors (stale caches after a crash, dangling objects).
    public var notes: [String] = []
    /// Pairs of operations by one author with one sequence number.
    public var equivocations: [Equivocation] = []
    public var heads: [ObjectID] = []
    public var fingerprint: ObjectID?
    /// The audit table, one row per invariant, in INVARIANTS.md order.
    public var invariants: [InvariantResult] = Invariant.allCases.map { InvariantResult(invariant: $0, checked: 0, violations: 0) }
    /// Per-author summary, by peer id.
    public var authorSummaries: [AuthorSummary] = []
    /// The membership of the valid operations.
    public var membership: MembershipOutcome?

    /// Whether nothing is wrong.
    public var isClean: Bool { problems.isEmpty }

    mutating func count(_ invariant: Invariant, _ checked: Int) {
        if let i = invariants.firstIndex(where: { $0.invariant == invariant }) { invariants[i].checked += checked }
    }

    /// Records a problem against its invariant; `file` is shown relative to `root`.
    mutating func problem(_ check: String, _ object: ObjectID?, _ file: String?, _ message: String, root: String) {
        let shown = file.map { $0.hasPrefix(root + "/") ? String($0.dropFirst(root.count + 1)) : $0 }
        problems.append(VerifyProblem(check: check, object: object, file: shown, message: message))
        let invariant = Invariant(check: check)
        if let i = invariants.firstIndex(where: { $0.invariant == invariant }) { invariants[i].violations += 1 }
    }

    /// Appends what a later part of the audit found (`history`: the index, the DAG and the
    /// derived files) to what the object checks found.
    mutating func absorb(_ history: VerifyReport) {
        problems += history.problems
        notes += history.notes
        equivocations += history.equivocations
        heads = history.heads
        fingerprint = history.fingerprint
        authors = history.authors
        authorSummaries = history.authorSummaries
        membership = history.membership
        for (i, row) in history.invariants.enumerated() where i < invariants.count {
            invariants[i].checked += row.checked
            invariants[i].violations += row.violations
        }
    }
}

extension Repository {
    /// The first level of the audit: every object's id and encoding, every
    /// signature, every parent present, per-author sequence numbers, and the
    /// index and every cache consistent with the objects. Reports every
    /// problem found, not just the first.
    public func verify(progress: ((String, Int, Int) -> Void)? = nil) throws(RepositoryError) -> VerifyReport {
        var report = VerifyReport()
        let root = layout.root
        func problem(_ check: String, _ object: ObjectID?, _ file: String?, _ message: String) {
            report.problem(check, object, file, message, root: root)
        }

        // 1. Every object file: decompress under the limit, hash, decode strictly, check signatures.
        let (looseIDs, strays) = try lift { try objects.enumerate() }
        for stray in strays { problem("objects", nil, stray, "file in the object store that is not named by an object id") }
        let (packs, packFailures) = try lift { try objects.openPacks(checked: true) }
        for (path, error) in packFailures { problem("pack", nil, path, error.description) }
        for pack in packs {
            do { try pack.verifyTrailer() } catch { problem("pack", nil, pack.packPath, error.description) }
        }
        if FileSystem.isDirectory(objects.packDirectory) {
            let names = Set(try lift { try FileSystem.list(objects.packDirectory) })
            for name in names where !FileSystem.isTemporaryName(name) {
                let isPair = (name.hasSuffix(".pack") && names.contains(String(name.dropLast(5)) + ".idx"))
                    || (name.hasSuffix(".idx") && names.contains(String(name.dropLast(4)) + ".pack"))
                if !isPair { problem("pack", nil, objects.packDirectory + "/" + name, "pack file without its pair (.pack/.idx)") }
            }
        }
        // One table of ids over the loose list and the packs' own indexes, one copy of those
        // indexes shared by every reader, and of each operation only what the later checks read:
        // memory grows with the number of operations, not with the size of the history.
        let table = ObjectTable(loose: looseIDs, packs: packs)
        report.objects = table.count
        let pass = ObjectPass(table: table, layout: layout, packs: packs)
        let store = try? LooseObjects(layout: layout, packs: packs)
        func location(_ id: ObjectID) -> String { (store ?? objects).location(of: id) }

        // 2–4. The signatures take most of the time: they are checked on the worker threads
        // while this one audits the index, the DAG and the derived files as if every signature
        // were good, and that audit is done again without the operations whose signature fails.
        let checks = pass.startSignatureChecks()
        let optimistic: Result<VerifyReport, RepositoryError>
        do { optimistic = .success(try auditHistory(pass, excluding: [], store: store)) } catch { optimistic = .failure(error) }
        // `wait` is nil only if the checks never produced a result: the audit cannot vouch then.
        guard let demotions = checks.wait() else { throw .inconsistent("the signature checks did not complete") }

        var decoded = 0
        for slot in 0..<table.slotCount {
            switch pass.statuses[slot] {
            case .blob?: report.blobs += 1
            case .operation?: decoded += 1
            default: break
            }
        }
        report.operations = decoded - demotions.count
        report.signatures = decoded
        // Problems in the order of the objects, as one pass would have found them (an object
        // either failed to read or was an operation, never both).
        let failures = pass.failures
        var f = 0, d = 0
        while f < failures.count || d < demotions.count {
            if d == demotions.count || (f < failures.count && failures[f].slot < demotions[d].slot) {
                let id = table.id(at: failures[f].slot)
                problem("object", id, location(id), failures[f].message)
                f += 1
                continue
            }
            switch demotions[d].demotion {
            case let .badSignature(id, author):
                problem("signature", id, location(id), "signature by \(author.short) does not verify")
            case let .failed(id, message):
                report.signatures -= 1
                problem("object", id, location(id), message)
            }
            d += 1
        }
        progress?("Checking objects", table.count, table.count)

        if demotions.isEmpty {
            report.absorb(try optimistic.get())
        } else {
            report.absorb(try auditHistory(pass, excluding: Set(demotions.map(\.slot)), store: store))
        }
        report.count(.objectIntegrity, report.objects)
        report.count(.signatures, report.signatures)
        return report
    }
}
