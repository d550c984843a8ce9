import HGCompression
import HGCore

#if canImport(Glibc)
import Glibc
#endif

/// The operation index: an append-only file with one checksummed record per
/// operation in the DAG, in the order they were added (parents always first).
///
/// It is the store's list of which operations belong to the repository: an
/// operation object on disk that is not in the index is garbage left by a
/// crash. Every other cache (heads, peer refs, the state) is derived from it
/// and stamped with the record count it reflects. It can be rebuilt from the
/// objects reachable from the heads (`hg-bft reindex`).
///
/// File: the 16-byte header `hg-bft index v1\n`, then records, each a u32
/// little-endian payload length, the payload, and a u32 little-endian CRC-32
/// of the length field and the payload. A record cut short by a crash at the end of the file is a
/// torn tail: readers ignore it and the next writer truncates it. A record of
/// full length whose checksum fails is damage, wherever it is.
public enum OperationIndex {
    public static let header: [UInt8] = Array("hg-bft index v1\n".utf8)
    /// Largest record payload accepted.
    public static let maxRecordBytes = 1 << 20
    /// Largest index file read.
    public static let maxFileBytes = 1 << 34

    /// What reading the index found.
    public struct Contents: Sendable {
        /// The records, in file order.
        public var entries: [OperationSummary]
        /// Byte length of the valid prefix of the file.
        public var validLength: Int
        /// Whether the file had a torn final record after `validLength`.
        public var tornTail: Bool
    }

    /// Encodes one record (length, payload, checksum).
    public static func record(_ s: OperationSummary) -> [UInt8] {
        var w = ByteWriter(capacity: 96 + s.parents.count * 32 + s.message.utf8.count)
        w.id(s.id.raw)
        w.id(s.author.key)
        w.varint(s.sequence)
        w.varint(s.timestamp)
        w.byte(s.kind)
        w.varint(UInt64(s.parents.count))
        for p in s.parents { w.id(p.raw) }
        w.varint(UInt64(s.entryCount))
        w.lengthPrefixed(Array(s.message.utf8))
        let payload = w.bytes
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        appendLE32(UInt32(payload.count), to: &out)
        out += payload
        appendLE32(CRC32.checksum(out), to: &out)
        return out
    }

    /// One record's fields, decoded in place: the parent ids and the message stay in the
    /// buffer read from the file until a caller takes them, so that building the DAG from the
    /// index makes no array or string per record. The two point into that buffer, and are
    /// valid only during the `visit` call that hands the record over.
    public struct Record {
        public let id: ObjectID
        public let author: PeerID
        public let sequence: UInt64
        public let timestamp: UInt64
        public let kind: UInt8
        public let entryCount: Int
        /// The parent ids, read from the buffer as they are iterated.
        public let parents: PackedIDs
        /// The message's UTF-8 bytes (checked), in the buffer.
        public let message: UnsafeBufferPointer<UInt8>
        /// The byte offset in the file just after the record.
        public internal(set) var end = 0

        /// The summary the record describes.
        public var summary: OperationSummary {
            OperationSummary(
                id: id, author: author, sequence: sequence, timestamp: timestamp, kind: kind,
                parents: Array(parents), entryCount: entryCount, message: String(decoding: message, as: UTF8.self))
        }
    }

