import HGCore
import HGStore

/// Every object of the store, numbered, for `verify`: the loose ids first, then each pack's ids in
/// pack order. The position of an id in that sequence is its slot; an id listed again (loose and
/// packed, or in two packs) is a repeat and counts at its first slot only.
///
/// The ids are not copied: they are read from the loose list and from the packs' own index
/// arrays (which the workers share), and an open-addressed table of slot numbers finds the
/// first slot of an id. This one table replaces the several sets of ids `verify` used to build;
/// at 10^6 operations (2·10^6 objects) it costs 34 MB where those cost about 400.
final class ObjectTable: Sendable {
    /// The id lists, in slot order: the loose ids, then one list per pack.
    private let sources: [[ObjectID]]
    /// The first slot of each source, then the total (ascending; binary-searched by `id(at:)`).
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
        let sources = [loose] + packs.map(\.ids)
        var starts: [Int] = []
        starts.reserveCapacity(sources.count + 1)
        var total = 0
        for source in sources {
            starts.append(total)
            total += source.count
        }
        starts.append(total)
        var capacity = 16
        while capacity < 2 * total { capacity *= 2 }
        let mask = capacity - 1
        var buckets = [Int](repeating: -1, count: capacity)
        var repeats = [Bool](repeating: false, count: total)
        var count = 0
        var slot = 0
        for source in sources {
            for id in source {
                var b = id.hashValue & mask
                while buckets[b] >= 0, ObjectTable.id(at: buckets[b], sources: sources, starts: starts) != id { b = (b + 1) & mask }
                if buckets[b] >= 0 {
                    repeats[slot] = true
                } else {
                    buckets[b] = slot
                    count += 1
                }
                slot += 1
            }
        }
        self.sources = sources
        self.starts = starts
        self.buckets = buckets
        self.repeats = repeats
        slotCount = total
        self.count = count
    }

    /// The id at `slot` (in `0..<slotCount`).
    func id(at slot: Int) -> ObjectID {
        ObjectTable.id(at: slot, sources: sources, starts: starts)
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

    private static func id(at slot: Int, sources: [[ObjectID]], starts: [Int]) -> ObjectID {
        // The last source starting at or before `slot`; empty sources share their start with
        // the next one, so the search takes the last of equal starts.
        var low = 0, high = sources.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= slot { low = mid } else { high = mid - 1 }
        }
        return sources[low][slot - starts[low]]
    }
}
