import HGCore
import HGCrypto
import HGState
import HGStore
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
}

extension Repository {
    /// Records the working tree's changes (all, or those under `pathspecs`) as
    /// one signed change operation whose parents are the current heads.
    ///
    /// A conflicted path is recorded when its file was edited, deleted, or
    /// named exactly by a pathspec; that write supersedes every concurrent
    /// version and so resolves the conflict.
    public func commit(message: String, pathspecs: [String] = [], cwd: String? = nil,
                       timestamp: UInt64 = Clock.nowMilliseconds()) throws(RepositoryError) -> CommitResult {
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
        let roles = try roles()
        try requireAuthority(me, kind: Payload.Kind.change, roles: roles)

        var tree = try state()
        var cache = loadWorkTreeCache()
        let diff = try diffWorkTree(state: tree, cache: cache, pathspec: spec)
        if !spec.isEverything {
            for prefix in spec.prefixes {
                let matched = diff.changes.contains { spec.prefixMatches(prefix, $0.path) }
                    || tree.paths.keys.contains { spec.prefixMatches(prefix, $0) }
                    || FileSystem.exists(layout.root + "/" + prefix)
                if !matched { throw .pathspecMatchesNothing(prefix) }
            }
        }

        let reader = scanner()
        var entries: [ChangeEntry] = []
        var recorded: [(RepoPath, PathStatus)] = []
        var stamps: [RepoPath: (FileStamp, ObjectID)] = [:]
        for change in diff.changes {
            if case let .conflicted(_, edited) = change.status, !edited, !spec.namesExactly(change.path) { continue }
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
        guard !entries.isEmpty else { throw .nothingToCommit }
        guard entries.count <= Limits.maxChangeEntries else {
            throw .inconsistent("a change may touch at most \(Limits.maxChangeEntries) paths; commit in parts with pathspecs")
        }

        let sequence = try highestSequence(of: me) + 1
        let parents = try heads()
        let change = Change(message: message, entries: entries)
        let op = try lift {
            try Operation.create(signer: key, sequence: sequence, parents: parents, timestamp: timestamp, payload: .change(change))
        }
        let lengthBefore = indexLength()
        try lift {
            try objects.write(op.encoded)
            try objects.flush()
            // The commit point: once this record is durable, the operation is in the repository.
            try OperationIndex.append(layout.operationIndex, [OperationSummary(op)], validLength: lengthBefore)
        }
        tree.applyDominating(change, op: op.id)
        try publish(author: me, tip: .init(sequence: sequence, id: op.id), tree: tree, roles: roles)
        for entry in entries {
            if let (stamp, blob) = stamps[entry.path] {
                cache.entries[entry.path] = .init(stamp: stamp, blob: blob)
            } else {
                cache.entries[entry.path] = nil
            }
        }
        try saveWorkTreeCache(cache, hashed: diff.hashed)
        return CommitResult(id: op.id, sequence: sequence, parents: op.parents, changes: recorded, skipped: diff.skipped)
    }
}