    /// Decodes the record payload at `payload` of `bytes`, which `buffer` points to.
    static func decode(
        _ bytes: [UInt8], _ buffer: UnsafeBufferPointer<UInt8>, payload: Range<Int>
    ) throws(DecodeError) -> Record {
        var r = ByteReader(bytes, window: payload)
        let id = ObjectID(raw: try r.id("id"))
        let author = PeerID(key: try r.id("author"))
        let sequence = try r.varint("sequence")
        let timestamp = try r.varint("timestamp")
        let kind = try r.byte("kind")
        let parentCount = try r.count("parent count", limit: Limits.maxParents)
        let parentBytes = try r.skip(parentCount * 32, "parents")
        guard
            let parents = PackedIDs(
                UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[parentBytes])),
                count: parentCount)
        else {
            throw .truncated(field: "parents")
        }
        let entryCount = try r.count("entry count", limit: Limits.maxChangeEntries)
        let message = try r.textRange("message", limit: Limits.maxMessageBytes)
        try r.expectEnd()
        return Record(
            id: id, author: author, sequence: sequence, timestamp: timestamp, kind: kind, entryCount: entryCount,
            parents: parents,
            message: UnsafeBufferPointer(rebasing: buffer[message]))
    }

    /// Reads the whole index. A missing file reads as empty.
    ///
    /// A checksum or format error before the last record is corruption and
    /// throws; a short or bad final record is reported as a torn tail.
    public static func read(_ path: String) throws(StoreError) -> Contents {
        let (contents, damage) = try scan(path)
        if let first = damage.first { throw .badFile(path: path, reason: first) }
        return contents
    }

    /// Reads the index as `read` does, handing each record to `visit` in file order instead of
    /// collecting summaries; `visit` returns false to stop early. The contents returned have
    /// no entries.
    public static func visit(
        _ path: String, reserving: (Int) -> Void = { _ in },
        _ visit: (Record) -> Bool
    ) throws(StoreError) -> Contents {
        try stoppingAtDamage(path, visit) { body throws(StoreError) in try walk(path, reserving: reserving, body) }
    }

    /// Runs `walk` with a body that hands each record to `visit` and stops at the first damage,
    /// which it then throws.
    private static func stoppingAtDamage(
        _ path: String, _ visit: (Record) -> Bool,
        _ walk: ((Record?, String?) -> Bool) throws(StoreError) -> Contents
    ) throws(StoreError) -> Contents {
        var damage: String?
        // `visit` is only called during `walk`, never kept.
        let contents = try withoutActuallyEscaping(visit) { visit throws(StoreError) in
            try walk { record, problem in
                if let problem {
                    damage = problem
                    return false
                }
                return record.map(visit) ?? true
            }
        }
        if let damage { throw .badFile(path: path, reason: damage) }
        return contents
    }

    /// Reads the records from byte `offset` on as `visit` does, for a reader that already holds
    /// those before it (the graph file, FORMAT.md 5.9.2). `nil`, having visited nothing, unless
    /// the file reaches `offset` and the 4 bytes before it are `lastChecksum`, the CRC field of
    /// the last record the reader holds: an index rewritten since (by `reindex`) is then read in
    /// full instead. The contents' valid length counts from the start of the file.
    public static func visit(
        _ path: String, from offset: Int, lastChecksum: UInt32,
        _ visit: (Record) -> Bool
    ) throws(StoreError) -> Contents? {
        guard offset >= header.count + 8,
            let bytes = try FileSystem.readIfExists(path, from: offset - 4, limit: maxFileBytes),
            bytes.count >= 4, readLE32(bytes, 0) == lastChecksum
        else { return nil }
        return try stoppingAtDamage(path, visit) { body in
            bytes.withUnsafeBufferPointer { buffer in walk(bytes, buffer, from: 4, base: offset - 4, body) }
        }
    }

    /// The CRC field of the record that ends at byte `end` (the 4 bytes before it): what a graph
    /// file made from the records before `end` records. `nil` if the file does not reach `end`.
    public static func checksum(endingAt end: Int, in path: String) -> UInt32? {
        guard end >= header.count + 8, let bytes = FileSystem.read(path, at: end - 4, count: 4), bytes.count == 4 else {
            return nil
        }
        return readLE32(bytes, 0)
    }

    /// Reads as much of the index as can be read, for `verify`: records that
    /// fail their checksum or do not decode are skipped and described in
    /// `damage` instead of stopping the read, as long as their length field
    /// still leads to the next record.
    public static func scan(_ path: String) throws(StoreError) -> (contents: Contents, damage: [String]) {
        var damage: [String] = []
        var entries: [OperationSummary] = []
        var contents = try walk(path, reserving: { entries.reserveCapacity($0) }) { record, problem in
            if let problem { damage.append(problem) }
            if let record { entries.append(record.summary) }
            return true
        }
        contents.entries = entries
        return (contents, damage)
    }

    /// The loop under `read`, `visit` and `scan`: reads the file, then hands `body` each record
    /// that passes its checksum and decodes, or a description of one that does not (damage);
    /// `body` returns false to stop. `reserving` learns an estimate of the record count first.
    private static func walk(
        _ path: String, reserving: (Int) -> Void,
        _ body: (Record?, String?) -> Bool
    ) throws(StoreError) -> Contents {
        let empty = Contents(entries: [], validLength: 0, tornTail: false)
        guard let bytes = try FileSystem.readIfExists(path, limit: maxFileBytes), !bytes.isEmpty else { return empty }
        guard bytes.count >= header.count, Array(bytes[0..<header.count]) == header else {
            // A header cut short by a crash during creation is a torn (empty) index.
            if bytes.count < header.count, header.starts(with: bytes) {
                return Contents(entries: [], validLength: 0, tornTail: true)
            }
            _ = body(nil, "not an hg-bft index (bad header)")
            return empty
        }
        reserving(bytes.count / 110)  // a one-parent record is about 110 bytes
        return bytes.withUnsafeBufferPointer { buffer in walk(bytes, buffer, from: header.count, base: 0, body) }
    }

    /// The records of `bytes`, which `buffer` points to, from `start` (a record boundary) on;
    /// `bytes` begins at byte `base` of the file, which the offsets reported count from.
    private static func walk(
        _ bytes: [UInt8], _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, base: Int,
        _ body: (Record?, String?) -> Bool
    ) -> Contents {
        var offset = start
        while offset < bytes.count {
            let recordStart = base + offset
            guard bytes.count - offset >= 4 else {
                return Contents(entries: [], validLength: recordStart, tornTail: true)
            }
            let length = Int(readLE32(bytes, offset))
            guard length <= maxRecordBytes else {
                _ = body(
                    nil, "record at byte \(recordStart) claims \(length) bytes; the rest of the file cannot be read")
                return Contents(entries: [], validLength: recordStart, tornTail: false)
            }
            guard bytes.count - offset - 4 >= length + 4 else {
                return Contents(entries: [], validLength: recordStart, tornTail: true)
            }
            // Checked and decoded in place: two copies per record were a third of reading the index.
            let payload = (offset + 4)..<(offset + 4 + length)
            let storedCRC = readLE32(bytes, offset + 4 + length)
            let checked = CRC32.checksum(bytes, range: offset..<(offset + 4 + length))
            offset += 8 + length
            let proceed: Bool
            if checked != storedCRC {
                // A complete record with a bad checksum is damage, not a torn write:
                // an interrupted append leaves a record that is short, never one of full length.
                proceed = body(nil, "record at byte \(recordStart) fails its checksum")
            } else {
                do {
                    var record = try decode(bytes, buffer, payload: payload)
                    record.end = base + offset
                    proceed = body(record, nil)
                } catch {
                    proceed = body(nil, "record at byte \(recordStart): \(error)")
                }
            }
            guard proceed else { return Contents(entries: [], validLength: base + offset, tornTail: false) }
        }
        return Contents(entries: [], validLength: base + offset, tornTail: false)
    }

    /// Appends records durably. The caller holds the repository lock and passes the
    /// valid length it read, so a torn tail is cut off before anything is appended.
    public static func append(_ path: String, _ summaries: [OperationSummary], validLength: Int) throws(StoreError) {
        try append(path, Appendix(summaries, validLength: validLength))
    }

    /// Writes what `appendix` holds at its start (cutting off anything after it) and fsyncs.
    public static func append(_ path: String, _ appendix: Appendix) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(appendix.start)) == 0 else {
            throw .io(path: path, operation: "truncate", errno: errno)
        }
        guard lseek(fd, off_t(appendix.start), SEEK_SET) >= 0 else {
            throw .io(path: path, operation: "seek", errno: errno)
        }
        try FileSystem.writeAll(fd, appendix.bytes, path: path)
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
    }

    /// The bytes `append` writes for some summaries, encoded before the write: a receiver learns
    /// the index's length and last checksum after the append while it still waits for
    /// signatures (to prepare the graph file that will describe it).
    public struct Appendix: Sendable {
        /// Where the bytes go: the valid length, or 0 when the index is new (or shorter than
        /// its header) and the bytes start with the header.
        public let start: Int
        public let bytes: [UInt8]

        public init(_ summaries: [OperationSummary], validLength: Int) {
            var bytes: [UInt8] = []
            var start = validLength
            if validLength < header.count {
                start = 0
                bytes = header
            }
            for s in summaries { bytes += record(s) }
            self.start = start
            self.bytes = bytes
        }

        /// The index's length once appended.
        public var end: Int { start + bytes.count }

        /// The checksum field of the last record once appended (what `checksum(endingAt:)` will
        /// read there), or `nil` when no record is added.
        public var lastRecordChecksum: UInt32? {
            // A record follows the header (when written) exactly when there are bytes past it.
            guard bytes.count > (start == 0 ? header.count : 0) else { return nil }
            return readLE32(bytes, bytes.count - 4)
        }
    }

    /// Replaces the whole index with `summaries` (used by `reindex`).
    public static func rewrite(_ path: String, _ summaries: [OperationSummary]) throws(StoreError) {
        var bytes = header
        for s in summaries { bytes += record(s) }
        try FileSystem.writeAtomically(path, bytes)
    }
}

func appendLE32(_ value: UInt32, to out: inout [UInt8]) {
    out.append(UInt8(truncatingIfNeeded: value))
    out.append(UInt8(truncatingIfNeeded: value >> 8))
    out.append(UInt8(truncatingIfNeeded: value >> 16))
    out.append(UInt8(truncatingIfNeeded: value >> 24))
}

func readLE32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3])
        << 24
}
