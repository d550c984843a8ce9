import HGCore
import HGGraph

/// Admission of a batch of operations received from elsewhere (FORMAT.md 3): which of them join
/// the repository, in which order, and why the others do not. A pure step: it reads nothing and
/// writes nothing; the caller supplies what the store knows (which blobs are stored) and
/// stores what is admitted.
///
/// Operations are taken parents first (Kahn's algorithm over the batch; ties by id, so the
/// order, and the index, are the same whatever order they arrived in). Each is checked against
/// its causal past alone: signature verdict, parents present and admitted, a root only as the
/// genesis, the sequence rule, the author's role, and the blobs it names. An operation whose
/// parent was refused is refused too. A new operation kind plugs its own rule into
/// `issue(with:)`, beside the change's blob rule.
public struct Admission {
    /// The batch.
    public let operations: [Operation]
    /// The positions in `operations` of those not in the repository yet, in order of id.
    public let candidates: [Int]
    /// The position in `operations` of each of them, by id.
    public let fresh: [ObjectID: Int]
    /// The repository's id: the only operation without parents that may join.
    public let genesis: ObjectID
    /// Operations whose signature does not verify.
    public let badSignatures: Set<ObjectID>
    /// Whether a blob the batch did not carry is stored (as a blob) already; asked at most once
    /// per id.
    public let isStoredBlob: (ObjectID) -> Bool
    /// Whether the batch carries the blob with this id.
    public let carriesBlob: (ObjectID) -> Bool

    public init(
        operations: [Operation], fresh: [ObjectID: Int], candidates: [Int], genesis: ObjectID,
        badSignatures: Set<ObjectID>, carriesBlob: @escaping (ObjectID) -> Bool,
        isStoredBlob: @escaping (ObjectID) -> Bool
    ) {
        self.operations = operations
        self.fresh = fresh
        self.candidates = candidates
        self.genesis = genesis
        self.badSignatures = badSignatures
        self.carriesBlob = carriesBlob
        self.isStoredBlob = isStoredBlob
    }

    /// Takes the candidates in admission order. `checker` holds the repository's graph (it is
    /// extended with each admitted operation) and `members` its membership index (`nil` before
    /// the genesis). `admit` is called with each admitted operation and its node right after it
    /// joined the graph (with that graph, which `checker` holds meanwhile); its errors stop the
    /// admission. Returns the refused operations with the
    /// reason, in the order they were refused (the never-ready ones last).
    public func run(
        checker: inout SequenceChecker, members: inout MembershipIndex?,
        admit: (Operation, Int, borrowing Graph) throws -> Void
    ) throws -> [(id: ObjectID, reason: String)] {
        var refusals: [(id: ObjectID, reason: String)] = []
        var stored: [ObjectID: Bool] = [:]
        var order = AdmissionOrder(operations: operations, candidates: candidates, fresh: fresh)
        while let slot = order.next() {
            let op = operations[candidates[slot]]
            if let bad = order.refusedParent(of: slot) {
                refusals.append((op.id, "parent \(op.parents[bad].hex) was refused"))
                order.refuse(slot)
                continue
            }
            // Parents among the candidates are in the graph by now (taken, and not refused);
            // the others must be there already.
            if let missing = order.firstOutsideParent(of: slot, where: { !checker.graph.contains(op.parents[$0]) }) {
                refusals.append((op.id, "parent \(op.parents[missing].hex) is missing"))
                order.refuse(slot)
                continue
            }
            if let reason = issue(with: op, checker: checker, members: &members, stored: &stored) {
                refusals.append((op.id, reason))
                order.refuse(slot)
                continue
            }
            let node = try checker.append(OperationSummary(op))
            if members == nil {
                members = MembershipOrigin(genesis: op, node: node).map {
                    MembershipIndex(origin: $0, graph: checker.graph) { _ in nil }
                }
            } else {
                members?.record(node: node, change: op.membership, graph: checker.graph)
            }
            try admit(op, node, checker.graph)
        }
        // What never became ready waits on a parent that never arrived (or on a cycle, which
        // would need a hash collision).
        for slot in order.untaken {
            let op = operations[candidates[slot]]
            let missing = op.parents.first { !checker.graph.contains($0) && fresh[$0] == nil }
            let waiting = op.parents.first { !checker.graph.contains($0) }
            refusals.append(
                (
                    op.id,
                    missing.map { "parent \($0.hex) is missing" }
                        ?? "parent \(waiting?.hex ?? "?") is missing (it arrived without its own predecessors)"
                ))
        }
        return refusals
    }

