import HGCore

/// The operation DAG in memory, built from index records.
///
/// Nodes are numbered in the order given, which must list every parent before
/// its children (the index's order does). Each node keeps its depth (`level`:
/// 0 for the genesis, else 1 + the largest parent level) so that ancestry
/// searches can stop at the level of the node they look for.
///
/// Edges live in a few flat arrays rather than an array per node: every command
/// builds this graph over the whole history, and one allocation per node and
/// direction was most of that cost. Parents are stored contiguously (node `n`'s
/// are `parentList[parentStart[n]..<parentStart[n + 1]]`, since nodes arrive in
/// order); children are linked lists through `childEdges`, since appending a node
/// adds a child to nodes already stored.
public struct Graph: Sendable {
    // The stored properties are internal rather than private so that `GraphFile.swift` can
    // write and read them; nothing outside this module sees them.
    //
    // What the index keeps of each operation, a column per field (node `n` is entry `n` of
    // each): loading the graph then costs a few appends per operation, where a summary per
    // operation cost two heap allocations (its parents and its message) to make and to free.
    /// The operations' ids.
    public internal(set) var ids: [ObjectID]
    var authorNumbers: [Int32]
    /// The distinct authors, in order of first appearance (`authorNumbers` index it).
    var authorTable: [PeerID]
    var authorLookup: [PeerID: Int32]
    var sequences: [UInt64]
    var timestamps: [UInt64]
    var kinds: [UInt8]
    var entryCounts: [Int32]
    /// The messages, one after another; node `n`'s ends at `messageEnds[n]`.
    var messageBytes: [UInt8]
    var messageEnds: [Int]
    /// Longest path from a root.
    public internal(set) var levels: [Int32]
    /// The node numbers of a graph read from a graph file (`GraphFile.swift`), ascending by id
    /// and searched by halving: reading the file then builds no hash table. Nodes appended
    /// afterwards, and every node of a graph built by appending, are in `numbers` instead.
    var sortedNodes: [Int32]
    /// Where each range of ids starts in `sortedNodes`: bucket `b` holds the ids whose first
    /// 64 bits, shifted right by `bucketShift`, are `b` (git's pack index does this with 256
    /// buckets, by first byte). There are about a quarter as many buckets as sorted nodes.
    var bucketStarts: [Int32]
    var bucketShift: UInt64
    var numbers: [ObjectID: Int32]
    /// Where each node's parents start in `parentList`; one more entry than nodes.
    var parentStart: [Int32]
    var parentList: [Int32]
    /// Each node's most recently added child edge (an index into `childEdges`), or -1.
    var lastChildEdge: [Int32]
    var childCounts: [Int32]
    /// Child edges: the child's node number and the parent's previous edge (or -1).
    var childEdges: [(child: Int32, previous: Int32)]

    /// Why summaries do not form a DAG.
    public enum GraphError: Error, Equatable, Sendable, CustomStringConvertible {
        case duplicate(ObjectID)
        case missingParent(child: ObjectID, parent: ObjectID)
        case tooLarge
        public var description: String {
            switch self {
            case let .duplicate(id): return "operation \(id.hex) is listed twice"
            case let .missingParent(child, parent):
                return "operation \(child.hex) names parent \(parent.hex), which comes later or is missing"
            case .tooLarge: return "more operations or parent links than a graph holds (2^31 - 1)"
            }
        }
    }

    /// An empty graph.
    public init() {
        ids = []
        authorNumbers = []
        authorTable = []
        authorLookup = [:]
        sequences = []
        timestamps = []
        kinds = []
        entryCounts = []
        messageBytes = []
        messageEnds = []
        levels = []
        sortedNodes = []
        bucketStarts = [0, 0]
        bucketShift = 64
        numbers = [:]
        parentStart = [0]
        parentList = []
        lastChildEdge = []
        childCounts = []
        childEdges = []
    }

    /// Builds the graph; every parent must appear before its child.
    public init(_ summaries: [OperationSummary]) throws(GraphError) {
        self.init()
        reserveCapacity(summaries.count)
        for s in summaries { try append(s) }
    }

