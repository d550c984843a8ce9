import HGStore
import HGSync

#if canImport(Glibc)
import Glibc
#endif

/// Named remotes: `[remote "<name>"] url = <address>` in the config.
extension Repository {
    /// Adds or replaces `remote.<name>.url` in the config, and `remote.<name>.program` (the
    /// hg-bft to run on the other side) when `program` is given.
    public func setRemote(_ name: String, url: String, program: String? = nil) throws(RepositoryError) {
        try updateConfig {
            $0.set("remote", "url", url, subsection: name)
            if let program { $0.set("remote", "program", program, subsection: name) }
        }
    }

    /// Removes a remote; throws if it does not exist.
    public func removeRemote(_ name: String) throws(RepositoryError) {
        guard remotes().contains(where: { $0.name == name }) else { throw .unknownRemote(name) }
        try updateConfig { $0.removeSubsection("remote", name) }
    }

    /// Configured remotes, in config order.
    public func remotes() -> [(name: String, url: String)] {
        var seen: [String] = []
        var urls: [String: String] = [:]
        for entry in config.entries where entry.section == "remote" && entry.key == "url" {
            guard let name = entry.subsection else { continue }
            if urls[name] == nil { seen.append(name) }
            urls[name] = entry.value
        }
        return seen.compactMap { name in urls[name].map { (name, $0) } }
    }

    func updateConfig(_ change: (inout Config) -> Void) throws(RepositoryError) {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        let bytes = try lift { try FileSystem.readIfExists(layout.config, limit: 1 << 20) } ?? []
        var fresh = try lift { try Config(text: String(decoding: bytes, as: UTF8.self), path: layout.config) }
        change(&fresh)
        try lift { try FileSystem.writeAtomically(layout.config, Array(fresh.text.utf8)) }
        config = fresh
    }
}

extension Repository {
    /// Refuses an address that leads back to this replica: a local path whose `.hgrepo` is
    /// this one's (the same device and inode, whichever symbolic links or `..` lead there).
    /// Syncing a replica with itself can only fight over its own lock.
    public func refuseSyncWithItself(_ address: RemoteAddress, as given: String) throws(RepositoryError) {
        guard case let .local(path) = address else { return }
        var theirs = stat()
        var ours = stat()
        guard stat(Layout(root: FileSystem.absolute(path)).meta, &theirs) == 0, stat(layout.meta, &ours) == 0 else {
            return
        }
        if theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino {
            throw .syncWithItself(given, root: layout.root)
        }
    }
}
