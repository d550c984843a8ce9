/// Why a byte string was rejected by a strict decoder.
///
/// Every case names the field, so an error on a tampered object says where it broke.
public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended inside `field`.
    case truncated(field: String)
    /// Bytes remain after the last field.
    case trailingBytes(count: Int)
    /// A varint used more bytes than its value needs.
    case nonMinimalInteger(field: String)
    /// A varint does not fit in 64 bits.
    case integerOverflow(field: String)
    /// The object's type byte is not one this version knows.
    case unknownType(UInt8)
    /// The format version byte is not one this version reads.
    case unknownVersion(UInt8)
    /// The operation kind is in the critical range (0x00–0x7F) but not defined.
    case unknownKind(UInt8)
    /// A length or count is over its limit.
    case tooLarge(field: String, limit: Int)
    /// Parents are not in strictly ascending order.
    case unsortedParents
    /// The same parent appears twice.
    case duplicateParent
    /// Change entries are not in strictly ascending path order, or repeat a path.
    case unsortedPaths
    /// A path breaks the path rules of FORMAT.md.
    case invalidPath(String)
    /// A text field is not valid UTF-8.
    case invalidUTF8(field: String)
    /// A field holds a value the format forbids.
    case invalidValue(field: String, reason: String)

    public var description: String {
        switch self {
        case let .truncated(field): return "truncated in \(field)"
        case let .trailingBytes(count): return "\(count) unexpected trailing byte(s)"
        case let .nonMinimalInteger(field): return "non-minimal integer encoding in \(field)"
        case let .integerOverflow(field): return "integer overflow in \(field)"
        case let .unknownType(type): return "unknown object type 0x\(hex2(type))"
        case let .unknownVersion(version): return "unknown format version \(version)"
        case let .unknownKind(kind): return "unknown operation kind 0x\(hex2(kind))"
        case let .tooLarge(field, limit): return "\(field) exceeds the limit of \(limit)"
        case .unsortedParents: return "parents are not sorted"
        case .duplicateParent: return "duplicate parent"
        case .unsortedPaths: return "change entries are not sorted by path or repeat a path"
        case let .invalidPath(reason): return "invalid path: \(reason)"
        case let .invalidUTF8(field): return "\(field) is not valid UTF-8"
        case let .invalidValue(field, reason): return "invalid \(field): \(reason)"
        }
    }
}

@inline(__always)
func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
}
