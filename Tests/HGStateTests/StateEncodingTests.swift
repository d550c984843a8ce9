import HGCore
import HGCrypto
import HGGraph
import HGTestSupport
import Testing

@testable import HGState

/// A tree with a plain file, an executable, a deletion, a write/write conflict
/// and a delete/write conflict.
func sampleTree() throws -> FileTree {
    let h = try History(authors: 3)
    let g = try h.genesis()
    let base = try h.change(
        by: 0, parents: [g],
        [
            try write("plain", "p"), try write("bin/tool", "t", mode: .executable), try write("gone", "g"),
            try write("clash", "c0"), try write("edit-vs-delete", "e0"),
        ])
    try h.change(by: 1, parents: [base], [try write("clash", "c1"), try delete("edit-vs-delete"), try delete("gone")])
    try h.change(by: 2, parents: [base], [try write("clash", "c2"), try write("edit-vs-delete", "e2")])
    let tree = try h.tree()
    try #require(tree.conflicts.count == 2)
    return tree
}

/// Every tree obtained from `tree` by changing exactly one live write in one way.
func singleWriteVariants(of tree: FileTree) -> [FileTree] {
    var variants: [FileTree] = []
    for (path, live) in tree.paths {
        for (i, w) in live.enumerated() {
            var changedVersions: [FileVersion?] = []
            if let v = w.version {
                changedVersions.append(FileVersion(blob: blobID("changed"), mode: v.mode))
                changedVersions.append(FileVersion(blob: v.blob, mode: v.mode == .regular ? .executable : .regular))
                changedVersions.append(nil)
            } else {
                changedVersions.append(version("resurrected"))
            }
            for changed in changedVersions {
                var newLive = live
                newLive[i] = LiveWrite(op: w.op, version: changed)
                var paths = tree.paths
                paths[path] = newLive
                variants.append(FileTree(paths: paths))
            }
            // A different operation id (kept in order by choosing a neighbour of the original).
            var bytes = w.op.raw.bytes
            bytes[31] ^= 1
            if let raw = Bytes32(bytes: bytes) {
                var newLive = live
                newLive[i] = LiveWrite(op: ObjectID(raw: raw), version: w.version)
                newLive.sort()
                var paths = tree.paths
                paths[path] = newLive
                variants.append(FileTree(paths: paths))
            }
        }
    }
    return variants
}

@Suite("State encoding and cache")
struct StateEncodingTests {
    @Test func canonicalEncodingRoundTrips() throws {
        let tree = try sampleTree()
        let decoded = try FileTree.decode(canonical: tree.canonicalEncoding())
        #expect(decoded == tree)
        #expect(decoded.fingerprint == tree.fingerprint)
        #expect(decoded.canonicalEncoding() == tree.canonicalEncoding())
        let empty = try FileTree.decode(canonical: FileTree().canonicalEncoding())
        #expect(empty == FileTree())
    }

    @Test func canonicalEncodingRoundTripsRandomTrees() throws {
        for seed in UInt64(1)...10 {
            let tree = try randomHistory(seed: seed * 7919).tree()
            #expect(try FileTree.decode(canonical: tree.canonicalEncoding()) == tree, "seed \(seed)")
        }
    }

    @Test func canonicalDecodeRejectsTrailingBytesAndTruncation() throws {
        let bytes = try sampleTree().canonicalEncoding()
        #expect(throws: DecodeError.self) { try FileTree.decode(canonical: bytes + [0]) }
        for cut in 0..<bytes.count {
            #expect(throws: DecodeError.self, "cut at \(cut)") { try FileTree.decode(canonical: Array(bytes[0..<cut])) }
        }
    }

    @Test func canonicalDecodeRejectsUnsortedPaths() throws {
        var w = ByteWriter()
        w.varint(2)
        for name in ["b", "a"] {
            w.lengthPrefixed(Array(name.utf8))
            w.varint(1)
            w.id(blobID("op " + name).raw)
            w.byte(0)
        }
        #expect(throws: DecodeError.unsortedPaths) { try FileTree.decode(canonical: w.bytes) }
    }

