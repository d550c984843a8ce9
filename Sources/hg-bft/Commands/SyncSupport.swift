import ArgumentParser
import HGRepository
import HGStore
import HGSync
import HGSystem
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by `sync` and `clone`.
struct TransportOptions: ParsableArguments {
    @Option(name: .customLong("exec"), help: "Run CMD (with /bin/sh) and speak the protocol on its stdin/stdout.")
    var exec: String?

    @Option(name: .customLong("remote-program"), help: "The hg-bft to run on an ssh host (default: hg-bft, or remote.<name>.program).")
    var remoteProgram: String?

    @Option(help: "Seconds to wait for the peer before giving up.")
    var timeout: Double = 60

    @Option(name: .customLong("max-receive"), help: "Most MiB of objects to accept from the peer in one session.")
    var maxReceiveMiB: Int = 2048

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @OptionGroup var output: JSONFlag

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard maxReceiveMiB > 0 else { throw ValidationError("--max-receive must be positive") }
    }

    var syncOptions: SyncOptions {
        var options = SyncOptions()
        options.timeout = timeout
        options.maxReceiveBytes = maxReceiveMiB << 20
        return options
    }

    /// The ssh command: $HGBFT_SSH, else core.sshCommand, else `ssh` (split on spaces).
    func sshCommand(_ config: Config?) -> [String] {
        let text = getenv("HGBFT_SSH").map { String(cString: $0) } ?? config?.value("core", "sshcommand") ?? "ssh"
        let words = text.split(separator: " ").map(String.init)
        return words.isEmpty ? ["ssh"] : words
    }

    /// Starts the peer for `address`.
    func start(_ address: RemoteAddress, config: Config?, remoteName: String?) throws -> Subprocess {
        let program = remoteProgram ?? remoteName.flatMap { config?.value("remote", "program", subsection: $0) } ?? "hg-bft"
        let command = address.serveCommand(localProgram: SelfExecutable.path, remoteProgram: program,
                                           sshCommand: sshCommand(config))
        // What the other side writes to stderr is the peer's text: escaped, line by line.
        return try Subprocess.spawn(command, timeout: timeout, stderrLines: { Terminal.err(PeerText.escaped($0)) })
    }

    /// Stops the peer process after a failed session. When the peer closed the pipe because
    /// its process failed (a wrong path, no hg-bft on the host, ssh refused), that is the
    /// useful part of the story: its own message is already on stderr, so say where to look.
    func explain(_ error: Error, process: Subprocess, target: String) -> Error {
        guard case let .sync(syncError)? = error as? RepositoryError, case .closed = syncError else {
            process.terminate()
            return error
        }
        // A peer that closed its output but keeps running gets a second, then is stopped.
        guard let status = process.exitStatus(within: 1), status != 0 else {
            process.terminate()
            return error
        }
        return RepositoryError.inconsistent(
            "the peer for \(target) exited with status \(status) before the sync finished; its message is above")
    }

    /// Ends a progress line whose total was not known (receiving), as git does.
    func endProgress() {
        if progressReporter != nil && ProgressLine.drew { Terminal.progress(", done.\n") }
    }

    /// The progress callback: git-style lines on stderr, on a terminal or with --progress.
    var progressReporter: SyncProgress? {
        guard !quiet, progress || Terminal.stderrIsTTY else { return nil }
        return ProgressLine.report
    }
}

/// This program's own path, to start `hg-bft serve` for local remotes.
enum SelfExecutable {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments.first ?? "hg-bft" }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Renders git-style lines, redrawn in place: `Sending operations: 45% (450/1000), 1.2 MiB | 3.4 MiB/s`
/// when the total is known, `Receiving operations: 450, 1.2 MiB | 3.4 MiB/s` when it is not (the
/// peer does not announce how much it will send).
enum ProgressLine {
    /// When the first report arrived, for the rate. Progress is reported from one thread only.
    nonisolated(unsafe) private static var started: Double?
    /// Whether a line was drawn that is not finished yet.
    nonisolated(unsafe) static var drew = false

