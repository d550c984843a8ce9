import ArgumentParser
import HGRepository
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Entry point. `-C <dir>` options before the subcommand change directory
/// first, as in git; then ArgumentParser parses the rest. Errors become one
/// `error: …` line on stderr and a documented exit status.
keepFreedMemoryForReuse()
var arguments = Array(CommandLine.arguments.dropFirst())
while arguments.first == "-C" {
    guard arguments.count >= 2 else {
        Terminal.err("error: -C needs a directory")
        exit(ExitStatus.usage)
    }
    let dir = arguments[1]
    if chdir(dir) != 0 {
        Terminal.err("error: cannot change to \(Terminal.quote(dir)): \(ErrnoText.describe(errno))")
        exit(ExitStatus.failure)
    }
    arguments.removeFirst(2)
}

/// Parses the arguments. Building ArgumentParser's tree of every subcommand costs more than
/// a whole commit (Swift's protocol-conformance lookups), so a known subcommand is parsed on
/// its own; anything that fails to parse that way (and every help request) goes through the
/// full tree, so that messages and usage are those of `hg-bft`.
func parseCommand(_ arguments: [String]) throws -> ParsableCommand {
    if let name = arguments.first, let type = HGBFT.subcommandsByName[name],
        !arguments.contains(where: { $0 == "-h" || $0 == "--help" || $0 == "help" }),
        let command = try? type.parseAsRoot(Array(arguments.dropFirst()))
    {
        return command
    }
    return try HGBFT.parseAsRoot(arguments)
}

/// Ends the process once the files it replaced are all deleted (`Repository.waitForDeferredRemovals`).
func finish(_ status: Int32) -> Never {
    Repository.waitForDeferredRemovals()
    exit(status)
}

do {
    if let path = HGBFT.Serve.plainInvocation(arguments) {
        try HGBFT.Serve.serve(path, options: SyncOptions())
        finish(ExitStatus.success)
    }
    var command = try parseCommand(arguments)
    try command.run()
    finish(ExitStatus.success)
} catch let exitRequest as Exit {
    finish(exitRequest.status)
} catch let error as RepositoryError {
    // One line by contract (RepositoryError), which may quote what a peer sent: escaped whole.
    Terminal.err("error: " + PeerText.escaped(error.description))
    finish(ExitStatus.failure)
} catch {
    let code = HGBFT.exitCode(for: error)
    if code == .success {
        Terminal.out(HGBFT.fullMessage(for: error))
        finish(ExitStatus.success)
    }
    if error is CleanExit {
        finish(code.rawValue)
    }
    let message = HGBFT.message(for: error)
    if code == .validationFailure || error is ValidationError {
        Terminal.err("error: \(message)")
        Terminal.err("usage: run 'hg-bft help' or 'hg-bft <command> --help'")
        finish(ExitStatus.usage)
    }
    Terminal.err("error: \(message)")
    finish(ExitStatus.failure)
}
