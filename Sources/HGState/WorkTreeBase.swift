import HGCore
import HGCrypto

/// The working tree's base (`.hgrepo/base`, FORMAT.md 5.13): the state the working tree was
/// last brought to, by a checkout or by a commit made from it.
///
/// It is what `status` and `commit` compare the working tree with, so that operations that
/// arrived since (by a sync, from either side) are never mistaken for the user's own
/// deletions or reversions. A commit is made on top of the base's heads, so every write the
/// user has not seen is concurrent with it: it can surface as a conflict, never be
/// superseded silently.
///
/// The base's tree is the state of the heads' causal past, except for `unsynced` paths: a
/// checkout that could not write a path's merged version (something of the user's was in the
/// way) keeps the value the working tree still holds for it, and so does a checkout limited
/// to some paths for every path it did not cover.
public struct WorkTreeBase: Sendable, Equatable {
    /// The heads the working tree was brought to, ascending.
    public var heads: [ObjectID]
    /// The base's tree, when it is not simply the state of `heads` as the state cache holds it:
    /// written whenever the repository's heads were not the base's heads, or some path is
    /// `unsynced`. `nil` means "the state of `heads`".
    public var tree: FileTree?
    /// Paths whose value in `tree` is not their value in the state of `heads` (ascending): the
    /// merged version has not been written there. Empty when `tree` is `nil`.
    public var unsynced: [RepoPath]

    public init(heads: [ObjectID], tree: FileTree? = nil, unsynced: [RepoPath] = []) {
        self.heads = heads.sorted()
        self.tree = unsynced.isEmpty ? tree : (tree ?? FileTree())
        self.unsynced = unsynced.sorted()
    }

    /// `hg-bft base v1` and two newlines: 16 bytes.
    static let header: [UInt8] = Array("hg-bft base v1\n\n".utf8)
    /// The most heads a base names (a repository's heads are bounded by its operations; this
    /// bounds the allocation a damaged file can ask for).
    static let maxHeads = 1 << 20

    /// File: header, varint head count, the heads (32 bytes each, strictly ascending), varint
    /// count of unsynced paths, each length-prefixed (strictly ascending bytewise), a flag byte
    /// (0: no tree, 1: a tree follows), the tree's canonical encoding (FORMAT.md 4.1) when the
    /// flag is 1, and a BLAKE2b-256 of everything before as a checksum.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + heads.count * 32)
        w.raw(WorkTreeBase.header)
        w.varint(UInt64(heads.count))
        for head in heads { w.id(head.raw) }
        w.varint(UInt64(unsynced.count))
        for path in unsynced { w.lengthPrefixed(path.bytes) }
        if let tree {
            w.byte(1)
            w.raw(tree.canonicalEncoding())
        } else {
            w.byte(0)
        }
        let body = w.bytes
        return body + Blake2b.hash256(body)
    }

    /// Strictly decodes a base file; throws on any damage (a base is not derived: the caller
    /// must not guess it).
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> WorkTreeBase {
        guard bytes.count >= header.count + 3 + 32 else { throw .truncated(field: "base file") }
        let body = Array(bytes[0..<(bytes.count - 32)])
        guard Array(body[0..<header.count]) == header else {
            throw .invalidValue(field: "base file", reason: "unknown header")
        }
        guard Blake2b.hash256(body) == Array(bytes[(bytes.count - 32)...]) else {
            throw .invalidValue(field: "base file", reason: "checksum mismatch")
        }
        var r = ByteReader(Array(body[header.count...]))
        let headCount = try r.count("head count", limit: min(maxHeads, r.remaining / 32))
        var heads: [ObjectID] = []
        heads.reserveCapacity(headCount)
        for _ in 0..<headCount {
            let id = ObjectID(raw: try r.id("head"))
            if let last = heads.last, !(last < id) { throw .unsortedParents }
            heads.append(id)
        }
        guard !heads.isEmpty else { throw .invalidValue(field: "head count", reason: "zero") }
        let unsyncedCount = try r.count("unsynced count", limit: r.remaining)
        var unsynced: [RepoPath] = []
        for _ in 0..<unsyncedCount {
            let path = try RepoPath(bytes: try r.lengthPrefixed("unsynced path", limit: Limits.maxPathBytes))
            if let last = unsynced.last, !(last < path) { throw .unsortedPaths }
            unsynced.append(path)
        }
        let flag = try r.byte("tree flag")
        var tree: FileTree?
        switch flag {
        case 0:
            try r.expectEnd()
            guard unsynced.isEmpty else {
                throw .invalidValue(field: "tree flag", reason: "unsynced paths need a tree")
            }
        case 1:
            tree = try FileTree.decode(canonical: Array(body[(header.count + r.offset)...]))
        default:
            throw .invalidValue(field: "tree flag", reason: "must be 0 or 1")
        }
        return WorkTreeBase(heads: heads, tree: tree, unsynced: unsynced)
    }
}
