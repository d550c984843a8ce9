import ArgumentParser
import HGRepository

struct Heads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads",
        abstract: "List the current heads: operations nothing else builds on.",
        discussion: """
        A single head means the history is linear at the top; several heads are concurrent \
        operations that the next commit will name as parents.

        Examples:
          hg-bft heads
          hg-bft heads --json
        """)

    @OptionGroup var output: JSONFlag

    func run() throws {
        let repository = try openRepository()
        let heads = try repository.heads()
        if output.json {
            try JSONOutput.print(heads.map(\.hex))
            return
        }
        for head in heads { Terminal.out(head.hex) }
    }
}

struct Id: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id",
        abstract: "Print this replica's peer id (and, with --repository, the repository id).",
        discussion: """
        The peer id is the Ed25519 public key in a short, copy-pasteable form: "hg" and 55 base32 \
        characters, with a checksum that catches typos. Give it to an admin to be added.

        Examples:
          hg-bft id
          hg-bft id --repository
          hg-bft id --json
        """)

    @Flag(help: "Print the repository id (the genesis operation's id) instead.")
    var repository = false

    @OptionGroup var output: JSONFlag

    func run() throws {
        let repo = try openRepository()
        let peer = try repo.peerID()
        if output.json {
            try JSONOutput.print(IdJSON(peer: peer.text, repository: repo.genesis.hex))
            return
        }
        Terminal.out(repository ? repo.genesis.hex : peer.text)
    }
}

struct IdJSON: Encodable {
    let peer: String
    let repository: String
}

struct Reindex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild the operation index and caches from the objects.",
        discussion: """
        Use when 'verify' reports a damaged index, heads file, peer ref or cache. Keeps the \
        operations reachable from the heads that verify and whose ancestors are all present.

        Examples:
          hg-bft reindex
        """)

    func run() throws {
        let repository = try openRepository()
        let result = try repository.reindex()
        Terminal.out("indexed \(result.operations) operations, \(result.heads.count) head(s)")
        if result.skipped > 0 { Terminal.out("left out \(result.skipped) unreachable or invalid operation object(s)") }
    }
}
