import HGCore
import HGStore

/// Pathspecs as the user typed them, resolved to repository-relative prefixes.
///
/// A pathspec names a file or a directory (relative to the current
/// directory, or absolute); it matches that path and everything below it.
/// With a trailing `/` (as in git) it names only the directory: a file of
/// the same name, which the merged state can hold too (`PathCollisions`),
/// is not matched.
struct Pathspec {
    /// Repository-relative prefixes; empty means the whole tree.
    let prefixes: [String]
    /// The prefixes given only with a trailing `/`.
    let directoriesOnly: Set<String>

    static let everything = Pathspec(prefixes: [])

    init(prefixes: [String], directoriesOnly: Set<String> = []) {
        self.prefixes = prefixes
        self.directoriesOnly = directoriesOnly
    }

    init(_ specs: [String], root: String, cwd: String) throws(RepositoryError) {
        var prefixes: [String] = []
        var withSlash = Set<String>(), withoutSlash = Set<String>()
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
            if spec.hasSuffix("/") { withSlash.insert(relative) } else { withoutSlash.insert(relative) }
        }
        self.init(prefixes: wholeTree ? [] : prefixes, directoriesOnly: withSlash.subtracting(withoutSlash))
    }

    var isEverything: Bool { prefixes.isEmpty }

    /// Whether `path` is selected.
    func matches(_ path: RepoPath) -> Bool {
        prefixes.isEmpty || prefixes.contains { prefixMatches($0, path) }
    }

    /// Whether one prefix selects `path`.
    func prefixMatches(_ prefix: String, _ path: RepoPath) -> Bool {
        let text = path.string
        return (text == prefix && !directoriesOnly.contains(prefix)) || text.hasPrefix(prefix + "/")
    }

    /// Whether `path` is named exactly (not just by a directory above it).
    func namesExactly(_ path: RepoPath) -> Bool {
        prefixes.contains(path.string) && !directoriesOnly.contains(path.string)
    }
}
