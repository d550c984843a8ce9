import HGCrypto

/// A signed operation: one node of the hash DAG.
///
/// Encoding (FORMAT.md, "Operations"):
/// `0x02` type, `0x01` version, author (32-byte Ed25519 key), sequence
/// (varint ≥ 1), parent count (varint) and parents (32 bytes each, strictly
/// ascending), timestamp (varint, milliseconds since the Unix epoch; advisory
/// only), kind (1 byte), body (varint length + bytes), signature (64 bytes).
/// The signature covers the signature domain followed by every preceding byte.
public struct Operation: Hashable, Sendable {
    public let author: PeerID
    /// 1 + the author's highest sequence number in this operation's causal past.
    public let sequence: UInt64
    /// The heads the author had, sorted, without duplicates.
    public let parents: [ObjectID]
    /// Milliseconds since the Unix epoch, as claimed by the author. Never trusted.
    public let timestamp: UInt64
    public let payload: Payload
    /// The canonical encoding, signature included.
    public let encoded: [UInt8]
    /// BLAKE2b-256 of the id domain and `encoded`.
    public let id: ObjectID

    /// Signature domain: ASCII "hg-bft operation v1" and one zero byte.
    public static let signatureDomain: [UInt8] = Array("hg-bft operation v1".utf8) + [0]

    /// Builds, signs and encodes a new operation.
    ///
    /// `parents` may be in any order; duplicates are removed.
    public static func create(
        signer: Ed25519.KeyPair, sequence: UInt64, parents: [ObjectID], timestamp: UInt64, payload: Payload
    ) throws(DecodeError) -> Operation {
        guard let author = PeerID(publicKey: signer.publicKey) else {
            throw .invalidValue(field: "author", reason: "not a 32-byte key")
        }
        let sortedParents = Array(Set(parents)).sorted()
        var w = ByteWriter(capacity: 128 + sortedParents.count * 32)
        w.byte(ObjectType.operation.rawValue)
        w.byte(FormatVersion.current)
        w.id(author.key)
        w.varint(sequence)
        w.varint(UInt64(sortedParents.count))
        for parent in sortedParents { w.id(parent.raw) }
        w.varint(timestamp)
        w.byte(payload.kind)
        w.lengthPrefixed(payload.encodeBody())
        let signature = signer.sign(signatureDomain + w.bytes)
        w.raw(signature)
        // Decoding what we just built applies every structural rule to our own output too.
        return try decode(w.bytes)
    }

    /// Strictly decodes an operation; does not check the signature.
    ///
    /// - Parameter knownID: the id of `bytes`, when the caller has just computed it (the object
    ///   store checks every object against its name), so that they are not hashed twice.
    public static func decode(_ bytes: [UInt8], knownID: ObjectID? = nil) throws(DecodeError) -> Operation {
        guard bytes.count <= Limits.maxOperationBytes else {
            throw .tooLarge(field: "operation", limit: Limits.maxOperationBytes)
        }
        var r = ByteReader(bytes)
        let type = try r.byte("type")
        guard type == ObjectType.operation.rawValue else { throw .unknownType(type) }
        let version = try r.byte("version")
        guard version == FormatVersion.current else { throw .unknownVersion(version) }
        let author = PeerID(key: try r.id("author"))
        let sequence = try r.varint("sequence")
        guard sequence >= 1 else { throw .invalidValue(field: "sequence", reason: "must be at least 1") }
        let parentCount = try r.count("parent count", limit: Limits.maxParents)
        guard parentCount * 32 <= r.remaining else { throw .truncated(field: "parents") }
        var parents: [ObjectID] = []
        parents.reserveCapacity(parentCount)
        for _ in 0..<parentCount {
            let parent = ObjectID(raw: try r.id("parent"))
            if let last = parents.last {
                if parent == last { throw .duplicateParent }
                if parent < last { throw .unsortedParents }
            }
            parents.append(parent)
        }
        let timestamp = try r.varint("timestamp")
        let kind = try r.byte("kind")
        let body = try r.lengthPrefixed("body", limit: Limits.maxOperationBytes)
        _ = try r.raw(Ed25519.signatureBytes, "signature")
        try r.expectEnd()
        let payload = try Payload.decode(kind: kind, body: body)
        switch payload {
        case .genesis:
            guard parents.isEmpty, sequence == 1 else {
                throw .invalidValue(field: "genesis", reason: "must have sequence 1 and no parents")
            }
        default:
            guard !parents.isEmpty else {
                throw .invalidValue(field: "parents", reason: "only the genesis operation has no parents")
            }
        }
        return Operation(
            author: author, sequence: sequence, parents: parents, timestamp: timestamp,
            payload: payload, encoded: bytes, id: knownID ?? ObjectID(hashing: bytes))
    }

    /// 64-byte Ed25519 signature: the end of `encoded` (not stored twice: a verify or a clone
    /// holds every operation of the repository in memory).
    public var signature: [UInt8] { Array(encoded.suffix(Ed25519.signatureBytes)) }

    /// Whether the signature is a valid Ed25519 signature by `author`.
    public func hasValidSignature() -> Bool {
        let signed = Operation.signatureDomain + encoded[0..<(encoded.count - Ed25519.signatureBytes)]
        return Ed25519.verify(signature: signature, message: signed, publicKey: author.key.bytes)
    }

    /// The change body, if this is a change.
    public var change: Change? {
        if case let .change(change) = payload { return change }
        return nil
    }

    /// The membership change, if this is one.
    public var membership: MembershipChange? {
        if case let .membership(change) = payload { return change }
        return nil
    }

    /// The genesis body, if this is the genesis.
    public var genesis: Genesis? {
        if case let .genesis(genesis) = payload { return genesis }
        return nil
    }
}
