import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Files to delete off the caller's path: the old versions of derived files that the store's
/// `FileSystem.writeDerived` and `FileSystem.commit(_:to:freeingOldLater:)` replaced.
///
/// Deleting a file frees its blocks, and on a file system that discards freed blocks
/// synchronously (ext4 mounted with `discard`, as some virtual machines are) that is a wait on
/// the disk for every file: about 2.5 ms for the 1.9 MB graph file of a 22,000-operation
/// repository, and 0.2–0.4 ms for each small cache. The deletions run on one background thread
/// while the command goes on (a sync goes on to its checkout), and `waitForAll` waits for the
/// ones still running: the command-line tool calls it before it exits, so the work is done
/// within the command, only at the same time as other work.
///
/// A file whose deletion never ran (the process was killed) keeps its temporary name, which
/// every reader of the store ignores (`FileSystem.isTemporaryName`).
public enum DeferredRemovals {
    private static let queue = DispatchQueue(label: "hg-bft.deferred-removals", qos: .utility)
    private static let pending = DispatchGroup()

    /// Deletes `path` on the background thread.
    public static func schedule(_ path: String) {
        pending.enter()
        queue.async {
            _ = unlink(path)
            pending.leave()
        }
    }

    /// Returns once every deletion scheduled so far has run.
    public static func waitForAll() {
        pending.wait()
    }
}
