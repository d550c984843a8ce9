import HGCore
import HGGraph

/// The membership function (ACCESS-CONTROL.md): from the genesis and a set of
/// valid membership operations closed under causality, the current members,
/// their roles and seniority, the admin quorum, and which operations have no
/// effect.
///
/// It is a pure function of the set and of the ancestry between its elements:
/// the order the operations were stored or delivered in never enters, so
/// every correct replica with the same operations computes the same outcome.
///
/// The steps:
/// 1. Seniority. The founder has rank 1; a grant (add or role change) by a
///    member of rank i gives rank i + 1; a member's key is the smallest (rank,
///    id of the granting operation) over every grant of them.
/// 2. The admin quorum. Quorum changes carry an epoch (how many changes
///    precede them); change number e is adopted when at least the quorum of
///    epoch e distinct admins signed it with the same value.
/// 3. Removals and demotions are taken one by one: first those whose target
///    is removed by at least a quorum of distinct admins, then the rest; within
///    each class by the seniority of their author, then by id. A removal that
///    has already lost its effect is skipped. Otherwise applying it voids every
///    membership operation of its target concurrent with it, every add or
///    promotion of the target concurrent with it, and, transitively, every
///    operation whose author's role rests only on voided operations. If that
///    would void a removal already applied, the new removal is the one that
///    loses (it is outranked); else it is applied.
/// 4. Members are the peers with a grant that has effect and is not followed by
///    an applied removal of them; concurrent grants that disagree resolve to the
///    lesser role.
public enum MembershipResolver {
    /// Resolves `events` (each valid, sorted by node, every ancestor that is a
    /// membership operation included) on top of the genesis.
    public static func resolve(origin: MembershipOrigin, events: [MembershipEvent], graph: Graph) -> MembershipOutcome {
        let causality = Causality(graph: graph)
        var grants: [PeerID: [(node: Int, role: Role)]] = [origin.founder: [(origin.node, .admin)]]
        for event in events {
            if let target = event.change.target, let role = event.grantedRole {
                grants[target, default: []].append((event.node, role))
            }
        }
        let seniority = ranks(origin: origin, events: events)
        let (quorum, quorumEpoch) = adoptedQuorum(origin: origin, events: events)

        // Step 3: removals in order.
        var removers: [PeerID: Set<PeerID>] = [:]
        for event in events {
            if case let .remove(target) = event.change { removers[target, default: []].insert(event.author) }
        }
        let unranked = Seniority(rank: Int.max, id: ObjectID(raw: .zero))
        let ordered = events.filter(\.isRemovalLike).sorted { a, b in
            let qa = (a.change.target.flatMap { removers[$0]?.count } ?? 0) >= quorum && isRemove(a)
            let qb = (b.change.target.flatMap { removers[$0]?.count } ?? 0) >= quorum && isRemove(b)
            if qa != qb { return qa }
            let sa = seniority[a.author] ?? unranked
            let sb = seniority[b.author] ?? unranked
            if sa != sb { return sa < sb }
            return a.id < b.id
        }
        // `direct` holds what removals took away (and removals that did not apply); what is
        // "unsupported" is recomputed from it each time, never kept, so an operation voided only
        // because of a demotion that later loses its own effect gets its effect back.
        var direct: [Int: VoidReason] = [:]
        var applied: [Int] = []
        var removals: [PeerID: [Int]] = [:]
        var voided = closed(direct, events: events, grants: grants, removals: removals, causality: causality)
        let byNode = Dictionary(events.map { ($0.node, $0) }, uniquingKeysWith: { first, _ in first })
        for removal in ordered {
            if let reason = voided[removal.node] {
                direct[removal.node] = reason  // not applied, now or later
                continue
            }
            guard let target = removal.change.target else { continue }
            var tentativeDirect = direct
            let demotion = !isRemove(removal)
            for event in events
            where tentativeDirect[event.node] == nil && causality.concurrent(event.node, removal.node) {
                let byTarget = event.author == target
                let restoresTarget =
                    event.change.target == target
                    && (demotion ? event.grantedRole == .admin : event.grantedRole != nil)
                if byTarget || restoresTarget { tentativeDirect[event.node] = .concurrentWithRemoval(removal.id) }
            }
            var tentativeRemovals = removals
            if !demotion { tentativeRemovals[target, default: []].append(removal.node) }
            let tentative = closed(
                tentativeDirect, events: events, grants: grants, removals: tentativeRemovals, causality: causality)
            if let lost = applied.first(where: { tentative[$0] != nil }), let winner = byNode[lost] {
                direct[removal.node] = .outranked(by: winner.id)
            } else if let reason = tentative[removal.node] {
                // Applying it would take away its own author's standing: it cannot stand.
                direct[removal.node] = reason
            } else {
                direct = tentativeDirect
                removals = tentativeRemovals
                applied.append(removal.node)
            }
            voided = closed(direct, events: events, grants: grants, removals: removals, causality: causality)
        }

        // Step 4: the members.
        let voidedNodes = Set(voided.keys)
        var members: [PeerID: MemberInfo] = [:]
        var contested = Set<PeerID>()
        for event in events where voided[event.node] != nil {
            contested.insert(event.author)
            if let target = event.change.target { contested.insert(target) }
        }
        for (peer, peerGrants) in grants {
            let live = peerGrants.filter { grant in
                voided[grant.node] == nil
                    && !removals[peer, default: []].contains { causality.precedes(grant.node, $0) }
            }
            guard !live.isEmpty else { continue }
            let (role, disagree) = resolvedRole(live, causality: causality)
            if disagree { contested.insert(peer) }
            let key = seniority[peer] ?? unranked
            let adding = byNode.values.first { $0.id == key.id }
            members[peer] = MemberInfo(
                peer: peer, role: role, rank: key.rank, addedIn: key.id,
                addedBy: peer == origin.founder && key.id == origin.id ? nil : adding?.author,
                addedAt: adding?.timestamp ?? origin.timestamp,
                contested: contested.contains(peer))
        }
        var touched = Set(removals.keys)
        for (peer, peerGrants) in grants where peerGrants.contains(where: { voidedNodes.contains($0.node) }) {
            touched.insert(peer)
        }
        var byID: [ObjectID: VoidReason] = [:]
        for (node, reason) in voided { if let event = byNode[node] { byID[event.id] = reason } }
        return MembershipOutcome(
            origin: origin, members: members, quorum: quorum, quorumEpoch: quorumEpoch, voided: byID,
            removals: removals,
            grants: grants, voidedNodes: voidedNodes, touched: touched,
            eventCount: events.count)
    }

