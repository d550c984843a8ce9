import HGCompression
import HGCore

/// The messages of the sync protocol (docs/PROTOCOL.md). Each travels in one
/// frame: a u32 little-endian length L, then L bytes: the type byte and the payload.
public enum Message: Equatable, Sendable {
    /// Sent first by both sides.
    case hello(Hello)
    /// What the sender has: its heads, the heads it believes it shared with
    /// this peer last time, and a Bloom filter over its operations since then.
    case have(Have)
    /// Objects (canonical encodings of operations and blobs). On the wire either an OBJECTS
    /// frame or, zlib-compressed, a COMPRESSED OBJECTS frame; both decode to this.
    case objects([[UInt8]])
    /// The sender has sent every object of this round.
    case endOfRound
    /// Operation ids the sender is missing (parents it could not resolve); empty when satisfied.
    case need([ObjectID])
    /// The sender is aborting, with a reason.
    case error(String)

    /// The type byte of a frame. `compressedObjects` is the wire type of `.objects` sent compressed;
    /// `kind` never returns it.
    public enum Kind: UInt8, Sendable, CustomStringConvertible {
        case hello = 0x01
        case have = 0x02
        case objects = 0x03
        case endOfRound = 0x04
        case need = 0x05
        case error = 0x06
        case compressedObjects = 0x07

        /// The case's name. Spelled out because describing an enum by reflection looks up
        /// protocol conformances, a cost paid on every message sent.
        public var description: String {
            switch self {
            case .hello: return "hello"
            case .have: return "have"
            case .objects: return "objects"
            case .endOfRound: return "endOfRound"
            case .need: return "need"
            case .error: return "error"
            case .compressedObjects: return "compressedObjects"
            }
        }
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
    /// The protocol version this build speaks (2: COMPRESSED OBJECTS; 1 had no compression).
    public static let version: UInt64 = 2
    /// Largest frame: a 64 MiB blob plus framing and a little room.
    public static let maxFrameBytes = Limits.maxObjectBytes + (1 << 16)
    /// Most ids in one heads list or NEED message.
    public static let maxIDs = 1 << 16
    /// Most objects in one OBJECTS message.
    public static let maxObjectsPerMessage = 1 << 16
    /// Longest error text.
    public static let maxErrorBytes = 4096
    /// The zlib level of COMPRESSED OBJECTS frames. Measured on the batches of a clone of 20,000
    /// operations (5.5 MB, docs/PERFORMANCE.md): level 1 (as level 2) gives 56.1 % of the payload at
    /// about 60 MB/s of one core; level 3 gives 55.3 %, level 6 54.8 % at 42 MB/s. The objects are
    /// mostly hashes and signatures, so higher levels buy little and cost sync time.
    public static let compressionLevel: Int32 = 1
}

extension Message {
    /// The frame: u32 LE length, type byte, payload. OBJECTS are sent uncompressed.
    public func frame() -> [UInt8] {
        if case let .objects(objects) = self {
            return Self.framed(type: Kind.objects.rawValue, payload: Self.objectsPayload(objects))
        }
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
        case .objects:
            break  // framed above
        case .endOfRound:
            break
        case let .need(ids):
            w.varint(UInt64(ids.count))
            for id in ids { w.id(id.raw) }
        case let .error(text):
            w.lengthPrefixed(Array(text.utf8.prefix(ProtocolLimits.maxErrorBytes)))
        }
        return Self.framed(type: nil, payload: w.bytes)
    }

    /// The frame, with `.objects` sent as COMPRESSED OBJECTS (libdeflate at
    /// `ProtocolLimits.compressionLevel`) when that frame is the smaller one, as hg-bft sends it.
    /// Other messages are framed as by `frame()`.
    public func frame(compressed: Bool) -> [UInt8] {
        guard compressed, case .objects = self,
            let compressor = try? BlockCompressor(level: ProtocolLimits.compressionLevel)
        else { return frame() }
        return frame(compressingWith: compressor)
    }

    /// `frame(compressed: true)` with a caller's (reused) compressor.
    func frame(compressingWith compressor: BlockCompressor) -> [UInt8] {
        guard case let .objects(objects) = self else { return frame() }
        let payload = Self.objectsPayload(objects)
        // Incompressible batches (random bytes, already-compressed files) go as they are: this also
        // keeps every frame within the limit an OBJECTS frame of the same objects respects.
        // Compression fails only without memory, and the uncompressed frame is always valid.
        guard let compressed = try? Self.compressedObjectsPayload(payload, compressor: compressor),
            compressed.count < payload.count
        else {
            return Self.framed(type: Kind.objects.rawValue, payload: payload)
        }
        return Self.framed(type: Kind.compressedObjects.rawValue, payload: compressed)
    }

    /// A COMPRESSED OBJECTS frame of `objects`, even when it is larger than their OBJECTS frame
    /// (hg-bft would not send it then; for the worked example of PROTOCOL.md).
    static func compressedObjectsFrame(
        _ objects: [[UInt8]], compressor: BlockCompressor
    ) throws(CompressionError) -> [UInt8] {
        framed(
            type: Kind.compressedObjects.rawValue,
            payload: try compressedObjectsPayload(objectsPayload(objects), compressor: compressor))
    }

