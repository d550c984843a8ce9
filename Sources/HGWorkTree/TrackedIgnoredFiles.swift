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

extension WorkTreeListing {
    /// Adds the regular files at `tracked` paths that the scan passed over because `.hgignore`
    /// matches them: as in git, ignore rules apply to untracked files only, so a tracked file
    /// stays tracked (its edits are recorded, and it is not taken for deleted) whatever the
    /// rules say. Paths already listed, and anything that is not a regular file, are left out.
    public mutating func addTrackedIgnored(_ tracked: [RepoPath], root: String) {
        let listed = Set(files.map(\.path))
        var added = false
        for path in tracked where !listed.contains(path) {
            guard let file = WorkFile.trackedButIgnored(path, root: root) else { continue }
            files.append(file)
            added = true
        }
        if added { files.sort { $0.path < $1.path } }
    }
}
