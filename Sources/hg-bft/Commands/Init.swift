import ArgumentParser
import HGRepository

extension HGBFT {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a repository; you become its founding admin.",
            discussion: """
                Creates .hgrepo/ in <directory> (default: the current directory) with a new Ed25519 identity \
                (kept in .hgrepo/keys/identity, mode 0600) and the signed genesis operation. The genesis id \
                is the repository id: replicas of different repositories refuse to sync.

                Examples:
                  hg-bft init
                  hg-bft init notes
                  hg-bft init --json
                """)

        @Argument(help: "Directory to create the repository in.")
        var directory: String = "."

        @Option(
            name: .customLong("admin-quorum"),
            help:
                "Distinct admins whose removals of one member override seniority, e.g. to remove a founder whose key was stolen (1-255)."
        )
        var adminQuorum: Int = 2

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        @OptionGroup var output: JSONFlag

        func run() throws {
            let (_, result) = try Repository.create(at: directory, adminQuorum: adminQuorum)
            if quiet { return }
            if output.json {
                try JSONOutput.print(
                    InitJSON(
                        root: result.root, repository: result.repository.hex, peer: result.peer.text,
                        reusedIdentity: result.reusedIdentity))
                return
            }
            Terminal.out("Initialized empty hg-bft repository in \(result.root)/.hgrepo")
            Terminal.out("repository \(result.repository.hex)")
            Terminal.out("peer       \(result.peer.text)")
            if result.reusedIdentity { Terminal.err("note: reused the identity key already in .hgrepo/keys/identity") }
        }
    }
}

struct InitJSON: Encodable {
    let root: String
    let repository: String
    let peer: String
    let reusedIdentity: Bool
}
