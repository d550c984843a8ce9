import HGCore
import HGCrypto

// Shared by the HGGraph and HGState tests: a builder that signs real operations
// with fixed-seed keys, and a generator of random DAGs made by simulated replicas.

/// The fixed key of author number `k`: seed = 32 bytes of `k + 1`.
public func authorKey(_ k: Int) throws -> Ed25519.KeyPair {
    try keyPair(seedByte: UInt8(k + 1))
}

/// The id of a blob holding `text`.
public func blobID(_ text: String) -> ObjectID { Blob.id(of: Array(text.utf8)) }

/// A regular (or executable) version of `text`.
public func version(_ text: String, mode: FileMode = .regular) -> FileVersion {
    FileVersion(blob: blobID(text), mode: mode)
}

/// A change entry writing `text` to `path`.
public func write(_ path: String, _ text: String, mode: FileMode = .regular) throws -> ChangeEntry {
    try writing(path, blob: blobID(text), mode: mode)
}

/// A change entry deleting `path`.
public func delete(_ path: String) throws -> ChangeEntry {
    try deleting(path)
}

/// Builds a history of real, signed operations.
///
/// Sequence numbers default to the correct value (1 + the author's highest
/// sequence in the causal past); timestamps increase by one per operation.
public final class History {
    public let keys: [Ed25519.KeyPair]
    public let peers: [PeerID]
    /// Every operation, in creation order (parents before children).
    public private(set) var ops: [Operation] = []
    public private(set) var byID: [ObjectID: Operation] = [:]
    /// Per operation: the highest sequence of each author in its causal past, itself included.
    private var highest: [ObjectID: [PeerID: UInt64]] = [:]
    /// Per operation: its strict ancestors.
    public private(set) var ancestors: [ObjectID: Set<ObjectID>] = [:]
    private var clock: UInt64 = 1_700_000_000_000
    private var nonceCounter: UInt8 = 0

    public init(authors: Int) throws {
        var keys: [Ed25519.KeyPair] = []
        var peers: [PeerID] = []
        for k in 0..<authors {
            let key = try authorKey(k)
            keys.append(key)
            guard let peer = PeerID(publicKey: key.publicKey) else {
                throw FixtureError("author \(k)'s key is not a peer id")
            }
            peers.append(peer)
        }
        self.keys = keys
        self.peers = peers
    }

    /// A genesis operation by author `a` (a second call makes a foreign root).
    @discardableResult
    public func genesis(by a: Int = 0, quorum: Int = 1) throws -> Operation {
        nonceCounter &+= 1
        return try add(signedGenesis(by: keys[a], quorum: quorum, nonceByte: nonceCounter, timestamp: tick()))
    }

    /// A change by author `a` on top of `parents`.
    @discardableResult
    public func change(
        by a: Int, parents: [Operation], _ entries: [ChangeEntry], sequence: UInt64? = nil,
        message: String = ""
    ) throws -> Operation {
        try change(by: a, parentIDs: parents.map(\.id), entries, sequence: sequence, message: message)
    }

    /// A change by author `a` on top of the operations `parentIDs`.
    @discardableResult
    public func change(
        by a: Int, parentIDs: [ObjectID], _ entries: [ChangeEntry], sequence: UInt64? = nil,
        message: String = ""
    ) throws -> Operation {
        let seq = sequence ?? nextSequence(author: a, parents: parentIDs)
        return try add(
            signedChange(
                by: keys[a], sequence: seq, parents: parentIDs, timestamp: tick(), message: message,
                entries: entries))
    }

    /// A membership change by author `a` on top of the operations `parents`.
    @discardableResult
    public func member(
        by a: Int, parents: [Operation], _ change: MembershipChange, sequence: UInt64? = nil
    ) throws -> Operation {
        let ids = parents.map(\.id)
        let seq = sequence ?? nextSequence(author: a, parents: ids)
        return try add(
            Operation.create(
                signer: keys[a], sequence: seq, parents: ids, timestamp: tick(),
                payload: .membership(change)))
    }

    /// An extension operation (kind 0x80) by author `a`, which has no effect on the tree.
    @discardableResult
    public func opaque(by a: Int, parentIDs: [ObjectID], sequence: UInt64? = nil) throws -> Operation {
        let seq = sequence ?? nextSequence(author: a, parents: parentIDs)
        return try add(
            Operation.create(
                signer: keys[a], sequence: seq, parents: parentIDs, timestamp: tick(),
                payload: .opaque(kind: 0x80, body: [1, 2, 3])))
    }

    /// 1 + the author's highest sequence in the causal past of `parents`.
    public func nextSequence(author a: Int, parents: [ObjectID]) -> UInt64 {
        let peer = peers[a]
        let best = parents.map { highest[$0]?[peer] ?? 0 }.max() ?? 0
        return best + 1
    }