    /// Makes room for `count` nodes in all, so that appending up to that many does not regrow
    /// the tables of the nodes already held.
    public mutating func reserveCapacity(_ count: Int) {
        ids.reserveCapacity(count)
        authorNumbers.reserveCapacity(count)
        sequences.reserveCapacity(count)
        timestamps.reserveCapacity(count)
        kinds.reserveCapacity(count)
        entryCounts.reserveCapacity(count)
        messageEnds.reserveCapacity(count)
        levels.reserveCapacity(count)
        numbers.reserveCapacity(count - sortedNodes.count)
        parentStart.reserveCapacity(count + 1)
        parentList.reserveCapacity(count + count / 4)
        childEdges.reserveCapacity(count + count / 4)
        lastChildEdge.reserveCapacity(count)
        childCounts.reserveCapacity(count)
    }

    /// Adds one operation whose parents are all in the graph; returns its node number.
    @discardableResult
    public mutating func append(_ s: OperationSummary) throws(GraphError) -> Int {
        try appendNode(
            id: s.id, author: s.author, sequence: s.sequence, timestamp: s.timestamp, kind: s.kind,
            parents: s.parents, entryCount: s.entryCount, message: s.message.utf8)
    }

    /// Adds one operation, given field by field (what reading the index does, without making
    /// a summary first), whose parents are all in the graph; returns its node number. Nothing
    /// is added if it throws.
    @discardableResult
    public mutating func append(
        id: ObjectID, author: PeerID, sequence: UInt64, timestamp: UInt64, kind: UInt8,
        parents: PackedIDs, entryCount: Int, message: UnsafeBufferPointer<UInt8>
    ) throws(GraphError) -> Int {
        try appendNode(
            id: id, author: author, sequence: sequence, timestamp: timestamp, kind: kind,
            parents: parents, entryCount: entryCount, message: message)
    }

    /// The body of both `append`s (generic inside this module only, where it is specialised for each).
    private mutating func appendNode<Parents: Sequence<ObjectID>, Message: Collection<UInt8>>(
        id: ObjectID, author: PeerID, sequence: UInt64, timestamp: UInt64, kind: UInt8,
        parents: Parents, entryCount: Int, message: Message
    ) throws(GraphError) -> Int {
        guard levels.count < Int(Int32.max) - 1, parentList.count < Int(Int32.max) - Limits.maxParents else {
            throw .tooLarge
        }
        let n = Int32(levels.count)
        var level: Int32 = 0
        let firstParent = parentList.count
        for p in parents {
            guard let pn = lookup(p) else {
                parentList.removeSubrange(firstParent...)
                throw .missingParent(child: id, parent: p)
            }
            parentList.append(pn)
            level = max(level, levels[Int(pn)] + 1)
        }
        // One hash lookup both inserts and detects a duplicate (which then gets its number back).
        if searchSorted(id) != nil {
            parentList.removeSubrange(firstParent...)
            throw .duplicate(id)
        }
        if let earlier = numbers.updateValue(n, forKey: id) {
            numbers[id] = earlier
            parentList.removeSubrange(firstParent...)
            throw .duplicate(id)
        }
        for pn in parentList[firstParent...] {
            childEdges.append((child: n, previous: lastChildEdge[Int(pn)]))
            lastChildEdge[Int(pn)] = Int32(childEdges.count - 1)
            childCounts[Int(pn)] += 1
        }
        parentStart.append(Int32(parentList.count))
        levels.append(level)
        lastChildEdge.append(-1)
        childCounts.append(0)
        ids.append(id)
        // Most histories have a few authors and long runs by one: the previous node's author
        // is checked before the table.
        if let last = authorNumbers.last, authorTable[Int(last)] == author {
            authorNumbers.append(last)
        } else if let known = authorLookup[author] {
            authorNumbers.append(known)
        } else {
            let number = Int32(authorTable.count)
            authorTable.append(author)
            authorLookup[author] = number
            authorNumbers.append(number)
        }
        sequences.append(sequence)
        timestamps.append(timestamp)
        kinds.append(kind)
        entryCounts.append(Int32(clamping: entryCount))
        messageBytes.append(contentsOf: message)
        messageEnds.append(messageBytes.count)
        return Int(n)
    }

    // MARK: - Fields of a node

    /// Node `n`'s author.
    public func author(_ n: Int) -> PeerID { authorTable[Int(authorNumbers[n])] }

    /// Node `n`'s sequence number.
    public func sequence(_ n: Int) -> UInt64 { sequences[n] }

    /// Node `n`'s claimed timestamp.
    public func timestamp(_ n: Int) -> UInt64 { timestamps[n] }

