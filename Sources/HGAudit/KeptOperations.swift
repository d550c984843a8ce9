import Dispatch
import HGCore
import HGStore

/// What `verify` keeps of the operations it read: what the later checks read, not their bytes
/// or summaries, in a few flat arrays. Operations are numbered densely in the order the workers
/// hand them in.
///
/// Flat arrays rather than an object per operation: small objects that outlive the reads they
/// come from sit between those reads' freed buffers, and the heap could not reuse the gaps (an
/// object of about 180 bytes per operation held about 540 bytes of heap at 10^5 operations).
final class KeptOperations: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    // All below are written under `lock` while workers hand in batches, and only read after.
    /// Per operation, the id of the index record its summary encodes to (`OperationIndex.record`):
    /// the index check compares records by it, so the summary, parents and message are not kept.
    private var digests: [ObjectID] = []
    /// Per operation, where its entries start in `entries` (one more at the end: the total).
    private var starts: [Int] = [0]
    /// The paths and versions each change writes, one operation after another (none for other
    /// kinds; a change writes at least one path).
    private var entries: [ChangeEntry] = []
    /// What only membership and genesis operations have, by operation number.
    private var rare: [Int: RareFields] = [:]
    /// Per slot of the object table, its operation's number, or -1.
    private let numbers: UnsafeMutablePointer<Int>
    private let slotCount: Int

    init(slotCount: Int) {
        self.slotCount = slotCount
        numbers = .allocate(capacity: max(1, slotCount))
        numbers.initialize(repeating: -1, count: max(1, slotCount))
    }

    deinit {
        numbers.deallocate()
    }

    /// Adds a worker's batch, and empties it (keeping its storage for the next).
    func absorb(_ batch: inout KeptBatch) {
        guard !batch.slots.isEmpty else { return }
        lock.wait()
        defer { lock.signal() }
        for (k, slot) in batch.slots.enumerated() {
            let number = digests.count
            numbers[slot] = number
            digests.append(batch.digests[k])
            entries += batch.entries[batch.starts[k]..<batch.starts[k + 1]]
            starts.append(entries.count)
            if let fields = batch.rare[k] { rare[number] = fields }
        }
        batch.removeAll()
    }

    /// The number of the operation at `slot`, if it is one that decoded.
    func number(atSlot slot: Int) -> Int? {
        let number = numbers[slot]
        return number >= 0 ? number : nil
    }

    /// The id of the index record operation `number`'s summary encodes to.
    func recordDigest(_ number: Int) -> ObjectID { digests[number] }

    /// The change operation `number` makes, for the state computation (which reads only its
    /// entries); `nil` for other kinds.
    func change(_ number: Int) -> Change? {
        let range = starts[number]..<starts[number + 1]
        return range.isEmpty ? nil : Change(message: "", entries: Array(entries[range]))
    }

    /// The paths and versions operation `number` writes (empty unless it is a change).
    func entries(_ number: Int) -> ArraySlice<ChangeEntry> { entries[starts[number]..<starts[number + 1]] }

    /// The membership change or genesis fields of operation `number`, if it has any.
    func rareFields(_ number: Int) -> RareFields? { rare[number] }
}

/// What one worker read since it last handed in, in the layout of `KeptOperations`.
struct KeptBatch {
    fileprivate(set) var slots: [Int] = []
    fileprivate var digests: [ObjectID] = []
    fileprivate var starts: [Int] = [0]
    fileprivate var entries: [ChangeEntry] = []
    fileprivate var rare: [RareFields?] = []
    private var paths = PathInterner()

    /// Operations gathered before a worker hands them in (one lock per this many).
    static let size = 256

    var isFull: Bool { slots.count >= KeptBatch.size }

    /// Keeps what the later checks read of `op`, found at `slot`.
    mutating func add(_ op: Operation, slot: Int) {
        let change = op.change
        slots.append(slot)
        digests.append(ObjectID(hashing: OperationIndex.record(OperationSummary(op))))
        for entry in change?.entries ?? [] {
            entries.append(ChangeEntry(path: paths.intern(entry.path), version: entry.version))
        }
        starts.append(entries.count)
        let membership = op.membership
        let genesis = op.genesis.map { (founder: op.author, timestamp: op.timestamp, quorum: $0.adminQuorum) }
        rare.append(membership != nil || genesis != nil ? RareFields(membership: membership, genesis: genesis) : nil)
    }

    fileprivate mutating func removeAll() {
        slots.removeAll(keepingCapacity: true)
        digests.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        starts.append(0)
        entries.removeAll(keepingCapacity: true)
        rare.removeAll(keepingCapacity: true)
    }
}

/// The fields of a membership or genesis operation.
final class RareFields: Sendable {
    let membership: MembershipChange?
    /// Founder, time and quorum, for a genesis operation.
    let genesis: (founder: PeerID, timestamp: UInt64, quorum: Int)?

    init(membership: MembershipChange?, genesis: (founder: PeerID, timestamp: UInt64, quorum: Int)?) {
        self.membership = membership
        self.genesis = genesis
    }
}

/// One copy of each path for the operations a worker keeps: a history rewrites the same paths
/// over and over, and each decoded path is an allocation of its own.
struct PathInterner {
    private var known: [RepoPath: RepoPath] = [:]
    /// Paths remembered at most, so that a history of distinct paths costs no more than before.
    static let limit = 1 << 16

    mutating func intern(_ path: RepoPath) -> RepoPath {
        if let known = known[path] { return known }
        if known.count < PathInterner.limit { known[path] = path }
        return path
    }
}
