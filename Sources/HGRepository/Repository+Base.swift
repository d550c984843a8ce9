import HGCore
import HGGraph
import HGState
import HGStore

/// The working tree's base, resolved: its heads and the tree the working tree was brought to.
struct ResolvedBase {
    /// The heads the working tree was brought to, ascending.
    let heads: [ObjectID]
    /// The tree the working tree holds, as far as hg-bft brought it there.
    let tree: FileTree
    /// Paths whose merged version at `heads` was not written (see `WorkTreeBase.unsynced`).
    let unsynced: Set<RepoPath>
    /// Whether `heads` are the repository's current heads.
    let isCurrent: Bool
    /// What was read from `.hgrepo/base`, or `nil` when the file is missing (a repository made
    /// before the base existed, or one never checked out).
    let stored: WorkTreeBase?
}

extension FileTree {
    /// This tree with the changes of `operations` applied in order, each superseding every
    /// write of the paths it touches (true of operations made on top of the tree's heads).
    func following(_ operations: [Operation]) -> FileTree {
        var tree = self
        for op in operations {
            if let change = op.change { tree.applyDominating(change, op: op.id) }
        }
        return tree
    }
}

extension Repository {
    /// Reads `.hgrepo/base`: `nil` when it does not exist; an error naming the file when it is
    /// damaged (the base is not derived, so it is never guessed silently).
    func readBase() throws(RepositoryError) -> WorkTreeBase? {
        guard let bytes = try lift({ try FileSystem.readIfExists(layout.base, limit: 1 << 30) }) else { return nil }
        do throws(DecodeError) {
            return try WorkTreeBase.decode(bytes)
        } catch {
            throw .baseDamaged(path: layout.base, reason: error.description)
        }
    }

    /// Replaces `.hgrepo/base`. The caller holds the lock. A base that is lost in a crash is
    /// the previous one, which is safe: commit refuses to sign on top of a base that misses
    /// this replica's own latest operation, and checkout brings it forward.
    func writeBase(_ base: WorkTreeBase) throws(RepositoryError) {
        try lift { try FileSystem.writeAtomically(layout.base, base.encoded(), durable: false) }
    }

    /// The base with its tree. `current` are the repository's heads and `state` their tree,
    /// when the caller has them. A missing base file means the base is the current heads when the
    /// working tree was ever written (a repository older than the base file), and the genesis
    /// alone otherwise (a clone stopped before its checkout).
    func resolveBase(current: [ObjectID]? = nil, state: FileTree? = nil) throws(RepositoryError) -> ResolvedBase {
        let heads: [ObjectID]
        if let current { heads = current } else { heads = try self.heads() }
        func currentTree() throws(RepositoryError) -> FileTree {
            if let state { return state }
            return try self.state()
        }
        guard let stored = try readBase() else {
            if FileSystem.exists(layout.worktreeCache) || heads == [genesis] {
                return ResolvedBase(heads: heads, tree: try currentTree(), unsynced: [], isCurrent: true, stored: nil)
            }
            // This replica's own first commit, killed before it wrote the base, stands on the genesis.
            let chain = try ownOperations(onTopOf: [genesis])
            return ResolvedBase(
                heads: chain.last.map { [$0.id] } ?? [genesis], tree: FileTree().following(chain),
                unsynced: [], isCurrent: chain.last.map { [$0.id] } == heads, stored: nil)
        }
        // The base moves past this replica's own operations made right on top of it, which a
        // command killed after its commit point (or a membership command) did not record in the
        // base file: a change's entries are what the working tree held when it was made, so the
        // base follows it as the commit would have; a membership operation changes no file.
        let chain = stored.heads == heads ? [] : try ownOperations(onTopOf: stored.heads)
        let baseHeads = chain.last.map { [$0.id] } ?? stored.heads
        let tree: FileTree
        if let kept = stored.tree {
            tree = kept.following(chain)
        } else if baseHeads == heads {
            // The state of the heads the chain leads to: the state cache, not the history again.
            tree = try currentTree()
        } else {
            tree = try stateOfCausalPast(of: stored.heads).following(chain)
        }
        return ResolvedBase(
            heads: baseHeads, tree: tree, unsynced: Set(stored.unsynced), isCurrent: baseHeads == heads,
            stored: stored)
    }

