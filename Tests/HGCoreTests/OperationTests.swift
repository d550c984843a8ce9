import HGCrypto
import Testing

@testable import HGCore

@Suite("Operation: construction, round trip, signatures")
struct OperationTests {
    static let objectDomain: [UInt8] = Array("hg-bft object v1".utf8) + [0x00]
    static let signatureDomain: [UInt8] = Array("hg-bft operation v1".utf8) + [0x00]

    /// The properties every valid operation must have.
    private func checkInvariants(_ op: Operation, key: Ed25519.KeyPair) throws {
        let decoded = try Operation.decode(op.encoded)
        #expect(decoded == op)
        #expect(decoded.encoded == op.encoded)
        #expect(decoded.id == op.id)
        #expect(op.hasValidSignature())
        #expect(decoded.hasValidSignature())
        #expect(op.id.raw.bytes == Blake2b.hash256(Self.objectDomain + op.encoded))
        #expect(op.author.key.bytes == key.publicKey)
        #expect(op.signature.count == 64)
        #expect(Array(op.encoded.suffix(64)) == op.signature)
        #expect(Array(op.encoded.prefix(2)) == [0x02, 0x01])
        // The signature is over the domain and every byte before it, by the author's key.
        let signed = Self.signatureDomain + Array(op.encoded.dropLast(64))
        #expect(Ed25519.verify(signature: op.signature, message: signed, publicKey: key.publicKey))
        #expect(key.sign(signed) == op.signature)
    }

