import ArgumentParser
import HGRepository

extension HGBFT {
    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "commit",
            abstract: "Record the working tree's changes as one signed operation.",
            discussion: """
                Records every file added, modified or deleted since the working tree's base (the state the \
                last checkout or commit brought it to), or only those under the pathspecs, as one change \
                operation whose parents are the base's heads. Operations that arrived since (a sync, from \
                either side) are concurrent with it: where they touch the same path, the path becomes a \
                visible conflict; nothing you have not seen is overwritten. Untracked files matched by \
                .hgignore (gitignore syntax) are left out; tracked files stay tracked. There is no staging area.

                A conflicted path is recorded, and its conflict resolved, when you edit or delete it, or when \
                you name it exactly as a pathspec.

                Examples:
                  hg-bft commit -m "first draft"
                  hg-bft commit -m "fix the intro" chapter1.md
                  hg-bft commit -m "resolve" notes.txt      # keep notes.txt as it is now
                """)

        @Option(name: .shortAndLong, help: "The commit message.")
        var message: String

        @Argument(help: "Only record changes under these paths.")
        var pathspecs: [String] = []

        @Flag(name: .shortAndLong, help: "Print only the short id.")
        var quiet = false

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let result = try repository.commit(
                message: message, pathspecs: pathspecs, cwd: Repository.currentDirectory())
            for skipped in result.skipped {
                Terminal.err("warning: skipped \(Terminal.quote(skipped.path)): \(skipped.reason)")
            }
            for path in result.heldBack {
                Terminal.err(
                    "warning: not committed \(Terminal.quote(path.string)): a newer version of it arrived and is not "
                        + "checked out here; run 'hg-bft checkout' (after moving aside anything of yours in its way), "
                        + "or name the path to commit your version over the newer one")
            }
            if let failure = result.afterCommitPoint {
                Terminal.err(
                    "warning: the commit \(result.id.short) is recorded, but updating the caches afterwards failed: "
                        + "\(failure); the next command rebuilds them")
            }
            if output.json {
                try JSONOutput.print(
                    CommitJSON(
                        id: result.id.hex, sequence: result.sequence, parents: result.parents.map(\.hex),
                        changes: result.changes.map { .init(path: $0.path.string, status: $0.status.code) },
                        heldBack: result.heldBack.map(\.string),
                        warning: result.afterCommitPoint.map { "\($0)" }))
                return
            }
            if quiet {
                Terminal.out(result.id.short)
                return
            }
            let firstLine = PeerText.messageLines(message).first ?? ""
            Terminal.out("[\(result.id.short)] \(firstLine)")
            Terminal.out(
                " \(result.changes.count) file\(result.changes.count == 1 ? "" : "s") changed (sequence \(result.sequence))"
            )
            for change in result.changes {
                Terminal.out(" \(change.status.code) \(PeerText.path(change.path.string))")
            }
        }
    }
}

struct CommitJSON: Encodable {
    struct Change: Encodable {
        let path: String
        let status: String
    }
    let id: String
    let sequence: UInt64
    let parents: [String]
    let changes: [Change]
    /// Changed paths not recorded: their newer merged version was never checked out.
    let heldBack: [String]
    /// Set when the commit is recorded but a cache could not be updated after it.
    let warning: String?
}