    /// This replica's own operations standing right on top of `base` (the first has exactly
    /// those parents, each next one the one before), oldest first; empty when there are none.
    /// Found by walking back from its latest operation through its own single-parent chain.
    private func ownOperations(onTopOf base: [ObjectID]) throws(RepositoryError) -> [Operation] {
        guard let me = try? peerID(), let tip = try latestOwnOperation(me) else { return [] }
        var chain: [Operation] = []
        var next: ObjectID? = tip
        while let id = next, !base.contains(id), chain.count < 64 {
            let op = try lift { try objects.readOperation(id) }
            guard op.author == me else { break }
            chain.append(op)
            if op.parents == base { break }
            next = op.parents.count == 1 ? op.parents[0] : nil
        }
        guard let first = chain.last, first.parents == base else { return [] }
        return chain.reversed()
    }

    /// The id of the latest operation `me` signed: from the author's ref when it is current,
    /// else from the DAG; `nil` when there is none.
    private func latestOwnOperation(_ me: PeerID) throws(RepositoryError) -> ObjectID? {
        let length = indexLength()
        do throws(StoreError) {
            if let ref = try Refs.readPeer(layout.peerRef(me.text)) {
                if ref.stamp == length { return ref.tips.max { $0.sequence < $1.sequence }?.id }
            } else if (try? Refs.readHeads(layout.heads))?.stamp == length {
                // No ref beside a current heads file, which vouches for every author's ref: none.
                return nil
            }
        } catch {
            // An unreadable ref: the DAG says.
        }
        let graph = try loadGraph()
        return graph.nodes(by: me).max { graph.sequence($0) < graph.sequence($1) }.map { graph.ids[$0] }
    }

    /// The file tree of the causal past of `heads` (inclusive): what the repository's state was
    /// when those were its heads. Every head must be in the index.
    func stateOfCausalPast(of heads: [ObjectID]) throws(RepositoryError) -> FileTree {
        let graph = try loadGraph()
        var nodes: [Int] = []
        for head in heads {
            guard let n = graph.number(of: head) else {
                throw .baseDamaged(
                    path: layout.base, reason: "it names \(head.short), which is not in the operation index")
            }
            nodes.append(n)
        }
        var mask = graph.ancestorMask(of: nodes)
        for n in nodes { mask[n] = true }
        var past = Graph()
        for n in 0..<graph.count where mask[n] {
            try lift { _ = try past.append(graph.summary(at: n)) }
        }
        return try computeState(graph: past)
    }

    /// Before operations are appended that move the heads away from a base whose tree is
    /// "the state of its heads": writes that tree into the base file, while the state cache still
    /// holds it, so that `status` and `commit` need not recompute it from the history. The caller
    /// holds the lock. Best effort: without it, the tree is computed when needed.
    func preserveBaseTree() {
        guard let stored = try? readBase(), stored.tree == nil, let heads = try? heads(), stored.heads == heads,
            let tree = try? state()
        else { return }
        try? writeBase(WorkTreeBase(heads: stored.heads, tree: tree))
    }

    /// The latest operation `me` signed, when it is not in the causal past of `base` (nor one of
    /// its heads): a membership operation made on top of every head while the working tree was
    /// behind. An operation made on top of the base must still follow it in sequence.
    func ownTipOutside(base: [ObjectID], of me: PeerID, graph: Graph) -> Int? {
        let mine = graph.nodes(by: me)
        guard let latest = mine.max(by: { graph.sequence($0) < graph.sequence($1) }) else { return nil }
        let baseNodes = base.compactMap { graph.number(of: $0) }
        if baseNodes.contains(latest) || baseNodes.contains(where: { graph.isAncestor(latest, of: $0) }) { return nil }
        return latest
    }
}
