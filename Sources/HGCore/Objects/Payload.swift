/// What an operation does. The kind byte selects the case (FORMAT.md, "Kinds").
///
/// Kinds 0x00–0x7F are *critical*: a reader must understand them, and an
/// undefined one is rejected. Kinds 0x80–0xFF are *extensions*: a reader that
/// does not know one still checks the operation's header, signature and
/// sequence number and keeps it, but the body has no effect on its state. This
/// lets later versions add kinds (group-key messages, attestations) without
/// making older replicas reject operations that newer ones accept.
public enum Payload: Hashable, Sendable {
    /// The repository's first operation (kind 0x01).
    case genesis(Genesis)
    /// A file-tree change (kind 0x02).
    case change(Change)
    /// A membership change (kind 0x03).
    case membership(MembershipChange)
    /// An extension kind (0x80–0xFF) this version does not interpret.
    case opaque(kind: UInt8, body: [UInt8])

    /// The kind byte.
    public var kind: UInt8 {
        switch self {
        case .genesis: return Kind.genesis
        case .change: return Kind.change
        case .membership: return Kind.membership
        case let .opaque(kind, _): return kind
        }
    }

    /// Kind bytes.
    public enum Kind {
        public static let genesis: UInt8 = 0x01
        public static let change: UInt8 = 0x02
        public static let membership: UInt8 = 0x03
        /// The first extension kind.
        public static let firstExtension: UInt8 = 0x80
    }

    /// A short name for the kind, as shown by `show` and `log --json`.
    public var kindName: String { Payload.name(ofKind: kind) }

    /// The name of a kind byte (also for index records, which keep only the byte).
    public static func name(ofKind kind: UInt8) -> String {
        switch kind {
        case Kind.genesis: return "genesis"
        case Kind.change: return "change"
        case Kind.membership: return "membership"
        default: return "extension-0x\(hex2(kind))"
        }
    }

    func encodeBody() -> [UInt8] {
        switch self {
        case let .genesis(genesis): return genesis.encoded()
        case let .change(change): return change.encoded()
        case let .membership(change): return change.encoded()
        case let .opaque(_, body): return body
        }
    }

    static func decode(kind: UInt8, body: [UInt8]) throws(DecodeError) -> Payload {
        switch kind {
        case Kind.genesis: return .genesis(try Genesis.decode(body))
        case Kind.change: return .change(try Change.decode(body))
        case Kind.membership: return .membership(try MembershipChange.decode(body))
        case Kind.firstExtension...UInt8.max:
            return .opaque(kind: kind, body: body)
        default:
            throw .unknownKind(kind)
        }
    }
}

/// The body of the genesis operation.
///
/// Encoding: `admin_quorum` varint (1–255), then a 16-byte random nonce so that
/// two repositories created by the same key at the same millisecond differ.
public struct Genesis: Hashable, Sendable {
    /// How many distinct admins must back a removal that overrides seniority
    /// (used by access control; fixed here so the genesis never changes shape).
    public let adminQuorum: Int
    /// 16 random bytes.
    public let nonce: [UInt8]

    public static let nonceBytes = 16

    public init(adminQuorum: Int, nonce: [UInt8]) {
        self.adminQuorum = adminQuorum
        self.nonce = nonce
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 20)
        w.varint(UInt64(adminQuorum))
        w.raw(nonce)
        return w.bytes
    }

    static func decode(_ body: [UInt8]) throws(DecodeError) -> Genesis {
        var r = ByteReader(body)
        let quorum = try r.count("admin quorum", limit: Limits.maxAdminQuorum)
        guard quorum >= 1 else { throw .invalidValue(field: "admin quorum", reason: "must be at least 1") }
        let nonce = try r.raw(nonceBytes, "nonce")
        try r.expectEnd()
        return Genesis(adminQuorum: quorum, nonce: nonce)
    }
}

/// How a file is materialised.
public enum FileMode: UInt8, Hashable, Sendable {
    /// An ordinary file (0644 before the umask).
    case regular = 1
    /// An executable file (0755 before the umask).
    case executable = 2
}

extension ByteWriter {
    /// A mode byte (0 for a deletion) and, unless a deletion, the blob id: the shape
    /// of a change entry's value and of a live write in the state encoding.
    public mutating func fileVersion(_ version: FileVersion?) {
        guard let version else {
            byte(0)
            return
        }
        byte(version.mode.rawValue)
        id(version.blob.raw)
    }
}

extension ByteReader {
    /// Reads what `ByteWriter.fileVersion` writes; `nil` is a deletion.
    public mutating func fileVersion() throws(DecodeError) -> FileVersion? {
        let modeByte = try byte("mode")
        if modeByte == 0 { return nil }
        guard let mode = FileMode(rawValue: modeByte) else {
            throw .invalidValue(field: "mode", reason: "unknown mode \(modeByte)")
        }
        return FileVersion(blob: ObjectID(raw: try id("blob id")), mode: mode)
    }
}

/// One written version of a file: its content and mode.
public struct FileVersion: Hashable, Sendable {
    public let blob: ObjectID
    public let mode: FileMode

    public init(blob: ObjectID, mode: FileMode) {
        self.blob = blob
        self.mode = mode
    }
}

/// One path written or deleted by a change.
public struct ChangeEntry: Hashable, Sendable {
    public let path: RepoPath
    /// The new version, or `nil` for a deletion.
    public let version: FileVersion?

    public init(path: RepoPath, version: FileVersion?) {
        self.path = path
        self.version = version
    }
}

/// The body of a file-tree change.
///
/// Encoding: message (varint length + UTF-8), entry count (varint, ≥ 1), then
/// the entries in strictly ascending bytewise path order, each: path (varint
/// length + bytes), mode byte (0 delete, 1 regular, 2 executable), and for
/// modes 1 and 2 the 32-byte blob id.
public struct Change: Hashable, Sendable {
    public let message: String
    public let entries: [ChangeEntry]

    /// Sorts `entries` by path; the caller guarantees paths are distinct.
    public init(message: String, entries: [ChangeEntry]) {
        self.message = message
        self.entries = entries.sorted { $0.path < $1.path }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + entries.count * 64)
        w.lengthPrefixed(Array(message.utf8))
        w.varint(UInt64(entries.count))
        for entry in entries {
            w.lengthPrefixed(entry.path.bytes)
            w.fileVersion(entry.version)
        }
        return w.bytes
    }

    static func decode(_ body: [UInt8]) throws(DecodeError) -> Change {
        var r = ByteReader(body)
        let message = try r.text("message", limit: Limits.maxMessageBytes)
        let count = try r.count("entry count", limit: Limits.maxChangeEntries)
        guard count >= 1 else {
            throw .invalidValue(field: "entry count", reason: "a change must touch at least one path")
        }
        // Each entry takes at least 3 bytes; refuse counts the body cannot hold before reserving.
        guard count <= r.remaining / 3 else { throw .truncated(field: "entries") }
        var entries: [ChangeEntry] = []
        entries.reserveCapacity(count)
        var previous: RepoPath?
        for _ in 0..<count {
            let path = try RepoPath(bytes: try r.lengthPrefixed("path", limit: Limits.maxPathBytes))
            if let previous, !(previous < path) { throw .unsortedPaths }
            previous = path
            entries.append(ChangeEntry(path: path, version: try r.fileVersion()))
        }
        try r.expectEnd()
        return Change(sortedEntries: entries, message: message)
    }

    private init(sortedEntries: [ChangeEntry], message: String) {
        self.message = message
        self.entries = sortedEntries
    }
}
