import HGCore
import HGCrypto
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Pack files: many objects in one file, written once per batch so that a
/// batch of 10^5 operations costs one fsync rather than 10^5 (FORMAT.md §5.5.1).
///
/// `objects/pack/pack-<h>.pack`: the 16-byte header `hg-bft pack v1\n\0`,
/// then per object a varint length and that many bytes of zlib stream, then a
/// 32-byte BLAKE2b-256 of everything before it (`h` is its hex).
/// `objects/pack/pack-<h>.idx`: the 16-byte header `hg-bft packidx1\n`, a
/// u32 little-endian count, then per object (ascending by id) the 32-byte id
/// and the u64 little-endian offset of its entry in the pack, then the pack's
/// 32-byte trailer hash, then a BLAKE2b-256 of everything before it.
/// A pack counts only once its index exists; the index is written last.
public enum PackFormat {
    public static let packHeader: [UInt8] = Array("hg-bft pack v1\n".utf8) + [0]
    public static let indexHeader: [UInt8] = Array("hg-bft packidx1\n".utf8)
    /// Largest pack index read (8 million objects).
    public static let maxIndexBytes = 16 + 4 + (1 << 23) * 40 + 64
}

/// One pack and its index, opened for reading. Immutable once opened, and reads are `pread`s
/// at explicit offsets, so one instance can serve readers on many threads (verify's workers
/// share one copy of the indexes instead of each loading its own).
///
/// Opening checks the index's header and length only; lookups search its bytes as they are.
/// Hashing and decoding every entry on each open was a few milliseconds per 10^4 objects on
/// every command that reads an object, and it protects nothing that reading does not: each
/// object read is checked against its id, so a damaged index can hide an object but never
/// substitute another. `checkIndex` (which `verify` runs) checks the checksum and the order.
public final class Pack: Sendable {
    public let packPath: String
    public let indexPath: String
    /// The index file, mapped: header, count, `count` entries of id and offset, trailer, checksum.
    private let indexFile: MappedFile
    private var index: UnsafeRawBufferPointer { indexFile.bytes }
    /// Number of objects.
    public let count: Int
    private let fd: Int32
    private let size: Int

    /// Where the entries start in the index.
    private static let entriesStart = PackFormat.indexHeader.count + 4

