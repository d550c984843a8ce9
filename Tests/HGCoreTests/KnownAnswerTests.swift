import HGCrypto
import HGTestSupport
import Testing

@testable import HGCore

/// A known-answer vector for one change operation, laid out by hand from the
/// format described in Operation.swift and Payload.swift.
///
/// The public key, blob id, signature and operation id below were computed
/// independently of this code base (Python: `cryptography`'s Ed25519 over
/// OpenSSL, `hashlib.blake2b(digest_size=32)`, and a hand-written LEB128).
@Suite("Known-answer vector")
struct KnownAnswerTests {
    /// Ed25519 public key of the seed 0x07 × 32.
    static let publicKeyHex = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
    /// BLAKE2b-256("hg-bft object v1\0" ‖ 01 01 ‖ "hello\n").
    static let blobIDHex = "2840f6b02002d64d8f03f862db09e0f3f06f7148ee0b61efe9e837072ae6ce4a"
    /// Ed25519 signature over "hg-bft operation v1\0" ‖ every byte before the signature.
    static let signatureHex = """
        56299a4c8a042ef22d3e100e349fdaa8d4df7fad3222ac40c1a54e170791b018\
        7ed377acb9ac82ccbfcbc946ff2f15e49eeda4d1b3c09f4d9bbc747e01b68d01
        """
    /// BLAKE2b-256("hg-bft object v1\0" ‖ the whole encoding).
    static let operationIDHex = "93cb7196dedabdc8a1ccd28e319a3bf5f43a18d360ce24d7317380e498dd0e31"

    private func buildOperation() throws -> (Operation, Ed25519.KeyPair) {
        let key = try fixedKey()
        let blob = Blob(content: Array("hello\n".utf8))
        let change = Change(
            message: "first",
            entries: [
                ChangeEntry(path: try RepoPath("hello.txt"), version: FileVersion(blob: blob.id, mode: .regular))
            ])
        let op = try Operation.create(
            signer: key, sequence: 2, parents: [try filledID(0x11)],
            timestamp: 1_700_000_000_000, payload: .change(change))
        return (op, key)
    }

    @Test("the encoding matches the layout field by field")
    func layout() throws {
        let (op, key) = try buildOperation()
        let publicKey = try hexBytes(Self.publicKeyHex)
        let blobID = try hexBytes(Self.blobIDHex)
        let signature = try hexBytes(Self.signatureHex)
        #expect(key.publicKey == publicKey)

        // (name, expected bytes) in encoding order.
        var fields: [(String, [UInt8])] = []
        fields.append(("type", [0x02]))
        fields.append(("version", [0x01]))
        fields.append(("author", publicKey))
        fields.append(("sequence", [0x02]))
        fields.append(("parent count", [0x01]))
        fields.append(("parent", [UInt8](repeating: 0x11, count: 32)))
        // 1_700_000_000_000 = 0x18B_CFE5_6800; LEB128 groups, low first.
        fields.append(("timestamp", [0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31]))
        fields.append(("kind", [0x02]))
        fields.append(("body length", [0x32]))  // 50
        fields.append(("message length", [0x05]))
        fields.append(("message", [0x66, 0x69, 0x72, 0x73, 0x74]))  // "first"
        fields.append(("entry count", [0x01]))
        fields.append(("path length", [0x09]))
        fields.append(("path", [0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74]))  // "hello.txt"
        fields.append(("mode", [0x01]))
        fields.append(("blob id", blobID))
        fields.append(("signature", signature))

        let encoded = op.encoded
        var offset = 0
        for (name, expected) in fields {
            let end = min(offset + expected.count, encoded.count)
            #expect(Array(encoded[offset..<end]) == expected, "field \(name) at offset \(offset)")
            offset += expected.count
        }
        #expect(offset == 190)
        #expect(encoded.count == 190)
        #expect(encoded == fields.flatMap(\.1))

        // The body length covers exactly the body fields.
        let bodyFields = ["message length", "message", "entry count", "path length", "path", "mode", "blob id"]
        let bodyLength = fields.filter { bodyFields.contains($0.0) }.reduce(0) { $0 + $1.1.count }
        #expect(bodyLength == 0x32)
    }

    @Test("signature, id and the blob id match the independent computation")
    func derivedValues() throws {
        let (op, key) = try buildOperation()
        #expect(op.signature == (try hexBytes(Self.signatureHex)))
        #expect(op.id.hex == Self.operationIDHex)
        #expect(op.id == ObjectID(hex: Self.operationIDHex))
        #expect(Blob(content: Array("hello\n".utf8)).id.hex == Self.blobIDHex)
        #expect(op.change?.entries.first?.version?.blob.hex == Self.blobIDHex)
        #expect(op.author == PeerID(publicKey: key.publicKey))
        #expect(op.hasValidSignature())
    }

    @Test("the vector decodes from its bytes alone")
    func decodeVector() throws {
        var bytes: [UInt8] = [0x02, 0x01]
        bytes += try hexBytes(Self.publicKeyHex)
        bytes += [0x02, 0x01]
        bytes += [UInt8](repeating: 0x11, count: 32)
        bytes += [0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, 0x02, 0x32, 0x05]
        bytes += Array("first".utf8)
        bytes += [0x01, 0x09]
        bytes += Array("hello.txt".utf8)
        bytes += [0x01]
        bytes += try hexBytes(Self.blobIDHex)
        bytes += try hexBytes(Self.signatureHex)

        let op = try Operation.decode(bytes)
        #expect(op.hasValidSignature())
        #expect(op.id.hex == Self.operationIDHex)
        #expect(op.sequence == 2)
        #expect(op.parents == [try filledID(0x11)])
        #expect(op.timestamp == 1_700_000_000_000)
        #expect(op.author.key.bytes == (try hexBytes(Self.publicKeyHex)))
        let change = try #require(op.change)
        #expect(change.message == "first")
        #expect(change.entries.count == 1)
        #expect(change.entries.first?.path.string == "hello.txt")
        #expect(change.entries.first?.version?.mode == .regular)
        #expect(change.entries.first?.version?.blob.hex == Self.blobIDHex)
        #expect(try buildOperation().0.encoded == bytes)
    }
}
