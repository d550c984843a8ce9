import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGState

/// `.hgrepo/base` (FORMAT.md 5.13): the strict decoder takes exactly what the encoder writes, and
/// every damage is an error, never a guess (the base is not derived).
@Suite struct WorkTreeBaseTests {
    private let heads = [blobID("h2"), blobID("h1")]

    @Test func roundTripsWithAndWithoutTree() throws {
        let tree = try sampleTree()
        let unsynced = [try RepoPath("clash"), try RepoPath("bin/tool")]
        for base in [
            WorkTreeBase(heads: heads), WorkTreeBase(heads: heads, tree: tree),
            WorkTreeBase(heads: heads, tree: tree, unsynced: unsynced),
        ] {
            let bytes = base.encoded()
            let decoded = try WorkTreeBase.decode(bytes)
            #expect(decoded == base)
            #expect(decoded.encoded() == bytes)
        }
        // Heads and unsynced paths are kept in ascending order whatever order they are given in.
        let base = WorkTreeBase(heads: heads, tree: tree, unsynced: unsynced)
        #expect(base.heads == heads.sorted())
        #expect(base.unsynced == unsynced.sorted())
    }

    @Test func theLayoutIsTheDocumentedOne() throws {
        let id = blobID("only")
        let bytes = WorkTreeBase(heads: [id]).encoded()
        var expected = Array("hg-bft base v1\n\n".utf8) + [1] + id.raw.bytes + [0, 0]
        expected += Blake2b.hash256(expected)
        #expect(bytes == expected)
    }

    /// Every single-byte change, every truncation and every extension is refused.
    @Test func everyDamageIsRefused() throws {
        let bytes = WorkTreeBase(heads: heads, tree: try sampleTree(), unsynced: [try RepoPath("plain")]).encoded()
        for i in bytes.indices {
            var damaged = bytes
            damaged[i] ^= 0x01
            #expect(throws: DecodeError.self) { try WorkTreeBase.decode(damaged) }
        }
        for count in 0..<bytes.count {
            #expect(throws: DecodeError.self) { try WorkTreeBase.decode(Array(bytes.prefix(count))) }
        }
        #expect(throws: DecodeError.self) { try WorkTreeBase.decode(bytes + [0]) }
    }

    /// Well-sealed files that break a rule: unsorted or repeated heads, no head, unsorted paths,
    /// unsynced paths without a tree, an unknown flag, trailing bytes after a flag of 0.
    @Test func sealedButInvalidFilesAreRefused() throws {
        func sealed(_ body: [UInt8]) -> [UInt8] {
            let all = Array("hg-bft base v1\n\n".utf8) + body
            return all + Blake2b.hash256(all)
        }
        let (low, high) = (heads.min() ?? heads[0], heads.max() ?? heads[1])
        let path = try RepoPath("a")
        let other = try RepoPath("b")
        let cases: [[UInt8]] = [
            [2] + high.raw.bytes + low.raw.bytes + [0, 0],
            [2] + low.raw.bytes + low.raw.bytes + [0, 0],
            [0, 0, 0],
            [1] + low.raw.bytes + [2, 1] + other.bytes + [1] + path.bytes + [1] + FileTree().canonicalEncoding(),
            [1] + low.raw.bytes + [1, 1] + path.bytes + [0],
            [1] + low.raw.bytes + [0, 2],
            [1] + low.raw.bytes + [0, 0, 0],
        ]
        for body in cases {
            #expect(throws: DecodeError.self) { try WorkTreeBase.decode(sealed(body)) }
        }
    }
}
