/// Ids stored back to back, 32 bytes each, inside a buffer read from disk, read as they are
/// iterated: a caller that only passes them on makes no array of them, and no reference count
/// changes hands per record.
///
/// It points into memory it does not own: it is valid only while that buffer is (a record
/// visitor's call, or a `withUnsafeBytes` block).
public struct PackedIDs: RandomAccessCollection {
    private let raw: UnsafeRawBufferPointer
    public let count: Int

    /// The `count` ids at the start of `raw`; `nil` unless they are all there.
    public init?(_ raw: UnsafeRawBufferPointer, count: Int) {
        guard count >= 0, count <= raw.count / 32 else { return nil }
        self.raw = raw
        self.count = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> ObjectID {
        precondition(position >= 0 && position < count, "PackedIDs index out of range")
        return ObjectID(raw: Bytes32(raw, at: 32 * position))
    }
}
