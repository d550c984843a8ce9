/// Any stored object, decoded.
public enum StoredObject: Sendable {
    case blob(Blob)
    case operation(Operation)

    /// The object's type.
    public var type: ObjectType {
        switch self {
        case .blob: return .blob
        case .operation: return .operation
        }
    }

    /// Strictly decodes any object by its type byte.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> StoredObject {
        guard let first = bytes.first else { throw .truncated(field: "type") }
        switch ObjectType(rawValue: first) {
        case .blob: return .blob(try Blob.decode(bytes))
        case .operation: return .operation(try Operation.decode(bytes))
        case nil: throw .unknownType(first)
        }
    }
}
