import HGCrypto
import Testing

@testable import HGCore

/// One test per rule of the strict operation decoder. Each input differs from a
/// valid operation in exactly one field, so the error must name that rule.
@Suite("Operation: strict decoding")
struct OperationDecodingTests {
    @Test("the hand-assembled baseline operations decode")
    func baselinesDecode() throws {
        #expect(operationDecodeError(RawOperation().bytes) == nil)
        #expect(operationDecodeError(RawOperation.genesis().bytes) == nil)
        let key = try fixedKey()
        #expect(try Operation.decode(RawOperation().signed(by: key).bytes).hasValidSignature())
        #expect(try Operation.decode(RawOperation.genesis().signed(by: key).bytes).hasValidSignature())
    }

    // MARK: - Framing

    @Test("bytes after the signature are rejected")
    func trailingBytes() throws {
        let op = try sampleChange(key: try fixedKey())
        #expect(operationDecodeError(op.encoded + [0x00]) == .trailingBytes(count: 1))
        #expect(operationDecodeError(op.encoded + [0x01, 0x02, 0x03]) == .trailingBytes(count: 3))
        var raw = RawOperation.genesis()
        raw.trailing = [UInt8](repeating: 0, count: 64)
        #expect(operationDecodeError(raw.bytes) == .trailingBytes(count: 64))
    }

    @Test("every proper prefix of a valid operation is rejected as truncated")
    func everyPrefixTruncated() throws {
        let key = try fixedKey()
        let ops = [
            try sampleChange(key: key),
            try sampleGenesis(key: key),
            try Operation.create(
                signer: key, sequence: 300, parents: [try filledID(1), try filledID(2)],
                timestamp: UInt64.max, payload: .opaque(kind: 0x80, body: [1, 2, 3])),
        ]
        for op in ops {
            for length in 0..<op.encoded.count {
                let prefix = Array(op.encoded.prefix(length))
                let error = operationDecodeError(prefix)
                #expect(error?.isTruncated == true, "prefix of \(length) bytes: \(String(describing: error))")
                #expect(decodeError { () throws(DecodeError) in _ = try StoredObject.decode(prefix) } != nil)
            }
            #expect(operationDecodeError(op.encoded) == nil)
        }
    }

    @Test("unknown type bytes are rejected", arguments: [UInt8(0x00), 0x01, 0x03, 0x7f, 0xff])
    func unknownType(type: UInt8) {
        var raw = RawOperation()
        raw.type = type
        #expect(operationDecodeError(raw.bytes) == .unknownType(type))
    }

    @Test("unknown version bytes are rejected", arguments: [UInt8(0x00), 0x02, 0x80, 0xff])
    func unknownVersion(version: UInt8) {
        var raw = RawOperation()
        raw.version = version
        #expect(operationDecodeError(raw.bytes) == .unknownVersion(version))
    }

