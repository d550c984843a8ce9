import HGCore

/// The operation DAG in memory, built from index records.
///
/// Nodes are numbered in the order given, which must list every parent before
/// its children (the index's order does). Each node keeps its depth (`level`:
/// 0 for the genesis, else 1 + the largest parent level) so that ancestry
/// searches can stop at the level of the node they look for.
public struct Graph: Sendable {
    public private(set) var nodes: [OperationSummary]
    /// Parent node numbers of each node.
    public private(set) var parents: [[Int32]]
    /// Child node numbers of each node.
    public private(set) var children: [[Int32]]
    /// Longest path from a root.
    public private(set) var levels: [Int32]
    private var numbers: [ObjectID: Int32]

    /// Why summaries do not form a DAG.
    public enum GraphError: Error, Equatable, Sendable, CustomStringConvertible {
        case duplicate(ObjectID)
        case missingParent(child: ObjectID, parent: ObjectID)
        public var description: String {
            switch self {
            case let .duplicate(id): return "operation \(id.hex) is listed twice"
            case let .missingParent(child, parent): return "operation \(child.hex) names parent \(parent.hex), which comes later or is missing"
            }
        }
    }

    /// Builds the graph; every parent must appear before its child.
    public init(_ summaries: [OperationSummary]) throws(GraphError) {
        var numbers: [ObjectID: Int32] = [:]
        numbers.reserveCapacity(summaries.count)
        var parents: [[Int32]] = []
        parents.reserveCapacity(summaries.count)
        var children = [[Int32]](repeating: [], count: summaries.count)
        var levels: [Int32] = []
        levels.reserveCapacity(summaries.count)
        for (n, s) in summaries.enumerated() {
            guard numbers[s.id] == nil else { throw .duplicate(s.id) }
            var ps: [Int32] = []
            ps.reserveCapacity(s.parents.count)
            var level: Int32 = 0
            for p in s.parents {
                guard let pn = numbers[p] else { throw .missingParent(child: s.id, parent: p) }
                ps.append(pn)
                children[Int(pn)].append(Int32(n))
                level = max(level, levels[Int(pn)] + 1)
            }
            numbers[s.id] = Int32(n)
            parents.append(ps)
            levels.append(level)
        }
        self.nodes = summaries
        self.parents = parents
        self.children = children
        self.levels = levels
        self.numbers = numbers
    }

    /// Adds one operation whose parents are all in the graph; returns its node number.
    @discardableResult
    public mutating func append(_ s: OperationSummary) throws(GraphError) -> Int {
        guard numbers[s.id] == nil else { throw .duplicate(s.id) }
        var ps: [Int32] = []
        var level: Int32 = 0
        for p in s.parents {
            guard let pn = numbers[p] else { throw .missingParent(child: s.id, parent: p) }
            ps.append(pn)
            level = max(level, levels[Int(pn)] + 1)
        }
        let n = Int32(nodes.count)
        for p in ps { children[Int(p)].append(n) }
        numbers[s.id] = n
        nodes.append(s)
        parents.append(ps)
        children.append([])
        levels.append(level)
        return Int(n)
    }

    /// Number of operations.
    public var count: Int { nodes.count }

    /// The node number of `id`, if present.
    public func number(of id: ObjectID) -> Int? {
        numbers[id].map(Int.init)
    }

    /// Whether `id` is in the graph.
    public func contains(_ id: ObjectID) -> Bool { numbers[id] != nil }

    /// The summary of `id`.
    public func summary(_ id: ObjectID) -> OperationSummary? {
        numbers[id].map { nodes[Int($0)] }
    }

    /// Nodes with no children, by id.
    public var heads: [ObjectID] {
        (0..<count).filter { children[$0].isEmpty }.map { nodes[$0].id }.sorted()
    }

    /// Whether node `a` is a strict ancestor of node `b`.
    ///
    /// Searches backwards from `b`, never below `a`'s level (an ancestor is
    /// always at a lower level), so the cost is bounded by the nodes between them.
    public func isAncestor(_ a: Int, of b: Int) -> Bool {
        guard a != b, levels[a] < levels[b] else { return false }
        let floor = levels[a]
        // Linear stretches (one parent each, the common shape of history between merges)
        // are walked without the visited set: each node is reached only once there.
        var n = b
        while parents[n].count == 1 {
            let p = Int(parents[n][0])
            if p == a { return true }
            guard levels[p] > floor else { return false }
            n = p
        }
        var seen = Set<Int32>()
        var stack: [Int32] = [Int32(n)]
        while let n = stack.popLast() {
            for p in parents[Int(n)] {
                if Int(p) == a { return true }
                if levels[Int(p)] > floor, seen.insert(p).inserted { stack.append(p) }
            }
        }
        return false
    }

    /// Every strict ancestor of the given nodes (node numbers, unordered).
    public func ancestors(of start: [Int]) -> Set<Int> {
        let mask = ancestorMask(of: start)
        return Set((0..<count).filter { mask[$0] })
    }

    /// `mask[n]` is true when node `n` is a strict ancestor of one of `start`: a flag per node
    /// instead of a set, since a sync asks this of most of the history.
    public func ancestorMask(of start: [Int]) -> [Bool] {
        var mask = [Bool](repeating: false, count: count)
        var stack = start
        while let n = stack.popLast() {
            for p in parents[n] where !mask[Int(p)] {
                mask[Int(p)] = true
                stack.append(Int(p))
            }
        }
        return mask
    }

    /// The order `log` shows: children before parents; among the operations
    /// that are ready, the newest claimed timestamp first, then the larger id.
    /// Deterministic for a given set of operations.
    public func newestFirst() -> [Int] {
        var pendingChildren = children.map { $0.count }
        var ready = Heap<Key>()
        for n in 0..<count where pendingChildren[n] == 0 { ready.push(key(n)) }
        var order: [Int] = []
        order.reserveCapacity(count)
        while let k = ready.pop() {
            order.append(k.node)
            for p in parents[k.node] {
                pendingChildren[Int(p)] -= 1
                if pendingChildren[Int(p)] == 0 { ready.push(key(Int(p))) }
            }
        }
        return order
    }

    private func key(_ n: Int) -> Key { Key(timestamp: nodes[n].timestamp, id: nodes[n].id, node: n) }

    struct Key: Comparable {
        let timestamp: UInt64
        let id: ObjectID
        let node: Int
        static func < (a: Key, b: Key) -> Bool {
            a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.id < b.id
        }
    }
}

/// A binary max-heap: `pop` returns the largest element.
public struct Heap<Element: Comparable> {
    private var items: [Element] = []

    public init() {}

    public mutating func push(_ element: Element) {
        items.append(element)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[parent] < items[i] else { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    public mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var largest = i
            if l < items.count, items[largest] < items[l] { largest = l }
            if r < items.count, items[largest] < items[r] { largest = r }
            if largest == i { break }
            items.swapAt(i, largest)
            i = largest
        }
        return top
    }
}
