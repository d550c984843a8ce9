import HGRepository

/// How `sync` names the operations that lost their effect through it (a concurrent removal
/// of their author): a warning for the user's own, a notice for others'. Messages are
/// peer-supplied text and are escaped.
enum LostEffectText {
    /// One line per operation.
    static func lines(_ lost: [LostEffect], me: PeerID?) -> [String] {
        lost.map { entry in
            let yours = entry.author == me
            let what = entry.kind == Payload.Kind.membership ? "membership change" : "commit"
            let subject =
                yours ? "your \(what) \(entry.id.short)" : "\(what) \(entry.id.short) by \(entry.author.short)"
            let whom = yours ? "you" : entry.author.short
            let why =
                entry.removedBy.map { "\($0.short) removed \(whom) concurrently" }
                ?? "its author's role rested on operations that have lost their effect"
            let consequence =
                entry.kind == Payload.Kind.membership ? "it is not in force" : "its changes are no longer in the tree"
            return
                "\(yours ? "warning" : "notice"): \(subject) \(Terminal.quote(entry.message)) has no effect: \(why); \(consequence)"
        }
    }

    /// The `--json` form: `lostEffect` of `sync --json`.
    struct Entry: Encodable {
        let operation: String
        let author: String
        let message: String
        let removal: String?
        let removedBy: String?
        /// Whether it is this replica's own operation.
        let yours: Bool
    }

    static func json(_ lost: [LostEffect], me: PeerID?) -> [Entry] {
        lost.map {
            Entry(
                operation: $0.id.hex, author: $0.author.text, message: $0.message, removal: $0.removal?.hex,
                removedBy: $0.removedBy?.text, yours: $0.author == me)
        }
    }
}
