import ArgumentParser
import HGRepository
import HGStore

/// Options every command that reads a repository shares.
struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}

/// Opens the repository that contains the current directory.
func openRepository() throws -> Repository {
    try Repository.open(at: FileSystem.currentDirectory())
}
