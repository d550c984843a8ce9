import HGCompression
import HGCore

/// The zlib streams objects are stored as, chosen per object (FORMAT.md §5.2 lets a writer use
/// any level: readers only inflate).
///
/// Deflating a small object costs about 13 µs at level 1 — almost all of it zlib building
/// Huffman trees for one tiny block — against 0.5 µs for a stored (level 0) stream. What
/// level 1 saves depends on the content:
/// - an operation is mostly ids, keys and a signature, which do not compress: 4,000 received
///   objects (operations and 70-byte blobs) took 591,353 bytes at level 1 against 543,361
///   bytes uncompressed. Operations under `storedOperationBytes` are stored;
/// - text compresses even when short (level 1 keeps 68 % of 256-byte pieces of this
///   project's sources), so other objects are deflated unless under `storedObjectBytes`,
///   where the few bytes saved are not worth the time.
///
/// Stored streams come from libdeflate, which writes one in about 60 ns against zlib's 300 to
/// 600 (the same bytes: header, one stored block, Adler-32); a received batch of 2,000
/// operations stores 4,000 objects so.
///
/// One instance per thread: the streams are reused between objects.
final class ObjectCompressors {
    /// Operations below this size are stored uncompressed (in a stored zlib block).
    static let storedOperationBytes = 512
    /// Any object below this size is stored uncompressed.
    static let storedObjectBytes = 128
    /// Objects below this size use the small-table compressor.
    static let smallObjectBytes = 4096

    private let stored: BlockCompressor
    /// For objects under `smallObjectBytes`: a small hash table, cheap to reset.
    private let small: Deflater
    private let large: Deflater

    init() throws(CompressionError) {
        stored = try BlockCompressor(level: 0)
        small = try Deflater(level: ObjectStore.compressionLevel, memoryLevel: 1)
        large = try Deflater(level: ObjectStore.compressionLevel)
    }

    /// The zlib stream of one canonical encoding.
    func compress(_ encoding: [UInt8]) throws(CompressionError) -> [UInt8] {
        let isOperation = encoding.first == ObjectType.operation.rawValue
        if encoding.count < Self.storedObjectBytes || (isOperation && encoding.count < Self.storedOperationBytes) {
            return try stored.compress(encoding)
        }
        return try (encoding.count < Self.smallObjectBytes ? small : large).compress(encoding)
    }
}
