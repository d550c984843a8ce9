import ArgumentParser
import HGRepository
import HGStore
import HGSync
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by `sync` and `clone`.
struct TransportOptions: ParsableArguments {
    @Option(name: .customLong("exec"), help: "Run CMD (with /bin/sh) and speak the protocol on its stdin/stdout.")
    var exec: String?

    @Option(name: .customLong("remote-program"), help: "The hg-bft to run on an ssh host (default: hg-bft, or remote.<name>.program).")
    var remoteProgram: String?

    @OptionGroup var limits: SyncLimits

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @OptionGroup var output: JSONFlag

    var syncOptions: SyncOptions { limits.syncOptions }

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
        return try Subprocess.spawn(command, timeout: limits.timeout, stderrLines: { Terminal.err(PeerText.escaped($0)) })
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
