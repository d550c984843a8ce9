import HGCore
import HGGraph
import HGStore

extension Repository {
    /// Shortest prefix accepted for an id.
    public static let minimumPrefix = 4

    /// Resolves a full id or an unambiguous hex prefix (at least 4 digits) to
    /// an object id, looking at operations in the index and at every stored object.
    public func resolve(_ text: String, graph: Graph? = nil) throws(RepositoryError) -> ObjectID {
        let lower = text.lowercased()
        if let id = ObjectID(hex: lower) {
            if objects.contains(id) || (graph?.contains(id) ?? false) { return id }
            throw .unknownRevision(text)
        }
        guard lower.utf8.count >= Repository.minimumPrefix, lower.utf8.count < 64, Hex.isHex(Substring(lower)) else {
            throw .unknownRevision(text)
        }
        var matches = Set<ObjectID>()
        let fan = String(lower.prefix(2))
        let rest = lower.dropFirst(2)
        let fanPath = layout.objects + "/" + fan
        if FileSystem.isDirectory(fanPath) {
            for name in try lift({ try FileSystem.list(fanPath) }) where name.hasPrefix(rest) {
                if let id = ObjectID(hex: fan + name) { matches.insert(id) }
            }
        }
        if let graph {
            for id in graph.ids where id.hex.hasPrefix(lower) { matches.insert(id) }
        }
        switch matches.count {
        case 0: throw .unknownRevision(text)
        case 1: return matches.first ?? ObjectID(raw: .zero)
        default: throw .ambiguousPrefix(text, candidates: matches.map(\.short).sorted())
        }
    }
}