    /// Node `n`'s payload kind.
    public func kind(_ n: Int) -> UInt8 { kinds[n] }

    /// Node `n`'s message ("" for operations other than changes).
    public func message(_ n: Int) -> String {
        String(decoding: messageBytes[(n == 0 ? 0 : messageEnds[n - 1])..<messageEnds[n]], as: UTF8.self)
    }

    /// The nodes written by `author`, ascending.
    public func nodes(by author: PeerID) -> [Int] {
        guard let number = authorLookup[author] else { return [] }
        return authorNumbers.indices.filter { authorNumbers[$0] == number }
    }

    /// The nodes of each author (each of `authors`, or every author), ascending, found in one
    /// pass over the graph. Authors without a node are left out.
    public func nodesByAuthor(_ authors: Set<PeerID>? = nil) -> [PeerID: [Int]] {
        let wanted = authorTable.map { authors?.contains($0) ?? true }
        var lists = [[Int]](repeating: [], count: authorTable.count)
        for (n, number) in authorNumbers.enumerated() where wanted[Int(number)] { lists[Int(number)].append(n) }
        var result: [PeerID: [Int]] = [:]
        for (number, list) in lists.enumerated() where !list.isEmpty { result[authorTable[number]] = list }
        return result
    }

    /// Every author with a node in the graph, in order of first appearance.
    public var authors: [PeerID] { authorTable }

    /// Node `n`'s summary (made on request: the graph keeps the fields apart).
    public func summary(at n: Int) -> OperationSummary {
        OperationSummary(
            id: ids[n], author: author(n), sequence: sequences[n], timestamp: timestamps[n], kind: kinds[n],
            parents: parentsOf(n).map { ids[Int($0)] }, entryCount: Int(entryCounts[n]), message: message(n))
    }

    /// Every node's summary, in node order (each made on access).
    public var nodes: Summaries { Summaries(graph: self) }

    /// The summaries of a graph's nodes, indexed by node number.
    public struct Summaries: RandomAccessCollection, Sendable {
        let graph: Graph
        public var startIndex: Int { 0 }
        public var endIndex: Int { graph.count }
        public subscript(position: Int) -> OperationSummary { graph.summary(at: position) }
    }

    /// The parent node numbers of each node, in the operation's order: `parents[n]`.
    public var parents: Parents { Parents(start: parentStart, list: parentList) }

    /// The child node numbers of each node, ascending: `children[n]`.
    public var children: Children { Children(graph: self) }

    /// Node `n`'s parents, without building a list (what the searches below walk).
    private func parentsOf(_ n: Int) -> ArraySlice<Int32> {
        parentList[Int(parentStart[n])..<Int(parentStart[n + 1])]
    }

    /// How many children node `n` has.
    public func childCount(_ n: Int) -> Int { Int(childCounts[n]) }

    /// Parent lists, indexed by node number.
    public struct Parents: Sendable {
        let start: [Int32]
        let list: [Int32]
        public subscript(node: Int) -> NodeList {
            NodeList(storage: list, range: Int(start[node])..<Int(start[node + 1]))
        }
    }

    /// Child lists, indexed by node number.
    public struct Children: Sendable {
        let graph: Graph
        public subscript(node: Int) -> [Int32] {
            var result: [Int32] = []
            result.reserveCapacity(graph.childCount(node))
            var edge = graph.lastChildEdge[node]
            while edge >= 0 {
                result.append(graph.childEdges[Int(edge)].child)
                edge = graph.childEdges[Int(edge)].previous
            }
            return result.reversed()
        }
    }

    /// Some node numbers held in the graph's storage, indexed from 0.
    public struct NodeList: RandomAccessCollection, Sendable {
        let storage: [Int32]
        let range: Range<Int>
        public var startIndex: Int { 0 }
        public var endIndex: Int { range.count }
        public subscript(position: Int) -> Int32 { storage[range.lowerBound + position] }
    }

    /// Number of operations.
    public var count: Int { levels.count }

    /// The node number of `id`, if present.
    public func number(of id: ObjectID) -> Int? {
        lookup(id).map(Int.init)
    }

    /// Whether `id` is in the graph.
    public func contains(_ id: ObjectID) -> Bool { lookup(id) != nil }

    /// The summary of `id`.
    public func summary(_ id: ObjectID) -> OperationSummary? {
        lookup(id).map { summary(at: Int($0)) }
    }

