import HGCore

/// The files derived from the operation index (FORMAT.md 5.12, step 3): the peer refs, `heads`
/// and the stamped caches, written in that order and all stamped with one index length.
///
/// Every writer (commit, receive, membership commands, repair, init) hands its results here, so
/// the order and the stamp are decided once; a new cache (a snapshot index, a key-state cache)
/// is one more `Cache` in the list its caller builds, not one more write in four places.
public struct DerivedFiles {
    /// One stamped cache file: where it lives and its bytes for a given stamp.
    public struct Cache {
        public let path: String
        public let encode: (_ stamp: Int) -> [UInt8]

        public init(path: String, encode: @escaping (_ stamp: Int) -> [UInt8]) {
            self.path = path
            self.encode = encode
        }
    }

    /// The refs to rewrite, by author (only the authors whose tips changed).
    public var refs: [PeerID: [Refs.Tip]]
    /// The repository's heads.
    public var heads: [ObjectID]
    /// The caches, in the order they are written.
    public var caches: [Cache]

    public init(refs: [PeerID: [Refs.Tip]], heads: [ObjectID], caches: [Cache]) {
        self.refs = refs
        self.heads = heads
        self.caches = caches
    }

    /// Writes every file stamped with `stamp` (the index length they reflect): refs, then
    /// heads, then the caches. None is fsynced: a file whose stamp is behind the index is
    /// recomputed by its reader, so only the index record is the durable fact.
    public func write(_ layout: Layout, stamp: Int) throws(StoreError) {
        if !refs.isEmpty { _ = try FileSystem.makeDirectory(layout.peerRefs) }
        for (peer, tips) in refs.sorted(by: { $0.key.text < $1.key.text }) {
            try FileSystem.writeDerived(
                layout.peerRef(peer.text), Refs.encodePeer(.init(tips: tips.sorted(), stamp: stamp)))
        }
        try FileSystem.writeDerived(layout.heads, Refs.encodeHeads(.init(ids: heads, stamp: stamp)))
        for cache in caches {
            try FileSystem.writeDerived(cache.path, cache.encode(stamp))
        }
    }
}
