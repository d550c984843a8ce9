import HGCore

/// The messages of the sync protocol (docs/PROTOCOL.md). Each travels in one
/// frame: a u32 little-endian length L, then L bytes: the type byte and the payload.
public enum Message: Equatable, Sendable {
    /// Sent first by both sides.
    case hello(Hello)
    /// What the sender has: its heads, the heads it believes it shared with
    /// this peer last time, and a Bloom filter over its operations since then.
    case have(Have)
    /// Objects (canonical encodings of operations and blobs).
    case objects([[UInt8]])
    /// The sender has sent every object of this round.
    case endOfRound
    /// Operation ids the sender is missing (parents it could not resolve); empty when satisfied.
    case need([ObjectID])
    /// The sender is aborting, with a reason.
    case error(String)

    public enum Kind: UInt8, Sendable {
        case hello = 0x01, have = 0x02, objects = 0x03, endOfRound = 0x04, need = 0x05, error = 0x06
    }

    public var kind: Kind {
        switch self {
        case .hello: return .hello
        case .have: return .have
        case .objects: return .objects
        case .endOfRound: return .endOfRound
        case .need: return .need
        case .error: return .error
        }
    }
}

public struct Hello: Equatable, Sendable {
    public static let magic: [UInt8] = Array("hg-bft sync".utf8)
    public let version: UInt64
    public let repository: ObjectID
    public let peer: PeerID
    /// The largest frame the sender accepts.
    public let maxFrameBytes: Int

    public init(version: UInt64, repository: ObjectID, peer: PeerID, maxFrameBytes: Int) {
        self.version = version
        self.repository = repository
        self.peer = peer
        self.maxFrameBytes = maxFrameBytes
    }
}

public struct Have: Equatable, Sendable {
    public let heads: [ObjectID]
    public let sharedHeads: [ObjectID]
    public let filter: BloomFilter
    /// How many operations the sender put in the filter (advisory).
    public let filterEntries: Int

    public init(heads: [ObjectID], sharedHeads: [ObjectID], filter: BloomFilter, filterEntries: Int) {
        self.heads = heads
        self.sharedHeads = sharedHeads
        self.filter = filter
        self.filterEntries = filterEntries
    }
}

/// Limits applied to everything a peer sends, checked before allocating.
public enum ProtocolLimits {
    /// The protocol version this build speaks.
    public static let version: UInt64 = 1
    /// Largest frame: a 64 MiB blob plus framing and a little room.
    public static let maxFrameBytes = Limits.maxObjectBytes + (1 << 16)
    /// Most ids in one heads list or NEED message.
    public static let maxIDs = 1 << 16
    /// Most objects in one OBJECTS message.
    public static let maxObjectsPerMessage = 1 << 16
    /// Longest error text.
    public static let maxErrorBytes = 4096
}

