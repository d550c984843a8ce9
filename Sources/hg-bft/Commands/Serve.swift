import ArgumentParser
import HGRepository

extension HGBFT {
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

        @OptionGroup var limits: SyncLimits

        func run() throws {
            try Serve.serve(path, options: limits.syncOptions)
        }

        /// The arguments `sync` starts a local server with, `serve <path>`, which `main` hands
        /// here without ArgumentParser: parsing costs a few milliseconds of Swift's conformance
        /// lookups, and the server's start-up is on the critical path of every sync.
        static func plainInvocation(_ arguments: [String]) -> String? {
            guard arguments.count == 2, arguments[0] == "serve", !arguments[1].hasPrefix("-"), arguments[1] != "help"
            else { return nil }
            return arguments[1]
        }

        static func serve(_ path: String, options: SyncOptions) throws {
            let repository = try Repository.open(exactly: path)
            let result = try repository.serveOnStandardStreams(options: options)
            for line in PeerMisbehaviour.lines(result, peer: result.peer.short, listingRefused: true) {
                Terminal.err(line)
            }
            if !result.isComplete { throw Exit(status: ExitStatus.partial) }
        }
    }
}
