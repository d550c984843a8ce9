import ArgumentParser
import HGRepository

extension HGBFT {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show your changes, conflicts, and what arrived that is not checked out yet.",
            discussion: """
                Changes are taken against the working tree's base: the state the last checkout or commit \
                brought it to. Operations that arrived since (a sync with --no-checkout, a peer's sync into \
                this replica, an interrupted sync) are listed apart as incoming, never as your changes; \
                'hg-bft checkout' writes them.

                Codes in --short output: A new file, M modified, D deleted, C conflict (concurrent writes \
                that disagree; resolve by editing the file and committing it); incoming paths as "> path".

                Examples:
                  hg-bft status
                  hg-bft status --short docs/
                  hg-bft status --json
                """)

        @Flag(name: .shortAndLong, help: "One line per path: a status code and the path.")
        var short = false

        @Argument(help: "Only show paths under these.")
        var pathspecs: [String] = []

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let report = try repository.status(pathspecs: pathspecs, cwd: Repository.currentDirectory())
            if output.json {
                try JSONOutput.print(StatusJSON(report))
                return
            }
            for skipped in report.skipped {
                Terminal.err("warning: skipped \(Terminal.quote(skipped.path)): \(skipped.reason)")
            }
            if short {
                for change in report.changes {
                    Terminal.out("\(change.status.code) \(PeerText.path(change.path.string))")
                }
                for path in report.incoming.paths { Terminal.out("> \(PeerText.path(path.string))") }
                return
            }
            Terminal.out("On replica \(report.peer?.text ?? "(no identity)")")
            Terminal.out(
                report.heads.count == 1
                    ? "1 head: \(report.heads[0].short)"
                    : "\(report.heads.count) heads: \(report.heads.map(\.short).joined(separator: " "))")
            let plain = report.changes.filter {
                if case .conflicted = $0.status { return false }
                return true
            }
            if !report.incoming.isEmpty {
                let ops = report.incoming.operations
                Terminal.out(
                    ops > 0
                        ? "\nBehind: \(ops) operation\(ops == 1 ? "" : "s") arrived since your last checkout (use \"hg-bft checkout\" to write them):"
                        : "\nNot checked out (use \"hg-bft checkout\" once the way is clear):")
                let unsynced = Set(report.incoming.unsynced)
                for path in report.incoming.paths {
                    Terminal.out(
                        "\tincoming:   \(PeerText.path(path.string))\(unsynced.contains(path) ? " (left alone by the last checkout)" : "")"
                    )
                }
            }
            if report.changes.isEmpty && report.collisions.isEmpty {
                Terminal.out(
                    report.incoming.isEmpty
                        ? "nothing to commit, working tree matches the merged state"
                        : "nothing to commit, working tree matches its last checkout")
                return
            }
            if !plain.isEmpty {
                Terminal.out("\nChanges not committed yet (use \"hg-bft commit -m <message>\"):")
                for change in plain {
                    let label: String
                    switch change.status {
                    case .added: label = "new file:"
                    case .modified: label = "modified:"
                    case .deleted: label = "deleted: "
                    case .conflicted: label = "conflict:"
                    }
                    Terminal.out("\t\(label)   \(PeerText.path(change.path.string))")
                }
            }
            if !report.conflicts.isEmpty {
                Terminal.out("\nConflicts (edit the file, then \"hg-bft commit -m <message> <path>\"):")
                for change in report.conflicts {
                    if case let .conflicted(versions, edited) = change.status {
                        Terminal.out(
                            "\t\(versions) versions: \(PeerText.path(change.path.string))\(edited ? " (edited)" : "")")
                    }
                }
            }
            if !report.collisions.isEmpty {
                Terminal.out("\nBoth a file and a directory in the merged state; the file is beside the directory")
                Terminal.out("(commit both to keep it there, or delete the copy and commit to drop the file):")
                for collision in report.collisions {
                    Terminal.out(
                        "\t\(PeerText.path(collision.path.string)) -> \(collision.aside.map { PeerText.path($0.string) } ?? "(not written: no free name beside it)")"
                    )
                }
            }
        }
    }
}

struct StatusJSON: Encodable {
    struct Change: Encodable {
        let path: String
        let status: String
        let versions: Int?
        let edited: Bool?
    }
    let peer: String?
    let heads: [String]
    let changes: [Change]
    let skipped: [String]
    /// The heads the working tree was last brought to.
    let base: [String]
    /// What arrived since and is not in the working tree yet.
    let incoming: Incoming
    struct Incoming: Encodable {
        let operations: Int
        let paths: [String]
        let unsynced: [String]
    }
    /// Paths that are both a file and a directory in the merged state, and where the file went.
    let collisions: [Collision]

    struct Collision: Encodable {
        let path: String
        let aside: String?
    }

    init(_ report: StatusReport) {
        peer = report.peer?.text
        heads = report.heads.map(\.hex)
        changes = report.changes.map { change in
            switch change.status {
            case .added: return Change(path: change.path.string, status: "added", versions: nil, edited: nil)
            case .modified: return Change(path: change.path.string, status: "modified", versions: nil, edited: nil)
            case .deleted: return Change(path: change.path.string, status: "deleted", versions: nil, edited: nil)
            case let .conflicted(versions, edited):
                return Change(path: change.path.string, status: "conflict", versions: versions, edited: edited)
            }
        }
        skipped = report.skipped.map(\.path)
        base = report.base.map(\.hex)
        incoming = Incoming(
            operations: report.incoming.operations, paths: report.incoming.paths.map(\.string),
            unsynced: report.incoming.unsynced.map(\.string))
        collisions = report.collisions.map { Collision(path: $0.path.string, aside: $0.aside?.string) }
    }
}
