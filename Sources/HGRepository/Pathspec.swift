import HGCore
import HGStore

/// Pathspecs as the user typed them, resolved to repository-relative prefixes.
///
/// A pathspec names a file or a directory (relative to the current
/// directory, or absolute); it matches that path and everything below it.
struct Pathspec {
    /// Repository-relative prefixes; empty means the whole tree.
    let prefixes: [String]

    static let everything = Pathspec(prefixes: [])

    init(prefixes: [String]) { self.prefixes = prefixes }

    init(_ specs: [String], root: String, cwd: String) throws(RepositoryError) {
        var prefixes: [String] = []
        var wholeTree = false
        for spec in specs {
            let absolute = FileSystem.absolute(spec.hasPrefix("/") ? spec : cwd + "/" + spec)
            if absolute == root {
                wholeTree = true
                continue
            }
            let rootSlash = root == "/" ? "/" : root + "/"
            guard absolute.hasPrefix(rootSlash) else { throw .pathOutsideRepository(spec) }
            let relative = String(absolute.dropFirst(rootSlash.count))
            if relative == Layout.metaName || relative.hasPrefix(Layout.metaName + "/") {
                throw .pathOutsideRepository(spec)
            }
            prefixes.append(relative)
        }
        self.init(prefixes: wholeTree ? [] : prefixes)
    }

    var isEverything: Bool { prefixes.isEmpty }

    /// Whether `path` is selected.
    func matches(_ path: RepoPath) -> Bool {
        if prefixes.isEmpty { return true }
        let text = path.string
        return prefixes.contains { text == $0 || text.hasPrefix($0 + "/") }
    }

    /// Whether `path` is named exactly (not just by a directory above it).
    func namesExactly(_ path: RepoPath) -> Bool {
        prefixes.contains(path.string)
    }
}
