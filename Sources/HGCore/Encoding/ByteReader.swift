/// Reads the canonical encoding's primitives with bounds checks on every step.
///
/// Nothing is allocated from a length field before that length has been
/// checked against both a caller-given limit and the bytes actually present.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    /// Offset of the next unread byte.
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
    }

    /// Reads only `window` of `bytes` (offsets stay those of `bytes`), so that a record inside
    /// a larger buffer is decoded without copying it out first.
    public init(_ bytes: [UInt8], window: Range<Int>) {
        self.bytes = bytes
        offset = max(0, min(window.lowerBound, bytes.count))
        end = max(offset, min(window.upperBound, bytes.count))
    }

    /// Bytes not read yet.
    public var remaining: Int { end - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == end }

    /// One byte.
    public mutating func byte(_ field: String) throws(DecodeError) -> UInt8 {
        guard offset < end else { throw .truncated(field: field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Exactly `count` raw bytes.
    public mutating func raw(_ count: Int, _ field: String) throws(DecodeError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated(field: field) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A 32-byte identifier.
    public mutating func id(_ field: String) throws(DecodeError) -> Bytes32 {
        guard remaining >= 32 else { throw .truncated(field: field) }
        defer { offset += 32 }
        return Bytes32(bytes, at: offset)
    }

    /// A minimal unsigned LEB128 varint of at most 64 bits.
    ///
    /// Rejects encodings with a redundant final zero group (for example
    /// `0x80 0x00` for 0) and values that overflow 64 bits, so that each
    /// number has exactly one accepted encoding.
    public mutating func varint(_ field: String) throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = 0
        while true {
            guard offset < end else { throw .truncated(field: field) }
            let b = bytes[offset]
            offset += 1
            let group = UInt64(b & 0x7f)
            if shift == 63 && group > 1 { throw .integerOverflow(field: field) }
            result |= group << shift
            if b & 0x80 == 0 {
                if b == 0 && index > 0 { throw .nonMinimalInteger(field: field) }
                return result
            }
            shift += 7
            index += 1
            if shift > 63 { throw .integerOverflow(field: field) }
        }
    }

    /// A varint that must be at most `limit`, returned as `Int`.
    public mutating func count(_ field: String, limit: Int) throws(DecodeError) -> Int {
        let value = try varint(field)
        guard value <= UInt64(limit) else { throw .tooLarge(field: field, limit: limit) }
        return Int(value)
    }

    /// A varint length (at most `limit`) followed by that many bytes.
    public mutating func lengthPrefixed(_ field: String, limit: Int) throws(DecodeError) -> [UInt8] {
        let length = try count(field, limit: limit)
        return try raw(length, field)
    }

    /// A varint length (at most `limit`) followed by that many bytes of UTF-8 text, decoded
    /// in place. ASCII, the common case, needs no validation beyond the high bit; anything
    /// else must be valid UTF-8.
    public mutating func text(_ field: String, limit: Int) throws(DecodeError) -> String {
        let range = try textRange(field, limit: limit)
        // Checked just now, so decoding repairs nothing.
        return bytes.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self)
        }
    }

    /// Where the next `count` bytes are, skipping them (for a caller that reads them in place).
    public mutating func skip(_ count: Int, _ field: String) throws(DecodeError) -> Range<Int> {
        guard count >= 0, count <= remaining else { throw .truncated(field: field) }
        defer { offset += count }
        return offset..<(offset + count)
    }

    /// Like `text`, but returns where the checked UTF-8 is instead of a `String`, so that a
    /// caller that only keeps the bytes makes no string. ASCII, the common case, needs no
    /// validation beyond the high bit; anything else must be valid UTF-8.
    public mutating func textRange(_ field: String, limit: Int) throws(DecodeError) -> Range<Int> {
        let length = try count(field, limit: limit)
        let range = try skip(length, field)
        let valid = bytes.withUnsafeBufferPointer { all in
            let window = UnsafeBufferPointer(rebasing: all[range])
            return window.allSatisfy { $0 < 0x80 } || String(validating: window, as: UTF8.self) != nil
        }
        guard valid else { throw .invalidUTF8(field: field) }
        return range
    }

    /// Fails unless every byte has been consumed.
    public func expectEnd() throws(DecodeError) {
        guard isAtEnd else { throw .trailingBytes(count: remaining) }
    }
}
