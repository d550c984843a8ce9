import HGCore
import HGGraph
import HGState
import HGStore
import HGWorkTree

/// What `checkout` did.
public struct CheckoutResult: Sendable {
    /// Files written (created or replaced).
    public var written: [RepoPath] = []
    /// Files removed.
    public var removed: [RepoPath] = []
    /// Conflicted paths, materialised as described in `ConflictRendering`.
    public var conflicts: [RepoPath] = []
    /// Paths left alone because they hold uncommitted changes.
    public var kept: [RepoPath] = []
    /// Paths whose merged version could not be written because something in the working tree is
    /// in the way (a file where a directory is needed, a directory or a symbolic link where the
    /// file goes), with the reason; they are left as they are, and every other path is written.
    public var blocked: [RepoPath: String] = [:]
    /// Paths the merged state holds both as a file and as a directory of other files, and where
    /// the file's content went (`PathCollisions`).
    public var collisions: [PathCollision] = []

    /// Paths whose merged version was not written (`kept` and `blocked`), sorted.
    public var leftAlone: [RepoPath] { (kept + blocked.keys).sorted() }
}

extension Repository {
    /// Materialises the merged state in the working tree.
    ///
    /// A path whose working file differs from what hg-bft last wrote or
    /// committed there (an uncommitted edit, deletion or untracked file in the
    /// way) is left alone and reported in `kept`, unless `force` is set.
    public func checkout(force: Bool = false, pathspecs: [String] = [], cwd: String? = nil) throws(RepositoryError) -> CheckoutResult {
        let spec = try Pathspec(pathspecs, root: layout.root, cwd: cwd ?? layout.root)
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        let tree = try state()
        var cache = loadWorkTreeCache()
        let reader = scanner()
        let writer = Materializer(root: layout.root)
        let listing = try lift { try reader.scan(under: spec.prefixes) }
        var working: [RepoPath: WorkFile] = [:]
        for file in listing.files { working[file.path] = file }

        let collisions = PathCollisions(state: tree)
        var candidates = Set(tree.paths.keys.filter { spec.matches($0) })
        candidates.formUnion(working.keys)
        candidates.formUnion(cache.entries.keys.filter { spec.matches($0) })
        candidates.formUnion(collisions.original.filter { spec.matches($0.key) || spec.matches($0.value) }.keys)

        var graph: Graph?
        var result = CheckoutResult()
        result.collisions = collisions.list(matching: spec.matches)
        var hashed: [RepoPath: (FileStamp, ObjectID)] = [:]
        var writes = FileWrites()
        for path in candidates.sorted() {
            // What the state wants here; a file that collides with a directory goes beside it.
            let value: FileTree.Value
            if collisions.aside[path] != nil {
                value = .absent
            } else if let original = collisions.original[path] {
                value = tree.value(original)
            } else {
                value = tree.value(path)
            }
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
            // What the working tree has, and what hg-bft last put there.
            let current: FileVersion? = try working[path].map { file throws(RepositoryError) in
                let blob: ObjectID
                if let known = cache.knownBlob(for: file) {
                    blob = known
                } else {
                    blob = try lift { try Blob.id(of: reader.read(path)) }
                    hashed[path] = (file.stamp, blob)
                }
                return FileVersion(blob: blob, mode: file.stamp.executable ? .executable : .regular)
            }
            // A copy beside a directory is never remembered as written by checkout: it is the
            // user's file from then on, so no later checkout removes it once the collision is gone.
            let remember = collisions.original[path] == nil
            if !remember { cache.entries[path] = nil }
            let baseline = cache.entries[path]
            if let desired, let current, current.blob == desired.blob, current.mode == desired.mode {
                if remember, let file = working[path] { cache.entries[path] = .init(stamp: file.stamp, blob: current.blob) }
                continue
            }
            if desired == nil && current == nil {
                cache.entries[path] = nil
                continue
            }
            let dirty = current?.blob != baseline?.blob
                || (current != nil && baseline != nil && working[path]?.stamp.executable != baseline?.stamp.executable)
            if dirty && !force {
                result.kept.append(path)
                continue
            }
            if let desired {
                let content: [UInt8]
                if let rendered = desired.content { content = rendered } else { content = try blobContent(desired.blob) }
                // A file under a path still waiting to be written as a file waits for it, so that
                // which of the two fails does not depend on the threads (paths come in order, so a
                // file always comes before the paths under it).
                if writes.isFull || writes.holdsAncestor(of: path) {
                    try writes.flush(with: writer, into: &cache, &result, hashed: hashed, saving: self)
                }
                writes.add(FileWrite(path: path, content: content, mode: desired.mode, blob: desired.blob, remember: remember))
            } else {
                try lift { try writer.remove(path) }
                cache.entries[path] = nil
                result.removed.append(path)
            }
        }
        try writes.flush(with: writer, into: &cache, &result, hashed: hashed, saving: self)
        try saveWorkTreeCache(cache, hashed: hashed)
        return result
    }
}

/// One file `checkout` writes.
private struct FileWrite: Sendable {
    let path: RepoPath
    let content: [UInt8]
    let mode: FileMode
    let blob: ObjectID
    /// Whether the worktree cache records it (not for a copy written beside a directory).
    let remember: Bool
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
    mutating func flush(with writer: Materializer, into cache: inout WorkTreeCache, _ result: inout CheckoutResult,
                        hashed: [RepoPath: (FileStamp, ObjectID)], saving repository: Repository) throws(RepositoryError) {
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
                    outcomes.set(i, .success(try writer.write(write.path, content: write.content, mode: write.mode)))
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
