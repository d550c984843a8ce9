import Dispatch

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