    /// The node number of `id`: among the appended nodes, then among those read from a file.
    private func lookup(_ id: ObjectID) -> Int32? {
        if !numbers.isEmpty, let n = numbers[id] { return n }
        return searchSorted(id)
    }

    /// `id`'s node number if it is among `sortedNodes`: its bucket, then halving within it. Ids
    /// are hash outputs spread evenly over their range, so a bucket holds about four; ids made
    /// to crowd one bucket (2^k hashing work for k shared leading bits) only make its search
    /// longer, never longer than halving over the whole list.
    private func searchSorted(_ id: ObjectID) -> Int32? {
        guard !sortedNodes.isEmpty else { return nil }
        let bucket = Int(id.raw.w0 >> bucketShift)
        var low = Int(bucketStarts[bucket])
        var high = Int(bucketStarts[bucket + 1])
        return sortedNodes.withUnsafeBufferPointer { sorted in
            ids.withUnsafeBufferPointer { ids in
                while low < high {
                    let middle = (low + high) / 2
                    let other = ids[Int(sorted[middle])]
                    if other < id {
                        low = middle + 1
                    } else if id < other {
                        high = middle
                    } else {
                        return sorted[middle]
                    }
                }
                return nil
            }
        }
    }

    /// Builds the buckets of `sortedNodes` (which must be ascending by id).
    mutating func indexSortedNodes() {
        let count = sortedNodes.count
        var bits = 0
        while bits < 24, (1 << (bits + 2)) < count { bits += 1 }
        bucketShift = UInt64(64 - bits)
        let buckets = 1 << bits
        var starts = [Int32](repeating: 0, count: buckets + 1)
        ids.withUnsafeBufferPointer { ids in
            var position = 0
            for bucket in 0..<buckets {
                starts[bucket] = Int32(position)
                while position < count, Int(ids[Int(sortedNodes[position])].raw.w0 >> bucketShift) == bucket {
                    position += 1
                }
            }
            starts[buckets] = Int32(position)
        }
        bucketStarts = starts
    }

    /// Every node number, ascending by id (what a graph file stores): the sorted nodes merged
    /// with the appended ones, sorted.
    func nodesSortedByID() -> [Int32] {
        ids.withUnsafeBufferPointer { ids in
            let appended = numbers.values.sorted { ids[Int($0)] < ids[Int($1)] }
            guard !sortedNodes.isEmpty else { return appended }
            return sortedNodes.withUnsafeBufferPointer { sorted in
                [Int32](unsafeUninitializedCapacity: sorted.count + appended.count) { merged, initialized in
                    var i = 0
                    var j = 0
                    var k = 0
                    while i < sorted.count || j < appended.count {
                        if j == appended.count || (i < sorted.count && ids[Int(sorted[i])] < ids[Int(appended[j])]) {
                            merged[k] = sorted[i]
                            i += 1
                        } else {
                            merged[k] = appended[j]
                            j += 1
                        }
                        k += 1
                    }
                    initialized = k
                }
            }
        }
    }

    /// Nodes with no children, by id.
    public var heads: [ObjectID] {
        (0..<count).filter { childCounts[$0] == 0 }.map { ids[$0] }.sorted()
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
        while parentStart[n + 1] - parentStart[n] == 1 {
            let p = Int(parentList[Int(parentStart[n])])
            if p == a { return true }
            guard levels[p] > floor else { return false }
            n = p
        }
        var seen = Set<Int32>()
        var stack: [Int32] = [Int32(n)]
        while let n = stack.popLast() {
            for p in parentsOf(Int(n)) {
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
            for p in parentsOf(n) where !mask[Int(p)] {
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
        var pendingChildren = childCounts
        var ready = Heap<Key>()
        for n in 0..<count where pendingChildren[n] == 0 { ready.push(key(n)) }
        var order: [Int] = []
        order.reserveCapacity(count)
        while let k = ready.pop() {
            order.append(k.node)
            for p in parentsOf(k.node) {
                pendingChildren[Int(p)] -= 1
                if pendingChildren[Int(p)] == 0 { ready.push(key(Int(p))) }
            }
        }
        return order
    }

    private func key(_ n: Int) -> Key { Key(timestamp: timestamps[n], id: ids[n], node: n) }

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
            let l = 2 * i + 1
            let r = l + 1
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
