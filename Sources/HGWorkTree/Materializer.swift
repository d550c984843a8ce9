import HGCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes and removes files under the working tree's root, safely.
///
/// Every path has already passed `RepoPath`'s rules (no `..`, no `.hgrepo`).
/// On top of that, no write goes through a symbolic link: each parent
/// directory is checked with `lstat`, and a file is replaced by writing a
/// temporary file beside it and renaming it over the old one.
public struct Materializer: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// Writes `content` at `path` with `mode`, creating parent directories.
    /// Returns the new file's stamp.
    @discardableResult
    public func write(_ path: RepoPath, content: [UInt8], mode: FileMode) throws(WorkTreeError) -> FileStamp {
        let components = path.components
        var directory = root
        var relative = ""
        for component in components.dropLast() {
            directory += "/" + component
            relative += (relative.isEmpty ? "" : "/") + component
            var st = stat()
            if lstat(directory, &st) == 0 {
                switch st.st_mode & S_IFMT {
                case S_IFDIR: continue
                case S_IFLNK: throw .blockedPath(path: path.string, reason: "'\(relative)' is a symbolic link")
                default: throw .blockedPath(path: path.string, reason: "'\(relative)' is a file, not a directory")
                }
            }
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw .io(path: directory, operation: "mkdir", errno: errno)
            }
        }
        let target = root + "/" + path.string
        var existing = stat()
        // An empty directory holds nothing to lose (what is left when the files under a path
        // that becomes a file again were deleted); one with anything in it stays.
        if lstat(target, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFDIR, rmdir(target) != 0 {
            throw .blockedPath(path: path.string, reason: "a directory is in the way")
        }
        let temp = directory + "/.hgbft-write-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let permissions: mode_t = mode == .executable ? 0o755 : 0o644
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, permissions)
        guard fd >= 0 else { throw .io(path: temp, operation: "create", errno: errno) }
        var done = 0
        while done < content.count {
            let n = content.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress.map { $0 + done }, content.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temp)
                throw .io(path: temp, operation: "write", errno: code)
            }
            done += n
        }
        // The umask may have removed bits; set the mode the state says, minus group/other write.
        fchmod(fd, permissions)
        var st = stat()
        fstat(fd, &st)
        close(fd)
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw .io(path: target, operation: "rename", errno: code)
        }
        return FileStamp(st)
    }

    /// Removes the file at `path` (if any) and then any parent directories left empty.
    public func remove(_ path: RepoPath) throws(WorkTreeError) {
        let target = root + "/" + path.string
        if unlink(target) != 0 && errno != ENOENT {
            throw .io(path: target, operation: "unlink", errno: errno)
        }
        var components = path.components.dropLast()
        while !components.isEmpty {
            let directory = root + "/" + components.joined(separator: "/")
            if rmdir(directory) != 0 { break }  // not empty, or not ours to remove
            components = components.dropLast()
        }
    }

    /// The current stamp of a working file, or `nil` if it is not a regular file.
    public func stamp(_ path: RepoPath) -> FileStamp? {
        var st = stat()
        guard lstat(root + "/" + path.string, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileStamp(st)
    }
}
