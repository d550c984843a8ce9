import HGCompression
import HGCore

/// The graph file, `index/graph` (FORMAT.md 5.9.2): the DAG's columns as they lie in memory, with
/// the node numbers sorted by id, so that a command gets the whole history with a few copies and a
/// pass over the parent links, instead of checksumming and decoding a record per operation and
/// hashing every id into a table. It is derived from the index and may lag behind it: it covers
/// the records before byte `stamp`, and readers append the records after that from the index.
///
/// Layout, every integer little-endian:
///
///     header                 16 bytes "hg-bft graph v1\n"
///     stamp                  u64  the byte length of the index records the graph holds
///     last record checksum   u32  the CRC field of the last of those records (index bytes stamp-4..<stamp)
///     node count N           u32
///     author count A         u32
///     parent link count P    u32
///     message byte count M   u64
///     authors                A × 32 bytes, in order of first appearance
///     ids                    N × 32 bytes
///     author numbers         N × u32 (< A)
///     sequences              N × u64
///     timestamps             N × u64
///     kinds                  N × u8
///     entry counts           N × u32
///     parent ends            N × u32 (node n's parents are links [end(n-1), end(n)))
///     parent links           P × u32 (node numbers, each below its child's)
///     message ends           N × u64 (node n's message is bytes [end(n-1), end(n)))
///     messages               M bytes
///     nodes by id            N × u32 (every node number once, ascending by id)
///     checksum               u32  CRC-32 of everything before it
public struct GraphFile: Sendable {
    public static let header: [UInt8] = Array("hg-bft graph v1\n".utf8)
    /// Bytes before the columns.
    static let fixedBytes = 48
    /// Bytes each node takes in the columns: id, author number, sequence, timestamp, kind, entry
    /// count, parent end, message end and its place in the sorted list.
    static let bytesPerNode = 32 + 4 + 8 + 8 + 1 + 4 + 4 + 8 + 4

    /// The graph of the index records before byte `stamp`.
    public let graph: Graph
    /// The byte length of the index records `graph` holds.
    public let stamp: Int
    /// The CRC field of the last of those records: a reader checks it against the index, so that
    /// an index rewritten since (by `reindex`) is not mistaken for the one the file was made from.
    public let lastRecordChecksum: UInt32

    public init(graph: Graph, stamp: Int, lastRecordChecksum: UInt32) {
        self.graph = graph
        self.stamp = stamp
        self.lastRecordChecksum = lastRecordChecksum
    }

    /// The bytes that `peekStamp` needs from the start of a file.
    public static let prefixBytes = 24

