import HGCore

#if canImport(Glibc)
import Glibc
#endif

extension WorkFile {
    /// The regular file at `path`, which the scan did not list: as in git, ignore rules apply to
    /// untracked files only, so a tracked file that `.hgignore` matches stays tracked. `nil` when
    /// nothing, or anything but a regular file, is there.
    public static func trackedButIgnored(_ path: RepoPath, root: String) -> WorkFile? {
        var st = stat()
        guard lstat(root + "/" + path.string, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return WorkFile(path: path, stamp: FileStamp(st))
    }
}
