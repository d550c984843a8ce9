internal import CDeflate
internal import CZlib

/// Failures of compression and decompression.
public enum CompressionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stream is not valid zlib data (bad header, bad checksum, corrupt block).
    case corrupt(String)
    /// The stream ended before zlib's end marker.
    case truncated
    /// Decompressing would produce more than the caller's limit (a decompression bomb, or an oversized object).
    case tooLarge(limit: Int)
    /// Bytes follow the end of the zlib stream.
    case trailingData
    /// zlib itself failed (out of memory, bad parameters).
    case library(Int32)

    public var description: String {
        switch self {
        case let .corrupt(why): return "corrupt zlib stream (\(why))"
        case .truncated: return "zlib stream is truncated"
        case let .tooLarge(limit): return "decompressed data exceeds the limit of \(limit) bytes"
        case .trailingData: return "unexpected bytes after the end of the zlib stream"
        case let .library(code):
            return "zlib failed: \(zError(code).map { String(cString: $0) } ?? "unknown error") (\(code))"
        }
    }
}

/// A reusable zlib compressor.
///
/// Initialising a deflate stream costs far more than compressing a small
/// object (about 65 µs for `compress2` on a 300-byte object against about 3 µs
/// after `deflateReset`), so one `Deflater` is kept per writer and reset
/// between objects. Not thread-safe: use one per thread.
public final class Deflater {
    // zlib stores a back-pointer to the stream, so it must never move: heap-allocate it.
    private let stream: UnsafeMutablePointer<z_stream>
    private var ready = false

    /// Creates a compressor at `level` (0–9; 6 is zlib's default trade-off).
    ///
    /// `memoryLevel` (1–9, zlib's default 8) sizes the match-finding hash table,
    /// which `deflateReset` clears on every object: 64 KiB at level 8, 512 bytes
    /// at level 1. For objects of a few hundred bytes the small table finds the
    /// same matches, and clearing the large one would cost more than compressing.
    public init(level: Int32 = 6, memoryLevel: Int32 = 8) throws(CompressionError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = hg_deflateInit2(stream, level, memoryLevel)
        // Every stored property is set, so throwing runs `deinit`, which frees `stream`
        // (and skips the end call while `ready` is false); freeing it here too was a double free.
        guard rc == Z_OK else { throw .library(rc) }
        ready = true
    }