    @Test("a change operation round-trips and is signed")
    func changeRoundTrip() throws {
        let key = try fixedKey()
        let op = try sampleChange(key: key)
        try checkInvariants(op, key: key)
        #expect(op.sequence == 2)
        #expect(op.parents == [try filledID(0x11)])
        #expect(op.timestamp == 1_700_000_000_000)
        #expect(op.payload.kind == 0x02)
        #expect(op.payload.kindName == "change")
        #expect(op.genesis == nil)
        let change = try #require(op.change)
        #expect(change.message == "first")
        #expect(
            change.entries == [
                ChangeEntry(
                    path: try RepoPath("hello.txt"),
                    version: FileVersion(blob: Blob(content: Array("hello\n".utf8)).id, mode: .regular))
            ])
    }

    @Test("a genesis operation round-trips and is signed", arguments: [1, 2, 127, 128, 255])
    func genesisRoundTrip(quorum: Int) throws {
        let key = try fixedKey()
        let op = try sampleGenesis(key: key, quorum: quorum)
        try checkInvariants(op, key: key)
        #expect(op.sequence == 1)
        #expect(op.parents.isEmpty)
        #expect(op.payload.kind == 0x01)
        #expect(op.payload.kindName == "genesis")
        #expect(op.change == nil)
        let genesis = try #require(op.genesis)
        #expect(genesis.adminQuorum == quorum)
        #expect(genesis.nonce == [UInt8](repeating: 0x5a, count: 16))
    }

    @Test("extension kinds round-trip as opaque bodies", arguments: [UInt8(0x80), 0x81, 0xc3, 0xff])
    func opaqueRoundTrip(kind: UInt8) throws {
        let key = try fixedKey()
        for body in [[], [0x00], Array("future".utf8), [UInt8](repeating: 0xee, count: 300)] as [[UInt8]] {
            let op = try Operation.create(
                signer: key, sequence: 3, parents: [try filledID(0x11)], timestamp: 5,
                payload: .opaque(kind: kind, body: body))
            try checkInvariants(op, key: key)
            #expect(op.payload == .opaque(kind: kind, body: body))
            #expect(op.payload.kind == kind)
            #expect(op.payload.kindName == "extension-0x" + Hex.encode([kind]))
            #expect(op.change == nil)
            #expect(op.genesis == nil)
        }
    }

    @Test("changes with deletions, executables and many sorted entries round-trip")
    func richChange() throws {
        let key = try fixedKey()
        let blob = Blob(content: [1, 2, 3]).id
        let entries = [
            ChangeEntry(path: try RepoPath("z/last"), version: nil),
            ChangeEntry(path: try RepoPath("bin/run"), version: FileVersion(blob: blob, mode: .executable)),
            ChangeEntry(path: try RepoPath("a"), version: FileVersion(blob: blob, mode: .regular)),
            ChangeEntry(path: try RepoPath("a/b"), version: nil),
            ChangeEntry(path: try RepoPath("ab"), version: nil),
            ChangeEntry(path: try RepoPath("é"), version: nil),
        ]
        let change = Change(message: "multi\nline ✓", entries: entries)
        #expect(change.entries.map(\.path.string) == ["a", "a/b", "ab", "bin/run", "z/last", "é"])
        let op = try Operation.create(
            signer: key, sequence: 9, parents: [try filledID(0x22), try filledID(0x11)],
            timestamp: 0, payload: .change(change))
        try checkInvariants(op, key: key)
        #expect(op.change == change)
        #expect(op.timestamp == 0)
    }

    @Test("create sorts parents and removes duplicates")
    func parentsNormalised() throws {
        let key = try fixedKey()
        var lastByte = [UInt8](repeating: 0x11, count: 32)
        lastByte[31] = 0x10
        let a = try idFrom(lastByte)  // sorts before 0x11…11 on its last byte only
        let b = try filledID(0x11)
        let c = try filledID(0xf0)
        let op = try sampleChange(key: key, parents: [c, b, a, c, b])
        #expect(op.parents == [a, b, c])
        let same = try sampleChange(key: key, parents: [a, b, c])
        #expect(op.encoded == same.encoded)
        #expect(op.encoded[35] == 0x03)  // parent count after type, version, author and sequence
    }

    @Test("creation is deterministic, and every input changes the bytes")
    func determinism() throws {
        let key = try fixedKey()
        let again = try fixedKey()
        let base = try sampleChange(key: key)
        #expect(try sampleChange(key: again).encoded == base.encoded)
        #expect(try sampleChange(key: key).id == base.id)
        #expect(try sampleGenesis(key: key).encoded == sampleGenesis(key: again).encoded)

        let variants = [
            try sampleChange(key: key, sequence: 3),
            try sampleChange(key: key, parents: [try filledID(0x12)]),
            try sampleChange(key: key, timestamp: 1_700_000_000_001),
            try sampleChange(key: key, message: "First"),
            try sampleChange(key: key, files: [("hello.txt", "hello")]),
            try sampleChange(key: key, files: [("hello.md", "hello\n")]),
            try sampleChange(key: try Ed25519.KeyPair(seed: [UInt8](repeating: 8, count: 32))),
        ]
        var ids: Set<ObjectID> = [base.id]
        for variant in variants {
            #expect(variant.encoded != base.encoded)
            #expect(variant.signature != base.signature)
            ids.insert(variant.id)
        }
        #expect(ids.count == variants.count + 1)
    }

    @Test("create refuses structurally invalid operations")
    func createValidates() throws {
        let key = try fixedKey()
        let genesis = Payload.genesis(Genesis(adminQuorum: 1, nonce: [UInt8](repeating: 0, count: 16)))
        #expect(throws: DecodeError.self) {
            _ = try Operation.create(
                signer: key, sequence: 0, parents: [try filledID(1)], timestamp: 0,
                payload: .opaque(kind: 0x80, body: []))
        }
        #expect(throws: DecodeError.self) {
            _ = try Operation.create(
                signer: key, sequence: 1, parents: [try filledID(1)], timestamp: 0, payload: genesis)
        }
        #expect(throws: DecodeError.self) {
            _ = try Operation.create(signer: key, sequence: 2, parents: [], timestamp: 0, payload: genesis)
        }
        #expect(throws: DecodeError.self) {
            _ = try Operation.create(
                signer: key, sequence: 2, parents: [], timestamp: 0,
                payload: .opaque(kind: 0x80, body: []))
        }
        #expect(throws: DecodeError.unknownKind(0x05)) {
            _ = try Operation.create(
                signer: key, sequence: 2, parents: [try filledID(1)], timestamp: 0,
                payload: .opaque(kind: 0x05, body: []))
        }
        #expect(throws: DecodeError.unsortedPaths) {
            let path = try RepoPath("dup")
            let change = Change(
                message: "",
                entries: [
                    ChangeEntry(path: path, version: nil),
                    ChangeEntry(path: path, version: nil),
                ])
            _ = try Operation.create(
                signer: key, sequence: 2, parents: [try filledID(1)], timestamp: 0,
                payload: .change(change))
        }
        #expect(throws: DecodeError.self) {
            _ = try Operation.create(
                signer: key, sequence: 2, parents: [try filledID(1)], timestamp: 0,
                payload: .change(Change(message: "empty", entries: [])))
        }
    }

    @Test("re-encoding a decoded operation gives back the same bytes")
    func reencode() throws {
        let key = try fixedKey()
        let raws: [RawOperation] = [
            RawOperation().signed(by: key),
            RawOperation.genesis().signed(by: key),
            {
                var r = RawOperation()
                r.kind = 0x80
                r.body = [9, 9, 9]
                return r
            }(),
            {
                var r = RawOperation()
                r.timestamp = leb128(UInt64.max)
                r.sequence = leb128(UInt64.max)
                return r
            }(),
        ]
        for raw in raws {
            let bytes = raw.bytes
            let op = try Operation.decode(bytes)
            #expect(op.encoded == bytes)
            #expect(op.id == ObjectID(hashing: bytes))
            // Rebuilding with create from the decoded fields reproduces signed inputs exactly.
            if raw.signature != nil {
                #expect(op.hasValidSignature())
                let rebuilt = try Operation.create(
                    signer: key, sequence: op.sequence, parents: op.parents,
                    timestamp: op.timestamp, payload: op.payload)
                #expect(rebuilt.encoded == bytes)
            } else {
                #expect(!op.hasValidSignature())
            }
        }
    }

    @Test("a signature by another key, or over other bytes, is invalid")
    func foreignSignatures() throws {
        let key = try fixedKey()
        let other = try Ed25519.KeyPair(seed: [UInt8](repeating: 8, count: 32))
        // Signed by `other` but claiming `key` as author.
        var raw = RawOperation().signed(by: other)
        raw.author = key.publicKey
        let op = try Operation.decode(raw.bytes)
        #expect(!op.hasValidSignature())
        // Signed without the domain prefix.
        var noDomain = RawOperation().signed(by: key)
        noDomain.signature = key.sign(noDomain.unsigned)
        #expect(try !Operation.decode(noDomain.bytes).hasValidSignature())
        // The signature of a different operation.
        var swapped = RawOperation().signed(by: key)
        swapped.signature = RawOperation.genesis().signed(by: key).signature
        #expect(try !Operation.decode(swapped.bytes).hasValidSignature())
        // An all-zero author key (a small-order point) never verifies.
        var zeroAuthor = RawOperation()
        zeroAuthor.author = [UInt8](repeating: 0, count: 32)
        #expect(try !Operation.decode(zeroAuthor.bytes).hasValidSignature())
    }

    static func flips() -> [UInt8] { [0x01, 0x80, 0xff] }

    private func checkTamperEvident(_ op: Operation) {
        let original = op.encoded
        var decodedButInvalid = 0
        for position in original.indices {
            for mask in Self.flips() {
                var tampered = original
                tampered[position] ^= mask
                switch Result(catching: { () throws(DecodeError) in try Operation.decode(tampered) }) {
                case .failure:
                    continue
                case let .success(decoded):
                    decodedButInvalid += 1
                    #expect(!decoded.hasValidSignature(), "byte \(position) ^ \(mask) kept a valid signature")
                    #expect(decoded.id != op.id)
                }
            }
        }
        // Most positions (author, parents, signature, file ids) decode fine, so
        // the signature is what catches them.
        #expect(decodedButInvalid > original.count)
    }

    @Test("flipping any single byte of a change operation breaks decoding or the signature")
    func tamperChange() throws {
        checkTamperEvident(try sampleChange(key: try fixedKey()))
    }

    @Test("flipping any single byte of a genesis operation breaks decoding or the signature")
    func tamperGenesis() throws {
        checkTamperEvident(try sampleGenesis(key: try fixedKey()))
    }

    @Test("flipping any single byte of an extension operation breaks decoding or the signature")
    func tamperOpaque() throws {
        let op = try Operation.create(
            signer: try fixedKey(), sequence: 2, parents: [try filledID(0x11)],
            timestamp: 1, payload: .opaque(kind: 0x90, body: [1, 2, 3, 4]))
        checkTamperEvident(op)
    }

    @Test("the summary keeps the index fields")
    func summary() throws {
        let key = try fixedKey()
        let op = try sampleChange(key: key)
        let summary = OperationSummary(op)
        #expect(summary.id == op.id)
        #expect(summary.author == op.author)
        #expect(summary.sequence == 2)
        #expect(summary.timestamp == 1_700_000_000_000)
        #expect(summary.kind == 0x02)
        #expect(summary.parents == op.parents)
        #expect(summary.entryCount == 1)
        #expect(summary.message == "first")
        let genesisSummary = OperationSummary(try sampleGenesis(key: key))
        #expect(genesisSummary.kind == 0x01)
        #expect(genesisSummary.entryCount == 0)
        #expect(genesisSummary.message == "")
    }
}
