import ArgumentParser
import HGRepository

extension HGBFT {
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
                Terminal.out(
                    "Cloned into \(repository.layout.root): \(result.added) operations, \(checkout.written.count) files"
                )
                Terminal.out("peer \(try repository.peerID().text)")
                for line in CheckoutNotices.lines(checkout) { Terminal.err(line) }
            }
            if !result.isComplete {
                for line in PeerMisbehaviour.lines(result, peer: "the peer", listingRefused: false) {
                    Terminal.err(line)
                }
                throw Exit(status: ExitStatus.partial)
            }
        }

        /// The whole clone, in the staging directory: the session, the remote, the checkout.
        private func build(at staging: String, from address: RemoteAddress) throws -> (SyncResult, CheckoutResult) {
            let process = try transport.start(address, in: nil, remoteName: nil)
            let (repository, result): (Repository, SyncResult)
            do {
                (repository, result) = try Repository.clone(
                    into: staging, over: process.stream, options: transport.syncOptions,
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
                    try repository.setRemote("origin", url: Repository.absolutePath(path))
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
}
