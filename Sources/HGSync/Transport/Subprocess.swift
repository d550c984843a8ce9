import Dispatch
import HGCore
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// A child process whose stdin/stdout are connected to a ByteStream; its stderr is inherited,
/// or handed line by line to a callback (`stderrLines`).
///
/// The child runs in our process group (so that `ssh` can still ask for a password on the
/// terminal), with SIGPIPE back at its default disposition and no signals blocked, whatever
/// this process did to its own (ByteStream ignores SIGPIPE; a SIG_IGN disposition and the
/// thread's signal mask would otherwise survive exec).
///
/// Releasing a Subprocess that was not waited for terminates it (see `terminate`), so no
/// zombie is left behind.
public final class Subprocess {
    /// Writes go to the child's stdin, reads come from its stdout.
    public let stream: ByteStream
    /// The child's process id.
    public let pid: Int32
    /// The exit status once the child has been reaped.
    private var status: Int32?
    /// Reads the child's stderr, when it is not inherited.
    private let stderrRelay: LineRelay?

    private init(stream: ByteStream, pid: Int32, stderrRelay: LineRelay?) {
        self.stream = stream
        self.pid = pid
        self.stderrRelay = stderrRelay
    }

    deinit {
        if status == nil { terminate() }
    }

    /// Starts `arguments[0]` (searched in PATH, like execvp) with the rest as arguments, using
    /// posix_spawnp and two pipes; O_CLOEXEC on the parent's ends. Throws
    /// .transport("cannot start <program>: <reason>") if it cannot start.
    ///
    /// Detection is by posix_spawnp's return value: glibc (2.24 and later) starts the child
    /// with `clone(CLONE_VFORK)` and passes an exec failure back to the parent, so a missing or
    /// non-executable program is reported here as ENOENT/EACCES, and the failed child is reaped
    /// by glibc. No waiting or exit-status guessing is involved. A program that starts but
    /// fails at once (a shell's "command not found", exit 127) is not detected here: the
    /// caller sees `.closed` on its first read and can consult `wait()`.
    ///
    /// The parent's ends are close-on-exec and non-blocking; the child's ends become its
    /// blocking fds 0 and 1, and no other descriptor of ours leaks into it.
    ///
    /// With `stderrLines`, the child's stderr is a pipe too, and each line it writes (without
    /// its newline, decoded with replacement characters, at most 4,096 bytes at a time) goes to
    /// `stderrLines` on a thread of its own, so that the caller can make a peer's text safe
    /// before it reaches a terminal. `wait`, `terminate` and `exitStatus(within:)` hand on
    /// what is left once the child has exited (the pipe ends at once unless something else
    /// inherited it from the child; for that case they wait at most five seconds).
    public static func spawn(
        _ arguments: [String], timeout: Double,
        stderrLines: (@Sendable (String) -> Void)? = nil
    ) throws(SyncError) -> Subprocess {
        guard let program = arguments.first, !program.isEmpty else {
            throw .transport("cannot start a program: no program was given")
        }
        func failure(_ reason: String) -> SyncError { .transport("cannot start \(program): \(reason)") }
        if arguments.contains(where: { $0.utf8.contains(0) }) {
            throw failure("an argument contains a NUL byte")
        }

        // toChild: the child reads [0] as stdin, we write [1]. fromChild: the child writes [1], we read [0].
        let toChild = try makePipe(program: program)
        let fromChild: (read: Int32, write: Int32)
        do throws(SyncError) {
            fromChild = try makePipe(program: program)
        } catch {
            _ = close(toChild.read)
            _ = close(toChild.write)
            throw error
        }
        var errors: (read: Int32, write: Int32)? = nil
        if stderrLines != nil {
            do throws(SyncError) {
                errors = try makePipe(program: program)
            } catch {
                for fd in [toChild.read, toChild.write, fromChild.read, fromChild.write] { _ = close(fd) }
                throw error
            }
        }
        let parentRead = fromChild.read
        let parentWrite = toChild.write
        let childRead = toChild.read
        let childWrite = fromChild.write
        func closeAll() {
            for fd in [parentRead, parentWrite, childRead, childWrite] { _ = close(fd) }
            if let errors {
                _ = close(errors.read)
                _ = close(errors.write)
            }
        }

        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        var code = posix_spawn_file_actions_init(&actions)
        guard code == 0 else {
            closeAll()
            throw failure(ErrnoText.describe(code))
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        code = posix_spawnattr_init(&attributes)
        guard code == 0 else {
            closeAll()
            throw failure(ErrnoText.describe(code))
        }
        defer { posix_spawnattr_destroy(&attributes) }

        // Our ends are separate open file descriptions from the child's, so making them
        // non-blocking leaves the child's stdin and stdout blocking.
        for fd in [parentRead, parentWrite] {
            let flags = fcntl(fd, F_GETFL)
            if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 {
                let reason = ErrnoText.describe(errno)
                closeAll()
                throw failure("fcntl: \(reason)")
            }
        }

        // dup2 clears close-on-exec on fds 0 and 1; the originals (all ≥ 3, see makePipe) are
        // close-on-exec and vanish at exec, as do the parent's ends.
        code = posix_spawn_file_actions_adddup2(&actions, childRead, 0)
        if code == 0 { code = posix_spawn_file_actions_adddup2(&actions, childWrite, 1) }
        if code == 0, let errors { code = posix_spawn_file_actions_adddup2(&actions, errors.write, 2) }
        var defaults = sigset_t()
        var mask = sigset_t()
        _ = sigemptyset(&defaults)
        _ = sigaddset(&defaults, SIGPIPE)
        _ = sigemptyset(&mask)
        if code == 0 { code = posix_spawnattr_setsigdefault(&attributes, &defaults) }
        if code == 0 { code = posix_spawnattr_setsigmask(&attributes, &mask) }
        if code == 0 {
            code = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        }
        guard code == 0 else {
            closeAll()
            throw failure(ErrnoText.describe(code))
        }

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        if argv.dropLast().contains(where: { $0 == nil }) {
            closeAll()
            throw failure(ErrnoText.describe(ENOMEM))
        }

        var pid: pid_t = 0
        code = posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        _ = close(childRead)
        _ = close(childWrite)
        if let errors { _ = close(errors.write) }
        guard code == 0 else {
            _ = close(parentRead)
            _ = close(parentWrite)
            if let errors { _ = close(errors.read) }
            throw failure(ErrnoText.describe(code))
        }
        let stream = ByteStream(readFD: parentRead, writeFD: parentWrite, timeout: timeout, closeOnDeinit: true)
        let relay = errors.flatMap { errors in stderrLines.map { LineRelay(fd: errors.read, line: $0) } }
        return Subprocess(stream: stream, pid: pid, stderrRelay: relay)
    }

    /// Runs `/bin/sh -c command` (for `--exec "CMD"`).
    ///
    /// Only a missing /bin/sh is reported as `.transport`; a command the shell cannot find
    /// makes the shell exit 127 (seen as `.closed` on the first read, then `wait()` == 127).
    public static func shell(_ command: String, timeout: Double) throws(SyncError) -> Subprocess {
        try spawn(["/bin/sh", "-c", command], timeout: timeout)
    }

    /// Closes our ends and waits for the exit; returns the exit status (or 128 + signal).
    ///
    /// Waits as long as the child runs: a child that ignores EOF on stdin keeps this waiting;
    /// use `terminate` to bound that. Calling it again returns the same status.
    public func wait() -> Int32 {
        if let status { return status }
        stream.closeBoth()
        var raw: Int32 = 0
        if retryingOnEINTR({ waitpid(pid, &raw, 0) }) < 0 {
            // ECHILD: someone else reaped it (or SIGCHLD is ignored); the status is lost.
            status = 255
            return 255
        }
        let decoded = Subprocess.decode(raw)
        status = decoded
        stderrRelay?.finish(within: 5)
        return decoded
    }

    /// Sends SIGTERM to the child and every process it started, then SIGKILL after a short
    /// grace period to those still running, and reaps the child.
    ///
    /// Our ends are closed first. The grace period is one second; the status is then available
    /// from `wait()` (for example 128 + 15 after SIGTERM). The descendants are listed before
    /// anything is signalled: once the child is gone they no longer point back to it. Does
    /// nothing once the child was reaped.
    public func terminate() {
        guard status == nil else { return }
        stream.closeBoth()
        let descendants = ProcessTree.descendants(of: pid)
        if reapIfExited() && descendants.isEmpty { return }
        if status == nil { _ = kill(pid, SIGTERM) }
        for descendant in descendants { _ = kill(descendant, SIGTERM) }
        for _ in 0..<100 {
            if (status != nil || reapIfExited()) && !descendants.contains(where: ProcessTree.isRunning) { return }
            _ = usleep(10_000)
        }
        for descendant in descendants where ProcessTree.isRunning(descendant) { _ = kill(descendant, SIGKILL) }
        if status == nil { _ = kill(pid, SIGKILL) }
        _ = wait()
    }

    /// The exit status if the child exits within `seconds` (it is then reaped), else `nil`
    /// and the child is left running. Never blocks longer than `seconds`.
    public func exitStatus(within seconds: Double) -> Int32? {
        if let status { return status }
        let rounds = max(1, Int(seconds * 100))
        for _ in 0..<rounds {
            if reapIfExited() { return status }
            _ = usleep(10_000)
        }
        return nil
    }

    /// Reaps the child if it has exited; whether it was reaped.
    private func reapIfExited() -> Bool {
        var raw: Int32 = 0
        let result = retryingOnEINTR { waitpid(pid, &raw, WNOHANG) }
        if result == pid {
            status = Subprocess.decode(raw)
            stderrRelay?.finish(within: 5)
            return true
        }
        if result < 0 {
            status = 255
            return true
        }
        return false
    }

    /// The shell's convention for a wait status: the exit code, or 128 + the signal that ended it.
    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        if signal == 0 { return (raw >> 8) & 0xff }  // WIFEXITED → WEXITSTATUS
        if signal != 0x7f { return 128 + signal }  // WIFSIGNALED → WTERMSIG
        return 128 + ((raw >> 8) & 0xff)  // stopped; not reported without WUNTRACED
    }