    @Test func fingerprintChangesWhenAnyWriteChanges() throws {
        let tree = try sampleTree()
        let variants = singleWriteVariants(of: tree)
        #expect(variants.count > 10)
        var fingerprints: Set<ObjectID> = [tree.fingerprint]
        for variant in variants {
            #expect(variant != tree)
            #expect(variant.fingerprint != tree.fingerprint)
            fingerprints.insert(variant.fingerprint)
        }
        // All variants differ from each other too.
        #expect(fingerprints.count == variants.count + 1)
    }

    @Test func fingerprintChangesWhenAPathIsAddedOrRenamed() throws {
        let tree = try sampleTree()
        var paths = tree.paths
        let plain = try RepoPath("plain")
        let live = try #require(paths[plain])
        paths[plain] = nil
        paths[try RepoPath("plain2")] = live
        #expect(FileTree(paths: paths).fingerprint != tree.fingerprint)
        var added = tree.paths
        added[try RepoPath("new")] = [LiveWrite(op: blobID("op"), version: nil)]
        #expect(FileTree(paths: added).fingerprint != tree.fingerprint)
    }

    @Test func stateCacheRoundTrips() throws {
        let tree = try sampleTree()
        for stamp in [0, 1, 127, 128, 300, 1 << 40] {
            let bytes = StateCache.encode(tree, stamp: stamp)
            let decoded = try #require(StateCache.decode(bytes))
            #expect(decoded.tree == tree)
            #expect(decoded.stamp == stamp)
        }
        let empty = try #require(StateCache.decode(StateCache.encode(FileTree(), stamp: 5)))
        #expect(empty.tree == FileTree())
        #expect(empty.stamp == 5)
    }

    @Test func stateCacheRejectsTruncationAndExtension() throws {
        let bytes = StateCache.encode(try sampleTree(), stamp: 42)
        for cut in 0..<bytes.count {
            #expect(StateCache.decode(Array(bytes[0..<cut])) == nil, "cut at \(cut)")
        }
        #expect(StateCache.decode(bytes + [0]) == nil)
    }

    /// Every byte after the stamp (canonical encoding and checksum) and every header byte.
    @Test func stateCacheRejectsAFlippedByteOutsideTheStamp() throws {
        let bytes = StateCache.encode(try sampleTree(), stamp: 42)
        let stampOffset = StateCache.header.count
        var accepted: [String] = []
        for offset in bytes.indices where offset != stampOffset {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var flipped = bytes
                flipped[offset] ^= mask
                if StateCache.decode(flipped) != nil { accepted.append("byte \(offset) ^ \(mask)") }
            }
        }
        #expect(accepted.isEmpty, "corrupted caches accepted: \(accepted)")
    }

    /// The stamp (the byte length of index/operations the cache reflects) is outside
    /// the checksum: a flipped bit in it yields a cache that decodes, claiming a
    /// different stamp, so a stale cache can pass for a current one.
    @Test func stateCacheRejectsAFlippedStampByte() throws {
        let tree = try sampleTree()
        for stamp in [42, 300] {
            let bytes = StateCache.encode(tree, stamp: stamp)
            let stampBytes = stamp < 128 ? 1 : 2
            var accepted: [String] = []
            for offset in StateCache.header.count..<(StateCache.header.count + stampBytes) {
                for mask: UInt8 in [0x01, 0x02, 0x04] {
                    var flipped = bytes
                    flipped[offset] ^= mask
                    if let decoded = StateCache.decode(flipped) {
                        accepted.append("byte \(offset) ^ \(mask) -> stamp \(decoded.stamp)")
                    }
                }
            }
            #expect(accepted.isEmpty, "stamp \(stamp): corrupted stamps accepted: \(accepted)")
        }
    }
}
