import HGRepository

/// The one-line summary of a sync, and its JSON form.
struct SyncSummary: Encodable {
    let peer: String
    let remote: String
    let operationsSent: Int
    let blobsSent: Int
    let operationsReceived: Int
    let blobsReceived: Int
    let operationsAdded: Int
    let bytesSent: Int
    let bytesReceived: Int
    /// Bytes of object encodings in each direction (the payload the wire bytes carry).
    let payloadBytesSent: Int
    let payloadBytesReceived: Int
    let roundTrips: Int
    let rejected: [String]
    let unresolved: Int
    /// Heads the peer announced and did not send when asked (counted in `unresolved`).
    let undeliveredHeads: [String]
    let heads: [String]
    var kept: [String] = []
    /// Whether the working tree was brought to the merged state (false with --no-checkout).
    var checkedOut = true
    /// Whether the peer's operations were all valid and complete: false when some were refused
    /// or withheld (the valid ones are kept either way), which is exit status 4.
    let complete: Bool
    /// Operations held before that lost their effect through this sync (a concurrent removal).
    var lostEffect: [LostEffectText.Entry] = []

    init(_ result: SyncResult, remote: String) {
        peer = result.peer.text
        self.remote = remote
        operationsSent = result.stats.operationsSent
        blobsSent = result.stats.blobsSent
        operationsReceived = result.stats.operationsReceived
        blobsReceived = result.stats.blobsReceived
        operationsAdded = result.added
        bytesSent = result.stats.bytesSent
        bytesReceived = result.stats.bytesReceived
        payloadBytesSent = result.stats.payloadBytesSent
        payloadBytesReceived = result.stats.payloadBytesReceived
        roundTrips = result.stats.roundTrips
        rejected = result.rejected.map { "\($0.id.hex): \($0.reason)" }
        unresolved = result.unresolved
        undeliveredHeads = result.undeliveredHeads.map(\.hex)
        heads = result.heads.map(\.hex)
        complete = result.isComplete
    }

    var line: String {
        (complete ? "" : "partly ")
            + "synced with \(remote) (\(String(peer.prefix(12)))): sent \(operationsSent) operation(s), received \(operationsReceived) (\(operationsAdded) new); "
            + "\(ByteCount.format(bytesSent)) out, \(ByteCount.format(bytesReceived)) in; \(roundTrips) round trip(s)"
    }
}

/// One remote's part of `sync --json`: its summary, or, for a remote that could not be synced
/// when several were tried, `{"remote": …, "error": …}`.
enum SyncReport: Encodable {
    case synced(SyncSummary)
    case failed(remote: String, error: String)

    private enum Keys: String, CodingKey { case remote, error }

    func encode(to encoder: Encoder) throws {
        switch self {
        case let .synced(summary):
            try summary.encode(to: encoder)
        case let .failed(remote, error):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(remote, forKey: .remote)
            try container.encode(error, forKey: .error)
        }
    }
}
