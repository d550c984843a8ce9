import ArgumentParser
import HGRepository
import HGStore
import HGSync

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Speak the sync protocol on stdin/stdout for the repository at <path>.",
        discussion: """
        What 'sync' runs on the other side, locally or through ssh (like git-upload-pack). \
        It prints nothing on stdout but protocol frames; problems go to stderr. It stores what the \
        peer sends after validating it, but does not touch that repository's working tree. Exits 4 \
        when it refused invalid operations or some never got their predecessors (it kept the valid \
        ones), as 'sync' does.

        Examples:
          hg-bft serve /srv/notes                 # normally started by 'hg-bft sync'
          hg-bft sync --exec "hg-bft serve /srv/notes"
        """)

    @Argument(help: "The repository to serve.")
    var path: String

    static let defaultTimeout = 60.0
    static let defaultMaxReceiveMiB = 2048

    @Option(help: "Seconds to wait for the peer before giving up.")
    var timeout: Double = Serve.defaultTimeout

    @Option(name: .customLong("max-receive"), help: "Most MiB of objects to accept from the peer in one session.")
    var maxReceiveMiB: Int = Serve.defaultMaxReceiveMiB

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard maxReceiveMiB > 0 else { throw ValidationError("--max-receive must be positive") }
    }

    func run() throws {
        try Serve.serve(path, timeout: timeout, maxReceiveMiB: maxReceiveMiB)
    }

    /// The arguments `sync` starts a local server with, `serve <path>`, which `main` hands
    /// here without ArgumentParser: parsing costs a few milliseconds of Swift's conformance
    /// lookups, and the server's start-up is on the critical path of every sync.
    static func plainInvocation(_ arguments: [String]) -> String? {
        guard arguments.count == 2, arguments[0] == "serve", !arguments[1].hasPrefix("-"), arguments[1] != "help" else { return nil }
        return arguments[1]
    }

    static func serve(_ path: String, timeout: Double, maxReceiveMiB: Int) throws {
        let repository = try Repository.open(root: path)
        var options = SyncOptions()
        options.timeout = timeout
        options.maxReceiveBytes = maxReceiveMiB << 20
        let stream = ByteStream(readFD: 0, writeFD: 1, timeout: timeout, closeOnDeinit: false)
        let result = try repository.sync(over: stream, options: options)
        for rejected in result.rejected.prefix(10) {
            Terminal.err("refused: operation \(rejected.id.short): \(rejected.reason)")
        }
        for line in PeerMisbehaviour.lines(result, peer: result.peer.short) { Terminal.err(line) }
        if !result.rejected.isEmpty || result.unresolved > 0 { throw Exit(status: ExitStatus.partial) }
    }
}

struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Reconcile with a peer: both sides end with every operation either had.",
        discussion: """
        <remote> is a configured remote name, a path (a local replica), ssh://[user@]host[:port]/path, \
        or [user@]host:path (through the system ssh; set $HGBFT_SSH or core.sshCommand to change the \
        ssh program, --remote-program for the hg-bft on the host). --exec CMD runs any command that \
        speaks the protocol. With no remote, syncs with every configured remote in turn: one that \
        fails is reported and the next is still tried. A path to this repository itself is refused.

        Everything received is validated (signature, id, parents, sequence numbers) before it is \
        stored; invalid operations are refused and named. Afterwards the working tree shows the \
        merged state, except files with uncommitted changes (or something else in the way), which \
        are left alone and named; with --no-checkout it is left as it is, and 'status' and 'commit' \
        go on comparing it with the state it was last brought to, so nothing that arrived is ever \
        taken for your own deletion. A file that the merged state also holds as a directory (concurrent \
        writes of 'a' and 'a/b') is written beside it as 'a~<operation id>' (see 'checkout --help'). \
        An operation held before that loses its effect through the sync (its author was removed \
        concurrently) is named, with a warning for your own.

        Exit status: 0 when every remote synced; 4 when each did but a peer sent invalid operations \
        (refused and named) or withheld what some depend on (not stored): the valid ones are \
        kept, the summary says "partly synced" and --json "complete": false; 1 when a sync failed.

        Examples:
          hg-bft sync ../notes-copy
          hg-bft sync ssh://alice@example.org/srv/notes
          hg-bft sync alice@example.org:notes
          hg-bft sync --exec "ssh -i ~/.ssh/mesh alice@10.0.0.7 hg-bft serve notes"
          hg-bft sync                                   # every configured remote
        """)

    @Argument(help: "A remote name, path or ssh address.")
    var remote: String?

    @Flag(name: .customLong("no-checkout"),
          help: "Store what arrives but leave the working tree as it is (like 'git fetch'); 'status' shows what arrived, 'checkout' writes it.")
    var noCheckout = false

    @OptionGroup var transport: TransportOptions

    func validate() throws {
        if remote != nil && transport.exec != nil { throw ValidationError("give either <remote> or --exec, not both") }
    }

    func run() throws {
        let repository = try openRepository()
        // Addresses are parsed per target, so that one bad remote does not stop the others.
        var targets: [Target] = []
        if let exec = transport.exec {
            targets = [Target(label: "--exec", address: .success(.command(exec)), name: nil)]
        } else if let remote {
            if let url = repository.remotes().first(where: { $0.name == remote })?.url {
                targets = [Target(label: remote, address: Result { try RemoteAddress(parsing: url) }, name: remote)]
            } else {
                targets = [Target(label: remote, address: Result { try RemoteAddress(parsing: remote) }, name: nil)]
            }
        } else {
            targets = repository.remotes().map { remote in
                Target(label: remote.name, address: Result { try RemoteAddress(parsing: remote.url) }, name: remote.name)
            }
            if targets.isEmpty {
                throw RepositoryError.inconsistent("no remote to sync with; give one, or add one with 'hg-bft remote add <name> <address>'")
            }
        }
        // Every remote is tried, even after one failed; each failure is reported as it happens.
        var worst = ExitStatus.success
        var reports: [SyncReport] = []
        var failures = 0
        for target in targets {
            do {
                let (summary, status) = try sync(repository, with: target)
                reports.append(.synced(summary))
                worst = ExitStatus.worse(worst, status)
            } catch {
                if targets.count == 1 { throw error }
                Terminal.err("error: \(target.label): \(error)")
                reports.append(.failed(remote: target.label, error: "\(error)"))
                failures += 1
                worst = ExitStatus.failure
            }
        }
        if failures > 0 { Terminal.err("error: \(failures) of \(targets.count) remotes could not be synced") }
        if transport.output.json { try JSONOutput.print(reports) }
        if worst != ExitStatus.success { throw Exit(status: worst) }
    }

    /// A remote to sync with: how it is named in messages, its address (or why it has none),
    /// and its configured name.
    private struct Target {
        let label: String
        let address: Result<RemoteAddress, any Error>
        let name: String?
    }

    /// Syncs with one target and checks out; returns the summary and the exit status it
    /// calls for (`partial` when the peer's invalid or incomplete operations were refused).
    private func sync(_ repository: Repository, with target: Target) throws -> (SyncSummary, Int32) {
        let address = try target.address.get()
        try repository.refuseSyncWithItself(address, as: target.label)
        let process = try transport.start(address, config: repository.config, remoteName: target.name)
        let result: SyncResult
        do {
            result = try repository.sync(over: process.stream, options: transport.syncOptions,
                                         progress: transport.progressReporter)
        } catch {
            throw transport.explain(error, process: process, target: target.label)
        }
        let status = process.wait()
        transport.endProgress()
        var summary = SyncSummary(result, remote: target.label)
        let me = try? repository.peerID()
        summary.lostEffect = LostEffectText.json(result.lostEffect, me: me)
        let checkout = noCheckout ? nil : try repository.checkout()
        summary.kept = checkout?.leftAlone.map(\.string) ?? []
        summary.checkedOut = checkout != nil
        if !transport.quiet && !transport.output.json {
            if let checkout {
                for line in CheckoutNotices.lines(checkout) { Terminal.err(line) }
                for path in checkout.conflicts { Terminal.err("conflict: \(Terminal.quote(path.string))") }
            }
            Terminal.out(summary.line)
            if checkout == nil && result.added > 0 {
                Terminal.out("the working tree is unchanged; 'hg-bft status' shows what arrived, 'hg-bft checkout' writes it")
            }
        }
        if !transport.output.json {
            // The user's own work leaving the tree is said even with --quiet.
            let shown = transport.quiet ? result.lostEffect.filter { $0.author == me } : result.lostEffect
            for line in LostEffectText.lines(shown, me: me) { Terminal.err(line) }
        }
        for rejected in result.rejected.prefix(10) {
            Terminal.err("refused: operation \(rejected.id.short): \(rejected.reason)")
        }
        for line in PeerMisbehaviour.lines(result, peer: target.label) { Terminal.err(line) }
        if status != 0 {
            // A peer that sent invalid operations may exit as it likes; its status is news only otherwise.
            if summary.complete { Terminal.err("error: the peer process for \(target.label) exited with status \(status)") }
            return (summary, ExitStatus.failure)
        }
        return (summary, summary.complete ? ExitStatus.success : ExitStatus.partial)
    }
}

