import HGCore
import HGStore

/// Pathspecs as the user typed them, resolved to repository-relative prefixes.
///
/// A pathspec names a file or a directory (relative to the current
/// directory, or absolute); it matches that path and everything below it.
/// With a trailing `/` (as in git) it names only the directory: a file of
/// the same name, which the merged state can hold too (`PathCollisions`),
/// is not matched.
///
/// Everything is compared as UTF-8 bytes, as paths are (`RepoPath`): `String` comparison is
/// canonical equivalence, which would let an NFC pathspec select an NFD path.
struct Pathspec {
    /// Repository-relative prefixes; empty means the whole tree.
    let prefixes: [String]
    /// The prefixes given only with a trailing `/`, as bytes.
    let directoriesOnly: Set<[UInt8]>

    static let everything = Pathspec(prefixes: [])

    init(prefixes: [String], directoriesOnly: Set<[UInt8]> = []) {
        self.prefixes = prefixes
        self.directoriesOnly = directoriesOnly
    }

    init(_ specs: [String], root: String, cwd: String) throws(RepositoryError) {
        var prefixes: [String] = []
        var withSlash = Set<[UInt8]>()
        var withoutSlash = Set<[UInt8]>()
        var wholeTree = false
        for spec in specs {
            let absolute = FileSystem.absolute(spec.utf8.first == UInt8(ascii: "/") ? spec : cwd + "/" + spec)
            if absolute.utf8.elementsEqual(root.utf8) {
                wholeTree = true
                continue
            }
            let rootSlash = root == "/" ? "/" : root + "/"
            guard absolute.utf8.starts(with: rootSlash.utf8) else { throw .pathOutsideRepository(spec) }
            let relative = String(decoding: absolute.utf8.dropFirst(rootSlash.utf8.count), as: UTF8.self)
            let meta = Array(Layout.metaName.utf8)
            if relative.utf8.elementsEqual(meta) || relative.utf8.starts(with: meta + [UInt8(ascii: "/")]) {
                throw .pathOutsideRepository(spec)
            }
            prefixes.append(relative)
            if spec.utf8.last == UInt8(ascii: "/") {
                withSlash.insert(Array(relative.utf8))
            } else {
                withoutSlash.insert(Array(relative.utf8))
            }
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
        let bytes = path.bytes
        let count = prefix.utf8.count
        guard bytes.starts(with: prefix.utf8) else { return false }
        if bytes.count == count { return !directoriesOnly.contains(bytes) }
        return bytes[count] == UInt8(ascii: "/")
    }

    /// Whether `path` is named exactly (not just by a directory above it).
    func namesExactly(_ path: RepoPath) -> Bool {
        prefixes.contains { $0.utf8.elementsEqual(path.bytes) } && !directoriesOnly.contains(path.bytes)
    }
}
