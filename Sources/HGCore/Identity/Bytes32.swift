/// 32 bytes held in four machine words, so that ids hash, compare and copy
/// without a heap allocation. Ordering is lexicographic on the bytes
/// (the words are big-endian), which is the order the format sorts by.
public struct Bytes32: Hashable, Comparable, Sendable {
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// All zero bytes.
    public static let zero = Bytes32(w0: 0, w1: 0, w2: 0, w3: 0)

    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Reads 32 bytes at `offset`; the caller has checked that they exist.
    init(_ bytes: [UInt8], at offset: Int) {
        self = bytes.withUnsafeBytes { Bytes32($0, at: offset) }
    }

    /// Reads 32 bytes at `offset` of memory; the caller has checked that they exist (and a
    /// precondition stops the process if not).
    public init(_ raw: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && raw.count - offset >= 32, "Bytes32 read out of bounds")
        func word(_ start: Int) -> UInt64 {
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt64.self))
        }
        (w0, w1, w2, w3) = (word(offset), word(offset + 8), word(offset + 16), word(offset + 24))
    }

    /// Reads 32 bytes at `offset` of `bytes`; `nil` if they are not all there.
    public init?(bytes: [UInt8], offset: Int) {
        guard offset >= 0, bytes.count - offset >= 32 else { return nil }
        self.init(bytes, at: offset)
    }

    /// Builds from exactly 32 bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.init(bytes, at: 0)
    }

    /// Builds from exactly 32 bytes of a slice; `nil` for any other length.
    public init?(bytes: ArraySlice<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.init(Array(bytes), at: 0)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, initialized in
            store(into: UnsafeMutableRawBufferPointer(buffer), at: 0)
            initialized = 32
        }
    }

    /// Calls `body` with the 32 bytes, in memory that lives only for the call (no array made).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try Swift.withUnsafeBytes(of: &words) { try body($0) }
    }

    /// Appends the 32 bytes to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        withUnsafeBytes { buffer.append(contentsOf: $0) }
    }

    /// Stores the 32 bytes at `offset` of `raw`; the caller has checked that they fit.
    public func store(into raw: UnsafeMutableRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && raw.count - offset >= 32, "Bytes32 write out of bounds")
        raw.storeBytes(of: w0.bigEndian, toByteOffset: offset, as: UInt64.self)
        raw.storeBytes(of: w1.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
        raw.storeBytes(of: w2.bigEndian, toByteOffset: offset + 16, as: UInt64.self)
        raw.storeBytes(of: w3.bigEndian, toByteOffset: offset + 24, as: UInt64.self)
    }

    /// Lowercase hexadecimal, 64 characters.
    public var hex: String { Hex.encode(bytes) }

    /// Parses exactly 64 hexadecimal characters (either case).
    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes, at: 0)
    }

    /// Hashes the first word only. Every `Bytes32` is a BLAKE2b output or an Ed25519 public
    /// key, so 64 bits already tell values apart (making two that share them costs about 2^64
    /// work), and `Hasher`'s per-process seed still keeps bucket positions unpredictable.
    /// Equality compares all four words. One word instead of four is most of the cost of the
    /// id dictionaries and sets the index, graph and sync build.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(w0)
    }

    public static func < (a: Bytes32, b: Bytes32) -> Bool {
        if a.w0 != b.w0 { return a.w0 < b.w0 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        return a.w3 < b.w3
    }
}

/// Hexadecimal text.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of an even-length hex string; `nil` on any non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Whether every character of `text` is a hex digit.
    public static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { value($0) != nil }
    }

    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