    /// The role `peer` holds just before operation `node`, counting only grants
    /// with effect and removals applied, or `nil` if none.
    static func role(
        of peer: PeerID, at node: Int, grants: [PeerID: [(node: Int, role: Role)]], voided: Set<Int>,
        removals: [PeerID: [Int]], causality: Causality
    ) -> Role? {
        let earlierRemovals = removals[peer, default: []].filter { causality.precedes($0, node) }
        let live = grants[peer, default: []].filter { grant in
            !voided.contains(grant.node) && causality.precedes(grant.node, node)
                && !earlierRemovals.contains { causality.precedes(grant.node, $0) }
        }
        if live.isEmpty { return nil }
        return resolvedRole(live, causality: causality).role
    }

    /// The role a non-empty set of live grants gives: of the grants no other one succeeds, any
    /// *writer* makes a writer, else admin; `disagree` when those latest grants differ.
    private static func resolvedRole(
        _ live: [(node: Int, role: Role)], causality: Causality
    ) -> (role: Role, disagree: Bool) {
        let latest = live.filter { a in !live.contains { b in causality.precedes(a.node, b.node) } }
        let role: Role = latest.contains { $0.role == .writer } ? .writer : .admin
        return (role, Set(latest.map(\.role)).count > 1)
    }

    /// `direct` plus, round after round until a round adds nothing, every membership operation
    /// whose author is not an admin at it; each round judges every operation against the set as
    /// it was when the round began.
    private static func closed(
        _ direct: [Int: VoidReason], events: [MembershipEvent],
        grants: [PeerID: [(node: Int, role: Role)]], removals: [PeerID: [Int]],
        causality: Causality
    ) -> [Int: VoidReason] {
        var voided = direct
        while true {
            let voidedNodes = Set(voided.keys)
            var added = false
            for event in events where voided[event.node] == nil {
                let role = role(
                    of: event.author, at: event.node, grants: grants, voided: voidedNodes,
                    removals: removals, causality: causality)
                if role != .admin {
                    voided[event.node] = .unsupported
                    added = true
                }
            }
            if !added { return voided }
        }
    }

    private static func isRemove(_ event: MembershipEvent) -> Bool {
        if case .remove = event.change { return true }
        return false
    }

    /// A member's seniority key: smaller is more senior.
    struct Seniority: Comparable {
        let rank: Int
        let id: ObjectID
        static func < (a: Seniority, b: Seniority) -> Bool { (a.rank, a.id) < (b.rank, b.id) }
    }

    /// Step 1: shortest grant chains from the founder (Dijkstra; every add or role change is an
    /// edge of weight 1 from its author to its target; ties by the id of the granting operation).
    static func ranks(origin: MembershipOrigin, events: [MembershipEvent]) -> [PeerID: Seniority] {
        var addsBy: [PeerID: [MembershipEvent]] = [:]
        for event in events where event.grantedRole != nil { addsBy[event.author, default: []].append(event) }
        var best: [PeerID: Seniority] = [origin.founder: Seniority(rank: 1, id: origin.id)]
        var settled = Set<PeerID>()
        while let (peer, key) = best.filter({ !settled.contains($0.key) }).min(by: { $0.value < $1.value }) {
            settled.insert(peer)
            for add in addsBy[peer] ?? [] {
                guard let target = add.change.target, !settled.contains(target) else { continue }
                let candidate = Seniority(rank: key.rank + 1, id: add.id)
                if best[target].map({ candidate < $0 }) ?? true { best[target] = candidate }
            }
        }
        return best
    }

    /// Step 2: the quorum after every adopted change, starting from the genesis value.
    static func adoptedQuorum(origin: MembershipOrigin, events: [MembershipEvent]) -> (quorum: Int, epoch: UInt64) {
        var proposals: [UInt64: [Int: Set<PeerID>]] = [:]
        for event in events {
            if case let .setQuorum(epoch, value) = event.change {
                proposals[epoch, default: [:]][value, default: []].insert(event.author)
            }
        }
        var quorum = origin.quorum
        var epoch: UInt64 = 0
        while let candidates = proposals[epoch] {
            let backed = candidates.filter { $0.value.count >= quorum }
            guard let chosen = backed.min(by: { ($1.value.count, $0.key) < ($0.value.count, $1.key) }) else { break }
            quorum = chosen.key
            epoch += 1
        }
        return (quorum, epoch)
    }
}