    /// Opens a pack by its index.
    public init(indexPath: String) throws(StoreError) {
        self.indexPath = indexPath
        packPath = String(indexPath.dropLast(4)) + ".pack"
        let file = try MappedFile(indexPath, limit: PackFormat.maxIndexBytes)
        let bytes = file.bytes
        let header = PackFormat.indexHeader
        guard bytes.count >= header.count + 4 + 64, bytes.starts(with: header) else {
            throw .badFile(path: indexPath, reason: "not an hg-bft pack index")
        }
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: header.count, as: UInt32.self)))
        guard bytes.count == header.count + 4 + count * 40 + 64 else {
            throw .badFile(path: indexPath, reason: "pack index length does not match its count")
        }
        indexFile = file
        self.count = count
        (fd, size) = try FileSystem.openRegularFile(packPath)
    }

    deinit { close(fd) }

    /// The id of the entry at `position` in `0..<count` (the length was checked at open; the
    /// all-zero id, which no object has, for a position outside it).
    public func id(at position: Int) -> ObjectID {
        guard position >= 0 && position < count else { return ObjectID(raw: .zero) }
        return ObjectID(raw: Bytes32(index, at: Self.entriesStart + position * 40))
    }

    /// The pack offset recorded for the entry at `position`.
    private func offset(at position: Int) -> UInt64 {
        // 0 for a position outside the index, which `entryOffset` refuses like any bad offset.
        guard position >= 0 && position < count else { return 0 }
        return UInt64(
            littleEndian: index.loadUnaligned(fromByteOffset: Self.entriesStart + position * 40 + 32, as: UInt64.self))
    }

    /// Every id, in index order (ascending in an undamaged index).
    public var ids: [ObjectID] { (0..<count).map(id(at:)) }

    /// The pack's trailer hash, as recorded in the index.
    public var checksum: [UInt8] {
        let at = Self.entriesStart + count * 40
        return Array(UnsafeRawBufferPointer(rebasing: index[at..<(at + 32)]))
    }

    /// Checks the index's own checksum and that its ids are strictly ascending (for `verify`).
    public func checkIndex() throws(StoreError) {
        let body = index.count - 32
        guard
            Blake2b.hash256(raw: UnsafeRawBufferPointer(rebasing: index[0..<body]))
                == Array(UnsafeRawBufferPointer(rebasing: index[body...]))
        else {
            throw .badFile(path: indexPath, reason: "pack index checksum does not match")
        }
        var previous: ObjectID?
        for position in 0..<count {
            let id = id(at: position)
            if let previous, !(previous < id) {
                throw .badFile(path: indexPath, reason: "pack index ids are not sorted")
            }
            previous = id
        }
    }

    /// The position of `id`, by binary search (which a damaged, unsorted index can only make
    /// miss; `checkIndex` reports that).
    public func position(of id: ObjectID) -> Int? {
        var low = 0
        var high = count - 1
        while low <= high {
            let mid = (low + high) / 2
            let found = self.id(at: mid)
            if found == id { return mid }
            if found < id { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// The compressed bytes of the object at `position`.
    public func compressed(at position: Int) throws(StoreError) -> [UInt8] {
        let offset = try entryOffset(at: position)
        // One read for the usual entry: its length and, for an object of a few hundred bytes, all
        // of it; a larger one takes a second read for the rest.
        let head = try readAt(offset, count: min(Pack.firstRead, size - 32 - offset))
        return try entry(at: offset, in: head, from: offset)
    }

    /// The compressed bytes of the objects at `positions`, in that order, read together: entries
    /// close to each other in the pack (within `spanGap` bytes) come from one read of at most
    /// about `maxSpan` bytes instead of one read each. A sync's sender reads thousands of
    /// entries that one batch wrote one after another.
    public func compressed(at positions: [Int]) throws(StoreError) -> [[UInt8]] {
        try compressed(at: positions, budget: .max).map { $0 ?? [] }
    }

    /// `compressed(at:)` that stops once it has read more than `budget` bytes (spans and entries
    /// together): the entries it did not reach are `nil`, for the caller to read later. At least
    /// one entry is read, and the most held is about `budget` plus one span and one entry.
    public func compressed(at positions: [Int], budget: Int) throws(StoreError) -> [[UInt8]?] {
        var offsets: [Int] = []
        offsets.reserveCapacity(positions.count)
        for position in positions { offsets.append(try entryOffset(at: position)) }
        let order = offsets.indices.sorted { offsets[$0] < offsets[$1] }
        var results = [[UInt8]?](repeating: nil, count: positions.count)
        var spent = 0
        var readAny = false
        var i = 0
        while i < order.count && (!readAny || spent <= budget) {
            let first = offsets[order[i]]
            var j = i + 1
            while j < order.count, offsets[order[j]] - offsets[order[j - 1]] <= Pack.spanGap,
                offsets[order[j]] - first <= Pack.maxSpan
            {
                j += 1
            }
            let span = try readAt(first, count: min(offsets[order[j - 1]] + Pack.firstRead, size - 32) - first)
            spent += span.count
            for k in i..<j {
                if readAny && spent > budget { break }
                let entry = try entry(at: offsets[order[k]], in: span, from: first)
                // Only what was read past the span counts again.
                spent += max(0, entry.count - span.count)
                results[order[k]] = entry
                readAny = true
            }
            i = j
        }
        return results
    }

    /// Bytes of an entry read at once (its length prefix and, usually, the whole object).
    static let firstRead = 1024
    /// Largest distance between two entries `compressed(at:)` reads together, and about the
    /// most it reads at once.
    static let spanGap = 16 << 10
    static let maxSpan = 1 << 20

    /// The pack offset of the entry at `position`, checked to lie within the pack's entries.
    private func entryOffset(at position: Int) throws(StoreError) -> Int {
        let offset = Int(clamping: offset(at: position))
        guard offset >= PackFormat.packHeader.count, offset < size - 32 else {
            throw .badFile(path: packPath, reason: "entry offset \(offset) is outside the pack")
        }
        return offset
    }

    /// The entry at pack offset `offset`, from `span` (pack bytes starting at `spanStart`, which
    /// must hold `offset`): its length prefix, then that many bytes, read from the pack for
    /// whatever part lies past the span.
    private func entry(at offset: Int, in span: [UInt8], from spanStart: Int) throws(StoreError) -> [UInt8] {
        var reader = ByteReader(span, window: (offset - spanStart)..<span.count)
        let length: Int
        do {
            length = try reader.count("entry length", limit: ObjectStore.maxFileBytes)
        } catch {
            throw .badFile(path: packPath, reason: "entry at \(offset): \(error)")
        }
        let start = reader.offset
        guard length <= size - 32 - spanStart - start else {
            throw .badFile(path: packPath, reason: "entry at \(offset) runs past the end")
        }
        if start + length <= span.count { return Array(span[start..<(start + length)]) }
        var entry = Array(span[start...])
        entry.reserveCapacity(length)
        entry += try readAt(spanStart + span.count, count: start + length - span.count)
        return entry
    }

    private func readAt(_ offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try FileReads.read(fd, count: count, at: offset)
        } catch {
            throw .io(path: packPath, operation: "read", errno: error.code)
        }
        guard bytes.count == count else { throw .badFile(path: packPath, reason: "truncated") }
        return bytes
    }

    /// Checks the pack's trailer against its content and the index (for `verify`). Reads the
    /// pack in chunks, so a pack of any size costs `trailerChunk` bytes of memory.
    public func verifyTrailer() throws(StoreError) {
        // The pack as it is on disk now (the size recorded at open may be stale).
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: packPath, operation: "stat", errno: errno) }
        let total = Int(st.st_size)
        guard total >= PackFormat.packHeader.count + 32,
            try readAt(0, count: PackFormat.packHeader.count) == PackFormat.packHeader
        else {
            throw .badFile(path: packPath, reason: "not an hg-bft pack")
        }
        let hasher = Blake2bHasher()
        var at = 0
        while at < total - 32 {
            hasher.update(try readAt(at, count: min(Pack.trailerChunk, total - 32 - at)))
            at += Pack.trailerChunk
        }
        let trailer = try readAt(total - 32, count: 32)
        guard hasher.finalize() == trailer else {
            throw .badFile(path: packPath, reason: "pack checksum does not match its content")
        }
        guard trailer == checksum else { throw .badFile(path: packPath, reason: "pack does not match its index") }
    }

    /// Bytes hashed at a time by `verifyTrailer`.
    static let trailerChunk = 1 << 20
}

