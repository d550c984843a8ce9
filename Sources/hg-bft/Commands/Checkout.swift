import ArgumentParser
import HGRepository

extension HGBFT {
    struct Checkout: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkout",
            abstract: "Write the merged state into the working tree.",
            discussion: """
                Creates, replaces and removes files so the working tree shows the merged state, and makes \
                that state the working tree's base (what 'status' and 'commit' compare with). Only files \
                hg-bft wrote or you committed are ever replaced or removed. A file with uncommitted changes \
                (edited or deleted) is left alone and named, and the command exits 1; if a newer version of \
                it arrived, nothing at all is written until you commit (your change and the newer version \
                then meet as a conflict) or use --force, which discards your changes to tracked files. \
                Untracked and ignored files, symbolic links and directories are never overwritten or \
                removed, with or without --force: where a newer version needs their place, they are named \
                and left, and the path is written by a later checkout once the way is clear.

                A conflicted path is written deterministically: if every version is text, the file holds all \
                versions between markers, ordered by operation id:
                    <<<<<<< op <id> by <author>
                    ======= op <id> by <author>        (or "... (deleted)")
                    >>>>>>> end of conflict (N versions)
                If any version is binary, the file holds the version of the lowest operation id.

                A path the merged state holds both as a file and as a directory of other files (concurrent \
                writes of 'a' and 'a/b') becomes the directory; the file is written beside it as \
                'a~<operation id>', and the next commit keeps it there unless you resolve it otherwise. A \
                file that something in the working tree blocks (a file where a directory is needed, a \
                directory where the file goes) is named, left as it is, and the command exits 1.

                Examples:
                  hg-bft checkout
                  hg-bft checkout --force notes.txt
                """)

        @Flag(
            name: .shortAndLong,
            help: "Discard uncommitted changes to tracked files (never untracked or ignored files).")
        var force = false

        @Argument(help: "Only these paths.")
        var pathspecs: [String] = []

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let result = try repository.checkout(force: force, pathspecs: pathspecs, cwd: Repository.currentDirectory())
            if quiet {
                // Only what goes with the error below: the paths left alone.
                for line in CheckoutNotices.leftAlone(result) { Terminal.err(line) }
            } else if output.json {
                try JSONOutput.print(
                    CheckoutJSON(
                        written: result.written.map(\.string), removed: result.removed.map(\.string),
                        conflicts: result.conflicts.map(\.string), kept: result.leftAlone.map(\.string)))
            } else {
                for path in result.written { Terminal.out("wrote    \(PeerText.path(path.string))") }
                for path in result.removed { Terminal.out("removed  \(PeerText.path(path.string))") }
                for path in result.conflicts { Terminal.out("conflict \(PeerText.path(path.string))") }
                if result.written.isEmpty && result.removed.isEmpty && result.leftAlone.isEmpty {
                    Terminal.out("working tree already matches the merged state")
                }
                for line in CheckoutNotices.lines(result) { Terminal.err(line) }
            }
            if !result.kept.isEmpty {
                Terminal.err(
                    "error: \(result.kept.count) file(s) with uncommitted changes were left alone; commit them or use --force"
                )
            }
            if !result.blocked.isEmpty {
                Terminal.err(
                    "error: \(result.blocked.count) file(s) could not be written; move what is in the way, then run checkout again"
                )
            }
            if !result.leftAlone.isEmpty {
                throw Exit(status: ExitStatus.failure)
            }
        }
    }
}

struct CheckoutJSON: Encodable {
    let written: [String]
    let removed: [String]
    let conflicts: [String]
    let kept: [String]
}
