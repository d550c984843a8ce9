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

    /// The invariant a problem category (`VerifyProblem.check`) belongs to.
    init(check: String) {
        switch check {
        case "objects", "pack", "object": self = .objectIntegrity
        case "signature": self = .signatures
        case "parents", "genesis", "causal-closure": self = .causalClosure
        case "sequence": self = .sequenceNumbers
        case "blobs": self = .blobsPresent
        case "authority": self = .authorisedAuthors
        case "removed-writes": self = .removedWritesVoid
        case "members": self = .membership
        default: self = .derivedFiles
        }
    }

    /// The invariant a validity issue breaks.
    init(_ issue: ValidityIssue) {
        switch issue {
        case .badSignature: self = .signatures
        case .missingParent, .foreignRoot, .notGenesis, .invalidParent: self = .causalClosure
        case .wrongSequence: self = .sequenceNumbers
        case .missingBlob: self = .blobsPresent
        case .notAuthorised: self = .authorisedAuthors
        }
    }

    /// The problem category used for this invariant's violations.
    var check: String {
        switch self {
        case .objectIntegrity: return "object"
        case .signatures: return "signature"
        case .causalClosure: return "causal-closure"
        case .sequenceNumbers: return "sequence"
        case .blobsPresent: return "blobs"
        case .authorisedAuthors: return "authority"
        case .removedWritesVoid: return "removed-writes"
        case .membership: return "members"
        case .derivedFiles: return "derived"
        }
    }
}
