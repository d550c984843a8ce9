/// The first byte of every object's canonical encoding.
public enum ObjectType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// File content.
    case blob = 0x01
    /// A signed operation.
    case operation = 0x02

    public var description: String {
        switch self {
        case .blob: return "blob"
        case .operation: return "operation"
        }
    }
}

/// The format version byte that follows the type byte.
public enum FormatVersion {
    public static let current: UInt8 = 1
}
