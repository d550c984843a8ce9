import HGCore
import HGCrypto
import HGGraph

/// One write that is not superseded: the operation that made it and the
/// version it wrote (`nil` for a deletion).
public struct LiveWrite: Hashable, Sendable, Comparable {
    public let op: ObjectID
    public let version: FileVersion?

    public init(op: ObjectID, version: FileVersion?) {
        self.op = op
        self.version = version
    }

    public static func < (a: LiveWrite, b: LiveWrite) -> Bool { a.op < b.op }
}

/// The file-tree CRDT (DESIGN §4): for every path, the writes to it that no
/// later write to the same path has in its causal past.
///
/// It is a pure function of the set of operations: the same operations give
/// the same `FileTree`, whatever order they were stored or delivered in,
/// because supersession depends only on causality, never on arrival.
public struct FileTree: Sendable, Equatable {
    /// Live writes per path, each list sorted by operation id. Paths whose
    /// live writes are all deletions stay listed, because a write concurrent
    /// with such a deletion that arrives later conflicts with it.
    public private(set) var paths: [RepoPath: [LiveWrite]]

    public init() { paths = [:] }

    /// A tree with exactly these live writes per path (each list sorted by operation id),
    /// e.g. decoded from a cache; `compute` is how a tree is derived from operations.
    public init(paths: [RepoPath: [LiveWrite]]) { self.paths = paths }

    /// What a path holds in the merged state.
    public enum Value: Equatable, Sendable {
        /// Not present.
        case absent
        /// Exactly one version.
        case file(FileVersion)
        /// Concurrent writes that disagree; the live writes, sorted by operation id.
        case conflict([LiveWrite])
    }

    /// The merged value of `path`.
    public func value(_ path: RepoPath) -> Value {
        guard let live = paths[path] else { return .absent }
        return FileTree.value(of: live)
    }

    /// The value of a list of live writes: deletions and identical versions
    /// agree with each other only when every live write says the same thing.
    public static func value(of live: [LiveWrite]) -> Value {
        let versions = Set(live.map(\.version))
        if versions.count == 1, let only = versions.first {
            return only.map { .file($0) } ?? .absent
        }
        return live.isEmpty ? .absent : .conflict(live)
    }

    /// Paths that currently exist or are in conflict, sorted.
    public var visiblePaths: [RepoPath] {
        paths.compactMap { path, live in FileTree.value(of: live) == .absent ? nil : path }.sorted()
    }

    /// Paths in conflict, sorted.
    public var conflicts: [RepoPath] {
        paths.compactMap { path, live in
            if case .conflict = FileTree.value(of: live) { return path }
            return nil
        }.sorted()
    }

    /// Applies a change whose causal past contains every live write of the
    /// paths it touches (true of every local commit, whose parents are all
    /// current heads): its writes replace those paths' live writes.
    public mutating func applyDominating(_ change: Change, op: ObjectID) {
        for entry in change.entries {
            paths[entry.path] = [LiveWrite(op: op, version: entry.version)]
        }
    }

    /// Applies a change made by operation number `node` of `graph`, where
    /// the tree holds the state of some set of operations that does not yet
    /// include it: a live write is superseded only if it is in the new
    /// operation's causal past.
    public mutating func apply(_ change: Change, node: Int, graph: Graph) {
        let op = graph.ids[node]
        for entry in change.entries {
            var live = paths[entry.path] ?? []
            live.removeAll { write in
                guard let n = graph.number(of: write.op) else { return false }
                return graph.isAncestor(n, of: node)
            }
            live.append(LiveWrite(op: op, version: entry.version))
            live.sort()
            paths[entry.path] = live
        }
    }

    /// Computes the tree of a whole DAG. `changeOf` returns the change made by
    /// a node (or `nil` for operations that are not changes).
    public static func compute(graph: Graph, changeOf: (Int) throws -> Change?) rethrows -> FileTree {
        var tree = FileTree()
        for node in 0..<graph.count {
            if let change = try changeOf(node) { tree.apply(change, node: node, graph: graph) }
        }
        return tree
    }
}
