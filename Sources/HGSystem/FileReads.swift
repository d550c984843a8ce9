#if canImport(Glibc)
import Glibc
#endif

/// A failed system call's `errno`, as a typed error for the lowest layer; each module above
/// turns it into its own error, with the path and the operation.
public struct Errno: Error, Equatable, Sendable {
    /// The `errno` value.
    public let code: Int32

    /// Wraps `code`.
    public init(_ code: Int32) { self.code = code }
}

/// Reading an open file: the one read loop of the store, the working tree and the packs.
public enum FileReads {
    /// Up to `count` bytes of `fd`: from its current offset, or from `offset` with `pread`
    /// (which leaves the descriptor's offset alone). Fewer where the file ends first: it may
    /// have shrunk since the caller measured it.
    public static func read(_ fd: Int32, count: Int, at offset: Int? = nil) throws(Errno) -> [UInt8] {
        var failure: Int32 = 0
        // Filled straight from the file: zeroing it first cost as much as the read (an index is megabytes).
        let bytes = [UInt8](unsafeUninitializedCapacity: max(0, count)) { raw, initialized in
            var done = 0
            while done < raw.count {
                let start = raw.baseAddress.map { $0 + done }
                let wanted = raw.count - done
                let n = retryingOnEINTR {
                    if let offset {
                        pread(fd, start, wanted, off_t(offset + done))
                    } else {
                        Glibc.read(fd, start, wanted)
                    }
                }
                if n < 0 {
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 { throw Errno(failure) }
        return bytes
    }
}
