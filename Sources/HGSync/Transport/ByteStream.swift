import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Makes writing to a pipe whose reader has gone return EPIPE instead of killing the process.
/// Evaluated once, lazily (Swift initialises globals atomically on first use), by the first
/// `ByteStream`. Children started by `Subprocess` get the default SIGPIPE disposition back.
private let sigpipeIgnored: Bool = {
    _ = signal(SIGPIPE, SIG_IGN)
    return true
}()

/// A bidirectional byte stream to a peer over two file descriptors (a pipe pair, a subprocess's stdin/stdout, or the process's own stdin/stdout for `hg-bft serve`).
/// Every read waits at most `timeout` seconds for data (poll(2)); a peer that hangs costs bounded time.
///
/// The descriptors may be blocking or non-blocking; their flags are never changed. On a
/// blocking write descriptor each write(2) after poll(2) reports room is at most `PIPE_BUF`
/// bytes, which a pipe or socket with room accepts without blocking, so writes are bounded too.
///
/// Reads go through a small read-ahead buffer: bytes the peer sent beyond what was asked for
/// are kept for the next `readExactly`. `readFD` and `writeFD` may be the same descriptor (a socket).
///
/// Not thread-safe in general, but one thread may read while one other thread writes:
/// the two sides share no mutable state (only `timeout`, which must not change meanwhile).
public final class ByteStream {
    private let readFD: Int32
    private let writeFD: Int32
    private let closeOnDeinit: Bool
    private var readOpen = true
    private var writeOpen = true
    /// Bytes at most this large are written with one write(2) to a blocking descriptor.
    private let blockingWriteChunk: Int
    /// The read-ahead buffer: `pending[pendingStart..<pendingEnd]` arrived but was not yet returned.
    private var pending: [UInt8]
    private var pendingStart = 0
    private var pendingEnd = 0

    /// Bytes returned by `readExactly` so far (read-ahead bytes count once they are returned).
    public private(set) var bytesRead: Int = 0
    /// Bytes written by `write` so far (including the written part of a write that failed).
    public private(set) var bytesWritten: Int = 0
    /// Seconds to wait for the peer before a read or write gives up; reset whenever a byte moves.
    /// Zero or less (or NaN) means "only what is possible right now".
    public var timeout: Double

    /// Wraps two descriptors. With `closeOnDeinit` the stream owns them and closes them when it
    /// is released; otherwise (stdin/stdout) they stay open, and `closeWrite` points the write
    /// descriptor at /dev/null instead of closing it, so that its number is never reused by accident.
    public init(readFD: Int32, writeFD: Int32, timeout: Double, closeOnDeinit: Bool) {
        _ = sigpipeIgnored
        self.readFD = readFD
        self.writeFD = writeFD
        self.timeout = timeout
        self.closeOnDeinit = closeOnDeinit
        let flags = fcntl(writeFD, F_GETFL)
        let nonBlocking = flags >= 0 && (flags & O_NONBLOCK) != 0
        // PIPE_BUF (4096 on Linux): a write this small to a pipe that polled writable cannot block.
        self.blockingWriteChunk = nonBlocking ? Int.max : 4096
        self.pending = [UInt8](repeating: 0, count: 64 * 1024)
    }

    deinit {
        if closeOnDeinit { closeBoth() }
    }

    /// Exactly `count` bytes. Throws .closed(during:) on EOF before `count` bytes, .timeout(seconds:during:) if no byte arrives for `timeout` seconds, .io on errors. `count` is checked by callers; still refuse count < 0.
    ///
    /// After an error the bytes consumed by this call are lost; the stream should be abandoned.
    public func readExactly(_ count: Int, during: String) throws(SyncError) -> [UInt8] {
        guard count >= 0 else { throw .io("read of \(count) bytes during \(during)", errno: EINVAL) }
        var result: [UInt8] = []
        // `count` is bounded by the callers, but memory still grows only as bytes arrive.
        result.reserveCapacity(Swift.min(count, 1 << 20))
        while result.count < count {
            if pendingStart == pendingEnd { try fill(during: during) }
            let take = Swift.min(count - result.count, pendingEnd - pendingStart)
            result.append(contentsOf: pending[pendingStart..<(pendingStart + take)])
            pendingStart += take
        }
        bytesRead += count
        return result
    }

