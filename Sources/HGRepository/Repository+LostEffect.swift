import HGCore
import HGGraph
import HGState

/// An operation that had effect before a sync and has none after it, because the sync brought
/// a membership change that takes it away (ACCESS-CONTROL.md, "Effect rules"): typically a
/// commit by a member whom an admin removed concurrently. It stays in the history; its
/// changes leave the state, so `sync` names it rather than let them vanish silently.
public struct LostEffect: Sendable {
    public let id: ObjectID
    public let author: PeerID
    /// The operation's kind (`Payload.Kind.change` or `.membership`).
    public let kind: UInt8
    /// Its message, as its author wrote it (peer-supplied text: escape it to show it).
    public let message: String
    /// The concurrent removal of its author that voids it, and who made it; `nil` when the
    /// author's role rested on operations that lost their effect.
    public let removal: ObjectID?
    public let removedBy: PeerID?
}

/// The operations without effect at one moment, to compare with a later one.
struct EffectSnapshot {
    /// How many operations the graph held: only those can lose effect.
    let count: Int
    let withoutEffect: Set<ObjectID>
}

extension Repository {
    /// The operations without effect now: changes whose author's role is taken away by a
    /// concurrent removal (or rests on voided grants), and membership operations without effect.
    func effectSnapshot() throws(RepositoryError) -> EffectSnapshot {
        let graph = try loadGraph()
        let membership = try membership()
        var without = Set(membership.voided.keys)
        if membership.limitsEffects {
            for node in 0..<graph.count
            where graph.kind(node) == Payload.Kind.change
                && !membership.hasEffect(node: node, author: graph.author(node), graph: graph)
            {
                without.insert(graph.ids[node])
            }
        }
        return EffectSnapshot(count: graph.count, withoutEffect: without)
    }

    /// The operations that were in the graph at `before` with effect and have none now.
    func lostEffects(since before: EffectSnapshot) throws(RepositoryError) -> [LostEffect] {
        let now = try effectSnapshot()
        let lost = now.withoutEffect.subtracting(before.withoutEffect)
        guard !lost.isEmpty else { return [] }
        let graph = try loadGraph()
        let membership = try membership()
        var result: [LostEffect] = []
        for node in 0..<min(before.count, graph.count) where lost.contains(graph.ids[node]) {
            let id = graph.ids[node]
            let author = graph.author(node)
            var removal: Int? = membership.concurrentRemoval(of: author, with: node, graph: graph)
            if case let .concurrentWithRemoval(voiding)? = membership.voided[id] {
                removal = graph.number(of: voiding) ?? removal
            }
            result.append(
                LostEffect(
                    id: id, author: author, kind: graph.kind(node), message: graph.message(node),
                    removal: removal.map { graph.ids[$0] }, removedBy: removal.map { graph.author($0) }))
        }
        return result
    }
}