    /// A close-on-exec pipe whose descriptors are both ≥ 3. Keeping clear of 0–2 matters when
    /// this process runs with stdin or stdout closed: a pipe end that already was fd 0 or 1
    /// would make the spawn's dup2 a no-op (leaving close-on-exec set) or be overwritten by the
    /// other dup2.
    private static func makePipe(program: String) throws(SyncError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if let pipe2 = pipe2Function {
            guard pipe2(&fds, O_CLOEXEC) == 0 else {
                throw .transport("cannot start \(program): pipe2: \(ErrnoText.describe(errno))")
            }
        } else {
            // Not atomic: a process spawned by another thread in between may inherit these.
            guard pipe(&fds) == 0 else {
                throw .transport("cannot start \(program): pipe: \(ErrnoText.describe(errno))")
            }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        for index in 0..<2 where fds[index] < 3 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, Int32(3))
            let code = errno
            _ = close(fds[index])
            fds[index] = moved
            if moved < 0 {
                for fd in fds where fd >= 0 { _ = close(fd) }
                throw .transport("cannot start \(program): fcntl: \(ErrnoText.describe(code))")
            }
        }
        return (fds[0], fds[1])
    }
}

/// glibc's pipe2(2), looked up at run time because Swift's Glibc module is built without
/// _GNU_SOURCE and does not declare it. Creating the pipe close-on-exec atomically matters:
/// with pipe() + fcntl, a process spawned by another thread in between inherits our pipe ends
/// and holds them open, so that a peer's EOF never arrives (Swift Testing runs tests in parallel).
private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
private let pipe2Function: Pipe2? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "pipe2") else { return nil }
    return unsafeBitCast(symbol, to: Pipe2.self)
}()

