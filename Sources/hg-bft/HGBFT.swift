import ArgumentParser

/// The root command.
struct HGBFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hg-bft",
        abstract: "A git-style repository that stays consistent when any number of peers are malicious.",
        discussion: """
            Every change is a signed operation in a hash DAG; replicas never merge by hand, because the \
            state is computed from the DAG. Run a command with --help for its options and examples.

            Global option (before the command, as in git):
              -C <dir>    run as if started in <dir>

            Start here:
              hg-bft init                     create a repository in the current directory
              hg-bft commit -m "first draft"  record the working tree's changes
              hg-bft log --graph              show the DAG
              hg-bft verify                   audit the history (BEC invariants)
              hg-bft clone <address> [dir]    a new replica of a repository (path or ssh)
              hg-bft sync [<remote>]          reconcile with a peer, both ways
              hg-bft member add <peer-id>     let another replica write (see 'member --help')

            Exit status: 0 success, 1 error (an 'error:' line says why), 2 bad arguments, \
            3 'verify' found problems, 4 'sync', 'clone' or 'serve' kept the valid operations and refused \
            others (see 'sync --help').
            """,
        version: "hg-bft 0.1.0 (repository format 1)",
        subcommands: HGBFT.subcommands
    )

    static let subcommands: [ParsableCommand.Type] = [
        Init.self, Commit.self, Status.self, Log.self, Show.self, Checkout.self,
        Heads.self, ID.self, Verify.self, CatObject.self, Reindex.self,
        Sync.self, Clone.self, Serve.self, Remote.self, Member.self,
    ]

    /// Subcommands by the name typed on the command line. Spelled out rather than derived
    /// from the types, because deriving a name costs a runtime type-name lookup.
    static let subcommandsByName: [String: ParsableCommand.Type] = [
        "init": Init.self, "commit": Commit.self, "status": Status.self, "log": Log.self, "show": Show.self,
        "checkout": Checkout.self, "heads": Heads.self, "id": ID.self, "verify": Verify.self,
        "cat-object": CatObject.self, "reindex": Reindex.self, "sync": Sync.self, "clone": Clone.self,
        "serve": Serve.self,
    ]
}
