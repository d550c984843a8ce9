import HGCore
import HGCompression
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

    /// Decodes the record payload `reader` is positioned on (to its end).
    static func decodePayload(_ reader: ByteReader) throws(DecodeError) -> OperationSummary {
        var r = reader
        let id = ObjectID(raw: try r.id("id"))
        let author = PeerID(key: try r.id("author"))
        let sequence = try r.varint("sequence")
        let timestamp = try r.varint("timestamp")
        let kind = try r.byte("kind")
        let parentCount = try r.count("parent count", limit: Limits.maxParents)
        guard parentCount * 32 <= r.remaining else { throw .truncated(field: "parents") }
        var parents: [ObjectID] = []
        parents.reserveCapacity(parentCount)
        for _ in 0..<parentCount { parents.append(ObjectID(raw: try r.id("parent"))) }
        let entryCount = try r.count("entry count", limit: Limits.maxChangeEntries)
        let message = try r.text("message", limit: Limits.maxMessageBytes)
        try r.expectEnd()
        return OperationSummary(id: id, author: author, sequence: sequence, timestamp: timestamp, kind: kind,
                                parents: parents, entryCount: entryCount, message: message)
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

    /// Reads as much of the index as can be read, for `verify`: records that
    /// fail their checksum or do not decode are skipped and described in
    /// `damage` instead of stopping the read, as long as their length field
    /// still leads to the next record.
    public static func scan(_ path: String) throws(StoreError) -> (contents: Contents, damage: [String]) {
        var damage: [String] = []
        guard let bytes = try FileSystem.readIfExists(path, limit: maxFileBytes) else {
            return (Contents(entries: [], validLength: 0, tornTail: false), damage)
        }
        if bytes.isEmpty { return (Contents(entries: [], validLength: 0, tornTail: false), damage) }
        guard bytes.count >= header.count, Array(bytes[0..<header.count]) == header else {
            // A header cut short by a crash during creation is a torn (empty) index.
            if bytes.count < header.count, header.starts(with: bytes) {
                return (Contents(entries: [], validLength: 0, tornTail: true), damage)
            }
            return (Contents(entries: [], validLength: 0, tornTail: false), ["not an hg-bft index (bad header)"])
        }
        var entries: [OperationSummary] = []
        entries.reserveCapacity(bytes.count / 110)  // a one-parent record is about 110 bytes
        var offset = header.count
        while offset < bytes.count {
            let recordStart = offset
            guard bytes.count - offset >= 4 else {
                return (Contents(entries: entries, validLength: recordStart, tornTail: true), damage)
            }
            let length = Int(readLE32(bytes, offset))
            guard length <= maxRecordBytes else {
                damage.append("record at byte \(recordStart) claims \(length) bytes; the rest of the file cannot be read")
                return (Contents(entries: entries, validLength: recordStart, tornTail: false), damage)
            }
            guard bytes.count - offset - 4 >= length + 4 else {
                return (Contents(entries: entries, validLength: recordStart, tornTail: true), damage)
            }
            // Checked and decoded in place: two copies per record were a third of reading the index.
            let payload = (offset + 4)..<(offset + 4 + length)
            let storedCRC = readLE32(bytes, offset + 4 + length)
            let checked = CRC32.checksum(bytes, range: offset..<(offset + 4 + length))
            offset += 8 + length
            guard checked == storedCRC else {
                // A complete record with a bad checksum is damage, not a torn write:
                // an interrupted append leaves a record that is short, never one of full length.
                damage.append("record at byte \(recordStart) fails its checksum")
                continue
            }
            do {
                entries.append(try decodePayload(ByteReader(bytes, window: payload)))
            } catch {
                damage.append("record at byte \(recordStart): \(error)")
            }
        }
        return (Contents(entries: entries, validLength: offset, tornTail: false), damage)
    }

    /// Appends records durably. The caller holds the repository lock and passes the
    /// valid length it read, so a torn tail is cut off before anything is appended.
    public static func append(_ path: String, _ summaries: [OperationSummary], validLength: Int) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var start = validLength
        if validLength == 0 {
            bytes += header
        }
        if validLength < header.count { start = 0; bytes = header }
        guard ftruncate(fd, off_t(start)) == 0 else { throw .io(path: path, operation: "truncate", errno: errno) }
        guard lseek(fd, off_t(start), SEEK_SET) >= 0 else { throw .io(path: path, operation: "seek", errno: errno) }
        for s in summaries { bytes += record(s) }
        try FileSystem.writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
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
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
}
