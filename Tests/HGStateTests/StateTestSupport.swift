import HGCore
import HGGraph
import HGTestSupport

@testable import HGState

// The HGState side of `History` (Tests/Support): the graph, tree and reference tree of a history.

extension History {
    /// The graph of `order` (default: creation order).
    func graph(_ order: [Operation]? = nil) throws -> Graph {
        try Graph(summaries(order))
    }

    /// The tree of the operations in `order` (default: creation order).
    func tree(_ order: [Operation]? = nil) throws -> FileTree {
        let g = try graph(order)
        return FileTree.compute(graph: g) { node in byID[g.nodes[node].id]?.change }
    }

    /// The tree computed directly from the definition: per path, the writes
    /// that no other write to the same path has in its causal past.
    func referencePaths() -> [RepoPath: [LiveWrite]] {
        var writes: [RepoPath: [LiveWrite]] = [:]
        for op in ops {
            for entry in op.change?.entries ?? [] {
                writes[entry.path, default: []].append(LiveWrite(op: op.id, version: entry.version))
            }
        }
        var result: [RepoPath: [LiveWrite]] = [:]
        for (path, all) in writes {
            let live = all.filter { w in
                !all.contains { other in ancestors[other.op]?.contains(w.op) == true }
            }
            result[path] = live.sorted()
        }
        return result
    }
}
