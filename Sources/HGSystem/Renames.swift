internal import CSystemCalls

/// The two forms of renameat(2) that Glibc's Swift module lacks, for the store and the working
/// tree; the C shim stays an implementation detail of this module.
public enum Renames {
    /// Atomically exchanges the files at `a` and `b` (both must exist): renameat2 with
    /// RENAME_EXCHANGE. Returns 0, or -1 with errno set (EINVAL or ENOSYS where the file system
    /// or system has no such operation).
    public static func exchange(_ a: String, _ b: String) -> Int32 {
        hg_exchange_paths(a, b)
    }

    /// Renames `from` to `to` only if nothing exists at `to`: renameat2 with RENAME_NOREPLACE.
    /// Returns 0, or -1 with errno set (EEXIST when something is there; EINVAL or ENOSYS where
    /// the file system or system has no such operation).
    public static func withoutReplacing(_ from: String, to: String) -> Int32 {
        hg_rename_noreplace(from, to)
    }
}