    /// The payload of COMPRESSED OBJECTS: the size of `payload` (an OBJECTS payload), then its zlib stream.
    private static func compressedObjectsPayload(
        _ payload: [UInt8], compressor: BlockCompressor
    ) throws(CompressionError) -> [UInt8] {
        let zlib = try compressor.compress(payload)
        var w = ByteWriter(capacity: zlib.count + 10)
        w.varint(UInt64(payload.count))
        w.raw(zlib)
        return w.bytes
    }

    /// What an OBJECTS frame holds after its type byte: the count, then each length-prefixed object.
    static func objectsPayload(_ objects: [[UInt8]]) -> [UInt8] {
        var w = ByteWriter(capacity: objects.reduce(10) { $0 + $1.count + 4 })
        w.varint(UInt64(objects.count))
        for object in objects { w.lengthPrefixed(object) }
        return w.bytes
    }

    /// u32 LE length, then the type byte (when given: `payload` lacks it) and the payload.
    private static func framed(type: UInt8?, payload: [UInt8]) -> [UInt8] {
        let bodyCount = payload.count + (type == nil ? 0 : 1)
        var out: [UInt8] = []
        out.reserveCapacity(bodyCount + 4)
        let length = UInt32(clamping: bodyCount)
        for shift in [0, 8, 16, 24] { out.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        if let type { out.append(type) }
        out += payload
        return out
    }

    /// Strictly decodes a frame body (type byte and payload, without the length).
    ///
    /// A COMPRESSED OBJECTS body decodes to `.objects`. Its decompressed size may be at most
    /// `maxFrameBytes − 1` (what an OBJECTS frame within the limit we announced could hold), is
    /// checked before inflating, and inflation stops at the size the frame declares; memory grows
    /// only with what zlib actually produces. `inflater` is a reusable decompressor (one per thread).
    public static func decode(
        _ body: [UInt8], maxFrameBytes: Int = ProtocolLimits.maxFrameBytes
    ) throws(SyncError) -> Message {
        try decode(body, maxFrameBytes: maxFrameBytes, inflater: nil)
    }

    static func decode(_ body: [UInt8], maxFrameBytes: Int, inflater: Inflater?) throws(SyncError) -> Message {
        do {
            return try decodeBody(body, maxFrameBytes: maxFrameBytes, inflater: inflater)
        } catch let error as SyncError {
            throw error
        } catch {
            throw .protocolViolation("malformed message: \(error)")
        }
    }

    private static func decodeBody(_ body: [UInt8], maxFrameBytes: Int, inflater: Inflater?) throws -> Message {
        var r = ByteReader(body)
        let type = try r.byte("message type")
        guard let kind = Kind(rawValue: type) else {
            throw SyncError.protocolViolation("unknown message type 0x\(String(type, radix: 16))")
        }
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
                throw SyncError.protocolViolation(
                    "peer accepts frames of only \(maxFrame) bytes (at least \(ProtocolLimits.maxFrameBytes) are required)"
                )
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
            message = .objects(try readObjects(&r))
        case .compressedObjects:
            let limit = maxFrameBytes - 1
            let size = try r.varint("decompressed size")
            guard size >= 1, size <= UInt64(limit) else {
                throw SyncError.protocolViolation(
                    "COMPRESSED OBJECTS declares \(size) decompressed bytes; the limit is 1 to \(limit)")
            }
            let zlib = try r.raw(r.remaining, "zlib stream")
            let payload: [UInt8]
            do throws(CompressionError) {
                // The first allocation follows the input (≤ 4× plus 64 KiB), not the peer's claim;
                // beyond it the output doubles only as zlib fills it, and never past `size`.
                let stream: Inflater
                if let inflater { stream = inflater } else { stream = try Inflater() }
                payload = try stream.decompress(
                    zlib, limit: Int(size), sizeHint: min(Int(size), 4 * zlib.count + (1 << 16)))
            } catch {
                switch error {
                case .tooLarge:
                    throw SyncError.protocolViolation(
                        "COMPRESSED OBJECTS inflates to more than the \(size) bytes it declares (a decompression bomb?)"
                    )
                default:
                    throw SyncError.protocolViolation("COMPRESSED OBJECTS does not hold a valid zlib stream: \(error)")
                }
            }
            guard payload.count == Int(size) else {
                throw SyncError.protocolViolation(
                    "COMPRESSED OBJECTS inflates to \(payload.count) bytes; it declares \(size)")
            }
            var inner = ByteReader(payload)
            message = .objects(try readObjects(&inner))
            do { try inner.expectEnd() } catch {
                throw SyncError.protocolViolation("malformed message: in the decompressed objects, \(error)")
            }
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

    /// An OBJECTS payload: the count, then each length-prefixed object.
    private static func readObjects(_ r: inout ByteReader) throws -> [[UInt8]] {
        let count = try r.count("object count", limit: ProtocolLimits.maxObjectsPerMessage)
        guard count <= r.remaining else { throw DecodeError.truncated(field: "objects") }
        var objects: [[UInt8]] = []
        objects.reserveCapacity(count)
        for _ in 0..<count { objects.append(try r.lengthPrefixed("object", limit: Limits.maxObjectBytes)) }
        return objects
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
