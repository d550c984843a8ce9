import ArgumentParser
import HGRepository

extension HGBFT {
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

        @Flag(
            name: .customLong("no-checkout"),
            help:
                "Store what arrives but leave the working tree as it is (like 'git fetch'); 'status' shows what arrived, 'checkout' writes it."
        )
        var noCheckout = false

        @OptionGroup var transport: TransportOptions

        func validate() throws {
            if remote != nil && transport.exec != nil {
                throw ValidationError("give either <remote> or --exec, not both")
            }
        }

        func run() throws {
            let repository = try openRepository()
            let targets =
                try transport.exec.map { [SyncTarget(label: "--exec", address: .success(.command($0)), name: nil)] }
                ?? repository.syncTargets(remote)
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

        /// Syncs with one target and checks out; returns the summary and the exit status it
        /// calls for (`partial` when the peer's invalid or incomplete operations were refused).
        private func sync(_ repository: Repository, with target: SyncTarget) throws -> (SyncSummary, Int32) {
            let address = try target.address.get()
            try repository.refuseSyncWithItself(address, as: target.label)
            let process = try transport.start(address, in: repository, remoteName: target.name)
            let result: SyncResult
            do {
                result = try repository.sync(
                    over: process.stream, options: transport.syncOptions,
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
                    Terminal.out(
                        "the working tree is unchanged; 'hg-bft status' shows what arrived, 'hg-bft checkout' writes it"
                    )
                }
            }
            if !transport.output.json {
                // The user's own work leaving the tree is said even with --quiet.
                let shown = transport.quiet ? result.lostEffect.filter { $0.author == me } : result.lostEffect
                for line in LostEffectText.lines(shown, me: me) { Terminal.err(line) }
            }
            for line in PeerMisbehaviour.lines(result, peer: target.label, listingRefused: true) { Terminal.err(line) }
            if status != 0 {
                // A peer that sent invalid operations may exit as it likes; its status is news only otherwise.
                if summary.complete {
                    Terminal.err("error: the peer process for \(target.label) exited with status \(status)")
                }
                return (summary, ExitStatus.failure)
            }
            return (summary, summary.complete ? ExitStatus.success : ExitStatus.partial)
        }
    }
}