/// Reads a pipe to its end on a thread of its own and hands on each line.
private final class LineRelay: Sendable {
    /// Signalled once the pipe has ended (and again by each `finish` that saw it, for the next).
    private let ended = DispatchSemaphore(value: 0)

    init(fd: Int32, line: @escaping @Sendable (String) -> Void) {
        DispatchQueue.global().async { [ended] in
            LineRelay.relay(fd, line)
            _ = close(fd)
            ended.signal()
        }
    }

    /// Waits until the pipe has ended or `seconds` have passed (something that inherited the
    /// child's stderr may keep it open; the reader then goes on by itself).
    func finish(within seconds: Double) {
        if ended.wait(timeout: .now() + seconds) == .success { ended.signal() }
    }

    /// Whole lines as they come; a line longer than 4,096 bytes in pieces of that size.
    private static func relay(_ fd: Int32, _ line: @Sendable (String) -> Void) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in retryingOnEINTR { read(fd, raw.baseAddress, raw.count) } }
            if n <= 0 { break }
            pending += buffer[0..<n]
            while true {
                if let newline = pending.firstIndex(of: UInt8(ascii: "\n")), newline <= 4096 {
                    line(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                } else if pending.count >= 4096 {
                    line(String(decoding: pending[..<4096], as: UTF8.self))
                    pending.removeSubrange(..<4096)
                } else {
                    break
                }
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
    }
}
