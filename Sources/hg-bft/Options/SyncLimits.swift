import ArgumentParser
import HGRepository

/// The limits every sync session takes from the command line, shared by `serve`, `sync` and
/// `clone`. The defaults are `SyncOptions`'s own, so that they are written in one place and a
/// plain `hg-bft serve <path>` (parsed without ArgumentParser, see `main.swift`) gets the same.
struct SyncLimits: ParsableArguments {
    @Option(help: "Seconds to wait for the peer before giving up.")
    var timeout: Double = SyncOptions().timeout

    @Option(name: .customLong("max-receive"), help: "Most MiB of objects to accept from the peer in one session.")
    var maxReceiveMiB: Int = SyncOptions().maxReceiveBytes >> 20

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard maxReceiveMiB > 0 else { throw ValidationError("--max-receive must be positive") }
    }

    /// The session options these limits stand for.
    var syncOptions: SyncOptions {
        var options = SyncOptions()
        options.timeout = timeout
        options.maxReceiveBytes = maxReceiveMiB << 20
        return options
    }
}
