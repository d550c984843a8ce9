import HGCore
import HGCrypto

/// The canonical serialisation of a `FileTree`, its fingerprint, and the
/// state cache file built on it (FORMAT.md, "State").
extension FileTree {
    /// Domain of the fingerprint: ASCII "hg-bft state v1" and one zero byte.
    public static let fingerprintDomain: [UInt8] = Array("hg-bft state v1".utf8) + [0]

    /// Canonical bytes: path count, then per path in bytewise order: the path
    /// (varint length + bytes), the live write count, and per live write in
    /// id order: the operation id, the mode byte (0 = deletion) and, unless
    /// a deletion, the blob id.
    public func canonicalEncoding() -> [UInt8] {
        var w = ByteWriter(capacity: paths.count * 96 + 8)
        w.varint(UInt64(paths.count))
        for path in paths.keys.sorted() {
            let live = paths[path] ?? []
            w.lengthPrefixed(path.bytes)
            w.varint(UInt64(live.count))
            for write in live {
                w.id(write.op.raw)
                w.fileVersion(write.version)
            }
        }
        return w.bytes
    }

    /// BLAKE2b-256 of the fingerprint domain and the canonical encoding.
    /// Two correct replicas with the same operations print the same fingerprint.
    public var fingerprint: ObjectID {
        ObjectID(raw: Bytes32(bytes: Blake2b.hash256(FileTree.fingerprintDomain, canonicalEncoding())) ?? .zero)
    }

    /// Strictly decodes a canonical encoding.
    public static func decode(canonical bytes: [UInt8]) throws(DecodeError) -> FileTree {
        var r = ByteReader(bytes)
        let count = try r.count("path count", limit: bytes.count)
        var paths: [RepoPath: [LiveWrite]] = [:]
        paths.reserveCapacity(count)
        var previous: RepoPath?
        for _ in 0..<count {
            let path = try RepoPath(bytes: try r.lengthPrefixed("path", limit: Limits.maxPathBytes))
            if let previous, !(previous < path) { throw .unsortedPaths }
            previous = path
            let liveCount = try r.count("live count", limit: r.remaining / 33)
            guard liveCount >= 1 else { throw .invalidValue(field: "live count", reason: "zero") }
            var live: [LiveWrite] = []
            for _ in 0..<liveCount {
                let op = ObjectID(raw: try r.id("operation id"))
                if let last = live.last, !(last.op < op) { throw .unsortedParents }
                live.append(LiveWrite(op: op, version: try r.fileVersion()))
            }
            paths[path] = live
        }
        try r.expectEnd()
        return FileTree(paths: paths)
    }
}

/// The state cache: `.hgrepo/index/state`.
///
/// File: the 16 bytes `hg-bft state v1\n`, the index length it reflects
/// (varint), the canonical encoding, and a 32-byte BLAKE2b-256 of everything
/// before it as a checksum (so the stamp is covered too). Any mismatch makes
/// readers rebuild it.
public enum StateCache {
    static let header: [UInt8] = Array("hg-bft state v1\n".utf8)

    public static func encode(_ tree: FileTree, stamp: Int) -> [UInt8] {
        StampedCache.seal(header: header, stamp: stamp, body: tree.canonicalEncoding())
    }

    /// The tree and its stamp, or `nil` if the bytes are not a valid cache.
    public static func decode(_ bytes: [UInt8]) -> (tree: FileTree, stamp: Int)? {
        guard let (stamp, body) = StampedCache.open(bytes, header: header),
            let tree = try? FileTree.decode(canonical: body)
        else { return nil }
        return (tree, stamp)
    }
}
