import HGCore
import HGGraph
import HGState
import HGStore
import HGSystem

/// What a membership command recorded.
public struct MembershipResult: Sendable {
    public let id: ObjectID
    public let change: MembershipChange
    /// The membership after it.
    public let outcome: MembershipOutcome
}

extension Repository {
    /// The genesis facts the membership function starts from, or `nil` for an empty graph.
    func membershipOrigin(graph: Graph) throws(RepositoryError) -> MembershipOrigin? {
        guard let node = graph.number(of: genesis) else { return nil }
        let op = try lift { try objects.readOperation(genesis) }
        guard let origin = MembershipOrigin(genesis: op, node: node) else {
            throw .notAGenesis(genesis)
        }
        return origin
    }

    /// The membership index of a graph whose operations are all in the store (and valid).
    func membershipIndex(graph: Graph) throws(RepositoryError) -> MembershipIndex? {
        guard let origin = try membershipOrigin(graph: graph) else { return nil }
        return try lift {
            try MembershipIndex(origin: origin, graph: graph) { node in
                try objects.readOperation(graph.ids[node]).membership
            }
        }
    }

    /// The membership of the whole history: members, roles, seniority, quorum and
    /// the membership operations without effect.
    public func membership() throws(RepositoryError) -> MembershipOutcome {
        let graph = try loadGraph()
        guard var index = try membershipIndex(graph: graph) else {
            throw .noGenesis
        }
        return index.outcome(graph: graph)
    }

    /// Every member's role: from the members cache when its stamp is current, else recomputed.
    func roles() throws(RepositoryError) -> [PeerID: Role] {
        if let bytes = try lift({ try FileSystem.readIfExists(layout.membersCache, limit: 1 << 26) }),
            let cached = MembersCache.decode(bytes), cached.stamp == indexLength()
        {
            return cached.roles
        }
        return try membership().members.mapValues(\.role)
    }

    /// Throws unless `peer` may sign an operation of `kind` on top of the whole history.
    func requireAuthority(_ peer: PeerID, kind: UInt8, roles: [PeerID: Role]) throws(RepositoryError) {
        guard let role = roles[peer] else {
            throw .notAuthorised(
                "you (\(peer.text)) are not a member of this repository, so other replicas would refuse your operations; ask an admin to run 'hg-bft member add \(peer.text)', then sync"
            )
        }
        if kind == Payload.Kind.membership && role != .admin {
            // Concurrent step-downs can leave no admin (ACCESS-CONTROL.md 3.7): then "ask an
            // admin" would send the user looking for someone who does not exist.
            guard roles.values.contains(.admin) else {
                throw .notAuthorised(
                    "this repository has no admin left (concurrent changes took every admin's rights), so nobody can change its membership any more; see 'hg-bft member list'"
                )
            }
            throw .notAuthorised(
                "you (\(peer.short)) are a writer; only admins change membership (an admin can run 'hg-bft member role \(peer.text) admin')"
            )
        }
    }

    /// Refuses to take admin rights from the only admin (a removal, or a demotion): nobody
    /// could ever change the membership again (ACCESS-CONTROL.md 3.7). Only admins sign
    /// membership changes, so the only admin is the one asking.
    private func requireAnotherAdmin(
        besides peer: PeerID, in outcome: MembershipOutcome, me: PeerID,
        removing: Bool
    ) throws(RepositoryError) {
        guard outcome.role(of: peer) == .admin,
            !outcome.members.values.contains(where: { $0.role == .admin && $0.peer != peer })
        else { return }
        let who = peer == me ? "you (\(me.short)) are" : "\(peer.short) is"
        let action = (removing ? "removing " : "demoting ") + (peer == me ? "yourself" : "them")
        throw .membership(
            "\(who) the only admin: \(action) would leave nobody who can ever change the membership again; make another member an admin first ('hg-bft member role <peer-id> admin')"
        )
    }

    /// Records one membership change signed by this replica's identity, on top of
    /// every head. Refuses changes that would do nothing (adding a member with the
    /// role they have, removing a non-member, setting a role someone already holds).
    public func changeMembership(
        _ change: MembershipChange,
        timestamp: UInt64 = Clock.nowMilliseconds()
    ) throws(RepositoryError) -> MembershipResult {
        let (key, me) = try signingIdentity()
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        var graph = try loadGraph()
        guard var index = try membershipIndex(graph: graph) else {
            throw .noGenesis
        }
        let before = index.outcome(graph: graph)
        try requireAuthority(me, kind: Payload.Kind.membership, roles: before.members.mapValues(\.role))
        // The working tree's base follows the operation when it was current (the operation
        // changes no file); otherwise the next commit makes the operation one of its parents.
        let base = try resolveBase()
        switch change {
        case let .add(peer, role):
            if let current = before.role(of: peer) {
                throw .membership(
                    current == role
                        ? "\(peer.short) is already a member (\(current))"
                        : "\(peer.short) is already a member (\(current)); use 'hg-bft member role \(peer.text) \(role)'"
                )
            }
        case let .remove(peer):
            guard before.role(of: peer) != nil else { throw .membership("\(peer.short) is not a member") }
            try requireAnotherAdmin(besides: peer, in: before, me: me, removing: true)
        case let .setRole(peer, role):
            guard let current = before.role(of: peer) else {
                throw .membership("\(peer.short) is not a member; add them with 'hg-bft member add \(peer.text)'")
            }
            if current == role {
                throw .membership("\(peer.short) is already \(role == .admin ? "an admin" : "a writer")")
            }
            if role == .writer { try requireAnotherAdmin(besides: peer, in: before, me: me, removing: false) }
        case .setQuorum:
            break
        }
        let current = try state()
        let sequence = try highestSequence(of: me) + 1
        let op = try lift {
            try Operation.create(
                signer: key, sequence: sequence, parents: try heads(), timestamp: timestamp,
                payload: .membership(change))
        }
        let lengthBefore = indexLength()
        try lift {
            try objects.write(op.encoded)
            try objects.flush()
            try OperationIndex.append(layout.operationIndex, [OperationSummary(op)], validLength: lengthBefore)
        }
        let node = try lift { try graph.append(OperationSummary(op)) }
        index.record(node: node, change: change, graph: graph)
        let after = index.outcome(graph: graph)
        // Only when some operation may gain or lose its effect is the state computed again.
        let tree =
            before.limitsEffects || after.limitsEffects ? try computeState(graph: graph, membership: after) : current
        try publish(
            author: me, tip: .init(sequence: sequence, id: op.id), tree: tree, roles: after.members.mapValues(\.role))
        if base.isCurrent {
            let unsynced = base.unsynced.sorted()
            try writeBase(WorkTreeBase(heads: [op.id], tree: unsynced.isEmpty ? nil : base.tree, unsynced: unsynced))
        }
        return MembershipResult(id: op.id, change: change, outcome: after)
    }
}
