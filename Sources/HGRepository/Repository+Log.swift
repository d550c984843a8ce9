import HGCore
import HGGraph
import HGStore

/// One operation as `log` shows it.
public struct LogEntry: Sendable {
    public let summary: OperationSummary
    /// Whether the operation is a current head.
    public let isHead: Bool
    /// The change, for a membership operation (read from its object: the index keeps only the kind).
    public let membership: MembershipChange?
}

/// What `log` returns.
public struct LogReport: Sendable {
    /// Newest first (see `Graph.newestFirst`).
    public let entries: [LogEntry]
    /// Graph drawing lines, parallel to `entries`, when asked for.
    public let graphRows: [GraphRows]?
    /// Total number of operations in the repository.
    public let total: Int
}

extension Repository {
    /// The history, newest first. Reads the operation index, and the objects of membership
    /// operations only (rare, and the index does not describe them).
    public func log(limit: Int? = nil, graph drawGraph: Bool = false) throws(RepositoryError) -> LogReport {
        let graph = try loadGraph()
        let order = graph.newestFirst()
        let shown = limit.map { Array(order.prefix(max(0, $0))) } ?? order
        let heads = Set(graph.heads)
        let entries = shown.map { node in
            let s = graph.nodes[node]
            let membership = s.kind == Payload.Kind.membership ? (try? objects.readOperation(s.id))?.membership : nil
            return LogEntry(summary: s, isHead: heads.contains(s.id), membership: membership)
        }
        let rows = drawGraph ? GraphLayout.layout(graph: graph, order: shown) : nil
        return LogReport(entries: entries, graphRows: rows, total: graph.count)
    }
}