    deinit {
        if ready { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` into one complete zlib stream.
    public func compress(_ input: [UInt8]) throws(CompressionError) -> [UInt8] {
        let rcReset = deflateReset(stream)
        guard rcReset == Z_OK else { throw .library(rcReset) }
        let bound = Int(deflateBound(stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let rc: Int32 = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.pointee.avail_in = uInt(inBuf.count)
                stream.pointee.next_out = outBuf.baseAddress
                stream.pointee.avail_out = uInt(outBuf.count)
                return deflate(stream, Z_FINISH)
            }
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        guard rc == Z_STREAM_END else { throw .library(rc) }
        output.removeLast(Int(stream.pointee.avail_out))
        return output
    }
}

/// A reusable zlib decompressor that never produces more than a caller-given limit.
///
/// Output is grown in steps and the limit is checked before every growth, so a
/// tiny input claiming gigabytes (a decompression bomb) costs at most `limit`
/// bytes of memory. Not thread-safe: use one per thread.
///
/// A stream that fits a first buffer (the caller's size hint, or else four times the input's
/// size plus 64 bytes, zlib's own first guess without its 64 KiB cap) is inflated by libdeflate
/// in one call, three to five times as fast as zlib for small objects. Anything else (a
/// stream that needs more room, or any stream libdeflate refuses) goes through zlib as before,
/// which also names what is wrong with a bad one.
public final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var ready = false
    /// libdeflate's decompressor; nil if it could not be allocated (zlib then does everything).
    private let quick: OpaquePointer? = libdeflate_alloc_decompressor()

    public init() throws(CompressionError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = hg_inflateInit(stream)
        // Every stored property is set, so throwing runs `deinit`, which frees `stream`
        // (and skips the end call while `ready` is false); freeing it here too was a double free.
        guard rc == Z_OK else { throw .library(rc) }
        ready = true
    }

    deinit {
        if ready { inflateEnd(stream) }
        if let quick { libdeflate_free_decompressor(quick) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Decompresses exactly one zlib stream that must fill `input` completely.
    ///
    /// - Parameters:
    ///   - input: the compressed bytes.
    ///   - limit: the largest decompressed size accepted.
    ///   - sizeHint: the expected size, if known, to allocate once.
    public func decompress(_ input: [UInt8], limit: Int, sizeHint: Int = 0) throws(CompressionError) -> [UInt8] {
        if let output = quickDecompress(input, limit: limit, sizeHint: sizeHint) { return output }
        let rcReset = inflateReset(stream)
        guard rcReset == Z_OK else { throw .library(rcReset) }
        guard !input.isEmpty else { throw .truncated }
        var output: [UInt8] = []
        var capacity = min(limit, max(sizeHint, min(4 * input.count + 64, 1 << 16)))
        var produced = 0
        var result: Int32 = Z_OK
        try input.withUnsafeBufferPointer { (inBuf) throws(CompressionError) in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.pointee.avail_in = uInt(inBuf.count)
            while true {
                if produced == output.count {
                    if output.count >= limit {
                        // Full up to the limit: one more byte of output means the data is too large.
                        var probe: UInt8 = 0
                        let more = withUnsafeMutablePointer(to: &probe) { p -> Int32 in
                            stream.pointee.next_out = p
                            stream.pointee.avail_out = 1
                            return inflate(stream, Z_NO_FLUSH)
                        }
                        if stream.pointee.avail_out == 0 { throw .tooLarge(limit: limit) }
                        result = more
                        break
                    }
                    let newCount = output.isEmpty ? max(capacity, 1) : min(limit, max(output.count * 2, 1))
                    // One zero-filled allocation per doubling (a memset), not an element-wise append.
                    output += [UInt8](repeating: 0, count: newCount - output.count)
                    capacity = newCount
                }
                result = output.withUnsafeMutableBufferPointer { outBuf in
                    // `output` is never empty here (it was just grown), so it has storage.
                    stream.pointee.next_out = outBuf.baseAddress.map { $0 + produced }
                    stream.pointee.avail_out = uInt(outBuf.count - produced)
                    let rc = inflate(stream, Z_NO_FLUSH)
                    produced = outBuf.count - Int(stream.pointee.avail_out)
                    return rc
                }
                if result == Z_STREAM_END { break }
                if result == Z_BUF_ERROR && stream.pointee.avail_in == 0 { throw .truncated }
                if result != Z_OK && result != Z_BUF_ERROR {
                    break
                }
            }
        }
        let leftover = Int(stream.pointee.avail_in)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch result {
        case Z_STREAM_END:
            guard leftover == 0 else { throw .trailingData }
            // `removeLast` keeps the capacity, and the first guess above is up to 4× the input plus
            // 64 bytes (a doubling can leave as much again spare). Callers keep what they decode (an
            // operation keeps its encoding), so return storage sized to the content when the spare
            // part is worth a copy: 600 bytes of 900 for a typical operation.
            if output.count - produced > max(64, produced / 8) { return Array(output[0..<produced]) }
            output.removeLast(output.count - produced)
            return output
        case Z_DATA_ERROR, Z_NEED_DICT:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "data error"
            throw .corrupt(message)
        case Z_OK, Z_BUF_ERROR:
            throw .truncated
        default:
            throw .library(result)
        }
    }
}

extension Inflater {
    /// `decompress` by libdeflate into one buffer of `sizeHint` bytes (if given), else of four
    /// times the input's size plus 64 (room for a stored stream and for what text deflates
    /// to, so that a compressed object is not inflated twice): the whole stream, nothing after
    /// it, and at most `limit` bytes. `nil` when that is not the answer (no room, bad data,
    /// bytes after the stream): zlib decides.
    private func quickDecompress(_ input: [UInt8], limit: Int, sizeHint: Int) -> [UInt8]? {
        guard let quick, !input.isEmpty else { return nil }
        let capacity = min(limit, sizeHint > 0 ? sizeHint : 4 * input.count + 64)
        guard capacity > 0 else { return nil }
        var complete = false
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            var consumed = 0
            var produced = 0
            let rc = input.withUnsafeBytes { raw in
                libdeflate_zlib_decompress_ex(
                    quick, raw.baseAddress, raw.count, buffer.baseAddress, buffer.count,
                    &consumed, &produced)
            }
            complete = rc == LIBDEFLATE_SUCCESS && consumed == input.count
            count = complete ? produced : 0
        }
        guard complete else { return nil }
        // Callers keep what they decode: storage much larger than the content is given back.
        return capacity - output.count > max(64, output.count / 8) ? Array(output[0..<output.count]) : output
    }
}

/// CRC-32 (ISO 3309, as in zlib and gzip), used to detect torn index records.
public enum CRC32 {
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        checksum(bytes, range: 0..<bytes.count, seed: seed)
    }

    /// The checksum of `bytes[range]`, without copying the range out.
    public static func checksum(_ bytes: [UInt8], range: Range<Int>, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes {
            checksum(UnsafeRawBufferPointer(rebasing: $0[range.clamped(to: 0..<$0.count)]), seed: seed)
        }
    }

    /// The checksum of the bytes of `raw`, of any length. libdeflate's CRC-32 (the same function
    /// as zlib's `crc32_z`) folds with carry-less multiplication where the processor has it: about
    /// four times as fast here, and a sync checks the 1.9 MB graph file on both sides.
    public static func checksum(_ raw: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let start = raw.baseAddress, !raw.isEmpty else { return seed }
        return libdeflate_crc32(seed, start, raw.count)
    }
}