    static let report: SyncProgress = { phase, done, total, bytes in
        // Redraw at most every 256 items to keep the cost negligible.
        guard done == total || done % 256 == 0 else { return }
        let now = Clock.monotonicSeconds()
        let start = started ?? now
        if started == nil { started = now }
        var line = "\r\(phase): "
        if total > 0 {
            line += "\(done * 100 / max(total, 1))% (\(done)/\(total))"
        } else {
            line += "\(done)"
        }
        line += ", \(ByteCount.format(bytes))"
        if now - start > 0.05 { line += " | \(ByteCount.format(Int(Double(bytes) / (now - start))))/s" }
        if done == total { line += ", done.\n" }
        drew = done != total
        Terminal.progress(line)
    }
}

enum ByteCount {
    static func format(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) bytes" }
        if bytes < 1 << 20 { return "\(Double(bytes * 10 / 1024) / 10) KiB" }
        return "\(Double(bytes * 10 / (1 << 20)) / 10) MiB"
    }
}

/// The one-line summary of a sync, and its JSON form.
struct SyncSummary: Encodable {
    let peer: String
    let remote: String
    let operationsSent: Int
    let blobsSent: Int
    let operationsReceived: Int
    let blobsReceived: Int
    let operationsAdded: Int
    let bytesSent: Int
    let bytesReceived: Int
    /// Bytes of object encodings in each direction (the payload the wire bytes carry).
    let payloadBytesSent: Int
    let payloadBytesReceived: Int
    let roundTrips: Int
    let rejected: [String]
    let unresolved: Int
    /// Heads the peer announced and did not send when asked (counted in `unresolved`).
    let undeliveredHeads: [String]
    let heads: [String]
    var kept: [String] = []
    /// Whether the working tree was brought to the merged state (false with --no-checkout).
    var checkedOut = true
    /// Whether the peer's operations were all valid and complete: false when some were refused
    /// or withheld (the valid ones are kept either way), which is exit status 4.
    let complete: Bool
    /// Operations held before that lost their effect through this sync (a concurrent removal).
    var lostEffect: [LostEffectText.Entry] = []

    init(_ result: SyncResult, remote: String) {
        peer = result.peer.text
        self.remote = remote
        operationsSent = result.stats.operationsSent
        blobsSent = result.stats.blobsSent
        operationsReceived = result.stats.operationsReceived
        blobsReceived = result.stats.blobsReceived
        operationsAdded = result.added
        bytesSent = result.stats.bytesSent
        bytesReceived = result.stats.bytesReceived
        payloadBytesSent = result.stats.payloadBytesSent
        payloadBytesReceived = result.stats.payloadBytesReceived
        roundTrips = result.stats.roundTrips
        rejected = result.rejected.map { "\($0.id.hex): \($0.reason)" }
        unresolved = result.unresolved
        undeliveredHeads = result.undeliveredHeads.map(\.hex)
        heads = result.heads.map(\.hex)
        complete = result.rejected.isEmpty && result.unresolved == 0
    }

    var line: String {
        (complete ? "" : "partly ")
            + "synced with \(remote) (\(String(peer.prefix(12)))): sent \(operationsSent) operation(s), received \(operationsReceived) (\(operationsAdded) new); "
            + "\(ByteCount.format(bytesSent)) out, \(ByteCount.format(bytesReceived)) in; \(roundTrips) round trip(s)"
    }
}

/// One remote's part of `sync --json`: its summary, or, for a remote that could not be synced
/// when several were tried, `{"remote": …, "error": …}`.
enum SyncReport: Encodable {
    case synced(SyncSummary)
    case failed(remote: String, error: String)

    private enum Keys: String, CodingKey { case remote, error }

    func encode(to encoder: Encoder) throws {
        switch self {
        case let .synced(summary):
            try summary.encode(to: encoder)
        case let .failed(remote, error):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(remote, forKey: .remote)
            try container.encode(error, forKey: .error)
        }
    }
}
