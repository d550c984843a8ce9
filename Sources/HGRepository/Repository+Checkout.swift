import HGCore
import HGGraph
import HGState
import HGStore
import HGSystem
import HGWorkTree

#if canImport(Glibc)
import Glibc
#endif

/// What `checkout` did.
public struct CheckoutResult: Sendable {
    /// Files written (created or replaced).
    public var written: [RepoPath] = []
    /// Files removed.
    public var removed: [RepoPath] = []
    /// Conflicted paths, materialised as described in `ConflictRendering`.
    public var conflicts: [RepoPath] = []
    /// Tracked paths left alone because they hold uncommitted changes (edits or deletions).
    public var kept: [RepoPath] = []
    /// Paths whose merged version could not be written because something in the working tree is
    /// in the way (a file where a directory is needed, a directory or a symbolic link where the
    /// file goes), with the reason; they are left as they are, and every other path is written.
    public var blocked: [RepoPath: String] = [:]
    /// Paths the merged state holds both as a file and as a directory of other files, and where
    /// the file's content went (`PathCollisions`).
    public var collisions: [PathCollision] = []

    /// Paths whose merged version differs from what the working tree keeps there (left alone, or
    /// outside the pathspecs): `status` lists them, and a later checkout writes them.
    public var unsynced: [RepoPath] = []

    /// Paths where an uncommitted change (an edit or a deletion of a tracked file) meets a newer
    /// merged version. When there are any and `force` is not set, nothing is checked out
    /// (`checkedOut` is false): committing the changes first makes them concurrent with what
    /// arrived, so that the two meet as a conflict instead of one replacing the other unseen.
    public var clashes: [RepoPath] = []
    /// Whether the working tree was brought to the merged state (false when `clashes` stopped it).
    public var checkedOut = true

    /// Paths whose merged version was not written (`kept` and `blocked`), sorted.
    public var leftAlone: [RepoPath] { (kept + blocked.keys).sorted() }
}

