import Glibc
import HGStore
import HGSync

// MARK: - Connecting to a peer

/// How a peer is reached: the ssh program and the hg-bft to run on the other side, from the
/// environment and the configuration. What `sync` and `clone` start, and what `serve` answers on.
extension Repository {
    /// Starts the peer for `address`, one of this repository's remotes (`remoteName`) or any
    /// address: its session runs over the returned process's `stream`. The hg-bft run on an ssh
    /// host is `remoteProgram`, else `remote.<remoteName>.program`, else `hg-bft`; the ssh
    /// command comes from $HGBFT_SSH, else `core.sshCommand`, else `ssh`. Each line the peer
    /// writes to stderr is handed to `stderrLines`, unescaped: it is the peer's text. Throws
    /// the transport's own error (not lifted into `RepositoryError`), as `sync` reports it.
    public func connect(
        to address: RemoteAddress, remoteName: String?, remoteProgram: String?, timeout: Double,
        stderrLines: @escaping @Sendable (String) -> Void
    ) throws(SyncError) -> Subprocess {
        try Repository.start(
            address, config: config, remoteName: remoteName, remoteProgram: remoteProgram,
            timeout: timeout, stderrLines: stderrLines)
    }

    /// Starts the peer for `address` with no repository yet (what `clone` does): as
    /// `connect(to:…)` without a configuration, so the ssh command is $HGBFT_SSH or `ssh`.
    public static func connect(
        to address: RemoteAddress, remoteProgram: String?, timeout: Double,
        stderrLines: @escaping @Sendable (String) -> Void
    ) throws(SyncError) -> Subprocess {
        try start(
            address, config: nil, remoteName: nil, remoteProgram: remoteProgram, timeout: timeout,
            stderrLines: stderrLines)
    }

    /// Serves one sync session on this process's standard input and output (what `hg-bft serve`
    /// runs), leaving both open when it ends.
    public func serveOnStandardStreams(options: SyncOptions) throws(RepositoryError) -> SyncResult {
        let stream = ByteStream(readFD: 0, writeFD: 1, timeout: options.timeout, closeOnDeinit: false)
        return try sync(over: stream, options: options)
    }

    /// The ssh command: $HGBFT_SSH, else core.sshCommand, else `ssh` (split on spaces).
    static func sshCommand(_ config: Config?) -> [String] {
        let text = getenv("HGBFT_SSH").map { String(cString: $0) } ?? config?.value("core", "sshcommand") ?? "ssh"
        let words = text.split(separator: " ").map(String.init)
        return words.isEmpty ? ["ssh"] : words
    }

    private static func start(
        _ address: RemoteAddress, config: Config?, remoteName: String?, remoteProgram: String?, timeout: Double,
        stderrLines: @escaping @Sendable (String) -> Void
    ) throws(SyncError) -> Subprocess {
        let program =
            remoteProgram
            ?? remoteName.flatMap { config?.value("remote", "program", subsection: $0) }
            ?? "hg-bft"
        let command = address.serveCommand(
            localProgram: selfExecutable, remoteProgram: program,
            sshCommand: sshCommand(config))
        return try Subprocess.spawn(command, timeout: timeout, stderrLines: stderrLines)
    }

    /// This program's own path, to start `hg-bft serve` for local remotes.
    private static var selfExecutable: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments.first ?? "hg-bft" }
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - Which peers a sync reaches

/// A peer to sync with: how messages name it, its address (or why it has none), and its
/// configured name when it is one of the repository's remotes.
public struct SyncTarget {
    /// The remote's name, the address as given, or `--exec`.
    public let label: String
    /// Parsed per target, so that one remote whose address does not parse is reported and the
    /// others are still synced.
    public let address: Result<RemoteAddress, SyncError>
    /// The configured remote's name (for its `remote.<name>.program`), nil for an address.
    public let name: String?

    /// A target for an address given directly, or a configured remote when `name` is set.
    public init(label: String, address: Result<RemoteAddress, SyncError>, name: String?) {
        self.label = label
        self.address = address
        self.name = name
    }
}

extension Repository {
    /// The peers `sync` reaches: `remote` when given (a configured remote's name, else an
    /// address), else every configured remote in order. Throws when there is none.
    public func syncTargets(_ remote: String?) throws(RepositoryError) -> [SyncTarget] {
        func parse(_ text: String) -> Result<RemoteAddress, SyncError> {
            Result { () throws(SyncError) in try RemoteAddress(parsing: text) }
        }
        if let remote {
            if let url = remotes().first(where: { $0.name == remote })?.url {
                return [SyncTarget(label: remote, address: parse(url), name: remote)]
            }
            return [SyncTarget(label: remote, address: parse(remote), name: nil)]
        }
        let targets = remotes().map { SyncTarget(label: $0.name, address: parse($0.url), name: $0.name) }
        if targets.isEmpty {
            throw .noRemote
        }
        return targets
    }
}

// MARK: - Paths as the user gives them

extension Repository {
    /// The process's current directory: what commands taking paths relative to it pass as `cwd`.
    public static func currentDirectory() -> String { FileSystem.currentDirectory() }

    /// `path` made absolute against the current directory, lexically (links are not resolved):
    /// how a local remote is recorded, so that it works from any directory.
    public static func absolutePath(_ path: String) -> String { FileSystem.absolute(path) }
}
