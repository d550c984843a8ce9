import HGCore
import HGCrypto
import HGGraph
import HGState
import HGStore
import HGSystem
import HGWorkTree

/// What `commit` recorded.
public struct CommitResult: Sendable {
    public let id: ObjectID
    public let sequence: UInt64
    public let parents: [ObjectID]
    /// Paths and what happened to each (added, modified, deleted, or a resolved conflict).
    public let changes: [(path: RepoPath, status: PathStatus)]
    /// Working entries that could not be recorded, with the reason.
    public let skipped: [(path: String, reason: String)]
    /// Changed paths not recorded because their merged version was never checked out (a pathspec
    /// naming one exactly records it).
    public let heldBack: [RepoPath]
    /// A failure after the operation was recorded (writing a cache or the base, e.g. on a full
    /// disk): the commit stands; the next command repairs what was not written.
    public let afterCommitPoint: RepositoryError?
}

extension Repository {
    /// Records the working tree's changes (all, or those under `pathspecs`) as
    /// one signed change operation on top of the working tree's base.
    ///
    /// The changes are taken against the base (the state the working tree was last brought
    /// to), and the operation's parents are the base's heads: whatever arrived since is
    /// concurrent with it, so a write the user never saw is never superseded — where both
    /// touch a path, the result is a visible conflict. A path whose merged version the last
    /// checkout could not write (`unsynced`) is recorded only when a pathspec names it exactly.
    ///
    /// A conflicted path is recorded when its file was edited, deleted, or
    /// named exactly by a pathspec; that write supersedes every version the
    /// working tree showed and so resolves the conflict.
    public func commit(
        message: String, pathspecs: [String] = [], cwd: String? = nil,
        timestamp: UInt64 = Clock.nowMilliseconds()
    ) throws(RepositoryError) -> CommitResult {
        let trimmed = message.trimmingASCIIWhitespace()
        guard !trimmed.isEmpty else { throw .badMessage("it is empty; say what changed with -m") }
        guard message.utf8.count <= Limits.maxMessageBytes else {
            throw .badMessage("longer than \(Limits.maxMessageBytes) bytes")
        }
        let spec = try Pathspec(pathspecs, root: layout.root, cwd: cwd ?? layout.root)
        let (key, me) = try signingIdentity()

        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        let current = try heads()
        var tree = try state()
        let base = try resolveBase(current: current, state: tree)
        var roles = try self.roles()
        var graph: Graph?
        var parents = base.heads
        var unsynced = base.unsynced
        if !base.isCurrent {
            // Authority and sequence are judged where the operation will stand: on the base.
            let taken = try takeGraph().graph
            guard var index = try membershipIndex(graph: taken) else {
                throw .noGenesis
            }
            var parentNodes = base.heads.compactMap { taken.number(of: $0) }
            guard parentNodes.count == base.heads.count else {
                throw .baseDamaged(path: layout.base, reason: "it names operations that are not in the index")
            }
            if let tip = ownTipOutside(base: base.heads, of: me, graph: taken) {
                // This replica's own membership operation, made while the tree was behind, must
                // be in the new operation's causal past; what it carries there that the working
                // tree never received is treated as unsynced.
                parentNodes = parentNodes.filter { !taken.isAncestor($0, of: tip) } + [tip]
                parents = parentNodes.map { taken.ids[$0] }.sorted()
                let past = try stateOfCausalPast(of: parents)
                for path in Set(past.paths.keys).union(base.tree.paths.keys)
                where past.value(path) != base.tree.value(path) {
                    unsynced.insert(path)
                }
            }
            try requireAuthority(
                me, kind: Payload.Kind.change,
                roles: index.outcome(parents: parentNodes, graph: taken).members.mapValues(\.role))
            graph = taken
        } else {
            try requireAuthority(me, kind: Payload.Kind.change, roles: roles)
        }

        var cache = loadWorkTreeCache()
        let diff = try diffWorkTree(state: base.tree, cache: cache, pathspec: spec)
        if !spec.isEverything {
            for prefix in spec.prefixes {
                let matched =
                    diff.changes.contains { spec.prefixMatches(prefix, $0.path) }
                    || base.tree.paths.keys.contains { spec.prefixMatches(prefix, $0) }
                    || FileSystem.exists(layout.root + "/" + prefix)
                if !matched { throw .pathspecMatchesNothing(prefix) }
            }
        }

        let reader = scanner()
        var entries: [ChangeEntry] = []
        var recorded: [(RepoPath, PathStatus)] = []
        var stamps: [RepoPath: (FileStamp, ObjectID)] = [:]
        var heldBack: [RepoPath] = []
        for change in diff.changes {
            if case let .conflicted(_, edited) = change.status, !edited, !spec.namesExactly(change.path) { continue }
            if unsynced.contains(change.path) && !spec.namesExactly(change.path) {
                heldBack.append(change.path)
                continue
            }
            guard let working = change.working, let stamp = change.stamp else {
                entries.append(ChangeEntry(path: change.path, version: nil))
                recorded.append((change.path, change.status))
                continue
            }
            let content = try lift { try reader.read(change.path) }
            let blobID = try lift { try objects.write(Blob(content: content).encoded) }
            entries.append(ChangeEntry(path: change.path, version: FileVersion(blob: blobID, mode: working.mode)))
            recorded.append((change.path, change.status))
            stamps[change.path] = (stamp, blobID)
        }
        guard !entries.isEmpty else {
            throw heldBack.isEmpty ? .nothingToCommit : .onlyUnsynced(heldBack.map(\.string))
        }
        guard entries.count <= Limits.maxChangeEntries else {
            throw .tooManyPaths(limit: Limits.maxChangeEntries)
        }

        let sequence = try highestSequence(of: me) + 1
        let change = Change(message: message, entries: entries)
        let op = try lift {
            try Operation.create(
                signer: key, sequence: sequence, parents: parents, timestamp: timestamp, payload: .change(change))
        }
        let lengthBefore = indexLength()
        try lift {
            try objects.write(op.encoded)
            try objects.flush()
            // The commit point: once this record is durable, the operation is in the repository.
            try OperationIndex.append(layout.operationIndex, [OperationSummary(op)], validLength: lengthBefore)
        }
        // Past the commit point, nothing may report the commit as failed: the operation is
        // recorded, and every file written from here on is derived or a cache.
        var unrecorded: RepositoryError?
        do throws(RepositoryError) {
            var newHeads = [op.id]
            if var graph {
                // Behind: the new operation is one head among those that arrived since the base.
                let node = try lift { try graph.append(OperationSummary(op)) }
                newHeads = graph.heads
                if var index = try membershipIndex(graph: graph), index.outcome(graph: graph).limitsEffects {
                    tree = try computeState(graph: graph, membership: index.outcome(graph: graph))
                    roles = index.outcome(graph: graph).members.mapValues(\.role)
                } else {
                    tree.apply(change, node: node, graph: graph)
                }
            } else {
                tree.applyDominating(change, op: op.id)
            }
            try publish(
                author: me, tip: .init(sequence: sequence, id: op.id), heads: newHeads, tree: tree, roles: roles)
            // The working tree is now the base's tree with this change: the new base.
            var baseTree: FileTree? = nil
            let unsynced = unsynced.subtracting(entries.map(\.path))
            if !base.isCurrent || !unsynced.isEmpty {
                var kept = base.tree
                kept.applyDominating(change, op: op.id)
                baseTree = kept
            }
            try writeBase(WorkTreeBase(heads: [op.id], tree: baseTree, unsynced: Array(unsynced)))
            for entry in entries {
                if let (stamp, blob) = stamps[entry.path] {
                    cache.entries[entry.path] = .init(stamp: stamp, blob: blob)
                } else {
                    cache.entries[entry.path] = nil
                }
            }
            try saveWorkTreeCache(cache, hashed: diff.hashed)
        } catch {
            unrecorded = error
        }
        return CommitResult(
            id: op.id, sequence: sequence, parents: op.parents, changes: recorded, skipped: diff.skipped,
            heldBack: heldBack, afterCommitPoint: unrecorded)
    }
}
