#if canImport(Glibc)
import Glibc
#endif

/// Calls `body` again for as long as it fails with `EINTR`, and returns its first other result.
///
/// A system call a signal interrupts fails with `EINTR` without having done anything, so the one
/// right answer is to make it again; swift-system retries the same way inside each of its calls.
/// `body` is a system call (or a few lines ending in one) that returns a negative value and sets
/// `errno` on failure: on any other failure `errno` is still the call's when this returns.
@inlinable
public func retryingOnEINTR<Result: BinaryInteger, Failure: Error>(
    _ body: () throws(Failure) -> Result
) throws(Failure) -> Result {
    while true {
        let result = try body()
        if result < 0 && errno == EINTR { continue }
        return result
    }
}
