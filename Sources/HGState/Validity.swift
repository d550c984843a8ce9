import HGCore
import HGGraph

/// A reason an operation is not structurally valid (DESIGN §4). Each is
/// decided from the operation and its causal past only, so every correct
/// replica reaches the same decision.
public enum ValidityIssue: Error, Equatable, Sendable, CustomStringConvertible {
    /// The signature does not verify against the author's key.
    case badSignature(ObjectID)
    /// A parent is not in the repository.
    case missingParent(ObjectID, parent: ObjectID)
    /// The sequence number is not 1 + the author's highest in the causal past.
    case wrongSequence(ObjectID, expected: UInt64, actual: UInt64)
    /// An operation without parents that is not the repository's genesis.
    case foreignRoot(ObjectID)
    /// The first operation is not a genesis operation.
    case notGenesis(ObjectID)
    /// A parent is itself invalid, so this operation is too.
    case invalidParent(ObjectID, parent: ObjectID)
    /// A blob named by a change entry is missing or is not a blob.
    case missingBlob(ObjectID, blob: ObjectID, path: String)
    /// The author did not hold the needed role in the membership of the causal past.
    case notAuthorised(ObjectID, reason: String)

    public var description: String {
        switch self {
        case let .badSignature(id): return "operation \(id.hex): signature does not verify"
        case let .missingParent(id, parent): return "operation \(id.hex): parent \(parent.hex) is missing"
        case let .wrongSequence(id, expected, actual):
            return
                "operation \(id.hex): sequence number \(actual), expected \(expected) (1 + the author's highest in its causal past)"
        case let .foreignRoot(id): return "operation \(id.hex) has no parents but is not this repository's genesis"
        case let .notGenesis(id): return "operation \(id.hex) is the repository's root but not a genesis operation"
        case let .invalidParent(id, parent): return "operation \(id.hex): parent \(parent.hex) is invalid"
        case let .missingBlob(id, blob, path):
            return "operation \(id.hex): blob \(blob.hex) of '\(path)' is missing, damaged or not a blob"
        case let .notAuthorised(id, reason): return "operation \(id.hex): \(reason)"
        }
    }

    /// The operation the issue is about.
    public var operation: ObjectID {
        switch self {
        case let .badSignature(id), let .missingParent(id, _), let .wrongSequence(id, _, _),
            let .foreignRoot(id), let .notGenesis(id), let .invalidParent(id, _), let .missingBlob(id, _, _),
            let .notAuthorised(id, _):
            return id
        }
    }
}

/// Checks the per-author sequence rule over a graph.
///
/// The rule "sequence = 1 + the author's highest sequence number in the
/// causal past" is checked as two facts: the author's operation with
/// sequence − 1 is an ancestor, and none of the author's operations with a
/// sequence ≥ this one is. Walking the graph in index order and remembering
/// the highest sequence seen per author so far makes the second fact free for
/// every author who never forked; only forks pay for ancestry searches.
public struct SequenceChecker {
    public private(set) var graph: Graph
    /// Each tracked author's nodes by sequence number (every author if `tracked` is `nil`).
    private var tables: [PeerID: SequenceTable] = [:]
    /// The authors whose tables are kept; others are looked up by a scan of the graph.
    private let tracked: Set<PeerID>?

    /// Tables for every author of `graph`, or only for `authors` when given: receiving a
    /// few operations from a few authors then costs one pass over the history without
    /// building a table per author and sequence number of all of it.
    public init(graph: Graph, authors: Set<PeerID>? = nil) {
        self.graph = graph
        tracked = authors
        // One pass over the graph's author column (small numbers, not keys) finds every
        // tracked author's nodes.
        for (author, nodes) in graph.nodesByAuthor(authors) {
            var table = SequenceTable()
            for n in nodes { table.add(Int32(n), sequence: graph.sequence(n)) }
            tables[author] = table
        }
    }

    /// Adds an operation to the graph (its parents must be there) and returns its node number.
    public mutating func append(_ summary: OperationSummary) throws(Graph.GraphError) -> Int {
        let n = try graph.append(summary)
        if tracked?.contains(summary.author) ?? true {
            tables[summary.author, default: SequenceTable()].add(Int32(n), sequence: summary.sequence)
        }
        return n
    }