extension Message {
    /// The frame: u32 LE length, type byte, payload.
    public func frame() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.byte(kind.rawValue)
        switch self {
        case let .hello(h):
            w.raw(Hello.magic)
            w.varint(h.version)
            w.id(h.repository.raw)
            w.id(h.peer.key)
            w.varint(UInt64(h.maxFrameBytes))
        case let .have(h):
            w.varint(UInt64(h.heads.count))
            for id in h.heads { w.id(id.raw) }
            w.varint(UInt64(h.sharedHeads.count))
            for id in h.sharedHeads { w.id(id.raw) }
            w.raw(h.filter.salt)
            w.varint(UInt64(h.filter.probeCount))
            w.varint(UInt64(h.filterEntries))
            w.lengthPrefixed(h.filter.bits)
        case let .objects(objects):
            w.varint(UInt64(objects.count))
            for object in objects { w.lengthPrefixed(object) }
        case .endOfRound:
            break
        case let .need(ids):
            w.varint(UInt64(ids.count))
            for id in ids { w.id(id.raw) }
        case let .error(text):
            w.lengthPrefixed(Array(text.utf8.prefix(ProtocolLimits.maxErrorBytes)))
        }
        let body = w.bytes
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 4)
        let length = UInt32(clamping: body.count)
        for shift in [0, 8, 16, 24] { out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        out += body
        return out
    }

    /// Strictly decodes a frame body (type byte and payload, without the length).
    public static func decode(_ body: [UInt8]) throws(SyncError) -> Message {
        do {
            return try decodeBody(body)
        } catch let error as SyncError {
            throw error
        } catch {
            throw .protocolViolation("malformed message: \(error)")
        }
    }

    private static func decodeBody(_ body: [UInt8]) throws -> Message {
        var r = ByteReader(body)
        let type = try r.byte("message type")
        guard let kind = Kind(rawValue: type) else { throw SyncError.protocolViolation("unknown message type 0x\(String(type, radix: 16))") }
        let message: Message
        switch kind {
        case .hello:
            guard try r.raw(Hello.magic.count, "magic") == Hello.magic else {
                throw SyncError.protocolViolation("not an hg-bft sync peer (bad greeting)")
            }
            let version = try r.varint("version")
            let repository = ObjectID(raw: try r.id("repository"))
            let peer = PeerID(key: try r.id("peer"))
            let maxFrame = try r.count("max frame", limit: Int(Int32.max))
            // Every peer must accept a frame holding the largest object, or some objects could never travel.
            guard maxFrame >= ProtocolLimits.maxFrameBytes else {
                throw SyncError.protocolViolation("peer accepts frames of only \(maxFrame) bytes (at least \(ProtocolLimits.maxFrameBytes) are required)")
            }
            message = .hello(Hello(version: version, repository: repository, peer: peer, maxFrameBytes: maxFrame))
        case .have:
            let heads = try readIDs(&r, "heads")
            let shared = try readIDs(&r, "shared heads")
            let salt = try r.raw(BloomFilter.saltBytes, "salt")
            let probes = try r.count("probe count", limit: BloomFilter.maxProbes)
            let entries = try r.count("filter entries", limit: Int(Int32.max))
            let bits = try r.lengthPrefixed("filter", limit: BloomFilter.maxBytes)
            // A filter of zero bits can only stand for zero operations.
            guard !bits.isEmpty || entries == 0 else {
                throw SyncError.protocolViolation("a zero-size Bloom filter claims \(entries) entries")
            }
            let filter: BloomFilter
            do {
                filter = try BloomFilter(bits: bits, probeCount: probes, salt: salt)
            } catch {
                throw SyncError.protocolViolation("bad Bloom filter: \(error)")
            }
            message = .have(Have(heads: heads, sharedHeads: shared, filter: filter, filterEntries: entries))
        case .objects:
            let count = try r.count("object count", limit: ProtocolLimits.maxObjectsPerMessage)
            guard count <= r.remaining else { throw DecodeError.truncated(field: "objects") }
            var objects: [[UInt8]] = []
            objects.reserveCapacity(count)
            for _ in 0..<count { objects.append(try r.lengthPrefixed("object", limit: Limits.maxObjectBytes)) }
            message = .objects(objects)
        case .endOfRound:
            message = .endOfRound
        case .need:
            message = .need(try readIDs(&r, "needed ids"))
        case .error:
            let text = try r.lengthPrefixed("error", limit: ProtocolLimits.maxErrorBytes)
            message = .error(String(decoding: text, as: UTF8.self))
        }
        try r.expectEnd()
        return message
    }

    private static func readIDs(_ r: inout ByteReader, _ field: String) throws -> [ObjectID] {
        let count = try r.count(field, limit: ProtocolLimits.maxIDs)
        guard count * 32 <= r.remaining else { throw DecodeError.truncated(field: field) }
        var ids: [ObjectID] = []
        ids.reserveCapacity(count)
        var seen = Set<ObjectID>()
        for _ in 0..<count {
            let id = ObjectID(raw: try r.id(field))
            guard seen.insert(id).inserted else { throw SyncError.protocolViolation("\(field) lists an id twice") }
            ids.append(id)
        }
        return ids
    }
}
