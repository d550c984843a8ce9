import HGCrypto
import Testing

@testable import HGCore

@Suite("Blob")
struct BlobTests {
    /// The id domain, spelled out here rather than taken from `ObjectID.domain`.
    static let domain: [UInt8] = Array("hg-bft object v1".utf8) + [0x00]

    static let contents: [[UInt8]] = [
        [],
        [0x00],
        Array("hello\n".utf8),
        [0x01, 0x01],
        [0x02, 0x01, 0xff],
        (0...255).map { UInt8($0) },
        [UInt8](repeating: 0xab, count: 70_000),
    ]

    @Test("encoding is 0x01 0x01 then the content; decode inverts it", arguments: contents)
    func roundTrip(content: [UInt8]) throws {
        let blob = Blob(content: content)
        #expect(blob.encoded == [0x01, 0x01] + content)
        let decoded = try Blob.decode(blob.encoded)
        #expect(decoded == blob)
        #expect(decoded.content == content)
        #expect(decoded.encoded == blob.encoded)
    }

    @Test("id is BLAKE2b-256 of the domain and the encoding", arguments: contents)
    func idDefinition(content: [UInt8]) throws {
        let blob = Blob(content: content)
        let expected = Blake2b.hash256(Self.domain + [0x01, 0x01] + content)
        #expect(blob.id.raw.bytes == expected)
        #expect(Blob.id(of: content) == blob.id)
        #expect(ObjectID(hashing: blob.encoded) == blob.id)
        #expect(blob.id.hex == Hex.encode(expected))
        #expect(blob.id.short == String(Hex.encode(expected).prefix(12)))
    }

    @Test("known ids, computed independently with Python hashlib.blake2b")
    func knownIDs() {
        #expect(Blob(content: []).id.hex == "79b11218567f623a80069aa7298d34169c1e6d5315542d86f1e6c9bda610ffe2")
        #expect(
            Blob(content: Array("hello\n".utf8)).id.hex
                == "2840f6b02002d64d8f03f862db09e0f3f06f7148ee0b61efe9e837072ae6ce4a")
    }

    @Test("different content gives a different id")
    func distinctIDs() {
        #expect(Blob(content: [0]).id != Blob(content: []).id)
        #expect(Blob(content: [0]).id != Blob(content: [1]).id)
        #expect(Blob(content: [0, 0]).id != Blob(content: [0]).id)
    }

    @Test("wrong type byte is rejected")
    func wrongType() {
        #expect(throws: DecodeError.unknownType(0x02)) { try Blob.decode([0x02, 0x01, 0x61]) }
        #expect(throws: DecodeError.unknownType(0x00)) { try Blob.decode([0x00, 0x01]) }
        #expect(throws: DecodeError.unknownType(0xff)) { try Blob.decode([0xff]) }
    }

    @Test("wrong version byte is rejected")
    func wrongVersion() {
        #expect(throws: DecodeError.unknownVersion(0x00)) { try Blob.decode([0x01, 0x00, 0x61]) }
        #expect(throws: DecodeError.unknownVersion(0x02)) { try Blob.decode([0x01, 0x02]) }
        #expect(throws: DecodeError.unknownVersion(0xff)) { try Blob.decode([0x01, 0xff, 0x01, 0x01]) }
    }

    @Test("a missing header is truncated")
    func truncatedHeader() {
        #expect(throws: DecodeError.truncated(field: "type")) { try Blob.decode([]) }
        #expect(throws: DecodeError.truncated(field: "version")) { try Blob.decode([0x01]) }
    }

    @Test("content over the limit is rejected; content at the limit is accepted")
    func sizeLimit() throws {
        var bytes = [UInt8](repeating: 0, count: Limits.maxBlobContent + 2)
        bytes[0] = 0x01
        bytes[1] = 0x01
        let decodedCount = try Blob.decode(bytes).content.count
        #expect(decodedCount == Limits.maxBlobContent)
        bytes.append(0)
        let tooBig = bytes
        #expect(throws: DecodeError.tooLarge(field: "blob content", limit: Limits.maxBlobContent)) {
            try Blob.decode(tooBig)
        }
    }

    @Test("StoredObject dispatches on the type byte")
    func storedObjectDispatch() throws {
        let blob = Blob(content: Array("x".utf8))
        guard case let .blob(decoded) = try StoredObject.decode(blob.encoded) else {
            Issue.record("a blob encoding did not decode as a blob")
            return
        }
        #expect(decoded == blob)
        #expect(try StoredObject.decode(blob.encoded).type == .blob)

        let op = try sampleChange(key: try fixedKey())
        guard case let .operation(decodedOp) = try StoredObject.decode(op.encoded) else {
            Issue.record("an operation encoding did not decode as an operation")
            return
        }
        #expect(decodedOp == op)
        #expect(try StoredObject.decode(op.encoded).type == .operation)

        #expect(throws: DecodeError.truncated(field: "type")) { try StoredObject.decode([]) }
        #expect(throws: DecodeError.unknownType(0x00)) { try StoredObject.decode([0x00, 0x01]) }
        #expect(throws: DecodeError.unknownType(0x03)) { try StoredObject.decode([0x03, 0x01]) }
    }
}
