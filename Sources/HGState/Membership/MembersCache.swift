import HGCore

/// The members cache: `.hgrepo/index/members`, so that `commit` learns its
/// author's role without resolving the membership of the whole history.
///
/// File: the 18 bytes `hg-bft members v1\n`, the index length it reflects
/// (varint), the member count (varint), per member in ascending key order the
/// 32-byte key and the role byte, then a 32-byte BLAKE2b-256 of everything
/// before it. Any mismatch makes readers recompute it.
public enum MembersCache {
    static let header: [UInt8] = Array("hg-bft members v1\n".utf8)

    public static func encode(_ roles: [PeerID: Role], stamp: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 10 + roles.count * 33)
        w.varint(UInt64(roles.count))
        for peer in roles.keys.sorted() {
            w.id(peer.key)
            w.byte(roles[peer]?.rawValue ?? Role.writer.rawValue)
        }
        return StampedCache.seal(header: header, stamp: stamp, body: w.bytes)
    }

    /// The roles and stamp, or `nil` if the bytes are not a valid cache.
    public static func decode(_ bytes: [UInt8]) -> (roles: [PeerID: Role], stamp: Int)? {
        guard let (stamp, body) = StampedCache.open(bytes, header: header) else { return nil }
        var r = ByteReader(body)
        guard let count = try? r.count("member count", limit: r.remaining / 33) else { return nil }
        var roles: [PeerID: Role] = [:]
        var previous: PeerID?
        for _ in 0..<count {
            guard let key = try? r.id("member"), let byte = try? r.byte("role"), let role = Role(rawValue: byte) else {
                return nil
            }
            let peer = PeerID(key: key)
            if let previous, !(previous < peer) { return nil }
            previous = peer
            roles[peer] = role
        }
        guard (try? r.expectEnd()) != nil else { return nil }
        return (roles, stamp)
    }
}
