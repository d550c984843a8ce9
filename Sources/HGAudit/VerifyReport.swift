import HGCore
import HGState

/// One thing `verify` found wrong, with the object and file it is in.
public struct VerifyProblem: Sendable, Equatable {
    /// The category, one of docs/INVARIANTS.md's `<check>` names.
    public let check: VerifyCheck
    /// The object concerned, if any.
    public let object: ObjectID?
    /// The file concerned (relative to the repository root).
    public let file: String?
    /// What is wrong, in words.
    public let message: String

    /// The invariant the problem breaks.
    public var invariant: Invariant { check.invariant }
}

/// One row of the audit table: an invariant of INVARIANTS.md, how many things
/// were checked against it and how many broke it.
public struct InvariantResult: Sendable, Equatable {
    /// The invariant of this row.
    public let invariant: Invariant
    /// How many things (objects, operations, writes, files…) were checked against it.
    public var checked: Int
    /// How many problems broke it.
    public var violations: Int
}

/// One author's operations, for the audit's per-author summary.
public struct AuthorSummary: Sendable, Equatable {
    /// The author.
    public let author: PeerID
    /// How many valid operations the author signed.
    public var operations: Int
    /// The lowest sequence number used.
    public var firstSequence: UInt64
    /// The highest sequence number used.
    public var lastSequence: UInt64
    /// Sequence numbers at which the author signed more than one operation.
    public var forks: Int
}

/// Two valid operations by one author with one sequence number, kept as proof.
public struct Equivocation: Sendable {
    /// The author who signed both.
    public let author: PeerID
    /// The sequence number both carry.
    public let sequence: UInt64
    /// Both operations, signed: anyone can check the signatures.
    public let first: Operation
    /// The other operation.
    public let second: Operation
}

/// What `verify` found.
public struct VerifyReport: Sendable {
    /// Distinct objects in the store.
    public var objects = 0
    /// Operations that decoded and whose signature verifies.
    public var operations = 0
    /// Blobs that decoded.
    public var blobs = 0
    /// Signatures checked.
    public var signatures = 0
    /// Authors of valid operations.
    public var authors = 0
    /// Every problem found, in the order the audits found them.
    public var problems: [VerifyProblem] = []
    /// Notes that are not errors (stale caches after a crash, dangling objects).
    public var notes: [String] = []
    /// Pairs of operations by one author with one sequence number.
    public var equivocations: [Equivocation] = []
    /// The heads of the audited DAG.
    public var heads: [ObjectID] = []
    /// The fingerprint of the state computed from the operations with effect.
    public var fingerprint: ObjectID?
    /// The audit table, one row per invariant, in INVARIANTS.md order.
    public var invariants: [InvariantResult] = Invariant.allCases.map {
        InvariantResult(invariant: $0, checked: 0, violations: 0)
    }
    /// Per-author summary, by peer id.
    public var authorSummaries: [AuthorSummary] = []
    /// The membership of the valid operations.
    public var membership: MembershipOutcome?

    /// An empty report, for the audits to fill in.
    public init() {}

    /// Whether nothing is wrong.
    public var isClean: Bool { problems.isEmpty }

    /// Adds `checked` things checked against `invariant` to its row.
    public mutating func count(_ invariant: Invariant, _ checked: Int) {
        if let i = invariants.firstIndex(where: { $0.invariant == invariant }) { invariants[i].checked += checked }
    }

    /// Records a problem against its invariant; `file` is shown relative to `root`.
    public mutating func problem(
        _ check: VerifyCheck, _ object: ObjectID?, _ file: String?, _ message: String, root: String
    ) {
        let shown = file.map { $0.hasPrefix(root + "/") ? String($0.dropFirst(root.count + 1)) : $0 }
        problems.append(VerifyProblem(check: check, object: object, file: shown, message: message))
        if let i = invariants.firstIndex(where: { $0.invariant == check.invariant }) { invariants[i].violations += 1 }
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
