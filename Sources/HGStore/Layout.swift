/// Where everything lives inside a repository (FORMAT.md, "Repository layout").
public struct Layout: Sendable {
    /// The working tree's root (absolute).
    public let root: String
    /// `<root>/.hgrepo`.
    public let meta: String

    /// The name of the metadata directory.
    public static let metaName = ".hgrepo"

    public init(root: String) {
        self.root = root
        meta = root == "/" ? "/.hgrepo" : root + "/" + Layout.metaName
    }

    public var objects: String { meta + "/objects" }
    public var refs: String { meta + "/refs" }
    public var peerRefs: String { meta + "/refs/peers" }
    public var heads: String { meta + "/heads" }
    public var genesis: String { meta + "/genesis" }
    public var config: String { meta + "/config" }
    public var keys: String { meta + "/keys" }
    public var identityKey: String { meta + "/keys/identity" }
    public var indexDirectory: String { meta + "/index" }
    public var operationIndex: String { meta + "/index/operations" }
    public var stateCache: String { meta + "/index/state" }
    public var worktreeCache: String { meta + "/index/worktree" }
    public var membersCache: String { meta + "/index/members" }
    public var graphFile: String { meta + "/index/graph" }
    public var lock: String { meta + "/lock" }
    /// The working tree's base (FORMAT.md 5.13): the state the working tree was last brought to.
    public var base: String { meta + "/base" }
    public var formatMarker: String { meta + "/format" }

    /// The loose object path for `hex`: `objects/<first two digits>/<other 62>`.
    public func objectPath(_ hex: String) -> String {
        objects + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    /// The ref file of one author.
    public func peerRef(_ peerText: String) -> String { peerRefs + "/" + peerText }

    /// Walks up from `start` to the first directory holding `.hgrepo`.
    public static func discover(from start: String) -> Layout? {
        var dir = FileSystem.absolute(start)
        while true {
            if FileSystem.isDirectory(dir == "/" ? "/.hgrepo" : dir + "/.hgrepo") { return Layout(root: dir) }
            if dir == "/" { return nil }
            dir = FileSystem.parent(of: dir)
        }
    }
}
