import Foundation
import HGSync
import Testing

/// Carries a non-Sendable value to one other thread. Safe here because a ByteStream allows one
/// reader thread and one writer thread at a time, and the tests join the writer before finishing.
private final class Unchecked<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Deterministic, non-repeating-looking test data.
private func pattern(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for index in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            buffer[index] = UInt8(truncatingIfNeeded: state >> 24)
        }
        initialized = count
    }
}

/// Everything the peer sends until it closes.
private func readToEnd(_ stream: ByteStream) throws -> [UInt8] {
    var all: [UInt8] = []
    while true {
        do {
            all += try stream.readExactly(1, during: "test")
        } catch {
            // (`catch .closed` here crashes the Swift 6.3.1 compiler: "Found ownership error")
            if case .closed = error { return all }
            throw error
        }
    }
}

/// A pipe made with Glibc's pipe(2): (read end, write end).
private func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
    return (fds[0], fds[1])
}

@Suite struct TransportTests {
    @Test func catEchoesOneMebibyteWrittenFromAnotherThread() throws {
        let process = try Subprocess.spawn(["cat"], timeout: 10)
        let total = 1 << 20
        let data = pattern(total)
        let stream = Unchecked(process.stream)
        let writeError = Unchecked<SyncError?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var offset = 0
            do throws(SyncError) {
                while offset < total {
                    let end = min(offset + 16_384, total)
                    try stream.value.write(Array(data[offset..<end]), during: "writing to cat")
                    offset = end
                }
            } catch {
                writeError.value = error
            }
            stream.value.closeWrite()
            done.signal()
        }

