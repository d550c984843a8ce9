import HGCore
import HGGraph
import HGStore

/// One operation as `log` shows it.
public struct LogEntry: Sendable {
    public let summary: OperationSummary
    /// Whether the operation is a current head.
    public let isHead: Bool
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
    /// The history, newest first. Reads only the operation index, never the objects.
    public func log(limit: Int? = nil, graph drawGraph: Bool = false) throws(RepositoryError) -> LogReport {
        let graph = try loadGraph()
        let order = graph.newestFirst()
        let shown = limit.map { Array(order.prefix(max(0, $0))) } ?? order
        let heads = Set(graph.heads)
        let entries = shown.map { LogEntry(summary: graph.nodes[$0], isHead: heads.contains(graph.nodes[$0].id)) }
        let rows = drawGraph ? GraphLayout.layout(graph: graph, order: shown) : nil
        return LogReport(entries: entries, graphRows: rows, total: graph.count)
    }
}
