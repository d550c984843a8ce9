import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// The repository's write lock: an exclusive `flock` on `.hgrepo/lock`.
///
/// `flock` is released by the kernel when the holder exits for any reason,
/// SIGKILL included, so a crash never leaves a stale lock behind. A second
/// writer polls with backoff until `timeout` and then fails, naming the lock.
public final class RepositoryLock {
    private let fd: Int32
    public let path: String

    /// Takes the lock, waiting up to `timeout` seconds.
    public init(path: String, timeout: Double) throws(StoreError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        var waited = 0.0
        var pause = 0.001
        while retryingOnEINTR({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let code = errno
            guard code == EWOULDBLOCK else {
                close(fd)
                throw .io(path: path, operation: "flock", errno: code)
            }
            if waited >= timeout {
                close(fd)
                throw .locked(lockPath: path, seconds: timeout)
            }
            usleep(useconds_t(pause * 1_000_000))
            waited += pause
            pause = min(pause * 2, 0.1)
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
