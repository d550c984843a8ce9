import HGCore
import HGState

/// Paths that the merged state holds as a file while other files of the state lie under them.
///
/// The state is a value per path, so concurrent writes of `a` and `a/b` both stay live: neither
/// supersedes the other, and every replica computes the same state. A working tree cannot hold
/// both, so checkout applies one rule everywhere: the directory wins, and the file's content is
/// written beside it as `a~<operation>` (the first 12 hex digits of the lowest operation id among
/// its live writes), as git writes `a~HEAD` for a file/directory conflict. The next commit then
/// records the file under that name and its deletion under the old one, unless the user resolves
/// it otherwise first; if the directory's files are deleted, the file comes back and the copy
/// beside it goes.
struct PathCollisions {
    /// Each colliding path, and the name its content is written under instead (`nil` when that
    /// name is not free: too long for a path, or itself a path or a directory of the state).
    let aside: [RepoPath: RepoPath?]
    /// The colliding path written under each aside name.
    let original: [RepoPath: RepoPath]

    init(state: FileTree) {
        let present = state.visiblePaths
        // Every directory that holds a present path, as bytes (NFC and NFD spellings of a name
        // are different paths). An ancestor already recorded means that all of its own ancestors
        // are too, so each directory is visited about once.
        var directories = Set<ArraySlice<UInt8>>()
        for path in present {
            var bytes = path.bytes[...]
            while let slash = bytes.lastIndex(of: UInt8(ascii: "/")) {
                bytes = bytes[..<slash]
                if !directories.insert(bytes).inserted { break }
            }
        }
        var aside: [RepoPath: RepoPath?] = [:]
        var original: [RepoPath: RepoPath] = [:]
        for path in present where directories.contains(path.bytes[...]) {
            let writes = state.paths[path] ?? []
            let op = writes.first { $0.version != nil }?.op ?? writes.first?.op
            let name = op.flatMap { try? RepoPath(path.string + "~" + $0.short) }
            if let name, state.value(name) == .absent, !directories.contains(name.bytes[...]) {
                aside[path] = name
                original[name] = path
            } else {
                aside[path] = .some(nil)
            }
        }
        self.aside = aside
        self.original = original
    }

    /// The collisions among the paths `matches` accepts, sorted by path.
    func list(matching matches: (RepoPath) -> Bool) -> [PathCollision] {
        aside.compactMap { path, name in matches(path) ? PathCollision(path: path, aside: name) : nil }
            .sorted { $0.path < $1.path }
    }
}

/// A path that the merged state holds as a file while other files of the state lie under it
/// (concurrent writes of `a` and `a/b`): the working tree has the directory, and the file's
/// content beside it.
public struct PathCollision: Equatable, Sendable {
    /// The file's path in the state.
    public let path: RepoPath
    /// Where checkout writes the file's content instead (`a~<operation>`), or `nil` when that
    /// name is not free and the content is only in the history.
    public let aside: RepoPath?

    public init(path: RepoPath, aside: RepoPath?) {
        self.path = path
        self.aside = aside
    }
}