extension Repository {
    /// Brings the working tree from its base (the state it was last brought to) to the merged
    /// state, and makes that the new base.
    ///
    /// Only what hg-bft put there is replaced or removed. A path is left alone, and named, when
    /// the working tree holds something else there: an uncommitted edit or deletion, an
    /// untracked or ignored file, a symbolic link, a directory. `force` restores tracked files
    /// (discarding uncommitted edits and deletions) but never touches untracked or ignored
    /// files, links or directories. A path whose merged version could not be written keeps its
    /// old value in the new base (`unsynced`), so that `status` and `commit` still compare it
    /// with what the working tree holds, and a later checkout writes it once the way is clear.
    public func checkout(
        force: Bool = false, pathspecs: [String] = [], cwd: String? = nil
    ) throws(RepositoryError) -> CheckoutResult {
        let spec = try Pathspec(pathspecs, root: layout.root, cwd: cwd ?? layout.root)
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        let current = try heads()
        let tree = try state()
        // A damaged base file is replaced; until then, what hg-bft last wrote (the work-tree
        // cache) is all that tells the user's files from its own.
        var base: ResolvedBase?
        do throws(RepositoryError) {
            base = try resolveBase(current: current, state: tree)
        } catch {
            guard case .baseDamaged = error else { throw error }
        }
        var cache = loadWorkTreeCache()
        let reader = scanner()
        let writer = Materializer(root: layout.root)
        let listing = try lift { try reader.scan(under: spec.prefixes) }
        // Temporaries a killed checkout left: only a writer holding the lock makes them.
        for temporary in listing.temporaries { _ = unlink(layout.root + "/" + temporary) }
        var working: [RepoPath: WorkFile] = [:]
        for file in listing.files { working[file.path] = file }

        let collisions = PathCollisions(state: tree)
        // The base's tree is the state itself when the working tree is current (the usual case).
        let baseIsState = base.map { $0.isCurrent && $0.unsynced.isEmpty && $0.stored?.tree == nil } ?? true
        let baseTree = baseIsState ? tree : base?.tree ?? tree
        let baseCollisions = baseIsState ? collisions : PathCollisions(state: baseTree)
        var candidates = Set(tree.paths.keys.filter { spec.matches($0) })
        candidates.formUnion(working.keys)
        candidates.formUnion(cache.entries.keys.filter { spec.matches($0) })
        candidates.formUnion(collisions.original.filter { spec.matches($0.key) || spec.matches($0.value) }.keys)
        if !baseIsState {
            candidates.formUnion(baseTree.paths.keys.filter { spec.matches($0) })
            candidates.formUnion(baseCollisions.original.filter { spec.matches($0.key) || spec.matches($0.value) }.keys)
        }

        var graph: Graph?
        var result = CheckoutResult()
        result.collisions = collisions.list(matching: spec.matches)
        var hashed: [RepoPath: (FileStamp, ObjectID)] = [:]
        var writes = FileWrites()
        // Paths whose merged value the working tree does not get, with the value it keeps.
        var unsynced = Set<RepoPath>()
        // What is decided is done only once every path is decided: a clash writes nothing.
        var planned: [PlannedStep] = []
        for path in candidates.sorted() {
            // What the state wants here; a file that collides with a directory goes beside it.
            let value = Repository.materialValue(of: path, in: tree, collisions: collisions)
            let baseValue = Repository.materialValue(of: path, in: baseTree, collisions: baseCollisions)
            let desired: (content: [UInt8]?, blob: ObjectID, mode: FileMode)?
            switch value {
            case .absent:
                desired = nil
            case let .file(version):
                desired = (nil, version.blob, version.mode)
            case let .conflict(live):
                if graph == nil { graph = try loadGraph() }
                var versions: [ConflictRendering.Version] = []
                for write in live {
                    let author = graph?.summary(write.op)?.author.short ?? "unknown"
                    let content = try write.version.map { v throws(RepositoryError) in try blobContent(v.blob) }
                    versions.append(.init(op: write.op, author: author, content: content, mode: write.version?.mode))
                }
                let rendered = ConflictRendering.render(versions)
                desired = (rendered.content, Blob.id(of: rendered.content), rendered.mode)
                result.conflicts.append(path)
            }
            // A copy beside a directory is never remembered as written by checkout: it is the
            // user's file from then on, so no later checkout removes it once the collision is gone.
            let remember = collisions.original[path] == nil
            if !remember { cache.entries[path] = nil }
            // Only what the work-tree cache records is hg-bft's (a lost cache makes every differing
            // file the user's: nothing is then replaced that should not be).
            let baseline = cache.entries[path].map {
                FileVersion(blob: $0.blob, mode: $0.stamp.executable ? .executable : .regular)
            }
            // What the working tree has. A tracked path the scan did not list is looked at: a
            // regular file there is still tracked (ignore rules apply to untracked files only);
            // anything else there (a link, a special file) is the user's, whatever hg-bft last
            // wrote. An untracked path needs no look: a write there never replaces anything.
            var file = working[path]
            var unlisted = false
            if file == nil, baseline != nil {
                file = WorkFile.trackedButIgnored(path, root: layout.root)
                unlisted =
                    file == nil
                    && FileSystem.status(layout.root + "/" + path.string).map {
                        ($0.st_mode & S_IFMT) != S_IFDIR
                    } == true
            }
            let current: FileVersion? = try file.map { file throws(RepositoryError) in
                let blob: ObjectID
                if let known = cache.knownBlob(for: file) {
                    blob = known
                } else {
                    blob = try lift { try Blob.id(of: reader.read(path)) }
                    hashed[path] = (file.stamp, blob)
                }
                return FileVersion(blob: blob, mode: file.stamp.executable ? .executable : .regular)
            }
            let arrives = value != baseValue
            switch CheckoutDecision.decide(
                desired: desired.map { FileVersion(blob: $0.blob, mode: $0.mode) }, current: current,
                baseline: baseline, unlisted: unlisted, arrives: arrives, force: force)
            {
            case .upToDate:
                if remember, let file, let current {
                    cache.entries[path] = .init(stamp: file.stamp, blob: current.blob)
                }
            case .nothing:
                break
            case .forget:
                cache.entries[path] = nil
            case let .write(replacing):
                if let desired {
                    planned.append(
                        .write(
                            path: path, rendered: desired.content, blob: desired.blob, mode: desired.mode,
                            remember: remember, replacing: replacing, arrives: arrives))
                }
            case .remove:
                planned.append(.remove(path))
            case .leave(.uncommitted):
                result.kept.append(path)
            case .leave(.clash):
                result.clashes.append(path)
            case .leave(.untrackedInTheWay):
                unsynced.insert(path)
                result.blocked[path] = "an untracked file of yours is in the way"
            case .leave(.unlistedInTheWay):
                unsynced.insert(path)
                result.blocked[path] = Materializer.inTheWay(at: layout.root + "/" + path.string)
            }
        }
        if !result.clashes.isEmpty {
            // Nothing is written and the base stays: committing the changes first makes them
            // concurrent with what arrived, instead of overwriting it unseen.
            try saveWorkTreeCache(cache, hashed: hashed)
            result.conflicts = []
            result.kept.append(contentsOf: result.clashes)
            result.kept.sort()
            result.blocked = [:]
            result.checkedOut = false
            return result
        }
        for step in planned {
            switch step {
            case let .write(path, rendered, blob, mode, remember, replacing, arrives):
                let content: [UInt8]
                if let rendered { content = rendered } else { content = try blobContent(blob) }
                // A file under a path still waiting to be written as a file waits for it, so that
                // which of the two fails does not depend on the threads (paths come in order, so a
                // file always comes before the paths under it).
                if writes.isFull || writes.holdsAncestor(of: path) {
                    try writes.flush(with: writer, into: &cache, &result, hashed: hashed, saving: self)
                }
                writes.add(
                    FileWrite(
                        path: path, content: content, mode: mode, blob: blob, remember: remember,
                        replacing: replacing, arrives: arrives))
            case let .remove(path):
                try lift { try writer.remove(path) }
                cache.entries[path] = nil
                result.removed.append(path)
            }
        }
        try writes.flush(with: writer, into: &cache, &result, hashed: hashed, saving: self)
        unsynced.formUnion(writes.blockedArrivals)
        try saveWorkTreeCache(cache, hashed: hashed)

        // The new base: the current heads, except where the working tree keeps an older value
        // (left alone, or outside the pathspecs).
        var kept: [RepoPath: [LiveWrite]] = [:]
        if let base {
            let considered = spec.isEverything ? unsynced : unsynced.union(base.tree.paths.keys).union(tree.paths.keys)
            for path in considered where !spec.matches(path) || unsynced.contains(path) {
                if base.tree.value(path) != tree.value(path) {
                    unsynced.insert(path)
                    kept[path] = base.tree.paths[path]
                } else {
                    unsynced.remove(path)
                }
            }
        } else {
            unsynced.removeAll()
        }
        if unsynced.isEmpty {
            try writeBase(WorkTreeBase(heads: current))
        } else {
            var paths = tree.paths
            for path in unsynced { paths[path] = kept[path] }
            try writeBase(WorkTreeBase(heads: current, tree: FileTree(paths: paths), unsynced: Array(unsynced)))
        }
        result.unsynced = unsynced.sorted()
        return result
    }

