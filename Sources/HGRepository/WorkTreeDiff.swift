import HGCore
import HGState
import HGWorkTree

/// How one path of the working tree differs from its base (the state it was last brought to).
public enum PathStatus: Equatable, Sendable {
    /// A file the state does not have.
    case added
    /// Content or mode differs from the state's single version.
    case modified
    /// The state has the file; the working tree does not.
    case deleted
    /// Concurrent writes disagree. `edited` tells whether the working file
    /// differs from what hg-bft materialised for the conflict.
    case conflicted(versions: Int, edited: Bool)

    /// One-letter code, as `status --short` prints it.
    public var code: String {
        switch self {
        case .added: return "A"
        case .modified: return "M"
        case .deleted: return "D"
        case .conflicted: return "C"
        }
    }
}

/// One line of `status`.
public struct PathChange: Equatable, Sendable {
    public let path: RepoPath
    public let status: PathStatus
    /// The working file's version, when the file exists.
    public let working: FileVersion?
    /// The working file's stamp at the moment it was examined.
    let stamp: FileStamp?
}

/// Everything `status` reports.
public struct StatusReport: Sendable {
    public let changes: [PathChange]
    /// Working entries that cannot be recorded, with the reason.
    public let skipped: [(path: String, reason: String)]
    public let heads: [ObjectID]
    public let peer: PeerID?
    /// Paths the merged state holds both as a file and as a directory of other files; the
    /// changes above show them as checkout left them (the file deleted, its copy beside it new).
    public let collisions: [PathCollision]
    /// The working tree's base: the heads it was last brought to (`heads` when it is current).
    public let base: [ObjectID]
    /// What arrived since the base and is not in the working tree yet.
    public let incoming: Incoming

    /// Paths in conflict.
    public var conflicts: [PathChange] {
        changes.filter {
            if case .conflicted = $0.status { return true }
            return false
        }
    }
}

extension Repository {
    /// Compares the working tree with `state` (the working tree's base). `hashed` lists the files that had to
    /// be read (their stamp was not trusted), so that callers that rewrite the cache can refresh them.
    func diffWorkTree(
        state: FileTree, cache: WorkTreeCache, pathspec: Pathspec
    ) throws(RepositoryError)
        -> (changes: [PathChange], skipped: [(String, String)], hashed: [RepoPath: (FileStamp, ObjectID)])
    {
        var hashed: [RepoPath: (FileStamp, ObjectID)] = [:]
        let listing = try lift { try scanner().scan(under: pathspec.prefixes) }
        var changes: [PathChange] = []
        var seen = Set<RepoPath>()
        func examine(_ file: WorkFile) throws(RepositoryError) {
            let blob: ObjectID
            if let known = cache.knownBlob(for: file) {
                blob = known
            } else {
                blob = try lift { try Blob.id(of: scanner().read(file.path)) }
                hashed[file.path] = (file.stamp, blob)
            }
            let version = FileVersion(blob: blob, mode: file.stamp.executable ? .executable : .regular)
            switch state.value(file.path) {
            case .absent:
                changes.append(PathChange(path: file.path, status: .added, working: version, stamp: file.stamp))
            case let .file(expected):
                if expected != version {
                    changes.append(PathChange(path: file.path, status: .modified, working: version, stamp: file.stamp))
                }
            case let .conflict(live):
                let edited = cache.entries[file.path]?.blob != blob
                changes.append(
                    PathChange(
                        path: file.path, status: .conflicted(versions: live.count, edited: edited),
                        working: version, stamp: file.stamp))
            }
        }
        for file in listing.files {
            seen.insert(file.path)
            try examine(file)
        }
        // A path the scan skipped with a warning (a link, a special file, one it could not look
        // at) is not a deletion: a recorded file stays recorded until the user deletes it.
        for entry in listing.skipped {
            if let path = try? RepoPath(entry.path) { seen.insert(path) }
        }
        for (path, live) in state.paths where !seen.contains(path) && pathspec.matches(path) {
            let value = FileTree.value(of: live)
            if value == .absent { continue }
            // A tracked file that the scan passed over because `.hgignore` matches it is still
            // tracked (as in git): it is compared, not taken for deleted.
            if let ignored = WorkFile.trackedButIgnored(path, root: layout.root) {
                try examine(ignored)
                continue
            }
            switch value {
            case .file:
                changes.append(PathChange(path: path, status: .deleted, working: nil, stamp: nil))
            case let .conflict(live):
                changes.append(
                    PathChange(
                        path: path, status: .conflicted(versions: live.count, edited: true), working: nil, stamp: nil))
            case .absent:
                break
            }
        }
        changes.sort { $0.path < $1.path }
        return (changes, listing.skipped, hashed)
    }

    /// `status`: changes of the working tree against its base, conflicts, and what arrived
    /// since the base that a checkout would bring in.
    public func status(pathspecs: [String] = [], cwd: String? = nil) throws(RepositoryError) -> StatusReport {
        let spec = try Pathspec(pathspecs, root: layout.root, cwd: cwd ?? layout.root)
        let current = try heads()
        let state = try state()
        let base = try resolveBase(current: current, state: state)
        let diff = try diffWorkTree(state: base.tree, cache: loadWorkTreeCache(), pathspec: spec)
        var incoming = Incoming(operations: 0, paths: [], unsynced: base.unsynced.filter(spec.matches).sorted())
        if !base.isCurrent || !base.unsynced.isEmpty {
            var differing = Set(base.unsynced)
            for (path, live) in state.paths where base.tree.paths[path] != live { differing.insert(path) }
            for path in base.tree.paths.keys where state.paths[path] == nil { differing.insert(path) }
            incoming.paths = differing.filter { spec.matches($0) && base.tree.value($0) != state.value($0) }.sorted()
            if !base.isCurrent {
                let graph = try loadGraph()
                let nodes = base.heads.compactMap { graph.number(of: $0) }
                incoming.operations =
                    graph.count - graph.ancestorMask(of: nodes).lazy.filter { $0 }.count
                    - Set(nodes).count
            }
        }
        return StatusReport(
            changes: diff.changes, skipped: diff.skipped, heads: current, peer: try? peerID(),
            collisions: PathCollisions(state: base.tree).list(matching: spec.matches),
            base: base.heads, incoming: incoming)
    }
}

/// What arrived since the working tree's base and is not in the working tree yet.
public struct Incoming: Sendable, Equatable {
    /// Operations in the repository that are not in the base's causal past.
    public var operations: Int
    /// Paths whose merged value differs from what the working tree was brought to: a checkout
    /// writes them (or names what is in the way).
    public var paths: [RepoPath]
    /// Of those, the paths a checkout already tried and left alone, because something of the
    /// user's was in the way (or a checkout with pathspecs did not cover them).
    public var unsynced: [RepoPath]

    /// Whether the working tree is behind the merged state.
    public var isEmpty: Bool { operations == 0 && paths.isEmpty }
}