    /// Refills the read-ahead buffer with at least one byte.
    private func fill(during: String) throws(SyncError) {
        guard readOpen else { throw .io("read from a closed stream during \(during)", errno: EBADF) }
        pendingStart = 0
        pendingEnd = 0
        while true {
            // Interrupted, the read waits for the descriptor again: the poll bounds the wait.
            let n = try retryingOnEINTR { () throws(SyncError) -> Int in
                try waitUntilReady(readFD, events: Int16(POLLIN), during: during)
                let fd = readFD
                return pending.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress, raw.count) }
            }
            if n > 0 {
                pendingEnd = n
                return
            }
            if n == 0 { throw .closed(during: during) }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { continue }
            if code == ECONNRESET { throw .closed(during: during) }
            throw .io("read during \(during)", errno: code)
        }
    }

    /// Writes all bytes (waiting up to `timeout` for the pipe to accept more when full). EPIPE → .closed(during:).
    public func write(_ bytes: [UInt8], during: String) throws(SyncError) {
        guard writeOpen else { throw .io("write to a closed stream during \(during)", errno: EBADF) }
        var done = 0
        while done < bytes.count {
            let n = try retryingOnEINTR { () throws(SyncError) -> Int in
                try waitUntilReady(writeFD, events: Int16(POLLOUT), during: during)
                let fd = writeFD
                let length = Swift.min(bytes.count - done, blockingWriteChunk)
                return bytes.withUnsafeBytes { raw in
                    Glibc.write(fd, raw.baseAddress.map { $0 + done }, length)
                }
            }
            if n >= 0 {
                done += n
                bytesWritten += n
                continue
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK { continue }
            if code == EPIPE || code == ECONNRESET { throw .closed(during: during) }
            throw .io("write during \(during)", errno: code)
        }
    }

    /// Closes the writing side (the peer then reads EOF).
    ///
    /// If both sides are one descriptor (a socket) it is shut down for writing. A descriptor the
    /// stream does not own is replaced by /dev/null rather than closed. Calling it twice is harmless.
    public func closeWrite() {
        guard writeOpen else { return }
        writeOpen = false
        if writeFD == readFD {
            // A socket: half-close it. (For a terminal or other non-socket nothing can be done.)
            _ = shutdown(writeFD, Int32(SHUT_WR))
            return
        }
        if closeOnDeinit {
            _ = close(writeFD)
            return
        }
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        if null >= 0 {
            _ = dup2(null, writeFD)
            _ = close(null)
        } else {
            _ = close(writeFD)
        }
    }

    /// Closes both descriptors (each once, even when they are the same).
    func closeBoth() {
        // With one descriptor for both sides, closeWrite only shut it down: it is open while readOpen.
        if writeOpen && writeFD != readFD { _ = close(writeFD) }
        if readOpen { _ = close(readFD) }
        readOpen = false
        writeOpen = false
        pendingStart = 0
        pendingEnd = 0
    }

    /// Waits until `fd` is ready for `events` (or has an error or hang-up, which the following
    /// read or write reports), at most `timeout` seconds.
    private func waitUntilReady(_ fd: Int32, events: Int16, during: String) throws(SyncError) {
        let limit = timeout.isNaN ? 0 : Swift.max(timeout, 0)
        let deadline = Clock.monotonicSeconds() + limit
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            // Interrupted, the poll is made again for what is left of the time.
            let ready = retryingOnEINTR {
                descriptor.revents = 0
                let remaining = deadline - Clock.monotonicSeconds()
                let milliseconds: Int32
                if remaining <= 0 {
                    milliseconds = 0
                } else if remaining >= Double(Int32.max) / 1000 {
                    milliseconds = Int32.max
                } else {
                    milliseconds = Int32((remaining * 1000).rounded(.up))
                }
                return poll(&descriptor, 1, milliseconds)
            }
            if ready > 0 {
                if descriptor.revents & Int16(POLLNVAL) != 0 { throw .io("poll during \(during)", errno: EBADF) }
                return
            }
            if ready == 0 {
                if Clock.monotonicSeconds() >= deadline { throw .timeout(seconds: timeout, during: during) }
                continue
            }
            throw .io("poll during \(during)", errno: errno)
        }
    }
}
