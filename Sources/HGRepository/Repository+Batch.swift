import HGCore
import HGCrypto
import HGState
import HGStore
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// One change to record without a working tree: paths and their new content
/// (`nil` deletes the path).
public struct BatchChange: Sendable {
    public let message: String
    public let files: [(path: RepoPath, content: [UInt8]?)]

    public init(message: String, files: [(path: RepoPath, content: [UInt8]?)]) {
        self.message = message
        self.files = files
    }
}

extension Repository {
    /// Records many changes by this replica in one durable batch: each change
    /// becomes a signed operation on top of the previous one, all objects go
    /// into one pack file, and one index append (and its fsync) make the whole
    /// batch part of the repository at once.
    ///
    /// Used by importers and benchmarks; it does not touch the working tree.
    public func commitBatch(
        _ changes: [BatchChange], timestamp: UInt64 = Clock.nowMilliseconds()
    ) throws(RepositoryError) -> [ObjectID] {
        guard !changes.isEmpty else { return [] }
        let (key, me) = try signingIdentity()
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        let roles = try roles()
        try requireAuthority(me, kind: Payload.Kind.change, roles: roles)
        var tree = try state()
        var parents = try heads()
        var sequence = try highestSequence(of: me)
        var summaries: [OperationSummary] = []
        summaries.reserveCapacity(changes.count)
        var encodings: [(id: ObjectID, encoding: [UInt8])] = []
        encodings.reserveCapacity(changes.count * 2)
        for (index, batch) in changes.enumerated() {
            var entries: [ChangeEntry] = []
            entries.reserveCapacity(batch.files.count)
            for file in batch.files {
                if let content = file.content {
                    let encoded = Blob(content: content).encoded
                    let blob = ObjectID(hashing: encoded)
                    encodings.append((blob, encoded))
                    entries.append(ChangeEntry(path: file.path, version: FileVersion(blob: blob, mode: .regular)))
                } else {
                    entries.append(ChangeEntry(path: file.path, version: nil))
                }
            }
            sequence += 1
            let change = Change(message: batch.message, entries: entries)
            let op = try lift {
                try Operation.create(
                    signer: key, sequence: sequence, parents: parents,
                    timestamp: timestamp + UInt64(index), payload: .change(change))
            }
            encodings.append((op.id, op.encoded))
            tree.applyDominating(change, op: op.id)
            summaries.append(OperationSummary(op))
            parents = [op.id]
        }
        _ = try lift { try objects.writePack(hashed: encodings) }
        let lengthBefore = indexLength()
        try lift { try OperationIndex.append(layout.operationIndex, summaries, validLength: lengthBefore) }
        guard let last = summaries.last else { return [] }
        try publish(author: me, tip: .init(sequence: sequence, id: last.id), tree: tree, roles: roles)
        return summaries.map(\.id)
    }
}
