import Dispatch
import HGCore
import HGStore
import HGSystem

/// What `verify`'s read of one slot of the object table found (`nil` for a repeat, not read).
enum ObjectStatus: UInt8, Sendable {
    /// A blob that reads, hashes and decodes.
    case blob
    /// An operation that reads, hashes and decodes; its signature is checked separately.
    case operation
    /// Unreadable, wrong hash or malformed (the message is in `ObjectPass.failures`).
    case failed
}

/// Why an operation that decoded does not count after all.
enum Demotion: Sendable {
    case badSignature(ObjectID, PeerID)
    /// Reading it a second time failed (the store changed under `verify`).
    case failed(ObjectID, String)
}

/// `verify`'s read of every object, on all cores, and then the signature checks of the
/// operations that decoded (which `verify` runs while it checks the history).
final class ObjectPass: Sendable {
    let table: ObjectTable
    /// Per slot: what reading it found.
    let statuses: Slots<ObjectStatus>
    /// What the later checks read of the operations that decoded.
    let kept: KeptOperations
    /// Objects that could not be read, hashed or decoded: slot and message, in slot order.
    let failures: [(slot: Int, message: String)]
    private let layout: Layout
    private let packs: [Pack]

    /// Reads, inflates, hashes and decodes every object of `table` (no signature check).
    /// Each worker reads through the one copy of the pack indexes in `packs`.
    init(table: ObjectTable, layout: Layout, packs: [Pack]) {
        let statuses = Slots<ObjectStatus>(count: table.slotCount)
        let kept = KeptOperations(slotCount: table.slotCount)
        let failures = SharedList<(slot: Int, message: String)>()
        parallelForEach(
            count: table.slotCount, makeContext: { ObjectPass.reader(layout, packs) },
            finish: { kept.absorb(&$0.batch) }
        ) { reader, slot in
            guard !table.isRepeat(slot) else { return }
            let id = table.id(at: slot)
            guard let store = reader.store else {
                statuses.set(slot, .failed)
                failures.append((slot, "zlib could not be initialised"))
                return
            }
            do {
                switch try store.readObject(id) {
                case .blob:
                    statuses.set(slot, .blob)
                case let .operation(op):
                    reader.batch.add(op, slot: slot)
                    if reader.batch.isFull { kept.absorb(&reader.batch) }
                    statuses.set(slot, .operation)
                }
            } catch {
                statuses.set(slot, .failed)
                failures.append((slot, "\(error)"))
            }
        }
        self.table = table
        self.statuses = statuses
        self.kept = kept
        self.failures = failures.all.sorted { $0.slot < $1.slot }
        self.layout = layout
        self.packs = packs
    }

    /// Starts checking the signature of every operation that decoded, on all cores, reading
    /// each again (4 µs beside the check's 70; keeping every operation's bytes for it would
    /// cost their size in memory). The caller goes on with its own work meanwhile.
    func startSignatureChecks() -> Pending<[(slot: Int, demotion: Demotion)]> {
        let layout = layout
        let packs = packs
        let table = table
        let statuses = statuses
        return Pending {
            let demotions = SharedList<(slot: Int, demotion: Demotion)>()
            parallelForEach(count: table.slotCount, makeContext: { ObjectPass.reader(layout, packs) }) { reader, slot in
                guard statuses[slot] == .operation else { return }
                let id = table.id(at: slot)
                guard let store = reader.store else {
                    demotions.append((slot, .failed(id, "zlib could not be initialised")))
                    return
                }
                do {
                    guard case let .operation(op) = try store.readObject(id) else {
                        throw StoreError.objectMalformed(
                            id, path: store.location(of: id), reason: .unknownType(ObjectType.blob.rawValue))
                    }
                    if !op.hasValidSignature() { demotions.append((slot, .badSignature(op.id, op.author))) }
                } catch {
                    demotions.append((slot, .failed(id, "\(error)")))
                }
            }
            // The operations that do not count, in slot order.
            return demotions.all.sorted { $0.slot < $1.slot }
        }
    }

    private static func reader(_ layout: Layout, _ packs: [Pack]) -> ObjectReader {
        ObjectReader(store: try? ObjectStore(layout: layout, packs: packs))
    }
}

/// A worker's means of reading objects: its own zlib streams over the shared pack indexes.
struct ObjectReader {
    let store: ObjectStore?
    /// What it read since it last handed in.
    var batch = KeptBatch()
}