    private func tick() -> UInt64 {
        clock += 1
        return clock
    }

    private func add(_ op: Operation) -> Operation {
        var high: [PeerID: UInt64] = [:]
        var anc = Set<ObjectID>()
        for p in op.parents {
            for (peer, seq) in highest[p] ?? [:] { high[peer] = max(high[peer] ?? 0, seq) }
            anc.insert(p)
            anc.formUnion(ancestors[p] ?? [])
        }
        high[op.author] = max(high[op.author] ?? 0, op.sequence)
        highest[op.id] = high
        ancestors[op.id] = anc
        ops.append(op)
        byID[op.id] = op
        return op
    }

    /// The summaries of `order` (default: creation order), from which a `Graph` is built.
    public func summaries(_ order: [Operation]? = nil) -> [OperationSummary] {
        (order ?? ops).map(OperationSummary.init)
    }
}

public typealias SeededRNG = SplitMix64

/// Paths the random histories write to: few, so that conflicts are frequent.
public let randomPaths = ["a", "b", "dir/c", "dir/d"]
public let randomContents = ["x", "y", "z"]

/// Random change entries over `randomPaths`: one or two distinct paths, each
/// written (mostly regular, sometimes executable) or deleted.
public func randomEntries(using rng: inout SeededRNG) throws -> [ChangeEntry] {
    var chosen = randomPaths.shuffled(using: &rng)
    chosen = Array(chosen.prefix(Int.random(in: 1...2, using: &rng)))
    return try chosen.map { path in
        if Int.random(in: 0..<4, using: &rng) == 0 { return try delete(path) }
        let text = randomContents[Int.random(in: 0..<randomContents.count, using: &rng)]
        let mode: FileMode = Int.random(in: 0..<10, using: &rng) == 0 ? .executable : .regular
        return try write(path, text, mode: mode)
    }
}

/// A random history made by 3–5 simulated replicas (one per author), 30–80
/// operations in all. Each replica knows a down-closed set of operations;
/// before an operation it sometimes merges another replica's knowledge; the
/// operation's parents are a random non-empty subset of the replica's frontier.
public func randomHistory(seed: UInt64) throws -> History {
    var rng = SeededRNG(seed: seed)
    let authorCount = Int.random(in: 3...5, using: &rng)
    let opCount = Int.random(in: 30...80, using: &rng)
    let history = try History(authors: authorCount)
    let genesis = try history.genesis(by: 0)
    var known = [Set<ObjectID>](repeating: [genesis.id], count: authorCount)
    var frontier = [Set<ObjectID>](repeating: [genesis.id], count: authorCount)
    while history.ops.count < opCount {
        let a = Int.random(in: 0..<authorCount, using: &rng)
        if Int.random(in: 0..<10, using: &rng) < 3 {
            let b = Int.random(in: 0..<authorCount, using: &rng)
            known[a].formUnion(known[b])
            var named = Set<ObjectID>()
            for id in known[a] { named.formUnion(history.byID[id]?.parents ?? []) }
            frontier[a] = known[a].subtracting(named)
        }
        let candidates = frontier[a].sorted()
        var parents = candidates.filter { _ in Int.random(in: 0..<3, using: &rng) != 0 }
        if parents.isEmpty { parents = [candidates[Int.random(in: 0..<candidates.count, using: &rng)]] }
        let op: Operation
        if Int.random(in: 0..<15, using: &rng) == 0 {
            op = try history.opaque(by: a, parentIDs: parents)
        } else {
            op = try history.change(by: a, parentIDs: parents, try randomEntries(using: &rng))
        }
        known[a].insert(op.id)
        frontier[a].subtract(parents)
        frontier[a].insert(op.id)
    }
    return history
}

/// A uniformly-chosen-at-each-step topological order of `ops` (Kahn's algorithm
/// picking a random ready operation).
public func randomTopologicalOrder(_ ops: [Operation], using rng: inout SeededRNG) -> [Operation] {
    var pending: [ObjectID: Int] = [:]
    var children: [ObjectID: [Operation]] = [:]
    var ready: [Operation] = []
    for op in ops {
        pending[op.id] = op.parents.count
        for p in op.parents { children[p, default: []].append(op) }
        if op.parents.isEmpty { ready.append(op) }
    }
    var order: [Operation] = []
    while !ready.isEmpty {
        let op = ready.remove(at: Int.random(in: 0..<ready.count, using: &rng))
        order.append(op)
        for child in children[op.id] ?? [] {
            let left = (pending[child.id] ?? 1) - 1
            pending[child.id] = left
            if left == 0 { ready.append(child) }
        }
    }
    return order
}
