import ArgumentParser

/// Options every command that reads a repository shares.
struct JSONFlag: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}
