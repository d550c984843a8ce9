import HGCore
import HGCrypto
import HGGraph
import HGState
import HGStore
import HGWorkTree

/// One thing `verify` found wrong, with the object and file it is in.
public struct VerifyProblem: Sendable, Equatable {
    /// A short category, e.g. `hash`, `signature`, `index`, `heads`.
    public let check: String
    /// The object concerned, if any.
    public let object: ObjectID?
    /// The file concerned (relative to the repository root).
    public let file: String?
    public let message: String

    /// The invariant the problem breaks.
    public var invariant: Invariant { Invariant(check: check) }
}

/// One row of the audit table: an invariant of INVARIANTS.md, how many things
/// were checked against it and how many broke it.
public struct InvariantResult: Sendable, Equatable {
    public let invariant: Invariant
    public var checked: Int
    public var violations: Int
}

/// One author's operations, for the audit's per-author summary.
public struct AuthorSummary: Sendable, Equatable {
    public let author: PeerID
    public var operations: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Sequence numbers at which the author signed more than one operation.
    public var forks: Int
}

/// Two valid operations by one author with one sequence number, kept as proof.
public struct Equivocation: Sendable {
    public let author: PeerID
    public let sequence: UInt64
    /// Both operations, signed: anyone can check the signatures.
    public let first: Operation
    public let second: Operation
}

/// What `verify` found.
public struct VerifyReport: Sendable {
    public var objects = 0
    public var operations = 0
    public var blobs = 0
    public var signatures = 0
    public var authors = 0
    public var problems: [VerifyProblem] = []
    /// Notes that are not errors (stale caches after a crash, dangling objects).
    public var notes: [String] = []
    /// Pairs of operations by one author with one sequence number.
    public var equivocations: [Equivocation] = []
    public var heads: [ObjectID] = []
    public var fingerprint: ObjectID?
    /// The audit table, one row per invariant, in INVARIANTS.md order.
    public var invariants: [InvariantResult] = Invariant.allCases.map { InvariantResult(invariant: $0, checked: 0, violations: 0) }
    /// Per-author summary, by peer id.
    public var authorSummaries: [AuthorSummary] = []
    /// The membership of the valid operations.
    public var membership: MembershipOutcome?

    /// Whether nothing is wrong.
    public var isClean: Bool { problems.isEmpty }

    mutating func count(_ invariant: Invariant, _ checked: Int) {
        if let i = invariants.firstIndex(where: { $0.invariant == invariant }) { invariants[i].checked += checked }
    }
}

