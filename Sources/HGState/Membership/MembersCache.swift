import HGCore
import HGCrypto

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
        var w = ByteWriter(capacity: header.count + 16 + roles.count * 33 + 32)
        w.raw(header)
        w.varint(UInt64(stamp))
        w.varint(UInt64(roles.count))
        for peer in roles.keys.sorted() {
            w.id(peer.key)
            w.byte(roles[peer]?.rawValue ?? Role.writer.rawValue)
        }
        let body = w.bytes
        return body + Blake2b.hash256(body)
    }

    /// The roles and stamp, or `nil` if the bytes are not a valid cache.
    public static func decode(_ bytes: [UInt8]) -> (roles: [PeerID: Role], stamp: Int)? {
        guard bytes.count >= header.count + 34, Array(bytes[0..<header.count]) == header else { return nil }
        let body = Array(bytes[0..<(bytes.count - 32)])
        guard Blake2b.hash256(body) == Array(bytes[(bytes.count - 32)...]) else { return nil }
        var r = ByteReader(Array(body[header.count...]))
        guard let stamp = try? r.varint("stamp"), stamp <= UInt64(Int.max),
              let count = try? r.count("member count", limit: r.remaining / 33) else { return nil }
        var roles: [PeerID: Role] = [:]
        var previous: PeerID?
        for _ in 0..<count {
            guard let key = try? r.id("member"), let byte = try? r.byte("role"), let role = Role(rawValue: byte) else { return nil }
            let peer = PeerID(key: key)
            if let previous, !(previous < peer) { return nil }
            previous = peer
            roles[peer] = role
        }
        guard (try? r.expectEnd()) != nil else { return nil }
        return (roles, Int(stamp))
    }
}