    /// What the working tree holds at `path` for `tree`: a file that collides with a directory
    /// goes beside it, under the name `collisions` gives it.
    static func materialValue(of path: RepoPath, in tree: FileTree, collisions: PathCollisions) -> FileTree.Value {
        if collisions.aside[path] != nil { return .absent }
        if let original = collisions.original[path] { return tree.value(original) }
        return tree.value(path)
    }
}

/// A step `checkout` decided on; the content of a write is read only when it is carried out.
private enum PlannedStep {
    case write(
        path: RepoPath, rendered: [UInt8]?, blob: ObjectID, mode: FileMode, remember: Bool, replacing: Bool,
        arrives: Bool)
    case remove(RepoPath)
}

/// One file `checkout` writes.
private struct FileWrite: Sendable {
    let path: RepoPath
    let content: [UInt8]
    let mode: FileMode
    let blob: ObjectID
    /// Whether the worktree cache records it (not for a copy written beside a directory).
    let remember: Bool
    /// Whether a file hg-bft knows of is replaced (else nothing may be at the path).
    let replacing: Bool
    /// Whether the base held another value here (if the write is blocked, the path stays unsynced).
    let arrives: Bool
}

/// Files `checkout` has decided to write, written together on several threads.
///
/// Replacing a file is mostly waiting on the file system (creating the temporary file, and a
/// rename that frees the old file's blocks), so several at once finish sooner than one after
/// another. Removals are not deferred: they run as they are decided, before the writes that
/// follow them, so a file that replaces a directory (or the reverse) finds its way clear.
private struct FileWrites {
    private var pending: [FileWrite] = []
    private var pendingPaths = Set<ArraySlice<UInt8>>()
    private var bytes = 0
    /// Blocked writes of paths whose value changed since the base.
    private(set) var blockedArrivals: [RepoPath] = []
    /// Files written at once, and the most content held in memory before they are written.
    static let threads = 8
    static let maxFiles = 256
    static let maxBytes = 64 << 20

