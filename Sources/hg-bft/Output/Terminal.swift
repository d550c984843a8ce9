import HGRepository
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Writing to stdout and stderr. Only the executable prints.
enum Terminal {
    /// Writes lines to stdout. Whatever a caller forgot, no control character but the line
    /// breaks and tabs of our own layout leaves here (PeerText).
    static func out(_ text: String) {
        print(PeerText.escaped(text, keeping: layout))
    }

    /// Writes lines to stderr, escaped as `out` is.
    static func err(_ text: String) {
        // stdout may hold buffered lines that belong before this one.
        fflush(nil)
        writeAll(STDERR_FILENO, Array((PeerText.escaped(text, keeping: layout) + "\n").utf8))
    }

    /// The control characters our own output is laid out with.
    static let layout: Set<Unicode.Scalar> = ["\n", "\t"]

    /// A file name made safe to print: in single quotes, with control characters,
    /// quotes and backslashes escaped, so a name can never move the cursor or
    /// split a line (PeerText.quoted).
    static func quote(_ name: String) -> String { PeerText.quoted(name) }

    /// Whether stdout or stderr is a terminal.
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes a progress fragment (which may start with a carriage return) to stderr.
    static func progress(_ text: String) {
        writeAll(STDERR_FILENO, Array(text.utf8))
    }

    /// Writes raw bytes to stdout.
    static func writeRaw(_ bytes: [UInt8]) {
        fflush(nil)
        writeAll(STDOUT_FILENO, bytes)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = retryingOnEINTR { write(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset) }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// Collects output lines and writes them in large chunks: printing 10^5 log
/// entries line by line costs more than producing them.
struct OutputBuffer {
    private var text = ""
    private let chunk = 1 << 16

    init() { text.reserveCapacity(chunk * 2) }

    mutating func line(_ s: String) {
        text += PeerText.escaped(s, keeping: Terminal.layout)
        text += "\n"
        if text.utf8.count >= chunk { flush() }
    }

    mutating func flush() {
        guard !text.isEmpty else { return }
        Terminal.writeRaw(Array(text.utf8))
        text.removeAll(keepingCapacity: true)
    }
}

/// Exit statuses (README, "Exit status").
enum ExitStatus {
    static let success: Int32 = 0
    /// The command failed; an `error:` line says why.
    static let failure: Int32 = 1
    /// The arguments were wrong.
    static let usage: Int32 = 2
    /// `verify` ran and found problems.
    static let problemsFound: Int32 = 3
    /// `sync`, `clone` or `serve` finished and kept every valid operation, but the peer sent
    /// invalid ones (refused) or withheld predecessors of some (not stored): the repository is
    /// consistent, the peer is faulty or malicious. Distinct from `failure`, so that a script
    /// can tell a misbehaving peer from one it could not reach.
    static let partial: Int32 = 4

    /// The status that says more of two: a failure over a partial sync over success.
    static func worse(_ a: Int32, _ b: Int32) -> Int32 {
        func rank(_ status: Int32) -> Int { status == success ? 0 : status == partial ? 1 : 2 }
        return rank(a) >= rank(b) ? a : b
    }
}

/// Thrown by commands that have already printed what went wrong.
struct Exit: Error {
    let status: Int32
}

/// Formats advisory timestamps.
enum TimeFormat {
    /// `2026-11-21 12:00:00 +0000` (UTC), from milliseconds since the epoch.
    static func utc(_ milliseconds: UInt64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    /// ISO 8601 for JSON, e.g. `2026-11-21T12:00:00.123Z`.
    static func iso(_ milliseconds: UInt64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return
            "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(Int(milliseconds % 1000), 3))Z"
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (unchanged if longer).
    func padded(to width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }

    /// The string preceded by spaces up to `width` characters (unchanged if longer).
    func rightAligned(to width: Int) -> String { String(repeating: " ", count: Swift.max(0, width - count)) + self }
}
