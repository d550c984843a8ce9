import ArgumentParser
import HGRepository

extension HGBFT {
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
            subcommands: [Add.self, Remove.self, List.self])
    }
}

extension HGBFT.Remote {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add (or replace) a remote.",
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
                url = Repository.absolutePath(path)
            } else {
                url = address
            }
            try openRepository().setRemote(name, url: url)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Remove a remote.",
            discussion: "Example:\n  hg-bft remote remove origin")
        @Argument var name: String
        func run() throws { try openRepository().removeRemote(name) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List remotes.",
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
}
