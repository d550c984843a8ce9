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
    public var equivocations: [(ObjectID, ObjectID)] = []
    public var heads: [ObjectID] = []
    public var fingerprint: ObjectID?

    /// Whether nothing is wrong.
    public var isClean: Bool { problems.isEmpty }
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
                let object = try store.readObject(id)
                if case let .operation(op) = object, !op.hasValidSignature() { return .badSignature(op) }
                return .ok(object)
            } catch {
                return .failed(id, "\(error)")
            }
        }
        let idSet = Set(ids)
        var operations: [ObjectID: Operation] = [:]
        var blobs = Set<ObjectID>()
        for (n, result) in results.enumerated() {
            switch result {
            case let .ok(.operation(op)):
                operations[op.id] = op
                report.signatures += 1
            case let .ok(.blob(blob)):
                blobs.insert(ids[n])
                _ = blob
            case let .badSignature(op):
                report.signatures += 1
                problem("signature", op.id, objects.location(of: op.id), "signature by \(op.author.short) does not verify")
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
                if !idSet.contains(entry.id) {
                    problem("index", entry.id, layout.operationIndex, "names an operation whose object is missing")
                }
                continue
            }
            if OperationSummary(op) != entry {
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
        for node in graph.nodes {
            guard let change = operations[node.id]?.change else { continue }
            for entry in change.entries {
                guard let version = entry.version, !blobs.contains(version.blob) else { continue }
                missingBlobs[node.id] = missingBlobs[node.id] ?? .missingBlob(node.id, blob: version.blob, path: entry.path.string)
            }
        }
        let validity = StructuralValidity.check(graph: graph, genesis: genesis, local: missingBlobs)
        for issue in validity.issues {
            problem("validity", issue.operation, objects.location(of: issue.operation), issue.description)
        }
        // Equivocation: two valid operations by one author with one sequence number; with
        // more than two, every pair is listed.
        var seen: [PeerID: [UInt64: [ObjectID]]] = [:]
        for node in graph.nodes where !validity.invalid.contains(node.id) {
            for other in seen[node.author]?[node.sequence] ?? [] {
                report.equivocations.append((min(other, node.id), max(other, node.id)))
            }
            seen[node.author, default: [:]][node.sequence, default: []].append(node.id)
        }
        report.authors = seen.count

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
        let tree = FileTree.compute(graph: graph) { operations[graph.nodes[$0].id]?.change }
        report.fingerprint = tree.fingerprint
        if let bytes = try? FileSystem.readIfExists(layout.stateCache, limit: 1 << 30) {
            if let cached = StateCache.decode(bytes) {
                if cached.stamp == indexLength() && cached.tree != tree {
                    problem("state", nil, layout.stateCache, "cached state differs from the state computed from the operations")
                }
            } else {
                problem("state", nil, layout.stateCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
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
    case ok(StoredObject)
    case badSignature(Operation)
    case failed(ObjectID, String)
}
