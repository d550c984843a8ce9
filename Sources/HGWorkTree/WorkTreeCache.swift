import HGCore
import HGCrypto

/// `.hgrepo/index/worktree`: for each path hg-bft last wrote or committed,
/// the file's stamp at that moment and the blob id of its content.
///
/// It serves as git's index does for `status`: a file whose stamp still
/// matches is not read again. It is also the baseline that tells an
/// uncommitted edit from a file hg-bft itself put there. A stamp whose
/// modification time is not older than the cache file's own modification
/// time is not trusted ("racy" entries, as in git): such files are always
/// hashed again, because they may have changed again within the same tick of
/// the file system's clock.
public struct WorkTreeCache: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var stamp: FileStamp
        public var blob: ObjectID
        /// The stamp must not be trusted: the file was modified too close to a
        /// cache write to rule out a later edit within the same clock tick.
        public var racy: Bool
        public init(stamp: FileStamp, blob: ObjectID, racy: Bool = false) {
            self.stamp = stamp
            self.blob = blob
            self.racy = racy
        }
    }

    /// Seconds before a cache write within which a file's modification time is
    /// too recent to trust (file system clocks are coarse, and may be remote).
    public static let racyWindowSeconds: Int64 = 2

    /// Marks every entry modified within `racyWindowSeconds` of `now` as racy,
    /// so that it is hashed again rather than trusted, however often the cache
    /// is rewritten afterwards (git's "racy-git" problem).
    public mutating func markRacyEntries(now: (seconds: Int64, nanoseconds: Int64)) {
        let limit = (now.seconds - WorkTreeCache.racyWindowSeconds, now.nanoseconds)
        for (path, entry) in entries where (entry.stamp.mtimeSeconds, entry.stamp.mtimeNanoseconds) >= limit {
            entries[path]?.racy = true
        }
    }

    /// Records that `path`'s file was just hashed and still holds the entry's
    /// blob: its current stamp becomes trustworthy again (until marked racy).
    public mutating func refresh(_ path: RepoPath, stamp: FileStamp, blob: ObjectID) {
        guard let entry = entries[path], entry.blob == blob else { return }
        entries[path] = Entry(stamp: stamp, blob: blob, racy: false)
    }

    public var entries: [RepoPath: Entry]
    /// The cache file's modification time when it was read (not stored in the file).
    public var writtenAt: (seconds: Int64, nanoseconds: Int64)

    public init(entries: [RepoPath: Entry] = [:], writtenAt: (Int64, Int64) = (0, 0)) {
        self.entries = entries
        self.writtenAt = writtenAt
    }

    public static func == (a: WorkTreeCache, b: WorkTreeCache) -> Bool {
        a.entries == b.entries && a.writtenAt == b.writtenAt
    }

    static let header: [UInt8] = Array("hg-bft worktree1".utf8)

    /// The blob id of `file`'s content if its stamp proves it unchanged since cached.
    public func knownBlob(for file: WorkFile) -> ObjectID? {
        guard let entry = entries[file.path], !entry.racy, entry.stamp == file.stamp else { return nil }
        let racy = (file.stamp.mtimeSeconds, file.stamp.mtimeNanoseconds) >= writtenAt
        return racy ? nil : entry.blob
    }

    /// File: 16-byte header, entry count, then per
    /// entry in path order: path, size, mtime seconds, mtime nanoseconds,
    /// inode (varints), flags byte (bit 0 executable, bit 1 racy), blob id; then a BLAKE2b-256 checksum
    /// of everything before it.
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: entries.count * 80 + 64)
        w.raw(WorkTreeCache.header)
        w.varint(UInt64(entries.count))
        for path in entries.keys.sorted() {
            guard let e = entries[path] else { continue }
            w.lengthPrefixed(path.bytes)
            w.varint(UInt64(max(0, e.stamp.size)))
            w.varint(UInt64(max(0, e.stamp.mtimeSeconds)))
            w.varint(UInt64(max(0, e.stamp.mtimeNanoseconds)))
            w.varint(e.stamp.inode)
            w.byte((e.stamp.executable ? 1 : 0) | (e.racy ? 2 : 0))
            w.id(e.blob.raw)
        }
        let body = w.bytes
        return body + Blake2b.hash256(body)
    }

    /// Decodes a cache file; `nil` when it is damaged (the caller then starts from an empty cache).
    /// `modified` is the file's modification time, the reference for racy entries.
    public static func decode(_ bytes: [UInt8], modified: (Int64, Int64)) -> WorkTreeCache? {
        guard bytes.count >= header.count + 32 else { return nil }
        let body = Array(bytes[0..<(bytes.count - 32)])
        guard Blake2b.hash256(body) == Array(bytes[(bytes.count - 32)...]),
            Array(body[0..<header.count]) == header
        else { return nil }
        var r = ByteReader(Array(body[header.count...]))
        do {
            let count = try r.count("count", limit: r.remaining / 36)
            var entries: [RepoPath: Entry] = [:]
            entries.reserveCapacity(count)
            var previous: RepoPath?
            for _ in 0..<count {
                let path = try RepoPath(bytes: try r.lengthPrefixed("path", limit: Limits.maxPathBytes))
                if let previous, !(previous < path) { return nil }
                previous = path
                let size = try r.varint("size")
                let ms = try r.varint("mtime")
                let mn = try r.varint("mtime ns")
                guard mn < 1_000_000_000 else { return nil }
                let inode = try r.varint("inode")
                let flags = try r.byte("flags")
                guard flags <= 3 else { return nil }
                let blob = ObjectID(raw: try r.id("blob"))
                let stamp = FileStamp(
                    size: Int64(clamping: size), mtimeSeconds: Int64(clamping: ms),
                    mtimeNanoseconds: Int64(clamping: mn), inode: inode, executable: flags & 1 == 1)
                entries[path] = Entry(stamp: stamp, blob: blob, racy: flags & 2 == 2)
            }
            try r.expectEnd()
            return WorkTreeCache(entries: entries, writtenAt: modified)
        } catch {
            return nil
        }
    }
}