    /// The nodes of `author` by sequence number.
    private func table(of author: PeerID) -> SequenceTable? {
        if tracked?.contains(author) ?? true { return tables[author] }
        var table = SequenceTable()
        for n in graph.nodes(by: author) { table.add(Int32(n), sequence: graph.sequence(n)) }
        return table.isEmpty ? nil : table
    }

    /// The nodes holding `author`'s highest sequence number (more than one if they forked
    /// there), in node order; empty for an author with no operation.
    public func tips(of author: PeerID) -> [Int] {
        guard let table = table(of: author) else { return [] }
        return table.nodes(table.highest).map(Int.init).sorted()
    }

    /// The expected sequence number of a node, given the highest sequence of
    /// its author among nodes earlier in index order (`highestEarlier`).
    public func expectedSequence(of node: Int, highestEarlier: UInt64) -> UInt64 {
        expectedSequence(
            mine: table(of: graph.author(node)), sequence: graph.sequence(node), highestEarlier: highestEarlier
        ) { candidate in
            graph.isAncestor(candidate, of: node)
        }
    }

    /// The expected sequence for an operation that is not in the graph, whose parents are.
    public func expectedSequence(for op: Operation) -> UInt64 {
        let parentNodes = op.parents.compactMap { graph.number(of: $0) }
        let mine = table(of: op.author)
        return expectedSequence(mine: mine, sequence: op.sequence, highestEarlier: mine?.highest ?? 0) { candidate in
            parentNodes.contains(candidate) || parentNodes.contains { graph.isAncestor(candidate, of: $0) }
        }
    }

    /// The rule for an operation whose author's nodes by sequence number are `mine`.
    private func expectedSequence(
        mine: SequenceTable?, sequence: UInt64, highestEarlier: UInt64,
        isAncestor: (Int) -> Bool
    ) -> UInt64 {
        guard let mine else { return 1 }
        // Fast path: the honest case, where the operation with sequence − 1 is an ancestor
        // and nothing with a higher sequence exists earlier in the order.
        if highestEarlier < sequence {
            if sequence == 1 { return 1 }
            if mine.contains(sequence - 1, where: isAncestor) { return sequence }
        }
        // Slow path: the true highest sequence among the author's ancestors.
        for seq in mine.sequences.sorted(by: >) where mine.contains(seq, where: isAncestor) {
            return seq + 1
        }
        return 1
    }
}

/// One author's nodes by sequence number.
///
/// An honest author's numbers arrive in index order as 1, 2, 3, …: those are kept in an array
/// indexed by number (a history of 10^5 operations by one author then costs appends, not a hash
/// table of 10^5 keys, each time a receive builds it), and any other number in a table. Further
/// nodes with a number already used (a fork) go to `forks`.
public struct SequenceTable: Sendable {
    /// The first node of each number from 1 to `dense.count`.
    private var dense: [Int32] = []
    /// The first node of each number above `dense.count`.
    private var sparse: [UInt64: Int32] = [:]
    private var forks: [UInt64: [Int32]] = [:]
    /// The highest sequence number added (0 when empty).
    public private(set) var highest: UInt64 = 0
    /// Nodes added.
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The sequence numbers used, in no particular order.
    public var sequences: [UInt64] {
        Array(dense.indices.lazy.map { UInt64($0) + 1 }) + Array(sparse.keys)
    }

    /// How many sequence numbers more than one node holds.
    public var forkCount: Int { forks.count }

    public mutating func add(_ node: Int32, sequence: UInt64) {
        defer {
            highest = max(highest, sequence)
            count += 1
        }
        if sequence >= 1, sequence <= UInt64(dense.count) {
            forks[sequence, default: []].append(node)
        } else if sequence == UInt64(dense.count) + 1 {
            // The next number in order; one that came out of order earlier moves over first.
            if let earlier = sparse.removeValue(forKey: sequence) {
                dense.append(earlier)
                forks[sequence, default: []].append(node)
            } else {
                dense.append(node)
            }
        } else if sparse[sequence] == nil {
            sparse[sequence] = node
        } else {
            forks[sequence, default: []].append(node)
        }
    }