    /// The stamp of a file of which `prefix` holds at least the first `prefixBytes` bytes, without
    /// checking the rest: what a writer reads to decide whether the file is worth rewriting.
    public static func peekStamp(_ prefix: [UInt8]) -> Int? {
        guard prefix.count >= prefixBytes, prefix.starts(with: header) else { return nil }
        let stamp = prefix.withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        }
        return stamp <= UInt64(Int.max) ? Int(stamp) : nil
    }

    // MARK: - Encoding

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        let g = graph
        let n = g.count
        let a = g.authorTable.count
        let p = g.parentList.count
        let m = g.messageBytes.count
        let total = GraphFile.fixedBytes + 32 * a + GraphFile.bytesPerNode * n + 4 * p + m + 4
        let sorted = g.nodesSortedByID()
        // Written in place into a buffer of the exact size: the file is megabytes, and a writer
        // rewrites it on the way out of a sync.
        var bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var at = 0
            func put<T: FixedWidthInteger>(_ value: T) {
                raw.storeBytes(of: value.littleEndian, toByteOffset: at, as: T.self)
                at += MemoryLayout<T>.size
            }
            for byte in GraphFile.header { put(byte) }
            put(UInt64(stamp))
            put(lastRecordChecksum)
            put(UInt32(n))
            put(UInt32(a))
            put(UInt32(p))
            put(UInt64(m))
            for author in g.authorTable {
                author.key.store(into: raw, at: at)
                at += 32
            }
            for id in g.ids {
                id.raw.store(into: raw, at: at)
                at += 32
            }
            for number in g.authorNumbers { put(UInt32(bitPattern: number)) }
            for sequence in g.sequences { put(sequence) }
            for timestamp in g.timestamps { put(timestamp) }
            for kind in g.kinds { put(kind) }
            for count in g.entryCounts { put(UInt32(bitPattern: count)) }
            for end in g.parentStart.dropFirst() { put(UInt32(bitPattern: end)) }
            for parent in g.parentList { put(UInt32(bitPattern: parent)) }
            for end in g.messageEnds { put(UInt64(end)) }
            for byte in g.messageBytes { put(byte) }
            for node in sorted { put(UInt32(bitPattern: node)) }
            initialized = at
        }
        let checksum = CRC32.checksum(bytes)
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: checksum >> UInt32(shift)))
        }
        return bytes
    }

    // MARK: - Decoding

    /// Reads a graph file; `nil` if it is damaged in any way (checksum, sizes, or a column that
    /// breaks the graph's rules: a parent that is not an earlier node, an author number out of
    /// range, ends that go backwards, a sorted list that is not every node once in id order).
    /// The checksum is not a signature: the checks below are what keep a crafted file from
    /// making a graph that breaks the invariants the rest of the program relies on.
    public static func decode(_ bytes: [UInt8]) -> GraphFile? {
        bytes.withUnsafeBytes { decode(file: $0) }
    }

    /// `decode` of a file's bytes in memory (a mapped file, read without a copy).
    public static func decode(file raw: UnsafeRawBufferPointer) -> GraphFile? {
        guard raw.count >= fixedBytes + 4, raw.starts(with: header) else { return nil }
        let body = raw.count - 4
        let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: body, as: UInt32.self))
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<body])) == stored else { return nil }
        return decode(raw, length: body)
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, length: Int) -> GraphFile? {
        func u32(_ offset: Int) -> UInt32 {
            UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
        func u64(_ offset: Int) -> UInt64 {
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        let stamp = u64(16)
        let lastRecordChecksum = u32(24)
        let n = Int(u32(28))
        let a = Int(u32(32))
        let p = Int(u32(36))
        let m = u64(40)
        // Every count is at most 2^32 and M at most the file's length, so the size below cannot
        // overflow; the file must be exactly that long, which bounds every read that follows.
        guard stamp <= UInt64(Int.max), m <= UInt64(length), n < Int(Int32.max), p < Int(Int32.max) - Limits.maxParents,
            a <= n
        else { return nil }
        guard fixedBytes + 32 * a + bytesPerNode * n + 4 * p + Int(m) == length else { return nil }

        var g = Graph()
        var at = fixedBytes
        func ids(_ count: Int) -> PackedIDs? {
            defer { at += 32 * count }
            return PackedIDs(UnsafeRawBufferPointer(rebasing: raw[at..<(at + 32 * count)]), count: count)
        }
        guard let authors = ids(a) else { return nil }
        g.authorTable = authors.map { PeerID(key: $0.raw) }
        g.authorLookup.reserveCapacity(a)
        for (number, author) in g.authorTable.enumerated() {
            guard g.authorLookup.updateValue(Int32(number), forKey: author) == nil else { return nil }
        }
        guard let nodeIDs = ids(n) else { return nil }
        g.ids = Array(nodeIDs)
        g.authorNumbers.reserveCapacity(n)
        var used = [Bool](repeating: false, count: a)
        for i in 0..<n {
            let number = u32(at + 4 * i)
            guard number < UInt32(a) else { return nil }
            used[Int(number)] = true
            g.authorNumbers.append(Int32(number))
        }
        // Every author listed wrote a node, as in a graph built by appending.
        guard !used.contains(false) else { return nil }
        at += 4 * n
        g.sequences = (0..<n).map { u64(at + 8 * $0) }
        at += 8 * n
        g.timestamps = (0..<n).map { u64(at + 8 * $0) }
        at += 8 * n
        g.kinds = Array(raw[at..<(at + n)])
        at += n
        g.entryCounts.reserveCapacity(n)
        for i in 0..<n {
            let count = u32(at + 4 * i)
            guard count <= UInt32(Limits.maxChangeEntries) else { return nil }
            g.entryCounts.append(Int32(count))
        }
        at += 4 * n
        let parentEnds = at
        let links = at + 4 * n
        at = links + 4 * p
        guard buildEdges(&g, count: n, links: p, end: { Int(u32(parentEnds + 4 * $0)) }, link: { u32(links + 4 * $0) })
        else { return nil }
        g.messageEnds.reserveCapacity(n)
        var previous = 0
        for i in 0..<n {
            let end = u64(at + 8 * i)
            guard end >= UInt64(previous), end <= m, end - UInt64(previous) <= UInt64(Limits.maxMessageBytes) else {
                return nil
            }
            previous = Int(end)
            g.messageEnds.append(previous)
        }
        guard previous == Int(m) else { return nil }
        at += 8 * n
        g.messageBytes = Array(raw[at..<(at + Int(m))])
        at += Int(m)
        g.sortedNodes.reserveCapacity(n)
        for i in 0..<n {
            let node = u32(at + 4 * i)
            // Strictly ascending ids: no node twice, so the n numbers below n are every node once.
            guard node < UInt32(n), g.sortedNodes.last.map({ g.ids[Int($0)] < g.ids[Int(node)] }) ?? true else {
                return nil
            }
            g.sortedNodes.append(Int32(node))
        }
        g.indexSortedNodes()
        return GraphFile(graph: g, stamp: Int(stamp), lastRecordChecksum: lastRecordChecksum)
    }

    /// Fills `g`'s parent lists, levels and child edges from the file's parent ends and links,
    /// as appending the nodes in order would; false if a node's parents are not earlier nodes
    /// or the ends do not describe exactly `links` links.
    private static func buildEdges(
        _ g: inout Graph, count n: Int, links p: Int,
        end: (Int) -> Int, link: (Int) -> UInt32
    ) -> Bool {
        g.parentStart.reserveCapacity(n + 1)
        g.parentList.reserveCapacity(p)
        g.levels.reserveCapacity(n)
        g.lastChildEdge = [Int32](repeating: -1, count: n)
        g.childCounts = [Int32](repeating: 0, count: n)
        g.childEdges.reserveCapacity(p)
        var start = 0
        for node in 0..<n {
            let stop = end(node)
            guard stop >= start, stop <= p, stop - start <= Limits.maxParents else { return false }
            var level: Int32 = 0
            for k in start..<stop {
                let parent = link(k)
                guard parent < UInt32(node) else { return false }
                let pn = Int(parent)
                g.parentList.append(Int32(pn))
                level = max(level, g.levels[pn] + 1)
                g.childEdges.append((child: Int32(node), previous: g.lastChildEdge[pn]))
                g.lastChildEdge[pn] = Int32(g.childEdges.count - 1)
                g.childCounts[pn] += 1
            }
            g.parentStart.append(Int32(stop))
            g.levels.append(level)
            start = stop
        }
        return start == p
    }
}