/// Builds one pack from a batch of canonical encodings.
public struct PackWriter {
    private var body: [UInt8] = PackFormat.packHeader
    private var entries: [(ObjectID, UInt64)] = []
    private var seen = Set<ObjectID>()

    public init() {}

    /// A writer for about `objects` entries of about `bytes` bytes in all (compressed objects
    /// and their lengths), reserved at once rather than grown (and copied, and rehashed) as
    /// they come.
    public init(reservingBytes bytes: Int, objects: Int = 0) {
        body.reserveCapacity(PackFormat.packHeader.count + max(0, bytes) + 32)
        entries.reserveCapacity(max(0, objects))
        seen.reserveCapacity(max(0, objects))
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Adds an object already compressed (once per id); the caller vouches that
    /// `compressed` inflates to an encoding whose id is `id`.
    public mutating func add(id: ObjectID, compressed: [UInt8]) {
        guard seen.insert(id).inserted else { return }
        entries.append((id, UInt64(body.count)))
        var length = UInt64(compressed.count)  // a varint, written in place
        while length >= 0x80 {
            body.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        body.append(UInt8(length))
        body += compressed
    }

    /// Writes the pack and then its index into `directory`, durably. The trailer is appended to
    /// the pack in place (a pack is megabytes), so the writer is spent afterwards.
    public mutating func write(to directory: String) throws(StoreError) -> String {
        let trailer = Blake2b.hash256(body)
        let name = directory + "/pack-" + Hex.encode(trailer)
        var index = PackFormat.indexHeader
        index.reserveCapacity(PackFormat.indexHeader.count + 4 + entries.count * 40 + 64)
        appendLE32(UInt32(entries.count), to: &index)
        for (id, offset) in entries.sorted(by: { $0.0 < $1.0 }) {
            id.raw.append(to: &index)
            appendLE64(offset, to: &index)
        }
        index += trailer
        index += Blake2b.hash256(index)
        body += trailer
        try FileSystem.makeDirectory(directory)
        try FileSystem.writeAtomically(name + ".pack", body, mode: 0o444, durable: true)
        try FileSystem.writeAtomically(name + ".idx", index, mode: 0o444, durable: true)
        return name + ".idx"
    }
}

func appendLE64(_ value: UInt64, to out: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
}

func readLE64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in (0..<8).reversed() { v = (v << 8) | UInt64(bytes[offset + i]) }
    return v
}
