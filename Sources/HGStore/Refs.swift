import HGCore

/// The heads file and the per-peer ref files: caches derived from the index.
///
/// `heads`: the line `hg-bft heads v1 <N>` (N = the byte length of the index
/// it reflects), then one lowercase hex id per line, ascending. When N equals
/// the index's length the heads are current; otherwise they are recomputed.
///
/// `refs/peers/<peer-id>`: the line `hg-bft ref v1 <N>` (the index length
/// when it was written), then one line per tip of that author,
/// `<sequence> <hex id>`, sorted by id; more than one tip means the author
/// equivocated. Neither file is fsynced: the index is the durable record, and
/// a file whose stamp is not the index's length is simply recomputed.
public enum Refs {
    static let headsMagic = "hg-bft heads v1"
    static let maxFileBytes = 1 << 24

    /// Heads with the index record count they reflect.
    public struct Heads: Equatable, Sendable {
        public var ids: [ObjectID]
        public var stamp: Int
        public init(ids: [ObjectID], stamp: Int) {
            self.ids = ids.sorted()
            self.stamp = stamp
        }
    }

    /// Reads the heads file; `nil` if it does not exist.
    public static func readHeads(_ path: String) throws(StoreError) -> Heads? {
        guard let bytes = try FileSystem.readIfExists(path, limit: maxFileBytes) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix(headsMagic + " "),
            let stamp = Int(first.dropFirst(headsMagic.count + 1)), stamp >= 0,
            String(stamp) == first.dropFirst(headsMagic.count + 1),
            lines.last == ""
        else { throw .badFile(path: path, reason: "bad heads header") }
        var ids: [ObjectID] = []
        for line in lines.dropFirst().dropLast() {
            guard let id = ObjectID(hex: String(line)), id.hex == line else {
                throw .badFile(path: path, reason: "bad id line '\(line.prefix(80))'")
            }
            ids.append(id)
        }
        guard ids == ids.sorted(), Set(ids).count == ids.count else {
            throw .badFile(path: path, reason: "ids are not sorted and unique")
        }
        return Heads(ids: ids, stamp: stamp)
    }

    /// Encodes the heads file.
    public static func encodeHeads(_ heads: Heads) -> [UInt8] {
        var text = "\(headsMagic) \(heads.stamp)\n"
        for id in heads.ids { text += id.hex + "\n" }
        return Array(text.utf8)
    }

    /// One tip of one author.
    public struct Tip: Hashable, Sendable, Comparable {
        public let sequence: UInt64
        public let id: ObjectID
        public init(sequence: UInt64, id: ObjectID) {
            self.sequence = sequence
            self.id = id
        }
        public static func < (a: Tip, b: Tip) -> Bool {
            a.sequence != b.sequence ? a.sequence < b.sequence : a.id < b.id
        }
    }

    /// One peer ref file: an author's tips, stamped with the index length it was written at.
    public struct PeerRef: Equatable, Sendable {
        public var tips: [Tip]
        public var stamp: Int
        public init(tips: [Tip], stamp: Int) {
            self.tips = tips.sorted()
            self.stamp = stamp
        }
    }

    static let refMagic = "hg-bft ref v1"

    /// Reads one peer ref file; `nil` if it does not exist.
    public static func readPeer(_ path: String) throws(StoreError) -> PeerRef? {
        guard let bytes = try FileSystem.readIfExists(path, limit: maxFileBytes) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix(refMagic + " "), lines.count >= 3, lines.last == "",
            let stamp = Int(first.dropFirst(refMagic.count + 1)), stamp >= 0,
            String(stamp) == first.dropFirst(refMagic.count + 1)
        else { throw .badFile(path: path, reason: "bad ref header or layout") }
        var tips: [Tip] = []
        for line in lines.dropFirst().dropLast() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let seq = UInt64(parts[0]), String(seq) == parts[0],
                let id = ObjectID(hex: String(parts[1])), id.hex == parts[1]
            else { throw .badFile(path: path, reason: "bad line '\(line.prefix(80))'") }
            if let last = tips.last, last.sequence != seq || !(last.id < id) {
                throw .badFile(path: path, reason: "tips must share one sequence number and be sorted by id")
            }
            tips.append(Tip(sequence: seq, id: id))
        }
        return PeerRef(tips: tips, stamp: stamp)
    }

    /// Encodes one peer ref file.
    public static func encodePeer(_ ref: PeerRef) -> [UInt8] {
        Array(("\(refMagic) \(ref.stamp)\n" + ref.tips.sorted().map { "\($0.sequence) \($0.id.hex)\n" }.joined()).utf8)
    }

    /// Recomputes heads and per-author tips from index records.
    ///
    /// Heads: operations no other operation names as a parent. Tips of an
    /// author: that author's operations with the highest sequence number.
    public static func derive(from entries: [OperationSummary]) -> (heads: [ObjectID], tips: [PeerID: [Tip]]) {
        var isParent = Set<ObjectID>()
        isParent.reserveCapacity(entries.count)
        for e in entries { for p in e.parents { isParent.insert(p) } }
        var heads: [ObjectID] = []
        var tips: [PeerID: [Tip]] = [:]
        for e in entries {
            if !isParent.contains(e.id) { heads.append(e.id) }
            let tip = Tip(sequence: e.sequence, id: e.id)
            if let current = tips[e.author]?.first {
                if e.sequence > current.sequence {
                    tips[e.author] = [tip]
                } else if e.sequence == current.sequence {
                    tips[e.author]?.append(tip)
                }
            } else {
                tips[e.author] = [tip]
            }
        }
        return (heads.sorted(), tips.mapValues { $0.sorted() })
    }
}
