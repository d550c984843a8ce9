import HGCore
import HGCrypto

/// Why a Bloom filter from the wire was refused.
public enum BloomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The salt is not exactly `BloomFilter.saltBytes` (16) bytes long.
    case badSalt
    /// The probe count is outside `1...BloomFilter.maxProbes`.
    case badProbeCount(Int)
    /// The filter is larger than `limit` (`BloomFilter.maxBytes`).
    case tooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .badSalt: return "its salt is not \(BloomFilter.saltBytes) bytes long"
        case let .badProbeCount(count): return "a probe count of \(count); it must be 1 to \(BloomFilter.maxProbes)"
        case let .tooLarge(bytes, limit): return "a filter of \(bytes) bytes; the limit is \(limit)"
        }
    }
}

/// A salted Bloom filter over object ids, sent during sync to summarise the
/// objects one side gained since the last sync with a peer (Kleppmann–Howard
/// Alg. 2; the sizing and probing follow Automerge: 10 bits per entry, 7 probes,
/// about 1 % false positives).
///
/// Probe positions (a wire contract: both peers must compute them identically):
/// let m = 8 × bits.count. h = BLAKE2b-256(salt ‖ the 32 id bytes).
/// x, y, z = the little-endian u32 values of h[0..<4], h[4..<8], h[8..<12],
/// each taken mod m. The first probe is x; then repeat (probeCount − 1) times:
/// x = (x + y) mod m; y = (y + z) mod m; the probe is x (Dillinger–Manolios
/// enhanced double hashing, as Automerge does). Bit p is bit (p mod 8) — least
/// significant first — of byte p / 8.
///
/// A filter with no bytes (m = 0) contains nothing: inserting into it does
/// nothing and `mightContain` is always false.
///
/// A filter from a peer may be garbage; that only changes which objects this
/// side sends, never what it accepts. `init(bits:probeCount:salt:)` bounds the
/// work and memory such a filter can cost.
public struct BloomFilter: Sendable, Equatable {
    /// Filter bits allotted per expected entry.
    public static let bitsPerEntry = 10
    /// Probes per id in a locally built filter.
    public static let defaultProbes = 7
    /// Most probes per id accepted from a peer.
    public static let maxProbes = 32
    /// Length of the salt, in bytes.
    public static let saltBytes = 16
    /// Largest filter accepted from a peer: 8 MiB (about 6.7 million entries at 10 bits each).
    public static let maxBytes = 8 << 20

    /// Most entries a locally built filter is sized for, so that it stays within `maxBytes`.
    static let maxEntries = maxBytes * 8 / bitsPerEntry

    /// Mixed into every id before hashing, so that a peer cannot choose ids that collide in the filter.
    public let salt: [UInt8]
    /// Number of bit positions probed per id.
    public let probeCount: Int
    /// The filter bits; bit p is bit (p mod 8), least significant first, of byte p / 8.
    public private(set) var bits: [UInt8]

    /// An empty filter sized for `expectedEntries`: ceil(10 * n / 8) bytes (0 bytes for n = 0), 7 probes.
    /// `expectedEntries` is clamped so the filter never exceeds maxBytes.
    ///
    /// The salt should be `saltBytes` long, fresh per filter, so that the peer
    /// (which validates the length) accepts it.
    public init(expectedEntries: Int, salt: [UInt8]) {
        let entries = min(max(expectedEntries, 0), BloomFilter.maxEntries)
        let byteCount = (entries * BloomFilter.bitsPerEntry + 7) / 8
        self.salt = salt
        self.probeCount = BloomFilter.defaultProbes
        self.bits = [UInt8](repeating: 0, count: byteCount)
    }

    /// A filter received from a peer: validates salt length (16), probe count (1...32) and size (≤ maxBytes) before anything else.
    public init(bits: [UInt8], probeCount: Int, salt: [UInt8]) throws(BloomError) {
        guard salt.count == BloomFilter.saltBytes else { throw .badSalt }
        guard (1...BloomFilter.maxProbes).contains(probeCount) else { throw .badProbeCount(probeCount) }
        guard bits.count <= BloomFilter.maxBytes else {
            throw .tooLarge(bytes: bits.count, limit: BloomFilter.maxBytes)
        }
        self.salt = salt
        self.probeCount = probeCount
        self.bits = bits
    }

    /// Adds `id`. Does nothing to an empty (0-byte) filter.
    public mutating func insert(_ id: ObjectID) {
        let m = UInt64(bits.count) * 8
        BloomFilter.forEachProbe(of: id, salt: salt, m: m, count: probeCount) { position in
            bits[Int(position >> 3)] |= UInt8(1) << UInt8(position & 7)
            return true
        }
    }

    /// False for an empty (0-byte) filter.
    ///
    /// True for every inserted id; also true, with probability about 1 % in a
    /// filter filled to its expected size, for ids that were never inserted.
    public func mightContain(_ id: ObjectID) -> Bool {
        let m = UInt64(bits.count) * 8
        guard m > 0 else { return false }
        var all = true
        BloomFilter.forEachProbe(of: id, salt: salt, m: m, count: probeCount) { position in
            if bits[Int(position >> 3)] & (UInt8(1) << UInt8(position & 7)) == 0 {
                all = false
            }
            return all
        }
        return all
    }

    /// Calls `body` with each of the `count` probe positions of `id` in a filter
    /// of `m` bits, in order, stopping early when `body` returns false. Calls
    /// nothing when `m` or `count` is 0.
    private static func forEachProbe(
        of id: ObjectID, salt: [UInt8], m: UInt64, count: Int, _ body: (UInt64) -> Bool
    ) {
        guard m > 0, count > 0 else { return }
        // The digest goes to the stack, not to a new array: a filter of a 2,000-operation fetch
        // is built (and checked) on the way to the first object sent.
        let digest = salt.withUnsafeBytes { salt in id.raw.withUnsafeBytes { Blake2b.digest256(salt, $0) } }
        func littleEndianU32(at offset: Int) -> UInt64 {
            withUnsafeBytes(of: digest) {
                UInt64(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            }
        }
        var x = littleEndianU32(at: 0) % m
        var y = littleEndianU32(at: 4) % m
        let z = littleEndianU32(at: 8) % m
        guard body(x) else { return }
        // x + y and y + z are below 2m, so one subtraction is the modulo (without a division).
        for _ in 1..<count {
            x += y
            if x >= m { x -= m }
            y += z
            if y >= m { y -= m }
            guard body(x) else { return }
        }
    }
}
