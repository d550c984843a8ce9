import HGCore
import HGGraph

/// Validity from the causal past (DESIGN §4): the role each operation's author
/// held in the membership computed from that operation's ancestors alone.
///
/// The membership of a causal past depends only on the membership operations
/// in it, which are the ancestors of its *frontier* (the membership operations
/// in it that no other one there succeeds). Most operations share their
/// frontier with their parent, so the index keeps one frontier number per node
/// and resolves each distinct frontier once.
public struct MembershipIndex {
    public let origin: MembershipOrigin
    /// Membership events by node.
    public private(set) var events: [Int: MembershipEvent] = [:]
    private var frontierOfNode: [Int32] = []
    private var frontiers: [[Int32]] = [[]]
    private var frontierNumbers: [[Int32]: Int32] = [[]: 0]
    private var outcomes: [Int32: MembershipOutcome] = [:]

    /// `origin` is the genesis; `membership(node)` gives the change of each membership
    /// operation of `graph`, which is indexed in node order.
    public init(origin: MembershipOrigin, graph: Graph, membership: (Int) throws -> MembershipChange?) rethrows {
        self.origin = origin
        frontierOfNode.reserveCapacity(graph.count)
        for node in 0..<graph.count {
            try record(
                node: node, change: graph.kind(node) == Payload.Kind.membership ? membership(node) : nil, graph: graph)
        }
    }

    /// An index of no operations yet: record them one by one.
    public init(origin: MembershipOrigin) {
        self.origin = origin
    }

    /// Records node `node` (the next one appended to `graph`) and its membership change, if any.
    public mutating func record(node: Int, change: MembershipChange?, graph: Graph) {
        precondition(node == frontierOfNode.count, "nodes are recorded in order")
        let parents = graph.parents[node]
        // The usual node: one parent that is not a membership event shares its frontier
        // (no list of parents is built for it: this runs for every node of the history).
        if parents.count == 1, events[Int(parents[0])] == nil {
            frontierOfNode.append(frontierOfNode[Int(parents[0])])
        } else {
            frontierOfNode.append(frontier(parents: parents.map(Int.init), graph: graph))
        }
        if let change { addEvent(node: node, change: change, graph: graph) }
    }

    /// Makes recorded node `node` a membership event (once it is known to be valid).
    /// Only nodes without recorded descendants may be made events.
    public mutating func addEvent(node: Int, change: MembershipChange, graph: Graph) {
        events[node] = MembershipEvent(
            node: node, id: graph.ids[node], author: graph.author(node),
            timestamp: graph.timestamp(node), change: change)
    }

    /// The membership computed from the causal past of an operation with these parents.
    public mutating func outcome(parents: [Int], graph: Graph) -> MembershipOutcome {
        outcome(frontier: frontier(parents: parents, graph: graph), graph: graph)
    }

    /// The membership computed from the causal past of node `node` (its strict ancestors).
    public mutating func outcome(before node: Int, graph: Graph) -> MembershipOutcome {
        outcome(frontier: frontierOfNode[node], graph: graph)
    }

    /// The membership of the whole graph.
    public mutating func outcome(graph: Graph) -> MembershipOutcome {
        let heads = (0..<graph.count).filter { graph.childCount($0) == 0 }
        return outcome(parents: heads, graph: graph)
    }

    /// Why the author of node `node` may not make it, from its causal past alone, or `nil`
    /// if they may: membership changes need an admin, every other operation a member.
    public mutating func authorityIssue(node: Int, graph: Graph) -> String? {
        if graph.parents[node].isEmpty { return nil }
        return MembershipIndex.issue(
            author: graph.author(node), kind: graph.kind(node), in: outcome(before: node, graph: graph))
    }

    /// The rule of `authorityIssue`, for an outcome already computed.
    public static func issue(author: PeerID, kind: UInt8, in outcome: MembershipOutcome) -> String? {
        guard let role = outcome.role(of: author) else {
            return "its author \(author.short) is not a member in its causal past"
        }
        if kind == Payload.Kind.membership && role != .admin {
            return "its author \(author.short) is a writer, and only admins change membership"
        }
        return nil
    }

    private mutating func outcome(frontier number: Int32, graph: Graph) -> MembershipOutcome {
        if let known = outcomes[number] { return known }
        let tips = frontiers[Int(number)].map(Int.init)
        let causality = Causality(graph: graph)
        let included = events.values
            .filter { event in tips.contains { $0 == event.node || causality.precedes(event.node, $0) } }
            .sorted { $0.node < $1.node }
        let result = MembershipResolver.resolve(origin: origin, events: included, graph: graph)
        outcomes[number] = result
        return result
    }

    /// The frontier number of the causal past of an operation with these parents.
    private mutating func frontier(parents: [Int], graph: Graph) -> Int32 {
        if parents.count == 1, let only = parents.first {
            return events[only] != nil ? intern([Int32(only)]) : frontierOfNode[only]
        }
        var candidates = Set<Int32>()
        for parent in parents {
            if events[parent] != nil {
                candidates.insert(Int32(parent))
            } else {
                candidates.formUnion(frontiers[Int(frontierOfNode[parent])])
            }
        }
        let list = candidates.sorted()
        let maximal = list.filter { a in !list.contains { b in graph.isAncestor(Int(a), of: Int(b)) } }
        return intern(maximal)
    }

    private mutating func intern(_ frontier: [Int32]) -> Int32 {
        if let known = frontierNumbers[frontier] { return known }
        let number = Int32(frontiers.count)
        frontiers.append(frontier)
        frontierNumbers[frontier] = number
        return number
    }
}
