// Until the system-primitives module of issue 18 (item 2) lands: the concurrency helpers of
// HGRepository/Parallel.swift that the audit uses, copied so that HGAudit need not depend on the
// façade. When that module lands, this file goes and HGAudit depends on the module instead.

import Dispatch

/// Runs `body` for every index in `0..<count` on all cores, for its effects: it keeps its
/// results in storage shared with the caller (`Slots`, `SharedList`), so that the caller can
/// keep only what it needs instead of an array of every result. Each worker's context is
/// passed to `finish` when the worker runs out of indices (to hand in what it batched).
func parallelForEach<Context>(
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

/// The next run of indices to work on, for any number of workers.
private final class WorkCounter: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private let count: Int
    private let run: Int
    private var claimed = 0  // guarded by `lock`

    init(count: Int, run: Int) {
        self.count = count
        self.run = run
    }

    func next() -> Range<Int>? {
        lock.wait()
        defer { lock.signal() }
        guard claimed < count else { return nil }
        let start = claimed
        claimed = min(count, start + run)
        return start..<claimed
    }
}

/// Fixed slots written by distinct workers at distinct indices, read after all have finished.
/// Raw memory rather than an array, so that concurrent writers never trigger
/// Swift's exclusivity checks on a shared property.
final class Slots<T>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<T?>
    let count: Int
    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil, count: count)
    }
    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }
    func set(_ index: Int, _ value: T?) { storage[index] = value }
    /// The value at `index`; only once no worker writes it any more.
    subscript(index: Int) -> T? { storage[index] }
}

/// A list that workers append to under a lock: for the rare results (failures) that are
/// not worth a slot per index.
final class SharedList<T>: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var items: [T] = []  // guarded by `lock`

    func append(_ item: T) {
        lock.wait()
        defer { lock.signal() }
        items.append(item)
    }

    /// Everything appended so far.
    var all: [T] {
        lock.wait()
        defer { lock.signal() }
        return items
    }
}

/// A value computed on another thread while the caller goes on with other work.
///
/// `wait()` blocks until it is ready. Abandoning a `Pending` (not waiting) is allowed: the work
/// finishes in the background and its result is dropped.
final class Pending<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Value?  // written once by the worker before `done` is signalled

    /// Starts `work` on a global queue.
    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }

    /// The value, once computed (waiting for it if needed); `nil` only if the work never
    /// stored one. May be called any number of times.
    func wait() -> Value? {
        done.wait()
        done.signal()  // so that the next wait returns at once
        return value
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum System {
    /// Online processors.
    static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
