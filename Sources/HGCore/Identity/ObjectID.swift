import HGCrypto

/// The identity of a stored object: BLAKE2b-256 over a domain string and the
/// object's uncompressed canonical encoding (FORMAT.md, "Object ids").
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 32 hash bytes.
    public let raw: Bytes32

    /// Domain separation for object ids: the ASCII string "hg-bft object v1" and one zero byte.
    public static let domain: [UInt8] = Array("hg-bft object v1".utf8) + [0]

    /// Number of hex digits shown in short ids.
    public static let shortLength = 12

    public init(raw: Bytes32) { self.raw = raw }

    /// The id of an object whose canonical encoding is `encoding`.
    public init(hashing encoding: [UInt8]) {
        let digest = Blake2b.hash256(ObjectID.domain, encoding)
        raw = Bytes32(digest, at: 0)
    }

    /// Parses a full 64-digit hex id.
    public init?(hex: String) {
        guard let raw = Bytes32(hex: hex) else { return nil }
        self.raw = raw
    }

    /// The 64-digit lowercase hex form.
    public var hex: String { raw.hex }

    /// The first 12 hex digits, as shown by `log` and `commit`.
    public var short: String { String(hex.prefix(ObjectID.shortLength)) }

    public var description: String { hex }

    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.raw < b.raw }
}
