import HGStore

#if canImport(Glibc)
import Glibc
#endif

/// Where a clone is built, and how it gets into place: everything (the repository, its
/// remote, the checkout) is made in a hidden sibling of the target, `.<name>.hgbft-clone-<pid>-<random>`,
/// which is renamed to the target only when complete. So the target is either absent (or the
/// empty directory it was) or a whole repository, whatever stops the clone; a sibling left by
/// a clone that was killed is removed by the next clone of the same name.
public struct CloneDestination: Sendable {
    /// The directory the user asked for, absolute.
    public let target: String
    /// The hidden sibling the clone is built in.
    public let staging: String
    /// Siblings left by interrupted clones of the same name (their process is gone), removed.
    public let removedLeftovers: [String]

    /// Checks the target, removes what killed clones of the same name left, and names a
    /// fresh staging directory (created by the clone itself). Refuses, as git does, a target
    /// that exists and is not an empty directory.
    public static func prepare(_ directory: String) throws(RepositoryError) -> CloneDestination {
        let target = FileSystem.absolute(directory)
        guard target != "/" else { throw .cloneTargetExists(target) }
        var st = stat()
        if lstat(target, &st) == 0 {
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            guard isDirectory, (try? FileSystem.list(target).isEmpty) == true else { throw .cloneTargetExists(target) }
        } else if errno != ENOENT {
            // A name too long, a parent that is a file: said now, not after the whole clone.
            throw .store(.io(path: target, operation: "stat", errno: errno))
        }
        let parent = FileSystem.parent(of: target)
        try lift { try FileSystem.makeDirectories(parent) }
        let prefix = stagingPrefix(
            for: String(target[target.index(after: target.lastIndex(of: "/") ?? target.startIndex)...]))
        var removed: [String] = []
        let base = parent == "/" ? "" : parent
        for name in (try? FileSystem.list(parent)) ?? [] where name.hasPrefix(prefix) {
            let owner = name.dropFirst(prefix.count).split(separator: "-").first.flatMap { pid_t($0) }
            // A clone still running (or a pid that cannot be checked) keeps its directory.
            guard let owner, kill(owner, 0) != 0, errno == ESRCH else { continue }
            if (try? FileSystem.removeTree(base + "/" + name)) != nil { removed.append(base + "/" + name) }
        }
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return CloneDestination(
            target: target, staging: base + "/" + prefix + "\(getpid())-\(random)",
            removedLeftovers: removed)
    }

    /// Moves the finished clone into place (replacing the target if it is an empty directory),
    /// makes the rename durable, and opens the repository there.
    public func publish() throws(RepositoryError) -> Repository {
        guard rename(staging, target) == 0 else {
            let code = errno
            if code == ENOTEMPTY || code == EEXIST || code == ENOTDIR { throw .cloneTargetExists(target) }
            throw .store(.io(path: target, operation: "rename", errno: code))
        }
        try lift { try FileSystem.syncDirectory(FileSystem.parent(of: target)) }
        return try Repository.open(exactly: target)
    }

    /// Removes the staging directory after a failed clone.
    public func discard() {
        try? FileSystem.removeTree(staging)
    }

    /// The start of every staging directory's name for a target named `name` (shortened, so
    /// that the sibling's name stays within NAME_MAX).
    static func stagingPrefix(for name: String) -> String {
        "." + String(name.prefix(64)) + ".hgbft-clone-"
    }
}