    @Test("operations over the size limit are rejected; one at the limit is accepted")
    func sizeLimit() throws {
        let key = try fixedKey()
        var raw = RawOperation()
        raw.kind = 0x80
        raw.body = []
        let overhead = raw.bytes.count - 1  // everything but the (one-byte) body length
        // Bodies of this size take a four-byte length.
        raw.body = [UInt8](repeating: 0x42, count: Limits.maxOperationBytes - overhead - 4)
        let atLimitBytes = raw.bytes.count
        try #require(atLimitBytes == Limits.maxOperationBytes)
        // Plain values in the expectations: a failure must not print 16 MiB.
        let atLimit = try Operation.decode(raw.signed(by: key).bytes)
        let atLimitValid = atLimit.hasValidSignature()
        let atLimitSize = atLimit.encoded.count
        #expect(atLimitValid)
        #expect(atLimitSize == Limits.maxOperationBytes)

        raw.body.append(0x42)
        let overLimit = raw.bytes
        let overLimitSize = overLimit.count
        try #require(overLimitSize == Limits.maxOperationBytes + 1)
        #expect(operationDecodeError(overLimit) == .tooLarge(field: "operation", limit: Limits.maxOperationBytes))
        // create refuses to produce it.
        let parents = try raw.parents.map(idFrom)
        let body = raw.body
        #expect(throws: DecodeError.tooLarge(field: "operation", limit: Limits.maxOperationBytes)) {
            _ = try Operation.create(
                signer: key, sequence: 2, parents: parents, timestamp: 1_700_000_000_000,
                payload: .opaque(kind: 0x80, body: body))
        }
        // Any oversized input is refused before it is parsed.
        let zeros = [UInt8](repeating: 0, count: Limits.maxOperationBytes + 1)
        #expect(operationDecodeError(zeros) == .tooLarge(field: "operation", limit: Limits.maxOperationBytes))
    }

    // MARK: - Sequence

    @Test("non-minimal varints in the sequence are rejected")
    func nonMinimalSequence() {
        var raw = RawOperation()
        raw.sequence = [0x82, 0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "sequence"))
        raw.sequence = [0x80, 0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "sequence"))
        raw.sequence = [UInt8](repeating: 0xff, count: 11)
        #expect(operationDecodeError(raw.bytes) == .integerOverflow(field: "sequence"))
    }

    @Test("sequence 0 is rejected")
    func sequenceZero() {
        var raw = RawOperation()
        raw.sequence = [0x00]
        #expect(operationDecodeError(raw.bytes)?.invalidValueField == "sequence")
        var genesis = RawOperation.genesis()
        genesis.sequence = [0x00]
        #expect(operationDecodeError(genesis.bytes)?.invalidValueField == "sequence")
    }

    // MARK: - Parents

    @Test("non-minimal varints in the parent count are rejected")
    func nonMinimalParentCount() {
        var raw = RawOperation()
        raw.parentCount = [0x81, 0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "parent count"))
        var genesis = RawOperation.genesis()
        genesis.parentCount = [0x80, 0x00]
        #expect(operationDecodeError(genesis.bytes) == .nonMinimalInteger(field: "parent count"))
    }

    @Test("unsorted parents are rejected")
    func unsortedParents() throws {
        let low = [UInt8](repeating: 0x11, count: 32)
        let high = [UInt8](repeating: 0x22, count: 32)
        var raw = RawOperation()
        raw.parents = [high, low]
        #expect(operationDecodeError(raw.bytes) == .unsortedParents)
        raw.parents = [low, high]
        #expect(operationDecodeError(raw.bytes) == nil)

        // Ids that differ in one byte only, in each of the four 8-byte words.
        for position in [0, 7, 8, 15, 16, 24, 31] {
            var bigger = low
            bigger[position] = 0x12
            raw.parents = [bigger, low]
            #expect(operationDecodeError(raw.bytes) == .unsortedParents, "differing at byte \(position)")
            raw.parents = [low, bigger]
            #expect(operationDecodeError(raw.bytes) == nil, "differing at byte \(position)")
        }

        // Sorted at first, then one out of place.
        let mid = [UInt8](repeating: 0x1a, count: 32)
        raw.parents = [low, high, mid]
        #expect(operationDecodeError(raw.bytes) == .unsortedParents)
    }

    @Test("duplicate parents are rejected")
    func duplicateParents() {
        let a = [UInt8](repeating: 0x11, count: 32)
        let b = [UInt8](repeating: 0x22, count: 32)
        var raw = RawOperation()
        raw.parents = [a, a]
        #expect(operationDecodeError(raw.bytes) == .duplicateParent)
        raw.parents = [a, b, b]
        #expect(operationDecodeError(raw.bytes) == .duplicateParent)
    }

    @Test("more than Limits.maxParents parents are rejected; exactly that many are accepted")
    func parentLimit() throws {
        func parent(_ i: Int) -> [UInt8] {
            [UInt8](repeating: 0, count: 30) + [UInt8(i >> 8), UInt8(i & 0xff)]
        }
        var raw = RawOperation()
        raw.parents = (0..<Limits.maxParents).map(parent)
        let op = try Operation.decode(raw.bytes)
        #expect(op.parents.count == Limits.maxParents)

        raw.parents = (0...Limits.maxParents).map(parent)
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "parent count", limit: Limits.maxParents))

        // A huge count with no parents behind it is refused without allocating.
        raw.parents = []
        raw.parentCount = leb128(UInt64.max)
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "parent count", limit: Limits.maxParents))
    }

    @Test("a parent count the remaining bytes cannot hold is truncated")
    func parentCountBeyondInput() {
        var raw = RawOperation()
        raw.parentCount = leb128(200)
        #expect(operationDecodeError(raw.bytes) == .truncated(field: "parents"))
    }

    @Test("a non-genesis operation without parents is rejected")
    func nonGenesisWithoutParents() {
        var change = RawOperation()
        change.parents = []
        #expect(operationDecodeError(change.bytes)?.invalidValueField == "parents")
        var opaque = RawOperation()
        opaque.parents = []
        opaque.kind = 0x80
        opaque.body = []
        #expect(operationDecodeError(opaque.bytes)?.invalidValueField == "parents")
        // Sequence 1 does not make a change a genesis.
        change.sequence = [0x01]
        #expect(operationDecodeError(change.bytes)?.invalidValueField == "parents")
    }

    @Test("a genesis with parents or a sequence other than 1 is rejected")
    func genesisShape() {
        var withParent = RawOperation.genesis()
        withParent.parents = [[UInt8](repeating: 0x11, count: 32)]
        #expect(operationDecodeError(withParent.bytes)?.invalidValueField == "genesis")
        for sequence: UInt64 in [2, 3, 1 << 40] {
            var raw = RawOperation.genesis()
            raw.sequence = leb128(sequence)
            #expect(operationDecodeError(raw.bytes)?.invalidValueField == "genesis")
        }
    }

    // MARK: - Timestamp, kind, body

    @Test("non-minimal varints in the timestamp are rejected")
    func nonMinimalTimestamp() {
        var raw = RawOperation()
        raw.timestamp = [0x80, 0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "timestamp"))
        raw.timestamp = leb128(1_700_000_000_000).map { $0 | 0x80 } + [0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "timestamp"))
    }

    @Test("undefined critical kinds are rejected", arguments: [UInt8(0x00), 0x04, 0x05, 0x10, 0x40, 0x7e, 0x7f])
    func unknownCriticalKind(kind: UInt8) {
        var raw = RawOperation()
        raw.kind = kind
        #expect(operationDecodeError(raw.bytes) == .unknownKind(kind))
        raw.body = []
        #expect(operationDecodeError(raw.bytes) == .unknownKind(kind))
    }

    @Test("membership bodies decode to each action, byte for byte as FORMAT.md gives them")
    func membershipBodies() throws {
        let key = [UInt8](repeating: 0x42, count: 32)
        let peer = PeerID(key: try #require(Bytes32(bytes: key)))
        let cases: [([UInt8], MembershipChange)] = [
            ([0x01] + key + [0x02], .add(peer, .writer)),
            ([0x01] + key + [0x01], .add(peer, .admin)),
            ([0x02] + key, .remove(peer)),
            ([0x03] + key + [0x01], .setRole(peer, .admin)),
            ([0x04, 0x00, 0x03], .setQuorum(epoch: 0, quorum: 3)),
            ([0x04, 0x81, 0x01, 0x01], .setQuorum(epoch: 129, quorum: 1)),
        ]
        for (body, expected) in cases {
            var raw = RawOperation()
            raw.kind = 0x03
            raw.body = body
            let op = try Operation.decode(raw.bytes)
            #expect(op.membership == expected)
            #expect(op.payload.kindName == "membership")
        }
    }

    @Test("malformed membership bodies are rejected with the field named")
    func malformedMembershipBodies() {
        let key = [UInt8](repeating: 0x42, count: 32)
        let cases: [([UInt8], DecodeError)] = [
            ([], .truncated(field: "membership action")),
            ([0x00] + key, .invalidValue(field: "membership action", reason: "unknown action 0")),
            ([0x05], .invalidValue(field: "membership action", reason: "unknown action 5")),
            ([0x01] + key, .truncated(field: "role")),
            ([0x01] + key + [0x03], .invalidValue(field: "role", reason: "unknown role 3")),
            ([0x01] + key + [0x00], .invalidValue(field: "role", reason: "unknown role 0")),
            ([0x02] + key.prefix(31), .truncated(field: "member")),
            ([0x02] + key + [0x00], .trailingBytes(count: 1)),
            ([0x04, 0x00, 0x00], .invalidValue(field: "admin quorum", reason: "must be at least 1")),
            ([0x04, 0x00, 0x80, 0x02], .tooLarge(field: "admin quorum", limit: 255)),
            ([0x04, 0x80, 0x00, 0x01], .nonMinimalInteger(field: "quorum epoch")),
        ]
        for (body, expected) in cases {
            var raw = RawOperation()
            raw.kind = 0x03
            raw.body = body
            #expect(operationDecodeError(raw.bytes) == expected, "body \(body.prefix(4))")
        }
    }

    @Test("extension kinds are kept as opaque bodies", arguments: [UInt8(0x80), 0x81, 0xfe, 0xff])
    func extensionKind(kind: UInt8) throws {
        var raw = RawOperation()
        raw.kind = kind
        // The body is not interpreted, even where it would be an invalid change.
        for body: [UInt8] in [[], [0x00], [0xff, 0xff, 0xff], ChangeBody().bytes] {
            raw.body = body
            let op = try Operation.decode(raw.bytes)
            #expect(op.payload == .opaque(kind: kind, body: body))
            #expect(op.encoded == raw.bytes)
        }
    }

    @Test("non-minimal varints in the body length are rejected")
    func nonMinimalBodyLength() {
        var raw = RawOperation()
        raw.bodyLength = leb128(UInt64(raw.body.count)).map { $0 | 0x80 } + [0x00]
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "body"))
        var empty = RawOperation()
        empty.kind = 0x80
        empty.body = []
        empty.bodyLength = [0x80, 0x00]
        #expect(operationDecodeError(empty.bytes) == .nonMinimalInteger(field: "body"))
    }

    @Test("a body length beyond the input is rejected")
    func bodyLengthBeyondInput() {
        var raw = RawOperation()
        // Longer than body + signature together.
        raw.bodyLength = leb128(UInt64(raw.body.count + 65))
        #expect(operationDecodeError(raw.bytes) == .truncated(field: "body"))
        // Eats into the signature, which then comes up short.
        raw.bodyLength = leb128(UInt64(raw.body.count + 1))
        #expect(operationDecodeError(raw.bytes) == .truncated(field: "signature"))
        // Over the operation size limit.
        raw.bodyLength = leb128(1 << 40)
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "body", limit: Limits.maxOperationBytes))
    }

    @Test("a body length shorter than the body is rejected")
    func bodyLengthShort() {
        var raw = RawOperation()
        raw.bodyLength = leb128(UInt64(raw.body.count - 1))
        // The body parses short and the last body byte is left over after the signature.
        #expect(operationDecodeError(raw.bytes) == .trailingBytes(count: 1))
    }

    // MARK: - Change bodies

    @Test("a change with zero entries is rejected")
    func zeroEntries() {
        var raw = RawOperation()
        var body = ChangeBody()
        body.entries = []
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes)?.invalidValueField == "entry count")
    }

    @Test("change entries out of order or repeating a path are rejected")
    func unsortedEntries() {
        let blob = [UInt8](repeating: 0x33, count: 32)
        let cases: [[[UInt8]]] = [
            [Array("b".utf8), Array("a".utf8)],
            [Array("a".utf8), Array("a".utf8)],
            [Array("a/b".utf8), Array("a".utf8)],
            [Array("a".utf8), Array("c".utf8), Array("b".utf8)],
            [Array("x".utf8), Array("y".utf8), Array("y".utf8)],
            [Array("é".utf8), Array("z".utf8)],  // bytewise: 0xc3 > 'z'
        ]
        for paths in cases {
            var body = ChangeBody()
            body.entries = paths.map { ($0, 0x01, blob) }
            var raw = RawOperation()
            raw.body = body.bytes
            #expect(operationDecodeError(raw.bytes) == .unsortedPaths, "\(paths)")
        }
        // The same paths in ascending order are accepted.
        var body = ChangeBody()
        body.entries = [
            (Array("a".utf8), 0x00, []), (Array("a/b".utf8), 0x02, blob), (Array("z".utf8), 0x01, blob),
            (Array("é".utf8), 0x00, []),
        ]
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == nil)
    }

    @Test("unknown mode bytes are rejected", arguments: [UInt8(3), 4, 0x7f, 0x80, 0xff])
    func unknownMode(mode: UInt8) {
        var body = ChangeBody()
        body.entries = [(Array("a.txt".utf8), mode, [UInt8](repeating: 0x33, count: 32))]
        var raw = RawOperation()
        raw.body = body.bytes
        let error = operationDecodeError(raw.bytes)
        #expect(error?.invalidValueField == "mode")
        #expect(error == .invalidValue(field: "mode", reason: "unknown mode \(mode)"))
    }

    @Test("a deletion carries no blob id; a file version must carry one")
    func modeAndBlobID() {
        var body = ChangeBody()
        body.entries = [(Array("a.txt".utf8), 0x00, [])]
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == nil)
        // A deletion followed by an id: the id is left over after the last entry.
        body.entries = [(Array("a.txt".utf8), 0x00, [UInt8](repeating: 0x33, count: 32))]
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .trailingBytes(count: 32))
        // A regular file whose id is cut short.
        body.entries = [(Array("a.txt".utf8), 0x01, [UInt8](repeating: 0x33, count: 31))]
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .truncated(field: "blob id"))
    }

    @Test(
        "a message that is not UTF-8 is rejected",
        arguments: [
            [UInt8(0xff)], [0xc3], [0x61, 0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80],
        ])
    func messageNotUTF8(message: [UInt8]) {
        var body = ChangeBody()
        body.message = message
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .invalidUTF8(field: "message"))
    }

    @Test("message, entry count and path lengths are limited")
    func changeLimits() {
        var body = ChangeBody()
        body.messageLength = leb128(UInt64(Limits.maxMessageBytes + 1))
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "message", limit: Limits.maxMessageBytes))

        body = ChangeBody()
        body.message = [UInt8](repeating: 0x61, count: Limits.maxMessageBytes)
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == nil)

        body = ChangeBody()
        body.entryCount = leb128(UInt64(Limits.maxChangeEntries + 1))
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "entry count", limit: Limits.maxChangeEntries))

        body = ChangeBody()
        body.entryCount = leb128(50)
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .truncated(field: "entries"))

        body = ChangeBody()
        body.entryCount = [0x81, 0x00]
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .nonMinimalInteger(field: "entry count"))

        body = ChangeBody()
        body.entries = [([UInt8](repeating: 0x61, count: Limits.maxPathBytes + 1), 0x00, [])]
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .tooLarge(field: "path", limit: Limits.maxPathBytes))
    }

    @Test("invalid paths inside a change are rejected")
    func invalidPathInChange() {
        for path in ["/a", "a/", "a//b", ".", "..", "a/../b", ".hgrepo", "x/.hgrepo/y", "a\nb"] {
            var body = ChangeBody()
            body.entries = [(Array(path.utf8), 0x00, [])]
            var raw = RawOperation()
            raw.body = body.bytes
            #expect(operationDecodeError(raw.bytes)?.isInvalidPath == true, "\(path)")
        }
        var body = ChangeBody()
        body.entries = [([0x61, 0xff], 0x00, [])]
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .invalidUTF8(field: "path"))
        // An empty path (with a blob id behind it, so the entry-count check passes).
        body.entries = [([], 0x01, [UInt8](repeating: 0x33, count: 32))]
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .invalidPath("empty"))
    }

    @Test("bytes after the last change entry are rejected")
    func changeTrailingBytes() {
        var body = ChangeBody()
        body.trailing = [0x00]
        var raw = RawOperation()
        raw.body = body.bytes
        #expect(operationDecodeError(raw.bytes) == .trailingBytes(count: 1))
    }

    // MARK: - Genesis bodies

    @Test("genesis admin quorum must be 1...255")
    func adminQuorum() throws {
        #expect(operationDecodeError(RawOperation.genesis(quorum: [0x00]).bytes)?.invalidValueField == "admin quorum")
        #expect(
            operationDecodeError(RawOperation.genesis(quorum: leb128(256)).bytes)
                == .tooLarge(field: "admin quorum", limit: 255))
        #expect(
            operationDecodeError(RawOperation.genesis(quorum: leb128(UInt64.max)).bytes)
                == .tooLarge(field: "admin quorum", limit: 255))
        #expect(
            operationDecodeError(RawOperation.genesis(quorum: [0x81, 0x00]).bytes)
                == .nonMinimalInteger(field: "admin quorum"))
        let max = try Operation.decode(RawOperation.genesis(quorum: leb128(255)).bytes)
        #expect(max.genesis?.adminQuorum == 255)
        let min = try Operation.decode(RawOperation.genesis(quorum: [0x01]).bytes)
        #expect(min.genesis?.adminQuorum == 1)
        // create refuses them too.
        let key = try fixedKey()
        #expect(throws: DecodeError.self) { _ = try sampleGenesis(key: key, quorum: 0) }
        #expect(throws: DecodeError.tooLarge(field: "admin quorum", limit: 255)) {
            _ = try sampleGenesis(key: key, quorum: 256)
        }
    }

    @Test("the genesis nonce is exactly 16 bytes")
    func genesisNonce() {
        #expect(
            operationDecodeError(RawOperation.genesis(nonce: [UInt8](repeating: 1, count: 15)).bytes)
                == .truncated(field: "nonce"))
        #expect(
            operationDecodeError(RawOperation.genesis(nonce: [UInt8](repeating: 1, count: 17)).bytes)
                == .trailingBytes(count: 1))
        #expect(operationDecodeError(RawOperation.genesis(nonce: []).bytes) == .truncated(field: "nonce"))
    }
}
