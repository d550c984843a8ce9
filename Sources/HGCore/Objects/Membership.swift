/// A member's role (ACCESS-CONTROL.md). Admins change membership and write;
/// writers write.
public enum Role: UInt8, Hashable, Sendable, Comparable, CustomStringConvertible {
    case admin = 1
    case writer = 2

    public var description: String { self == .admin ? "admin" : "writer" }

    /// Admin sorts first: the more powerful role is the smaller value.
    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

    /// Parses `admin` or `writer`.
    public init?(name: String) {
        switch name {
        case "admin": self = .admin
        case "writer": self = .writer
        default: return nil
        }
    }
}

/// The body of a membership operation (kind 0x03).
///
/// Encoding: an action byte, then
/// - `0x01` add: the member's 32-byte key, then the role byte (1 admin, 2 writer);
/// - `0x02` remove: the member's 32-byte key;
/// - `0x03` role: the member's 32-byte key, then the new role byte;
/// - `0x04` quorum: the epoch (varint: how many quorum changes precede it) and
///   the new quorum (varint, 1–255).
public enum MembershipChange: Hashable, Sendable, CustomStringConvertible {
    case add(PeerID, Role)
    case remove(PeerID)
    case setRole(PeerID, Role)
    case setQuorum(epoch: UInt64, quorum: Int)

    enum Action: UInt8 {
        case add = 1
        case remove = 2
        case role = 3
        case quorum = 4
    }

    /// The member the change is about (`nil` for a quorum change).
    public var target: PeerID? {
        switch self {
        case let .add(peer, _), let .remove(peer), let .setRole(peer, _): return peer
        case .setQuorum: return nil
        }
    }

    public var description: String {
        switch self {
        case let .add(peer, role): return "add \(peer.short) as \(role)"
        case let .remove(peer): return "remove \(peer.short)"
        case let .setRole(peer, role): return "make \(peer.short) \(role)"
        case let .setQuorum(epoch, quorum): return "set the admin quorum to \(quorum) (change \(epoch + 1))"
        }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 40)
        switch self {
        case let .add(peer, role):
            w.byte(Action.add.rawValue)
            w.id(peer.key)
            w.byte(role.rawValue)
        case let .remove(peer):
            w.byte(Action.remove.rawValue)
            w.id(peer.key)
        case let .setRole(peer, role):
            w.byte(Action.role.rawValue)
            w.id(peer.key)
            w.byte(role.rawValue)
        case let .setQuorum(epoch, quorum):
            w.byte(Action.quorum.rawValue)
            w.varint(epoch)
            w.varint(UInt64(quorum))
        }
        return w.bytes
    }

    static func decode(_ body: [UInt8]) throws(DecodeError) -> MembershipChange {
        var r = ByteReader(body)
        let actionByte = try r.byte("membership action")
        guard let action = Action(rawValue: actionByte) else {
            throw .invalidValue(field: "membership action", reason: "unknown action \(actionByte)")
        }
        func role() throws(DecodeError) -> Role {
            let byte = try r.byte("role")
            guard let role = Role(rawValue: byte) else {
                throw .invalidValue(field: "role", reason: "unknown role \(byte)")
            }
            return role
        }
        let change: MembershipChange
        switch action {
        case .add: change = .add(PeerID(key: try r.id("member")), try role())
        case .remove: change = .remove(PeerID(key: try r.id("member")))
        case .role: change = .setRole(PeerID(key: try r.id("member")), try role())
        case .quorum:
            let epoch = try r.varint("quorum epoch")
            let quorum = try r.count("admin quorum", limit: Limits.maxAdminQuorum)
            guard quorum >= 1 else { throw .invalidValue(field: "admin quorum", reason: "must be at least 1") }
            change = .setQuorum(epoch: epoch, quorum: quorum)
        }
        try r.expectEnd()
        return change
    }
}
