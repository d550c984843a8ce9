import HGCore
import HGGraph

/// Why a membership operation has no effect (ACCESS-CONTROL.md, "Effect rules").
public enum VoidReason: Hashable, Sendable, CustomStringConvertible {
    /// Its author was removed (or demoted, for admin-only operations) by a removal
    /// concurrent with it; or it re-adds or promotes a member concurrently with
    /// their removal or demotion.
    case concurrentWithRemoval(ObjectID)
    /// Its author's role rests only on operations that have no effect.
    case unsupported
    /// It would take away the effect of a removal that a more senior member (or
    /// an admin quorum) made first.
    case outranked(by: ObjectID)

    public var description: String {
        switch self {
        case let .concurrentWithRemoval(id): return "concurrent with removal \(id.short)"
        case .unsupported: return "its author's role rests on operations without effect"
        case let .outranked(id): return "overridden by the more senior removal \(id.short)"
        }
    }
}

/// One member of the repository, as `member list` shows it.
public struct MemberInfo: Hashable, Sendable {
    public let peer: PeerID
    public let role: Role
    /// Seniority: the founder has rank 1, a member added by rank i has rank i + 1.
    public let rank: Int
    /// The operation that gives the member their rank (the genesis for the founder).
    public let addedIn: ObjectID
    /// Who signed it (`nil` for the founder).
    public let addedBy: PeerID?
    /// Its claimed time.
    public let addedAt: UInt64
    /// Whether concurrent or overridden membership operations concern this member.
    public let contested: Bool
}

/// What the membership function computes from a set of operations.
public struct MembershipOutcome: Sendable {
    public let origin: MembershipOrigin
    /// Current members, by peer.
    public let members: [PeerID: MemberInfo]
    /// The admin quorum in force.
    public let quorum: Int
    /// How many quorum changes were adopted: the epoch the next change must name.
    public let quorumEpoch: UInt64
    /// Membership operations that have no effect, with the reason.
    public let voided: [ObjectID: VoidReason]
    /// Removals and demotions that took effect, per target (node numbers).
    let removals: [PeerID: [Int]]
    /// Role-granting events per peer (the genesis counts for the founder), node numbers.
    let grants: [PeerID: [(node: Int, role: Role)]]
    /// Node numbers of voided events.
    let voidedNodes: Set<Int>
    /// Peers with a voided grant or an effective removal: the only authors whose
    /// other operations can lose their effect.
    let touched: Set<PeerID>
    /// How many membership operations were considered.
    public let eventCount: Int

    /// Whether some removal or voided grant can take the effect away from
    /// operations that are valid from their causal past (if not, every valid
    /// operation has effect and states can be updated incrementally).
    public var limitsEffects: Bool { !touched.isEmpty }

    /// The member's role, or `nil` for a non-member.
    public func role(of peer: PeerID) -> Role? { members[peer]?.role }

    /// How many members are admins. Zero only after concurrent changes took every admin's
    /// rights (ACCESS-CONTROL.md 3.7): then no membership operation can be valid again.
    public var admins: Int { members.values.reduce(0) { $0 + ($1.role == .admin ? 1 : 0) } }

    /// Members sorted by seniority.
    public var bySeniority: [MemberInfo] {
        members.values.sorted { ($0.rank, $0.addedIn) < ($1.rank, $1.addedIn) }
    }

    /// Whether operation `node` of `graph` (not a membership operation; valid from its
    /// causal past) by `author` has effect: its author held a role at it that rests on
    /// operations with effect, and no removal of its author is concurrent with it.
    ///
    /// `graph` is the graph the outcome was computed on or a later one (graphs only grow, so
    /// node numbers stay valid); an outcome may be remembered across appends.
    public func hasEffect(node: Int, author: PeerID, graph: Graph) -> Bool {
        guard touched.contains(author) else { return true }
        let causality = Causality(graph: graph)
        if removals[author, default: []].contains(where: { causality.concurrent($0, node) }) { return false }
        return MembershipResolver.role(
            of: author, at: node, grants: grants, voided: voidedNodes,
            removals: removals, causality: causality) != nil
    }

    /// A removal (or demotion) of `author` that took effect and is concurrent with operation
    /// `node`, which therefore has no effect; `nil` if there is none (an operation may still
    /// lack effect because its author's role rests on operations without effect).
    public func concurrentRemoval(of author: PeerID, with node: Int, graph: Graph) -> Int? {
        guard touched.contains(author) else { return nil }
        let causality = Causality(graph: graph)
        return removals[author, default: []].sorted().first { causality.concurrent($0, node) }
    }
}
