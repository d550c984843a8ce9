import Dispatch
import Synchronization

/// Runs `body` for every index in `0..<count` on all cores, for its effects: it keeps its
/// results in storage shared with the caller (`Slots`, `SharedList`), so that the caller can
/// keep only what it needs instead of an array of every result. Each worker's context is
/// passed to `finish` when the worker runs out of indices (to hand in what it batched).
public func parallelForEach<Context>(
    count: Int, makeContext: @Sendable () -> Context, finish: @Sendable (inout Context) -> Void = { _ in },
    _ body: @Sendable (inout Context, Int) -> Void
) {
    guard count > 0 else { return }
    let workers = min(count, max(1, System.coreCount))
    // Indices are handed out in small consecutive runs as workers ask for them (not in one
    // fixed share each), so a worker that gets less of its core (a shared machine) or slower
    // items does not leave the others idle at the end.
    let work = WorkCounter(count: count, run: max(1, min(256, count / (workers * 16))))
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        var context = makeContext()
        while let range = work.next() {
            for i in range { body(&context, i) }
        }
        finish(&context)
    }
}

/// Runs `body` for every index in `0..<count` on up to `width` threads at once (the caller's
/// among them), for work that mostly waits on the disk, such as creating and renaming files.
/// The global queues run at most one thread per core, too few to keep a disk busy, so the
/// workers are serial queues of their own.
public func parallelIO(count: Int, width: Int, _ body: @Sendable (Int) -> Void) {
    guard count > 1, width > 1 else {
        for i in 0..<count { body(i) }
        return
    }
    let work = WorkCounter(count: count, run: 1)
    let group = DispatchGroup()
    // The workers are all waited for below, so `body` does not outlive this call.
    withoutActuallyEscaping(body) { body in
        for worker in 1..<min(width, count) {
            DispatchQueue(label: "hg-bft.io.\(worker)").async(group: group) {
                while let range = work.next() { for i in range { body(i) } }
            }
        }
        while let range = work.next() { for i in range { body(i) } }
        group.wait()
    }
}

/// The next run of indices to work on, for any number of workers.
private final class WorkCounter: Sendable {
    private let count: Int
    private let run: Int
    private let claimed = Mutex(0)

    init(count: Int, run: Int) {
        self.count = count
        self.run = run
    }

    func next() -> Range<Int>? {
        claimed.withLock { claimed in
            guard claimed < count else { return nil }
            let start = claimed
            claimed = min(count, start + run)
            return start..<claimed
        }
    }
}

/// Fixed slots written by distinct workers at distinct indices, read after all have finished.
/// Raw memory rather than an array, so that concurrent writers never trigger
/// Swift's exclusivity checks on a shared property.
// @unchecked: each index is written by one worker only, and read only after every worker ended.
public final class Slots<T>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    /// The number of slots.
    public let count: Int
    /// `count` empty slots.
    public init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }
    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }
    /// Stores `value` at `index`; each index by one worker only.
    public func set(_ index: Int, _ value: T?) { storage[index] = value }
    /// The value at `index`; only once no worker writes it any more.
    public subscript(index: Int) -> T? { storage[index] }
}

/// A list that workers append to under a lock: for the rare results (failures) that are
/// not worth a slot per index.
public final class SharedList<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])

    /// An empty list.
    public init() {}

    /// Adds `item` at the end.
    public func append(_ item: T) {
        items.withLock { $0.append(item) }
    }

    /// Everything appended so far.
    public var all: [T] {
        items.withLock { $0 }
    }
}

/// A value computed on another thread while the caller goes on with other work.
///
/// `wait()` blocks until it is ready. Abandoning a `Pending` (not waiting) is allowed: the work
/// finishes in the background and its result is dropped.
public final class Pending<Value: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let value = Mutex<Value?>(nil)

    /// Starts `work` on a global queue.
    public init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            let result = work()
            self.value.withLock { $0 = result }
            self.done.signal()
        }
    }

    /// The value, once computed (waiting for it if needed); `nil` only if the work never
    /// stored one. May be called any number of times.
    public func wait() -> Value? {
        done.wait()
        done.signal()  // so that the next wait returns at once
        return value.withLock { $0 }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Facts about the machine.
public enum System {
    /// Online processors.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