        var echoed: [UInt8] = []
        let sizes = [1, 7, 4096, 65_536, 100_003]
        var index = 0
        while echoed.count < total {
            let size = min(sizes[index % sizes.count], total - echoed.count)
            echoed += try process.stream.readExactly(size, during: "reading from cat")
            index += 1
        }
        done.wait()
        #expect(writeError.value == nil)
        #expect(echoed == data)
        #expect(throws: SyncError.closed(during: "the end")) {
            try process.stream.readExactly(1, during: "the end")
        }
        #expect(process.stream.bytesRead == total)
        #expect(process.stream.bytesWritten == total)
        #expect(process.wait() == 0)
    }

    @Test func readingAfterTheChildExitedEarlyThrowsClosed() throws {
        let head = try Subprocess.spawn(["head", "-c", "4"], timeout: 10)
        try head.stream.write(Array("hello world\n".utf8), during: "sending")
        #expect(try head.stream.readExactly(4, during: "reading") == Array("hell".utf8))
        #expect(throws: SyncError.closed(during: "the reply")) {
            try head.stream.readExactly(1, during: "the reply")
        }
        #expect(head.wait() == 0)

        let silent = try Subprocess.spawn(["true"], timeout: 10)
        #expect(throws: SyncError.closed(during: "the greeting")) {
            try silent.stream.readExactly(8, during: "the greeting")
        }
        #expect(silent.wait() == 0)
    }

    @Test func aChildThatNeverWritesTimesOutAndIsReaped() throws {
        let sleeper = try Subprocess.spawn(["sleep", "5"], timeout: 0.3)
        #expect(throws: SyncError.timeout(seconds: 0.3, during: "the greeting")) {
            try sleeper.stream.readExactly(1, during: "the greeting")
        }
        sleeper.terminate()
        var status: Int32 = 0
        #expect(waitpid(sleeper.pid, &status, WNOHANG) == -1)
        #expect(errno == ECHILD)
        #expect(sleeper.wait() == 128 + SIGTERM)
        sleeper.terminate()  // harmless once reaped
    }

    /// The child's stderr, when asked for, arrives as lines (a long one in 4,096-byte pieces
    /// however the reads split it, a last one without its newline, invalid UTF-8 replaced), all
    /// of them before `wait` returns.
    @Test func stderrLinesAreHandedOnBeforeWaitReturns() throws {
        let lines = Unchecked<[String]>([])
        let lock = NSLock()
        // One write: the reads then end mid-way through the long line.
        let script = "x=$(head -c 5000 /dev/zero | tr '\\000' x); printf 'one\\ntwo\\377\\n%s\\nlast' \"$x\" >&2"
        let process = try Subprocess.spawn(
            ["/bin/sh", "-c", script], timeout: 10,
            stderrLines: { line in
                lock.lock()
                lines.value.append(line)
                lock.unlock()
            })
        #expect(process.wait() == 0)
        lock.lock()
        let seen = lines.value
        lock.unlock()
        #expect(
            seen == [
                "one", "two\u{FFFD}", String(repeating: "x", count: 4096), String(repeating: "x", count: 904), "last",
            ])
    }

    @Test func shellCommandOutputThenClosed() throws {
        let process = try Subprocess.shell("printf abc", timeout: 10)
        #expect(try process.stream.readExactly(3, during: "output") == Array("abc".utf8))
        #expect(throws: SyncError.closed(during: "more output")) {
            try process.stream.readExactly(1, during: "more output")
        }
        #expect(process.wait() == 0)
        #expect(process.wait() == 0)  // the status is remembered
    }

    @Test func aMissingProgramIsATransportError() {
        do {
            let process = try Subprocess.spawn(["hg-bft-no-such-program-\(getpid())", "x"], timeout: 1)
            Issue.record("spawned a missing program as pid \(process.pid)")
        } catch {
            guard case let .transport(message) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            #expect(message.hasPrefix("cannot start hg-bft-no-such-program-"))
            #expect(message.contains("No such file"))
        }
        #expect(throws: SyncError.self) { try Subprocess.spawn([], timeout: 1) }
        #expect(throws: SyncError.self) { try Subprocess.spawn(["/etc/passwd"], timeout: 1) }  // not executable
    }

    @Test func aShellCommandThatIsNotFoundExits127() throws {
        // Documented: the shell starts, so this is not a .transport error; the caller sees EOF.
        let process = try Subprocess.shell("hg-bft-no-such-program-\(getpid()) 2>/dev/null", timeout: 10)
        #expect(throws: SyncError.closed(during: "the greeting")) {
            try process.stream.readExactly(1, during: "the greeting")
        }
        #expect(process.wait() == 127)
    }

    @Test func writingToAChildThatExitedThrowsClosed() throws {
        let process = try Subprocess.spawn(["true"], timeout: 10)
        #expect(throws: SyncError.closed(during: "the push")) {
            try process.stream.write(pattern(1 << 20), during: "the push")
        }
        #expect(process.stream.bytesWritten < 1 << 20)
        #expect(process.wait() == 0)
    }

    @Test func childrenGetDefaultSIGPIPE() throws {
        // `yes` dies of SIGPIPE once we close its stdout; with SIGPIPE ignored (as it is in
        // this process) it would instead report EPIPE and exit 1.
        let yes = try Subprocess.spawn(["yes"], timeout: 10)
        #expect(try yes.stream.readExactly(4, during: "output") == Array("y\ny\n".utf8))
        #expect(yes.wait() == 128 + SIGPIPE)
    }

    #if os(Linux)
    @Test func signalStateOfThisProcessAndOfChildren() throws {
        let own = try makePipe()
        _ = ByteStream(readFD: own.read, writeFD: own.write, timeout: 1, closeOnDeinit: true)
        let sigpipeBit: UInt64 = 1 << UInt64(SIGPIPE - 1)
        func mask(_ name: String, in status: String) -> UInt64? {
            for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
                return UInt64(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
            }
            return nil
        }
        let ours = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        #expect(mask("SigIgn", in: ours).map { $0 & sigpipeBit != 0 } == true)

        let child = try Subprocess.spawn(["cat", "/proc/self/status"], timeout: 10)
        let theirs = String(decoding: try readToEnd(child.stream), as: UTF8.self)
        #expect(child.wait() == 0)
        #expect(mask("SigIgn", in: theirs).map { $0 & sigpipeBit == 0 } == true)
        #expect(mask("SigBlk", in: theirs) == 0)
    }
    #endif

    @Test func aPipePairExchangesDataBothWays() throws {
        let ab = try makePipe()
        let ba = try makePipe()
        let a = ByteStream(readFD: ba.read, writeFD: ab.write, timeout: 5, closeOnDeinit: true)
        let b = ByteStream(readFD: ab.read, writeFD: ba.write, timeout: 5, closeOnDeinit: true)

        try a.write(Array("ping0123456".utf8), during: "ping")
        #expect(try b.readExactly(4, during: "ping") == Array("ping".utf8))
        #expect(try b.readExactly(0, during: "nothing") == [])
        #expect(try b.readExactly(3, during: "ping") == Array("012".utf8))  // from the read-ahead
        #expect(try b.readExactly(4, during: "ping") == Array("3456".utf8))
        try b.write(Array("pong".utf8), during: "pong")
        try b.write([], during: "nothing")
        #expect(try a.readExactly(4, during: "pong") == Array("pong".utf8))

        let block = pattern(40_000, seed: 7)  // smaller than the pipe buffer: no second thread needed
        try b.write(block, during: "block")
        #expect(try a.readExactly(block.count, during: "block") == block)

        #expect(a.bytesWritten == 11 && b.bytesRead == 11)
        #expect(b.bytesWritten == 4 + block.count && a.bytesRead == 4 + block.count)

        try a.write([1, 2, 3], during: "frame")
        a.closeWrite()
        a.closeWrite()
        #expect(throws: SyncError.closed(during: "the frame")) { try b.readExactly(5, during: "the frame") }
        #expect(throws: SyncError.self) { try a.write([4], during: "after closing") }
    }

    @Test func negativeCountsAreRefused() throws {
        let pair = try makePipe()
        let stream = ByteStream(readFD: pair.read, writeFD: pair.write, timeout: 5, closeOnDeinit: true)
        do {
            _ = try stream.readExactly(-1, during: "a frame")
            Issue.record("read a negative count")
        } catch {
            guard case let .io(_, code) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            #expect(code == EINVAL)
        }
        #expect(stream.bytesRead == 0)
    }

    @Test func aWriteNobodyReadsTimesOut() throws {
        let pair = try makePipe()
        let stream = ByteStream(readFD: pair.read, writeFD: pair.write, timeout: 0.2, closeOnDeinit: true)
        let data = pattern(1 << 20)
        #expect(throws: SyncError.timeout(seconds: 0.2, during: "the push")) {
            try stream.write(data, during: "the push")
        }
        // The pipe took what fits in its buffer, and no more.
        let accepted = stream.bytesWritten
        #expect(accepted > 0 && accepted < data.count)
        #expect(try stream.readExactly(accepted, during: "draining") == Array(data.prefix(accepted)))
    }
}
