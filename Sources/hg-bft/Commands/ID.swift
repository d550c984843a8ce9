import ArgumentParser
import HGRepository

extension HGBFT {
    struct ID: ParsableCommand {
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
                try JSONOutput.print(IDJSON(peer: peer.text, repository: repo.genesis.hex))
                return
            }
            Terminal.out(repository ? repo.genesis.hex : peer.text)
        }
    }
}

struct IDJSON: Encodable {
    let peer: String
    let repository: String
}
