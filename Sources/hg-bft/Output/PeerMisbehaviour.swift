import HGRepository

/// The lines that say what a peer failed to deliver or sent invalid, the one rendering of it
/// for `sync`, `clone` and `serve`. What it did is named precisely: a refused operation, a head
/// it announced and then did not send (perhaps sending other operations in its place), and
/// objects that operations it sent depend on.
enum PeerMisbehaviour {
    /// `refused:` lines naming the first ten refused operations (when `listingRefused`: `clone`
    /// counts them only), then the `error:` lines.
    static func lines(_ result: SyncResult, peer label: String, listingRefused: Bool) -> [String] {
        var lines: [String] = []
        if listingRefused {
            for rejected in result.rejected.prefix(10) {
                lines.append("refused: operation \(rejected.id.short): \(rejected.reason)")
            }
        }
        if !result.rejected.isEmpty {
            lines.append(
                "error: \(label) sent \(result.rejected.count) invalid operation(s); they were refused and the valid ones kept"
            )
        }
        let heads = result.undeliveredHeads
        if !heads.isEmpty {
            let named = heads.prefix(5).map(\.short).joined(separator: ", ") + (heads.count > 5 ? ", …" : "")
            let instead =
                result.unrequestedOperations > 0
                ? "sent \(result.unrequestedOperations) other operation(s) instead"
                : "sent nothing for them"
            lines.append(
                "error: \(label) announced \(heads.count) head(s) it did not send when asked (\(named)); it \(instead)")
        }
        let dependencies = result.unresolved - heads.count
        if dependencies > 0 {
            lines.append(
                "error: \(label) withheld \(dependencies) object(s) that operations it sent depend on (parents or file "
                    + "contents); those operations were not stored")
        }
        return lines
    }
}

extension SyncResult {
    /// Whether the peer's operations were all valid and complete: false when some were refused
    /// or withheld (the valid ones are kept either way), which is exit status 4.
    var isComplete: Bool { rejected.isEmpty && unresolved == 0 }
}