    /// The first node added with `sequence`.
    private func firstNode(_ sequence: UInt64) -> Int32? {
        if sequence >= 1, sequence <= UInt64(dense.count) { return dense[Int(sequence - 1)] }
        return sparse.isEmpty ? nil : sparse[sequence]
    }

    /// The nodes with `sequence`, in the order added.
    public func nodes(_ sequence: UInt64) -> [Int32] {
        guard let node = firstNode(sequence) else { return [] }
        return [node] + (forks[sequence] ?? [])
    }

    /// Whether a node with `sequence` passes `test`, without building a list of them.
    public func contains(_ sequence: UInt64, where test: (Int) -> Bool) -> Bool {
        guard let node = firstNode(sequence) else { return false }
        if test(Int(node)) { return true }
        return forks[sequence]?.contains { test(Int($0)) } ?? false
    }
}

/// What `StructuralValidity.check` found.
public struct ValidityReport {
    /// Every issue, in index order.
    public let issues: [ValidityIssue]
    /// The invalid operations (an operation with an invalid parent is invalid too).
    public let invalid: Set<ObjectID>
    /// The membership of the valid operations, when membership was checked.
    public let membership: MembershipOutcome?
    /// Operations whose author's role was checked against their causal past.
    public let authorityChecked: Int
}

/// Structural validity of a whole DAG, in index order.
public enum StructuralValidity {
    /// Checks genesis and sequence numbers for every node of `graph`
    /// (signatures and hashes are the store's business, and `local` carries
    /// issues found outside the graph, such as missing blobs), and, given the
    /// genesis `origin` and the change of each membership operation, that each
    /// author held the needed role in the membership of the operation's causal
    /// past (the same rule receive applies). An operation with an invalid parent
    /// is invalid too. `genesis` is the repository id.
    public static func check(
        graph: Graph, genesis: ObjectID, local: [ObjectID: ValidityIssue] = [:],
        origin: MembershipOrigin? = nil,
        membership: (Int) -> MembershipChange? = { _ in nil }
    ) -> ValidityReport {
        var issues: [ValidityIssue] = []
        var invalid = Set<ObjectID>()
        let checker = SequenceChecker(graph: graph)
        var highest: [PeerID: UInt64] = [:]
        var members = origin.map { MembershipIndex(origin: $0) }
        var authorityChecked = 0
        var invalidNode = [Bool](repeating: false, count: graph.count)
        for n in 0..<graph.count {
            let id = graph.ids[n]
            let author = graph.author(n)
            let sequence = graph.sequence(n)
            let kind = graph.kind(n)
            let parents = graph.parents[n]
            var problem: ValidityIssue?
            members?.record(node: n, change: nil, graph: graph)
            if let bad = parents.first(where: { invalidNode[Int($0)] }) {
                problem = .invalidParent(id, parent: graph.ids[Int(bad)])
            } else if parents.isEmpty && id != genesis {
                problem = .foreignRoot(id)
            } else if parents.isEmpty && kind != Payload.Kind.genesis {
                problem = .notGenesis(id)
            } else {
                let expected = checker.expectedSequence(of: n, highestEarlier: highest[author] ?? 0)
                if expected != sequence {
                    problem = .wrongSequence(id, expected: expected, actual: sequence)
                } else if let issue = local[id] {
                    problem = issue
                } else if let reason = members?.authorityIssue(node: n, graph: graph) {
                    problem = .notAuthorised(id, reason: reason)
                }
                if members != nil && !parents.isEmpty { authorityChecked += 1 }
            }
            highest[author] = max(highest[author] ?? 0, sequence)
            if let problem {
                issues.append(problem)
                invalid.insert(id)
                invalidNode[n] = true
            } else if kind == Payload.Kind.membership, let change = membership(n) {
                members?.addEvent(node: n, change: change, graph: graph)
            }
        }
        let outcome = members?.outcome(graph: graph)
        return ValidityReport(issues: issues, invalid: invalid, membership: outcome, authorityChecked: authorityChecked)
    }
}
