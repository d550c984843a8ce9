import Dispatch

/// Runs `body` for every index in `0..<count` on all cores, collecting the
/// results in order. Each worker gets its own `context` (for example its own
/// zlib streams), made by `makeContext`.
func parallelMap<Context, Result>(
    count: Int, makeContext: @Sendable () -> Context, _ body: @Sendable (inout Context, Int) -> Result
) -> [Result] {
    guard count > 0 else { return [] }
    let slots = Slots<Result>(count: count)
    let workers = min(count, max(1, System.coreCount))
    let chunk = (count + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var context = makeContext()
        let start = worker * chunk
        let end = min(count, start + chunk)
        if start < end {
            for i in start..<end { slots.set(i, body(&context, i)) }
        }
    }
    return slots.collect()
}

/// Fixed slots written by distinct workers at distinct indices, read after all have finished.
/// Raw memory rather than an array, so that concurrent writers never trigger
/// Swift's exclusivity checks on a shared property.
private final class Slots<T>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    private let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }
    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }
    func set(_ index: Int, _ value: T) { storage[index] = value }
    func collect() -> [T] { (0..<count).compactMap { storage[$0] } }
}

#if canImport(Glibc)
import Glibc
#endif

enum System {
    /// Online processors.
    static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