extension Repository {
    /// The first level of the audit: every object's id and encoding, every
    /// signature, every parent present, per-author sequence numbers, and the
    /// index and every cache consistent with the objects. Reports every
    /// problem found, not just the first.
    public func verify(progress: ((String, Int, Int) -> Void)? = nil) throws(RepositoryError) -> VerifyReport {
        var report = VerifyReport()
        let root = layout.root
        func relative(_ path: String) -> String {
            path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
        }
        func problem(_ check: String, _ object: ObjectID?, _ file: String?, _ message: String) {
            report.problems.append(VerifyProblem(check: check, object: object, file: file.map(relative), message: message))
            let invariant = Invariant(check: check)
            if let i = report.invariants.firstIndex(where: { $0.invariant == invariant }) { report.invariants[i].violations += 1 }
        }

        // 1. Every object file: decompress under the limit, hash, decode strictly, check signatures.
        let (looseIDs, strays) = try lift { try objects.enumerate() }
        for stray in strays { problem("objects", nil, stray, "file in the object store that is not named by an object id") }
        let (packs, packFailures) = try lift { try objects.openPacks() }
        for (path, error) in packFailures { problem("pack", nil, path, error.description) }
        for pack in packs {
            do { try pack.verifyTrailer() } catch { problem("pack", nil, pack.packPath, error.description) }
        }
        if FileSystem.isDirectory(objects.packDirectory) {
            let names = Set(try lift { try FileSystem.list(objects.packDirectory) })
            for name in names where !FileSystem.isTemporaryName(name) {
                let isPair = (name.hasSuffix(".pack") && names.contains(String(name.dropLast(5)) + ".idx"))
                    || (name.hasSuffix(".idx") && names.contains(String(name.dropLast(4)) + ".pack"))
                if !isPair { problem("pack", nil, objects.packDirectory + "/" + name, "pack file without its pair (.pack/.idx)") }
            }
        }
        var allIDs = looseIDs
        var listed = Set(looseIDs)
        for pack in packs { for id in pack.ids where listed.insert(id).inserted { allIDs.append(id) } }
        let ids = allIDs
        report.objects = ids.count
        let layout = self.layout
        let makeStore: @Sendable () -> LooseObjects? = { try? LooseObjects(layout: layout) }
        let results: [ObjectCheck] = parallelMap(count: ids.count, makeContext: makeStore) { (store: inout LooseObjects?, i: Int) -> ObjectCheck in
            let id = ids[i]
            guard let store else { return .failed(id, "zlib could not be initialised") }
            do {
                switch try store.readObject(id) {
                case .blob: return .blob
                case let .operation(op):
                    guard op.hasValidSignature() else { return .badSignature(op.id, op.author) }
                    return .operation(VerifiedOperation(op))
                }
            } catch {
                return .failed(id, "\(error)")
            }
        }
        // Only what the later checks read is kept of each object (not its bytes), so memory grows
        // with the number of operations, not with the size of the history.
        var operations: [ObjectID: VerifiedOperation] = [:]
        var blobs = Set<ObjectID>()
        for (n, result) in results.enumerated() {
            switch result {
            case let .operation(op):
                operations[op.summary.id] = op
                report.signatures += 1
            case .blob:
                blobs.insert(ids[n])
            case let .badSignature(id, author):
                report.signatures += 1
                problem("signature", id, objects.location(of: id), "signature by \(author.short) does not verify")
            case let .failed(id, message):
                problem("object", id, objects.location(of: id), message)
            }
        }
        report.operations = operations.count
        report.blobs = blobs.count
        progress?("Checking objects", ids.count, ids.count)

        // 2. The index: readable, and each record matching its object.
        let (contents, damage) = try lift { try OperationIndex.scan(layout.operationIndex) }
        for d in damage { problem("index", nil, layout.operationIndex, d) }
        if contents.tornTail {
            if let vouched = (try? Refs.readHeads(layout.heads))??.stamp, vouched > contents.validLength {
                problem("index", nil, layout.operationIndex,
                        "unreadable from byte \(contents.validLength), before the \(vouched) bytes the heads file records (a damaged length field)")
            } else {
                report.notes.append("the index ends in a torn record from an interrupted write; the next write removes it")
            }
        }
        // Records whose object is usable form the graph; a record that is missing, damaged or
        // depends on one that is gets a problem line instead, so one bad object never stops the
        // audit of everything else.
        var indexed: [OperationSummary] = []
        var inIndex = Set<ObjectID>()
        var accepted = Set<ObjectID>()
        for entry in contents.entries {
            guard inIndex.insert(entry.id).inserted else {
                problem("index", entry.id, layout.operationIndex, "operation listed twice")
                continue
            }
            guard let op = operations[entry.id] else {
                if !listed.contains(entry.id) {
                    problem("index", entry.id, layout.operationIndex, "names an operation whose object is missing")
                }
                continue
            }
            if op.summary != entry {
                problem("index", entry.id, layout.operationIndex, "record differs from the operation object")
                continue
            }
            if let parent = entry.parents.first(where: { !accepted.contains($0) }) {
                let why = inIndex.contains(parent) ? "is missing, damaged or invalid" : "is missing or comes later in the index"
                problem("parents", entry.id, objects.location(of: entry.id), "parent \(parent.hex) \(why)")
                continue
            }
            indexed.append(entry)
            accepted.insert(entry.id)
        }
        let dangling = operations.keys.filter { !inIndex.contains($0) }
        if !dangling.isEmpty {
            report.notes.append("\(dangling.count) operation object(s) are not in the index (left by an interrupted command; harmless)")
        }

        // 3. The DAG: genesis, sequence numbers, referenced blobs.
        let graph: Graph
        do {
            graph = try Graph(indexed)
        } catch {
            throw .graph(error)
        }
        if let first = indexed.first, first.id != genesis {
            problem("genesis", first.id, layout.genesis, "the first operation is not the repository's genesis \(genesis.hex)")
        }
        if !inIndex.contains(genesis) {
            problem("genesis", genesis, layout.genesis, "the genesis operation is not in the index")
        }
        var missingBlobs: [ObjectID: ValidityIssue] = [:]
        var writtenBlobs = 0
        for node in graph.nodes {
            guard let change = operations[node.id]?.change else { continue }
            for entry in change.entries {
                guard let version = entry.version else { continue }
                writtenBlobs += 1
                guard !blobs.contains(version.blob) else { continue }
                missingBlobs[node.id] = missingBlobs[node.id] ?? .missingBlob(node.id, blob: version.blob, path: entry.path.string)
            }
        }
        let origin = graph.number(of: genesis).flatMap { node in
            operations[genesis]?.genesis.map { MembershipOrigin(node: node, id: genesis, founder: $0.founder, timestamp: $0.timestamp, quorum: $0.quorum) }
        }
        let validity = StructuralValidity.check(graph: graph, genesis: genesis, local: missingBlobs, origin: origin) { node in
            operations[graph.nodes[node].id]?.membership
        }
        for issue in validity.issues {
            problem(Invariant(issue).check, issue.operation, objects.location(of: issue.operation), issue.description)
        }
        report.membership = validity.membership
        report.count(.causalClosure, contents.entries.count)
        report.count(.sequenceNumbers, graph.count)
        report.count(.authorisedAuthors, validity.authorityChecked)
        report.count(.blobsPresent, writtenBlobs)
        // Equivocation: two valid operations by one author with one sequence number; with
        // more than two, every pair is listed.
        var seen: [PeerID: [UInt64: [ObjectID]]] = [:]
        for node in graph.nodes where !validity.invalid.contains(node.id) {
            for other in seen[node.author]?[node.sequence] ?? [] {
                // The proof is the two signed encodings, read again (only these are kept whole).
                if let a = try? objects.readOperation(min(other, node.id)), let b = try? objects.readOperation(max(other, node.id)) {
                    report.equivocations.append(Equivocation(author: node.author, sequence: node.sequence, first: a, second: b))
                }
            }
            seen[node.author, default: [:]][node.sequence, default: []].append(node.id)
        }
        report.authors = seen.count
        report.authorSummaries = seen.map { author, bySequence in
            AuthorSummary(author: author, operations: bySequence.values.reduce(0) { $0 + $1.count },
                          firstSequence: bySequence.keys.min() ?? 0, lastSequence: bySequence.keys.max() ?? 0,
                          forks: bySequence.values.filter { $0.count > 1 }.count)
        }.sorted { $0.author < $1.author }

        // 4. Derived files: heads, peer refs, state cache, genesis file, identity.
        let derived = Refs.derive(from: graph.nodes)
        report.heads = derived.heads
        do {
            if let heads = try Refs.readHeads(layout.heads) {
                if heads.stamp == indexLength() && !contents.tornTail {
                    if heads.ids != derived.heads {
                        problem("heads", nil, layout.heads, "lists heads that differ from the operation index")
                    }
                    try checkPeerRefs(derived.tips) { problem("refs", $0, $1, $2) }
                } else {
                    report.notes.append("the heads file is stale (an interrupted command); the next write rebuilds it")
                }
            } else {
                problem("heads", nil, layout.heads, "missing")
            }
        } catch {
            problem("heads", nil, layout.heads, "\(error)")
        }
        let membership = validity.membership
        func hasEffect(_ node: Int) -> Bool {
            let s = graph.nodes[node]
            return !validity.invalid.contains(s.id) && (membership?.hasEffect(node: node, author: s.author, graph: graph) ?? true)
        }
        let tree = FileTree.compute(graph: graph) { node in hasEffect(node) ? operations[graph.nodes[node].id]?.change : nil }
        report.fingerprint = tree.fingerprint
        // No path may hold a write without effect: checked on the computed state and on the cached one.
        func checkWrites(_ checked: FileTree, file: String?) {
            for (path, live) in checked.paths {
                for write in live {
                    report.count(.removedWritesVoid, 1)
                    guard let node = graph.number(of: write.op), graph.nodes[node].kind == Payload.Kind.change, hasEffect(node) else {
                        problem("removed-writes", write.op, file, "'\(path)' holds a write by \(write.op.short), which has no effect (an invalid operation, or a member's write concurrent with their removal)")
                        continue
                    }
                }
            }
        }
        checkWrites(tree, file: nil)
        if let bytes = try? FileSystem.readIfExists(layout.stateCache, limit: 1 << 30) {
            report.count(.derivedFiles, 1)
            if let cached = StateCache.decode(bytes) {
                if cached.stamp == indexLength() {
                    checkWrites(cached.tree, file: layout.stateCache)
                    if cached.tree != tree {
                        problem("state", nil, layout.stateCache, "cached state differs from the state computed from the operations")
                    }
                }
            } else {
                problem("state", nil, layout.stateCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
            }
        }
        // The members cache must list exactly the computed members with their roles.
        let roles = membership?.members.mapValues(\.role) ?? [:]
        report.count(.membership, roles.count)
        if let bytes = try? FileSystem.readIfExists(layout.membersCache, limit: 1 << 26) {
            if let cached = MembersCache.decode(bytes) {
                if cached.stamp == indexLength() {
                    for (peer, role) in cached.roles where roles[peer] != role {
                        problem("members", nil, layout.membersCache, "lists \(peer.short) as \(role), but the membership operations make them \(roles[peer].map(\.description) ?? "no member")")
                    }
                    for (peer, role) in roles where cached.roles[peer] == nil {
                        problem("members", nil, layout.membersCache, "omits \(peer.short), a member (\(role))")
                    }
                }
            } else {
                problem("members", nil, layout.membersCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
            }
        }
        if let bytes = try? FileSystem.readIfExists(layout.worktreeCache, limit: 1 << 30),
           WorkTreeCache.decode(bytes, modified: (0, 0)) == nil {
            problem("worktree", nil, layout.worktreeCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
        }
        do {
            let peer = try peerID()
            if let configured = config.value("core", "peer"), configured != peer.text {
                problem("identity", nil, layout.identityKey, "key does not match core.peer in the config (\(configured))")
            }
        } catch {
            problem("identity", nil, layout.identityKey, error.description)
        }
        report.count(.objectIntegrity, report.objects)
        report.count(.signatures, report.signatures)
        report.count(.derivedFiles, 4 + derived.tips.count)  // index, heads, genesis file, identity, one ref per author
        return report
    }

    private func checkPeerRefs(_ tips: [PeerID: [Refs.Tip]], _ problem: (ObjectID?, String, String) -> Void) throws(StoreError) {
        var expected: [String: [Refs.Tip]] = [:]
        for (peer, t) in tips { expected[peer.text] = t }
        for name in try FileSystem.list(layout.peerRefs) where !FileSystem.isTemporaryName(name) {
            let path = layout.peerRef(name)
            guard let want = expected.removeValue(forKey: name) else {
                problem(nil, path, "ref for a peer that wrote no operation")
                continue
            }
            do {
                // A ref written before the last index append may lag behind; only a current one must agree.
                if let ref = try Refs.readPeer(path), ref.stamp == indexLength(), ref.tips != want.sorted() {
                    problem(want.first?.id, path, "tips differ from the operation index")
                }
            } catch {
                problem(nil, path, error.description)
            }
        }
        for (name, want) in expected {
            problem(want.first?.id, layout.peerRef(name), "missing")
        }
    }
}

/// The outcome of checking one object file.
enum ObjectCheck: Sendable {
    case blob
    case operation(VerifiedOperation)
    case badSignature(ObjectID, PeerID)
    case failed(ObjectID, String)
}

/// What `verify` keeps of an operation whose signature verified. A class: one reference per
/// entry in the result array and the dictionary, instead of a few hundred bytes inline in each.
final class VerifiedOperation: Sendable {
    let summary: OperationSummary
    let change: Change?
    let membership: MembershipChange?
    /// Founder, time and quorum, for a genesis operation.
    let genesis: (founder: PeerID, timestamp: UInt64, quorum: Int)?

    init(_ op: Operation) {
        summary = OperationSummary(op)
        change = op.change
        membership = op.membership
        genesis = op.genesis.map { (op.author, op.timestamp, $0.adminQuorum) }
    }
}
