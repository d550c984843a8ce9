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

        var candidates = Set(tree.paths.keys.filter { spec.matches($0) })
        candidates.formUnion(working.keys)
        candidates.formUnion(cache.entries.keys.filter { spec.matches($0) })

        var graph: Graph?
        var result = CheckoutResult()
        var hashed: [RepoPath: (FileStamp, ObjectID)] = [:]
        for path in candidates.sorted() {
            // What the state wants here.
            let desired: (content: [UInt8]?, blob: ObjectID, mode: FileMode)?
            switch tree.value(path) {
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
            let baseline = cache.entries[path]
            if let desired, let current, current.blob == desired.blob, current.mode == desired.mode {
                if let file = working[path] { cache.entries[path] = .init(stamp: file.stamp, blob: current.blob) }
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
                let stamp = try lift { try writer.write(path, content: content, mode: desired.mode) }
                cache.entries[path] = .init(stamp: stamp, blob: desired.blob)
                result.written.append(path)
            } else {
                try lift { try writer.remove(path) }
                cache.entries[path] = nil
                result.removed.append(path)
            }
        }
        try saveWorkTreeCache(cache, hashed: hashed)
        return result
    }
}