struct Clone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Create a new replica of a repository, with its own identity.",
        discussion: """
        Fetches every operation the peer has (validated as any sync), writes the working tree, and \
        records the address as the remote 'origin' (and --remote-program, for an ssh address, as \
        remote.origin.program). [dir] defaults to the last component of the path; it must not exist \
        or be an empty directory. The clone is built in a hidden sibling, .<dir>.hgbft-clone-<pid>-<random>, \
        and renamed to [dir] only when complete: an interrupted clone leaves no [dir], and the next \
        clone of that name removes what it left.

        Examples:
          hg-bft clone ../notes notes-copy
          hg-bft clone ssh://alice@example.org/srv/notes
          hg-bft clone --exec "hg-bft serve /srv/notes" notes
        """)

    @Argument(help: "A path or ssh address.")
    var remote: String?

    @Argument(help: "Directory to create.")
    var directory: String?

    @OptionGroup var transport: TransportOptions

    func validate() throws {
        if remote == nil && transport.exec == nil { throw ValidationError("give the address to clone, or --exec") }
    }

    func run() throws {
        let address: RemoteAddress
        var target = directory
        if let exec = transport.exec {
            address = .command(exec)
            if target == nil, let remote { target = remote }
        } else {
            address = try RemoteAddress(parsing: remote ?? "")
        }
        let dir = target ?? Clone.defaultDirectory(for: address)
        let destination = try CloneDestination.prepare(dir)
        for leftover in destination.removedLeftovers {
            Terminal.err("removed \(Terminal.quote(leftover)), left by an interrupted clone")
        }
        let (result, checkout): (SyncResult, CheckoutResult)
        do {
            (result, checkout) = try build(at: destination.staging, from: address)
        } catch {
            destination.discard()
            throw error
        }
        let repository: Repository
        do {
            repository = try destination.publish()
        } catch {
            destination.discard()
            throw error
        }
        if transport.output.json {
            var summary = SyncSummary(result, remote: address.description)
            summary.kept = checkout.leftAlone.map(\.string)
            try JSONOutput.print(summary)
        } else if !transport.quiet {
            Terminal.out("Cloned into \(repository.layout.root): \(result.added) operations, \(checkout.written.count) files")
            Terminal.out("peer \(try repository.peerID().text)")
            for line in CheckoutNotices.lines(checkout) { Terminal.err(line) }
        }
        if !result.rejected.isEmpty || result.unresolved > 0 {
            for line in PeerMisbehaviour.lines(result, peer: "the peer") { Terminal.err(line) }
            throw Exit(status: ExitStatus.partial)
        }
    }

    /// The whole clone, in the staging directory: the session, the remote, the checkout.
    private func build(at staging: String, from address: RemoteAddress) throws -> (SyncResult, CheckoutResult) {
        let process = try transport.start(address, config: nil, remoteName: nil)
        let (repository, result): (Repository, SyncResult)
        do {
            (repository, result) = try Repository.clone(into: staging, over: process.stream, options: transport.syncOptions,
                                                        progress: transport.progressReporter)
        } catch {
            throw transport.explain(error, process: process, target: address.description)
        }
        _ = process.wait()
        transport.endProgress()
        if let remote, transport.exec == nil {
            // A local path is recorded absolute: later syncs run from inside the clone.
            // The remote program is kept as git keeps --upload-pack, so that a bare 'sync' finds it.
            if case let .local(path) = address {
                try repository.setRemote("origin", url: FileSystem.absolute(path))
            } else {
                try repository.setRemote("origin", url: remote, program: transport.remoteProgram)
            }
        }
        return (result, try repository.checkout())
    }

    static func defaultDirectory(for address: RemoteAddress) -> String {
        let path: String
        switch address {
        case let .local(p): path = p
        case let .ssh(_, _, _, p): path = p
        case .command: path = "clone"
        }
        let last = path.split(separator: "/").last.map(String.init) ?? "clone"
        return last.hasSuffix(".hgrepo") ? String(last.dropLast(7)) : last
    }
}

struct Remote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Manage named remotes (stored in .hgrepo/config).",
        discussion: """
        Examples:
          hg-bft remote add origin ssh://alice@example.org/srv/notes
          hg-bft remote list
          hg-bft remote remove origin
        """,
        subcommands: [RemoteAdd.self, RemoteRemove.self, RemoteList.self])
}

struct RemoteAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add (or replace) a remote.",
                                                    discussion: "Example:\n  hg-bft remote add origin ../notes")
    @Argument var name: String
    @Argument var address: String

    func validate() throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ValidationError("remote names use letters, digits, '-', '_' and '.'")
        }
        _ = try RemoteAddress(parsing: address)
    }

    func run() throws {
        // A local path is recorded absolute, so the remote works from any directory.
        let url: String
        if case let .local(path) = try RemoteAddress(parsing: address), !address.hasPrefix("file://") {
            url = FileSystem.absolute(path)
        } else {
            url = address
        }
        try openRepository().setRemote(name, url: url)
    }
}

struct RemoteRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a remote.",
                                                    discussion: "Example:\n  hg-bft remote remove origin")
    @Argument var name: String
    func run() throws { try openRepository().removeRemote(name) }
}

struct RemoteList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List remotes.",
                                                    discussion: "Examples:\n  hg-bft remote list\n  hg-bft remote list --json")
    @OptionGroup var output: JSONFlag
    func run() throws {
        let remotes = try openRepository().remotes()
        if output.json {
            try JSONOutput.print(remotes.map { ["name": $0.name, "url": $0.url] })
            return
        }
        for remote in remotes { Terminal.out("\(remote.name)\t\(remote.url)") }
    }
}
