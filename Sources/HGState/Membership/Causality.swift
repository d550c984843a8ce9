import HGGraph

/// Ancestry queries over a graph, remembered: the membership function asks
/// about the same few pairs of operations many times.
final class Causality {
    let graph: Graph
    private var memo: [Int64: Bool] = [:]

    init(graph: Graph) { self.graph = graph }

    /// Whether `a` is a strict ancestor of `b`.
    func precedes(_ a: Int, _ b: Int) -> Bool {
        if a == b { return false }
        let key = Int64(a) << 32 | Int64(b)
        if let known = memo[key] { return known }
        let answer = graph.isAncestor(a, of: b)
        memo[key] = answer
        return answer
    }

    /// Whether neither of two distinct operations is an ancestor of the other.
    func concurrent(_ a: Int, _ b: Int) -> Bool {
        a != b && !precedes(a, b) && !precedes(b, a)
    }
}
