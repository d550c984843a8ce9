import HGCore
import HGCrypto
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// What `lstat` says about a working file; enough to tell that it has not
/// changed since it was last hashed.
public struct FileStamp: Hashable, Sendable {
    public var size: Int64
    public var mtimeSeconds: Int64
    public var mtimeNanoseconds: Int64
    public var inode: UInt64
    public var executable: Bool

    public init(size: Int64, mtimeSeconds: Int64, mtimeNanoseconds: Int64, inode: UInt64, executable: Bool) {
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
        self.executable = executable
    }

    init(_ st: stat) {
        size = Int64(st.st_size)
        mtimeSeconds = Int64(st.st_mtim.tv_sec)
        mtimeNanoseconds = Int64(st.st_mtim.tv_nsec)
        inode = UInt64(st.st_ino)
        executable = st.st_mode & 0o100 != 0
    }
}

/// One regular file of the working tree.
public struct WorkFile: Sendable {
    public let path: RepoPath
    public let stamp: FileStamp
}

/// The result of walking the working tree.
public struct WorkTreeListing: Sendable {
    /// Regular files that are not ignored, sorted by path.
    public var files: [WorkFile]
    /// Entries that cannot be recorded (symbolic links, special files, names
    /// the format forbids, files over the blob limit, entries `lstat` fails on),
    /// with the reason; shown as warnings.
    public var skipped: [(path: String, reason: String)]
    /// Temporary files a killed checkout left (`Materializer.isTemporaryName`), relative paths:
    /// never listed as files; the next checkout removes them.
    public var temporaries: [String] = []
}

/// Walks the working tree, honouring `.hgignore` and never entering `.hgrepo`.
public struct WorkTreeScanner {
    public let root: String
    public let ignore: IgnoreRules
    /// Whether the repository records a file at this path. Such a file over the blob limit is
    /// listed (reading it then fails and names it) rather than skipped: a comparison with the
    /// recorded state would read its absence from the listing as its deletion. Asked only
    /// about files over the limit.
    public let isRecorded: (RepoPath) -> Bool

    public init(root: String, ignore: IgnoreRules, isRecorded: @escaping (RepoPath) -> Bool = { _ in false }) {
        self.root = root
        self.ignore = ignore
        self.isRecorded = isRecorded
    }

    /// Loads `.hgignore` from the root (an absent file means no rules).
    public static func loadIgnoreRules(root: String) -> IgnoreRules {
        let path = root + "/.hgignore"
        guard let bytes = try? readFile(path, limit: 1 << 20) else { return .empty }
        return IgnoreRules(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Lists the files below the given subdirectories (relative paths; all of the tree when empty).
    public func scan(under prefixes: [String] = []) throws(WorkTreeError) -> WorkTreeListing {
        var listing = WorkTreeListing(files: [], skipped: [])
        let starts = prefixes.isEmpty ? [""] : prefixes
        for start in starts {
            if start.isEmpty {
                try walk(relative: "", into: &listing)
                continue
            }
            var st = stat()
            guard lstat(root + "/" + start, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if !ignore.isIgnored(start, isDirectory: true) { try walk(relative: start, into: &listing) }
            } else {
                consider(relative: start, st: st, into: &listing)
            }
        }
        listing.files.sort { $0.path < $1.path }
        return listing
    }

    private func walk(relative: String, into listing: inout WorkTreeListing) throws(WorkTreeError) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(directory) else {
            throw .io(path: directory, operation: "opendir", errno: errno)
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            // A name that is not valid UTF-8 cannot be a path in the format; report it
            // (with its bytes escaped) rather than letting a lossy conversion hide it.
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(validatingCString: $0) }
            }
            guard let name else {
                let raw = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                    ptr.withMemoryRebound(to: UInt8.self, capacity: 256) { p -> [UInt8] in
                        var bytes: [UInt8] = []
                        var i = 0
                        while i < 256 && p[i] != 0 {
                            bytes.append(p[i])
                            i += 1
                        }
                        return bytes
                    }
                }
                let escaped = raw.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : "\\x" + Hex.encode([$0]) }
                    .joined()
                let shown = relative.isEmpty ? escaped : relative + "/" + escaped
                if !ignore.isIgnored(shown, isDirectory: false) {
                    listing.skipped.append((shown, "name is not valid UTF-8"))
                }
                continue
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            let child = relative.isEmpty ? name : relative + "/" + name
            if relative.isEmpty && name == ".hgrepo" { continue }
            if Materializer.isTemporaryName(name) {
                listing.temporaries.append(child)
                continue
            }
            var st = stat()
            guard lstat(root + "/" + child, &st) == 0 else {
                // A file that vanished while we looked is simply gone; any other failure (a path
                // over PATH_MAX under this root, say) is named rather than read as a deletion's cause.
                let code = errno
                if code != ENOENT && !ignore.isIgnored(child, isDirectory: false) {
                    listing.skipped.append((child, ErrnoText.describe(code)))
                }
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if name == ".hgrepo" || ignore.isIgnored(child, isDirectory: true) { continue }
                try walk(relative: child, into: &listing)
            } else {
                consider(relative: child, st: st, into: &listing)
            }
        }
    }

    private func consider(relative: String, st: stat, into listing: inout WorkTreeListing) {
        if ignore.isIgnored(relative, isDirectory: false) { return }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            // Reading it would fail the whole command; the user can list it in .hgignore.
            if Int(st.st_size) > Limits.maxBlobContent, !((try? RepoPath(relative)).map(isRecorded) ?? false) {
                listing.skipped.append(
                    (
                        relative,
                        "larger than the \(Limits.maxBlobContent >> 20) MiB limit for one file, "
                            + "so not recorded; add it to .hgignore to leave it out without this warning"
                    ))
                return
            }
            do {
                let path = try RepoPath(relative)
                listing.files.append(WorkFile(path: path, stamp: FileStamp(st)))
            } catch {
                listing.skipped.append((relative, "\(error)"))
            }
        case S_IFLNK:
            listing.skipped.append((relative, "symbolic links are not recorded"))
        default:
            listing.skipped.append((relative, "not a regular file"))
        }
    }

    /// Reads a working file and returns its content, refusing files over the blob limit.
    public func read(_ path: RepoPath) throws(WorkTreeError) -> [UInt8] {
        try WorkTreeScanner.readFile(root + "/" + path.string, limit: Limits.maxBlobContent)
    }

    static func readFile(_ path: String, limit: Int) throws(WorkTreeError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, operation: "stat", errno: errno) }
        guard Int(st.st_size) <= limit else { throw .fileTooLarge(path: path, limit: limit) }
        do {
            return try FileReads.read(fd, count: Int(st.st_size))
        } catch {
            throw .io(path: path, operation: "read", errno: error.code)
        }
    }
}
