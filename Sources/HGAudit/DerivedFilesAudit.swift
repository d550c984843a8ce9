import HGCore
import HGGraph
import HGState
import HGStore
import HGSystem
import HGWorkTree

/// `verify`'s checks of the files derived from the operations (heads, peer refs, the state,
/// members, graph and worktree caches, the working tree's base) and of the identity, against the
/// audited graph: the state is computed from the changes of the nodes that have effect.
public struct DerivedFilesAudit: HistoryCheck {
    /// The check; it holds nothing.
    public init() {}

    /// Checks every derived file against `history`.
    public func audit(_ history: AuditedHistory, into report: inout VerifyReport) {
        let repository = history.repository
        let layout = repository.layout
        let graph = history.graph
        let membership = history.membership
        let hasEffect = history.hasEffect
        let changeOf = history.change
        let root = layout.root
        func problem(_ check: VerifyCheck, _ object: ObjectID?, _ file: String?, _ message: String) {
            report.problem(check, object, file, message, root: root)
        }
        // Heads and tips as Refs.derive defines them, read off the audited graph's columns.
        let derivedTips = graph.nodesByAuthor().mapValues { nodes in
            let top = nodes.map(graph.sequence).max() ?? 0
            return nodes.filter { graph.sequence($0) == top }.map { Refs.Tip(sequence: top, id: graph.ids[$0]) }
                .sorted()
        }
        report.heads = graph.heads
        do {
            if let heads = try Refs.readHeads(layout.heads) {
                let vouched = heads.stamp == repository.indexLength() && !history.tornIndex
                if vouched {
                    if heads.ids != report.heads {
                        problem(.heads, nil, layout.heads, "lists heads that differ from the operation index")
                    }
                } else {
                    // Stale, but written after the index append it reflects: every id it lists
                    // was an operation of the index then, and the index only grows.
                    for id in heads.ids where graph.number(of: id) == nil {
                        problem(.heads, id, layout.heads, "names \(id.hex), which is not an operation in the index")
                    }
                    report.notes.append("the heads file is stale (an interrupted command); the next write rebuilds it")
                }
                try checkPeerRefs(derivedTips, graph: graph, vouched: vouched, repository) {
                    problem(.refs, $0, $1, $2)
                }
            } else {
                problem(.heads, nil, layout.heads, "missing")
            }
        } catch {
            problem(.heads, nil, layout.heads, "\(error)")
        }
        let tree = FileTree.compute(graph: graph) { node in hasEffect(node) ? changeOf(node) : nil }
        report.fingerprint = tree.fingerprint
        // No path may hold a write without effect: checked on the computed state and on the cached one.
        func checkWrites(_ checked: FileTree, file: String?) {
            // In path order, so that the report is the same on every run.
            for (path, live) in checked.paths.sorted(by: { $0.key < $1.key }) {
                for write in live {
                    report.count(.removedWritesVoid, 1)
                    guard let node = graph.number(of: write.op), graph.kind(node) == Payload.Kind.change,
                        hasEffect(node)
                    else {
                        problem(
                            .removedWrites, write.op, file,
                            "'\(path)' holds a write by \(write.op.short), which has no effect (an invalid operation, or a member's write concurrent with their removal)"
                        )
                        continue
                    }
                }
            }
        }
        checkWrites(tree, file: nil)
        if let bytes = try? FileSystem.readIfExists(layout.stateCache, limit: 1 << 30) {
            report.count(.derivedFiles, 1)
            if let cached = StateCache.decode(bytes) {
                if cached.stamp == repository.indexLength() {
                    checkWrites(cached.tree, file: layout.stateCache)
                    if cached.tree != tree {
                        problem(
                            .state, nil, layout.stateCache,
                            "cached state differs from the state computed from the operations")
                    }
                }
            } else {
                problem(.state, nil, layout.stateCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
            }
        }
        // The members cache must list exactly the computed members with their roles.
        let roles = membership?.members.mapValues(\.role) ?? [:]
        report.count(.membership, roles.count)
        if let bytes = try? FileSystem.readIfExists(layout.membersCache, limit: 1 << 26) {
            if let cached = MembersCache.decode(bytes) {
                if cached.stamp == repository.indexLength() {
                    for (peer, role) in cached.roles where roles[peer] != role {
                        problem(
                            .members, nil, layout.membersCache,
                            "lists \(peer.short) as \(role), but the membership operations make them \(roles[peer].map(\.description) ?? "no member")"
                        )
                    }
                    for (peer, role) in roles where cached.roles[peer] == nil {
                        problem(.members, nil, layout.membersCache, "omits \(peer.short), a member (\(role))")
                    }
                }
            } else {
                problem(
                    .members, nil, layout.membersCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
            }
        }
        if let mapped = try? MappedFile.ifExists(layout.graphFile, limit: OperationIndex.maxFileBytes) {
            report.count(.derivedFiles, 1)
            if let file = mapped.withBytes(GraphFile.decode(file:)) {
                if let mismatch = graphFileMismatch(file, repository) {
                    problem(.graph, nil, layout.graphFile, mismatch)
                }
            } else {
                problem(.graph, nil, layout.graphFile, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
            }
        }
        if let bytes = try? FileSystem.readIfExists(layout.worktreeCache, limit: 1 << 30),
            WorkTreeCache.decode(bytes, modified: (0, 0)) == nil
        {
            problem(.worktree, nil, layout.worktreeCache, "damaged (checksum or format); 'hg-bft reindex' rebuilds it")
        }
        auditBase(graph, repository) { problem(.base, $0, layout.base, $1) }
        if let identityProblem = repository.identityProblem() {
            problem(.identity, nil, layout.identityKey, identityProblem)
        }
        report.count(.derivedFiles, 4 + derivedTips.count)  // index, heads, genesis file, identity, one ref per author
    }

    /// The working tree's base (FORMAT.md 5.13), when there is one: it must decode, and name only
    /// operations of the index (it is written after the operations it names). Unsynced paths
    /// must differ between its tree and the state of its heads; that is left to the reader of
    /// the file, which recomputes nothing from them.
    private func auditBase(_ graph: Graph, _ repository: AuditInputs, _ problem: (ObjectID?, String) -> Void) {
        let stored: WorkTreeBase
        switch repository.readBase() {
        case .absent:
            return
        case let .present(base):
            stored = base
        case let .damaged(reason):
            problem(nil, "damaged (\(reason)); 'hg-bft checkout' writes it again")
            return
        case let .unreadable(message):
            problem(nil, message)
            return
        }
        for head in stored.heads where graph.number(of: head) == nil {
            problem(head, "names \(head.hex), which is not an operation in the index")
        }
    }

    /// How the graph file differs from the index records before its stamp, or `nil` if it holds
    /// exactly them, in order (what readers take it for when the last record's checksum matches).
    private func graphFileMismatch(_ file: GraphFile, _ repository: AuditInputs) -> String? {
        let layout = repository.layout
        let length = repository.indexLength()
        guard file.stamp <= length else {
            return "covers \(file.stamp) bytes of the operation index, which has \(length)"
        }
        guard OperationIndex.checksum(endingAt: file.stamp, in: layout.operationIndex) == file.lastRecordChecksum else {
            return "was made from another operation index (its last record's checksum differs); readers ignore it"
        }
        var node = 0
        var end = 0
        var differing: String?
        do {
            _ = try OperationIndex.visit(layout.operationIndex) { record in
                guard node < file.graph.count else {
                    differing =
                        "holds \(file.graph.count) operations, fewer than the index records before byte \(file.stamp)"
                    return false
                }
                if file.graph.summary(at: node) != record.summary {
                    differing = "operation \(node) differs from the index record for \(record.id.hex)"
                    return false
                }
                node += 1
                end = record.end
                return end < file.stamp
            }
        } catch {
            return nil  // the index itself is damaged: reported with the index
        }
        if let differing { return differing }
        guard end == file.stamp, node == file.graph.count else {
            return "holds \(file.graph.count) operations, but the index records before byte \(file.stamp) are \(node)"
        }
        return nil
    }

    /// The peer refs against the audited graph. Every ref that parses must name only operations
    /// of its author with the sequence numbers it gives: a ref behind the index lists the tips
    /// the author had when it was written, which are still in the index. With a current heads
    /// file (`vouched`: it is written after the refs, so it vouches for them) a current ref must
    /// list exactly the author's tips, an unreadable ref or one for a peer with no operation is
    /// a problem, and so is a missing one.
    private func checkPeerRefs(
        _ tips: [PeerID: [Refs.Tip]], graph: Graph, vouched: Bool, _ repository: AuditInputs,
        _ problem: (ObjectID?, String, String) -> Void
    ) throws(StoreError) {
        let layout = repository.layout
        var expected: [String: [Refs.Tip]] = [:]
        for (peer, t) in tips { expected[peer.text] = t }
        for name in try FileSystem.list(layout.peerRefs) where !FileSystem.isTemporaryName(name) {
            let path = layout.peerRef(name)
            let want = expected.removeValue(forKey: name)
            if vouched && want == nil {
                problem(nil, path, "ref for a peer that wrote no operation")
                continue
            }
            do {
                guard let ref = try Refs.readPeer(path) else { continue }
                if vouched, let want, ref.stamp == repository.indexLength(), ref.tips != want.sorted() {
                    problem(want.first?.id, path, "tips differ from the operation index")
                    continue
                }
                for tip in ref.tips {
                    guard let node = graph.number(of: tip.id) else {
                        problem(tip.id, path, "names \(tip.id.hex), which is not an operation in the index")
                        continue
                    }
                    if graph.author(node).text != name || graph.sequence(node) != tip.sequence {
                        problem(
                            tip.id, path,
                            "names \(tip.id.hex) with sequence number \(tip.sequence), but that operation is by \(graph.author(node).short) with sequence number \(graph.sequence(node))"
                        )
                    }
                }
            } catch {
                if vouched { problem(nil, path, error.description) }
            }
        }
        guard vouched else { return }
        for (name, want) in expected {
            problem(want.first?.id, layout.peerRef(name), "missing")
        }
    }
}
