import HGCore

/// One membership operation as the membership function sees it: where it is in
/// the graph, who signed it and what it changes.
public struct MembershipEvent: Hashable, Sendable {
    /// Node number in the graph.
    public let node: Int
    public let id: ObjectID
    public let author: PeerID
    /// The author's claimed time (shown by `member list`, never used to decide).
    public let timestamp: UInt64
    public let change: MembershipChange

    public init(node: Int, id: ObjectID, author: PeerID, timestamp: UInt64, change: MembershipChange) {
        self.node = node
        self.id = id
        self.author = author
        self.timestamp = timestamp
        self.change = change
    }

    /// The role this event gives its target, if it sets one (adds and role changes).
    var grantedRole: Role? {
        switch change {
        case let .add(_, role), let .setRole(_, role): return role
        case .remove, .setQuorum: return nil
        }
    }

    /// Whether the event takes something away from its target: a removal or a
    /// demotion to writer. These are the events ordered by seniority.
    var isRemovalLike: Bool {
        switch change {
        case .remove, .setRole(_, .writer): return true
        default: return false
        }
    }
}

/// The repository's founding facts the membership function starts from.
public struct MembershipOrigin: Hashable, Sendable {
    /// The genesis operation's node number (0 in every valid index).
    public let node: Int
    public let id: ObjectID
    /// The genesis author: the founding admin, most senior of all.
    public let founder: PeerID
    public let timestamp: UInt64
    /// The admin quorum set by the genesis operation.
    public let quorum: Int

    public init(node: Int, id: ObjectID, founder: PeerID, timestamp: UInt64, quorum: Int) {
        self.node = node
        self.id = id
        self.founder = founder
        self.timestamp = timestamp
        self.quorum = quorum
    }

    /// The origin defined by a genesis operation stored as node `node`; `nil` if `op` is not one.
    public init?(genesis op: Operation, node: Int) {
        guard let body = op.genesis else { return nil }
        self.init(node: node, id: op.id, founder: op.author, timestamp: op.timestamp, quorum: body.adminQuorum)
    }
}