    /// Why `op` (whose parents are all in the checker's graph) may not join, or `nil`.
    private func issue(
        with op: Operation, checker: SequenceChecker, members: inout MembershipIndex?,
        stored: inout [ObjectID: Bool]
    ) -> String? {
        if badSignatures.contains(op.id) { return "signature does not verify" }
        if op.parents.isEmpty {
            // Only the genesis may be a root, and only as the first operation (a clone receives it).
            guard op.id == genesis, op.genesis != nil, checker.graph.count == 0 else {
                return "has no parents but is not this repository's genesis"
            }
            return nil
        }
        let expected = checker.expectedSequence(for: op)
        if expected != op.sequence { return "sequence number \(op.sequence), expected \(expected)" }
        let parentNodes = op.parents.compactMap { checker.graph.number(of: $0) }
        if let outcome = members?.outcome(parents: parentNodes, graph: checker.graph) {
            if let issue = MembershipIndex.issue(author: op.author, kind: op.payload.kind, in: outcome) { return issue }
        }
        if let change = op.change {
            for entry in change.entries {
                guard let version = entry.version, !carriesBlob(version.blob) else { continue }
                // The same words whatever this replica holds: the decision does not depend on it.
                let present = stored[version.blob] ?? isStoredBlob(version.blob)
                stored[version.blob] = present
                if !present {
                    return
                        "names blob \(version.blob.hex) of '\(entry.path)', but no blob with that id was received or is stored"
                }
            }
        }
        return nil
    }
}

/// Kahn's algorithm over a batch: an operation becomes ready when every parent is in the
/// repository or has been taken; the smallest ready id goes first. Candidates are known by
/// their slot (their place in `candidates`), and their parents among the candidates are looked
/// up once, so that the books are kept in arrays rather than tables keyed by id.
struct AdmissionOrder {
    /// Each candidate's parents, in its own order, as slots (-1: not a candidate).
    private var parentSlots: [Int32] = []
    private var parentStart: [Int]
    private var waiting: [Int32]
    private var firstChildEdge: [Int32]
    private var edges: [(child: Int32, next: Int32)] = []
    private var ready = Heap<SmallestFirst>()
    private var taken: [Bool]
    private var refused: [Bool]
    private let ids: [ObjectID]

    init(operations: [Operation], candidates: [Int], fresh: [ObjectID: Int]) {
        let count = candidates.count
        var slotOf = [Int32](repeating: -1, count: operations.count)
        for (slot, position) in candidates.enumerated() { slotOf[position] = Int32(slot) }
        ids = candidates.map { operations[$0].id }
        parentStart = [Int](repeating: 0, count: count + 1)
        waiting = [Int32](repeating: 0, count: count)
        firstChildEdge = [Int32](repeating: -1, count: count)
        taken = [Bool](repeating: false, count: count)
        refused = [Bool](repeating: false, count: count)
        for (slot, position) in candidates.enumerated() {
            for parent in operations[position].parents {
                let parentSlot = fresh[parent].map { slotOf[$0] } ?? -1
                // One edge per mention: a parent named twice (which the decoder refuses) would add
                // two, and taking it would remove both.
                if parentSlot >= 0 {
                    waiting[slot] += 1
                    edges.append((child: Int32(slot), next: firstChildEdge[Int(parentSlot)]))
                    firstChildEdge[Int(parentSlot)] = Int32(edges.count - 1)
                }
                parentSlots.append(parentSlot)
            }
            parentStart[slot + 1] = parentSlots.count
            if waiting[slot] == 0 { ready.push(SmallestFirst(id: ids[slot], slot: Int32(slot))) }
        }
    }

    /// The next candidate to take (marked taken, its children released), or `nil`.
    mutating func next() -> Int? {
        guard let next = ready.pop() else { return nil }
        let slot = Int(next.slot)
        taken[slot] = true
        var edge = firstChildEdge[slot]
        while edge >= 0 {
            let child = Int(edges[Int(edge)].child)
            waiting[child] -= 1
            if waiting[child] == 0 { ready.push(SmallestFirst(id: ids[child], slot: Int32(child))) }
            edge = edges[Int(edge)].next
        }
        return slot
    }

    /// The index (among the operation's parents) of a parent in the batch that was refused.
    func refusedParent(of slot: Int) -> Int? {
        let mine = parentStart[slot]..<parentStart[slot + 1]
        return mine.first { parentSlots[$0] >= 0 && refused[Int(parentSlots[$0])] }.map { $0 - mine.lowerBound }
    }

    /// The index (among the operation's parents) of the first parent not in the batch for
    /// which `condition` holds.
    func firstOutsideParent(of slot: Int, where condition: (Int) -> Bool) -> Int? {
        let mine = parentStart[slot]..<parentStart[slot + 1]
        return mine.first { parentSlots[$0] < 0 && condition($0 - mine.lowerBound) }.map { $0 - mine.lowerBound }
    }

    mutating func refuse(_ slot: Int) { refused[slot] = true }

    /// The candidates never taken, in slot order.
    var untaken: [Int] { taken.indices.filter { !taken[$0] } }
}

/// Reverses an id's order, so that the max-heap of HGGraph hands out the smallest id first.
private struct SmallestFirst: Comparable {
    let id: ObjectID
    /// Where the operation is among the candidates.
    let slot: Int32
    static func < (a: SmallestFirst, b: SmallestFirst) -> Bool { b.id < a.id }
    static func == (a: SmallestFirst, b: SmallestFirst) -> Bool { a.id == b.id }
}
