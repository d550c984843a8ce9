/// Hard limits of format version 1. Decoders check them before allocating;
/// writers refuse to produce anything larger. FORMAT.md lists the same numbers.
public enum Limits {
    /// Largest file content a blob may hold: 64 MiB.
    public static let maxBlobContent = 64 << 20
    /// Largest canonical encoding of an operation: 16 MiB.
    public static let maxOperationBytes = 16 << 20
    /// Largest canonical encoding of any object (a blob with its 2-byte header).
    public static let maxObjectBytes = maxBlobContent + 2
    /// Most parents one operation may name.
    public static let maxParents = 1024
    /// Largest commit message, in bytes of UTF-8.
    public static let maxMessageBytes = 64 << 10
    /// Most path entries in one change operation.
    public static let maxChangeEntries = 1 << 18
    /// Longest path, in bytes of UTF-8.
    public static let maxPathBytes = 4096
    /// Longest single path component, in bytes of UTF-8.
    public static let maxPathComponentBytes = 255
    /// Largest body of an operation kind this version does not interpret.
    public static let maxExtensionBody = maxOperationBytes
    /// Largest admin quorum a genesis operation may set.
    public static let maxAdminQuorum = 255
}