    var isFull: Bool { pending.count >= Self.maxFiles || bytes >= Self.maxBytes }

    mutating func add(_ write: FileWrite) {
        pending.append(write)
        pendingPaths.insert(write.path.bytes[...])
        bytes += write.content.count
    }

    /// Whether a pending write is to a directory above `path`.
    func holdsAncestor(of path: RepoPath) -> Bool {
        guard !pendingPaths.isEmpty else { return false }
        let bytes = path.bytes
        return bytes.indices.contains { bytes[$0] == UInt8(ascii: "/") && pendingPaths.contains(bytes[..<$0]) }
    }

    /// The positions of `batch`, grouped by the directory that holds each file (in order of
    /// first appearance, each group in batch order).
    static func byDirectory(_ batch: [FileWrite]) -> [[Int]] {
        var groups: [[Int]] = []
        var groupOf: [ArraySlice<UInt8>: Int] = [:]
        for (i, write) in batch.enumerated() {
            let bytes = write.path.bytes
            let directory = bytes.lastIndex(of: UInt8(ascii: "/")).map { bytes[..<$0] } ?? []
            if let g = groupOf[directory] {
                groups[g].append(i)
            } else {
                groupOf[directory] = groups.count
                groups.append([i])
            }
        }
        return groups
    }

    /// Writes every pending file and records each one written in `cache` and `result`. A file
    /// that something in the working tree blocks is recorded in `result.blocked` and the rest go
    /// on. If one fails otherwise, the cache is saved with those that were written (so they are
    /// not mistaken for local edits next time) and the first error is thrown.
    mutating func flush(
        with writer: Materializer, into cache: inout WorkTreeCache, _ result: inout CheckoutResult,
        hashed: [RepoPath: (FileStamp, ObjectID)], saving repository: Repository
    ) throws(RepositoryError) {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll()
        pendingPaths.removeAll()
        bytes = 0
        let outcomes = Slots<Result<FileStamp, WorkTreeError>>(count: batch.count)
        // One worker per directory at a time: creating and renaming files takes the directory's
        // lock, so workers sharing a directory mostly wait on each other (100 files in 10
        // directories were replaced about a third faster this way on 8 threads).
        let groups = Self.byDirectory(batch)
        parallelIO(count: groups.count, width: Self.threads) { g in
            for i in groups[g] {
                let write = batch[i]
                do throws(WorkTreeError) {
                    outcomes.set(
                        i,
                        .success(
                            try writer.write(
                                write.path, content: write.content, mode: write.mode,
                                replacing: write.replacing)))
                } catch {
                    outcomes.set(i, .failure(error))
                }
            }
        }
        var firstError: WorkTreeError?
        for (i, write) in batch.enumerated() {
            switch outcomes[i] {
            case let .success(stamp)?:
                if write.remember { cache.entries[write.path] = .init(stamp: stamp, blob: write.blob) }
                result.written.append(write.path)
            case let .failure(.blockedPath(_, reason))?:
                result.blocked[write.path] = reason
                if write.arrives { blockedArrivals.append(write.path) }
            case let .failure(error)?:
                if firstError == nil { firstError = error }
            case nil:
                break
            }
        }
        if let firstError {
            try repository.saveWorkTreeCache(cache, hashed: hashed)
            throw .workTree(firstError)
        }
    }
}
