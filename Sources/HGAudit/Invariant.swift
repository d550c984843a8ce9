import HGState

/// The named invariants `verify` audits (docs/INVARIANTS.md, in that order).
public enum Invariant: String, CaseIterable, Sendable {
    /// Every object decompresses within its limit, hashes to its id and decodes strictly.
    case objectIntegrity = "object-integrity"
    /// Every operation's signature verifies against its author's key.
    case signatures = "signatures"
    /// Every parent is present and valid, and the only root is the repository's genesis.
    case causalClosure = "causal-closure"
    /// Each sequence number is 1 + the author's highest in the operation's causal past.
    case sequenceNumbers = "sequence-numbers"
    /// Every blob a change names is present.
    case blobsPresent = "blobs-present"
    /// Every operation's author held the needed role in the membership of its causal past.
    case authorisedAuthors = "authorised-authors"
    /// No path of the state holds a write without effect (e.g. a removed member's concurrent write).
    case removedWritesVoid = "removed-writes-void"
    /// The recorded members are exactly those the membership operations define.
    case membership = "membership"
    /// The index, heads, peer refs and caches agree with the objects.
    case derivedFiles = "derived-files"
}

/// The category of a problem `verify` reports: the closed set of `<check>` names of
/// docs/INVARIANTS.md, printed as `problem [<check>] …`. Each belongs to exactly one invariant,
/// so a new category must say which (the switch in `invariant` has no default), and cannot land
/// in the wrong row of the table unnoticed.
public enum VerifyCheck: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A file in `objects/` whose name is not an object id.
    case objects
    /// A pack or pack index that cannot be opened, fails its checks or lacks its pair.
    case pack
    /// An object that cannot be read, inflated, hashed to its id or decoded strictly.
    case object
    /// An operation whose signature does not verify.
    case signature
    /// An index record whose parent is missing, damaged, invalid or listed later.
    case parents
    /// A first operation that is not the genesis, or a genesis missing from the index.
    case genesis
    /// An operation with an invalid parent, or a second root.
    case causalClosure = "causal-closure"
    /// A sequence number against rule 4.
    case sequence
    /// A blob named by a change that is missing, damaged or not a blob.
    case blobs
    /// An author without the needed role in its causal past.
    case authority
    /// A path of the state (computed or cached) holding a write without effect.
    case removedWrites = "removed-writes"
    /// A members cache that differs from the membership, or a damaged one.
    case members
    /// The operation index: unreadable, torn before its vouched length, or a record that is
    /// repeated, names a missing object or differs from its object.
    case index
    /// The heads file.
    case heads
    /// A peer ref.
    case refs
    /// The state cache.
    case state
    /// The graph file.
    case graph
    /// The working-tree cache.
    case worktree
    /// The working tree's base.
    case base
    /// The identity key.
    case identity

    /// The name as printed: `problem [\(check)] …`.
    public var description: String { rawValue }

    /// The invariant a problem of this category breaks.
    public var invariant: Invariant {
        switch self {
        case .objects, .pack, .object: return .objectIntegrity
        case .signature: return .signatures
        case .parents, .genesis, .causalClosure: return .causalClosure
        case .sequence: return .sequenceNumbers
        case .blobs: return .blobsPresent
        case .authority: return .authorisedAuthors
        case .removedWrites: return .removedWritesVoid
        case .members: return .membership
        case .index, .heads, .refs, .state, .graph, .worktree, .base, .identity: return .derivedFiles
        }
    }

    /// The category a validity issue is reported under.
    init(_ issue: ValidityIssue) {
        switch issue {
        case .badSignature: self = .signature
        case .missingParent, .foreignRoot, .notGenesis, .invalidParent: self = .causalClosure
        case .wrongSequence: self = .sequence
        case .missingBlob: self = .blobs
        case .notAuthorised: self = .authority
        }
    }
}
