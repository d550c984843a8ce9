import ArgumentParser
import HGRepository

extension HGBFT {
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
            if result.skipped > 0 {
                Terminal.out("left out \(result.skipped) unreachable or invalid operation object(s)")
            }
        }
    }
}
