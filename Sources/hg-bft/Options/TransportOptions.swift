import ArgumentParser
import HGRepository

/// Options shared by `sync` and `clone`.
struct TransportOptions: ParsableArguments {
    @Option(name: .customLong("exec"), help: "Run CMD (with /bin/sh) and speak the protocol on its stdin/stdout.")
    var exec: String?

    @Option(
        name: .customLong("remote-program"),
        help: "The hg-bft to run on an ssh host (default: hg-bft, or remote.<name>.program).")
    var remoteProgram: String?

    @OptionGroup var limits: SyncLimits

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @OptionGroup var output: JSONFlag

    var syncOptions: SyncOptions { limits.syncOptions }

    /// Starts the peer for `address`: one of `repository`'s remotes (`remoteName`), or, with no
    /// repository (clone), any address. What the peer writes to stderr is its text: escaped, line by line.
    func start(_ address: RemoteAddress, in repository: Repository?, remoteName: String?) throws -> Subprocess {
        let relay: @Sendable (String) -> Void = { Terminal.err(PeerText.escaped($0)) }
        guard let repository else {
            return try Repository.connect(
                to: address, remoteProgram: remoteProgram, timeout: limits.timeout,
                stderrLines: relay)
        }
        return try repository.connect(
            to: address, remoteName: remoteName, remoteProgram: remoteProgram,
            timeout: limits.timeout, stderrLines: relay)
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
        return RepositoryError.peerExited(target: target, status: status)
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
