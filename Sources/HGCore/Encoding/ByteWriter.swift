/// Appends the canonical encoding's primitives to a growing byte buffer.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// One raw byte.
    public mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    /// Raw bytes, no length prefix.
    public mutating func raw(_ value: [UInt8]) {
        bytes.append(contentsOf: value)
    }

    /// Raw bytes from a slice, no length prefix.
    public mutating func raw(_ value: ArraySlice<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// An unsigned LEB128 varint in its minimal form: 7 bits per byte, least
    /// significant group first, high bit set on every byte but the last.
    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A varint length followed by that many bytes.
    public mutating func lengthPrefixed(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A 32-byte identifier.
    public mutating func id(_ value: Bytes32) {
        value.append(to: &bytes)
    }
}
