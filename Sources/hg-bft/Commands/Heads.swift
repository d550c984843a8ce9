import ArgumentParser
import HGRepository

extension HGBFT {
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
}
