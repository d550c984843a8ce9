import HGCore
import HGGraph
import HGState
import HGStore

/// What `reindex` did.
public struct ReindexResult: Sendable {
    public let operations: Int
    public let heads: [ObjectID]
    /// Operation objects left out: unreachable from the heads, or invalid.
    public let skipped: Int
}

extension Repository {
    /// Rebuilds the operation index and every derived file from the objects.
    ///
    /// The operations kept are those reachable from every record still
    /// readable in the index, the heads file and the peer refs (when none of
    /// these can be read, every valid operation object), that decode, verify
    /// and have all their ancestors. Operation objects left behind by an
    /// interrupted command before their index record are unreachable and stay
    /// out, so that an operation never reported as committed cannot reappear.
    public func reindex() throws(RepositoryError) -> ReindexResult {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        var starts: [ObjectID] = []
        if let scanned = try? OperationIndex.scan(layout.operationIndex) {
            starts += scanned.contents.entries.map(\.id)
        }
        if let heads = try? Refs.readHeads(layout.heads) { starts += heads.ids }
        if let names = try? FileSystem.list(layout.peerRefs) {
            for name in names {
                if let ref = try? Refs.readPeer(layout.peerRef(name)) { starts += ref.tips.map(\.id) }
            }
        }
        let all = try lift { try objects.allIDs() }
        var valid: [ObjectID: Operation] = [:]
        for id in all {
            guard case let .operation(op)? = try? objects.readObject(id), op.hasValidSignature() else { continue }
            valid[id] = op
        }
        // Reachable set.
        var keep = Set<ObjectID>()
        var stack = starts.isEmpty ? Array(valid.keys) : starts.filter { valid[$0] != nil }
        while let id = stack.popLast() {
            guard let op = valid[id], keep.insert(id).inserted else { continue }
            stack += op.parents
        }
        // Topological order (parents first), ties by id, dropping anything with a missing ancestor.
        var order: [OperationSummary] = []
        var placed = Set<ObjectID>()
        var pending = keep.sorted()
        var progress = true
        while progress && !pending.isEmpty {
            progress = false
            var next: [ObjectID] = []
            for id in pending {
                guard let op = valid[id] else { continue }
                if op.parents.allSatisfy(placed.contains) {
                    order.append(OperationSummary(op))
                    placed.insert(id)
                    progress = true
                } else {
                    next.append(id)
                }
            }
            pending = next
        }
        // The genesis must come first; anything rooted elsewhere is not part of this repository.
        let graph = try lift { try Graph(order) }
        let fromGenesis: Set<Int>
        if let g = graph.number(of: genesis) {
            var reach = Set([g])
            for n in 0..<graph.count
            where !graph.parents[n].isEmpty && graph.parents[n].allSatisfy({ reach.contains(Int($0)) }) {
                reach.insert(n)
            }
            fromGenesis = reach
        } else {
            fromGenesis = []
        }
        order = order.enumerated().filter { fromGenesis.contains($0.offset) }.map(\.element)
        try lift {
            // First: a graph file of the old index must not outlive it (readers also compare the
            // last record's checksum, but an index rewritten in another order could match it).
            try FileSystem.remove(layout.graphFile)  // a missing file is fine
            try OperationIndex.rewrite(layout.operationIndex, order)
            for name in try FileSystem.list(layout.peerRefs) { try FileSystem.remove(layout.peerRef(name)) }
            try FileSystem.remove(layout.heads)
            try FileSystem.remove(layout.stateCache)
        }
        try repairCaches()
        return ReindexResult(operations: order.count, heads: try heads(), skipped: valid.count - order.count)
    }
}
