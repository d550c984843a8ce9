import HGCore
import HGStore

/// Every object of the store, numbered, for `verify`: the loose ids first, then each pack's ids in
/// pack order. The position of an id in that sequence is its slot; an id listed again (loose and
/// packed, or in two packs) is a repeat and counts at its first slot only.
///
/// The ids are not copied: they are read from the loose list and from the packs' index bytes
/// (which the workers share), and an open-addressed table of slot numbers finds the
/// first slot of an id. This one table replaces the several sets of ids `verify` used to build;
/// at 10^6 operations (2·10^6 objects) it costs 34 MB where those cost about 400.
final class ObjectTable: Sendable {
    /// The loose ids (slots `0..<loose.count`), then the packs' entries, in index order.
    private let loose: [ObjectID]
    private let packs: [Pack]
    /// The first slot of each pack, then the total (ascending; binary-searched by `id(at:)`).
    private let starts: [Int]
    /// First slots by hash, linear probing; `-1` where empty. A power of two at least twice the
    /// number of objects, so probes stay short.
    private let buckets: [Int]
    /// Whether each slot repeats an earlier slot's id.
    private let repeats: [Bool]
    /// Number of slots, repeats included.
    let slotCount: Int
    /// Number of distinct objects.
    let count: Int

    init(loose: [ObjectID], packs: [Pack]) {
        var starts: [Int] = []
        starts.reserveCapacity(packs.count + 1)
        var total = loose.count
        for pack in packs {
            starts.append(total)
            total += pack.count
        }
        starts.append(total)
        var capacity = 16
        while capacity < 2 * total { capacity *= 2 }
        let mask = capacity - 1
        var buckets = [Int](repeating: -1, count: capacity)
        var repeats = [Bool](repeating: false, count: total)
        var count = 0
        for slot in 0..<total {
            let id = ObjectTable.id(at: slot, loose: loose, packs: packs, starts: starts)
            var b = id.hashValue & mask
            while buckets[b] >= 0, ObjectTable.id(at: buckets[b], loose: loose, packs: packs, starts: starts) != id {
                b = (b + 1) & mask
            }
            if buckets[b] >= 0 {
                repeats[slot] = true
            } else {
                buckets[b] = slot
                count += 1
            }
        }
        self.loose = loose
        self.packs = packs
        self.starts = starts
        self.buckets = buckets
        self.repeats = repeats
        slotCount = total
        self.count = count
    }

    /// The id at `slot` (in `0..<slotCount`).
    func id(at slot: Int) -> ObjectID {
        ObjectTable.id(at: slot, loose: loose, packs: packs, starts: starts)
    }

    /// Whether `slot` repeats the id of an earlier slot.
    func isRepeat(_ slot: Int) -> Bool { repeats[slot] }

    /// The first slot holding `id`, or `nil` when the store has no such object.
    func slot(of wanted: ObjectID) -> Int? {
        let mask = buckets.count - 1
        var b = wanted.hashValue & mask
        while buckets[b] >= 0 {
            if id(at: buckets[b]) == wanted { return buckets[b] }
            b = (b + 1) & mask
        }
        return nil
    }

    private static func id(at slot: Int, loose: [ObjectID], packs: [Pack], starts: [Int]) -> ObjectID {
        if slot < loose.count { return loose[slot] }
        // The last pack starting at or before `slot`; empty packs share their start with the
        // next one, so the search takes the last of equal starts.
        var low = 0
        var high = packs.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= slot { low = mid } else { high = mid - 1 }
        }
        return packs[low].id(at: slot - starts[low])
    }
}
