import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Thin, bounds-checked wrappers over POSIX file calls.
///
/// Foundation is avoided below the CLI: it costs milliseconds of start-up per
/// command, and every call here needs an exact error with the path in it.
public enum FileSystem {
    /// Opens `path` for reading, refusing anything but a regular file; returns the descriptor,
    /// which the caller closes, and the file's size.
    static func openRegularFile(_ path: String) throws(StoreError) -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw .io(path: path, operation: "stat", errno: code)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .badFile(path: path, reason: "not a regular file")
        }
        return (fd, Int(st.st_size))
    }

    /// Reads a whole file, or its bytes from `offset` on (none if it is shorter), refusing more
    /// than `limit` bytes before allocating.
    public static func read(_ path: String, from offset: Int = 0, limit: Int) throws(StoreError) -> [UInt8] {
        let (fd, fileSize) = try openRegularFile(path)
        defer { close(fd) }
        let size = max(0, fileSize - max(0, offset))
        guard size <= limit else { throw .fileTooLarge(path: path, limit: limit) }
        if offset > 0, size > 0, lseek(fd, off_t(offset), SEEK_SET) < 0 {
            throw .io(path: path, operation: "seek", errno: errno)
        }
        do {
            return try FileReads.read(fd, count: size)
        } catch {
            throw .io(path: path, operation: "read", errno: error.code)
        }
    }

    /// Reads a file (from `offset` on) if it exists; `nil` when it does not.
    public static func readIfExists(_ path: String, from offset: Int = 0, limit: Int) throws(StoreError) -> [UInt8]? {
        do {
            return try read(path, from: offset, limit: limit)
        } catch let error {
            if case let .io(_, _, code) = error, code == ENOENT { return nil }
            throw error
        }
    }

    /// Up to `count` bytes of a file from byte `offset` (fewer where the file ends first);
    /// `nil` if it cannot be opened or read.
    public static func read(_ path: String, at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0 else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return try? FileReads.read(fd, count: count, at: offset)
    }

    /// Writes `bytes` to `fd` completely.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                retryingOnEINTR { Glibc.write(fd, raw.baseAddress.map { $0 + done }, bytes.count - done) }
            }
            if n < 0 {
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    /// Replaces `path` atomically: writes a temporary file beside it, fsyncs it,
    /// renames it over `path`, and fsyncs the directory. Readers see the old or
    /// the new content, never a mix, and after a crash the file is one or the other.
    ///
    /// With `durable` false neither fsync happens; with `syncParent` false only
    /// the directory's fsync is left to the caller (who may batch it).
    public static func writeAtomically(
        _ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true,
        syncParent: Bool = true
    ) throws(StoreError) {
        let temp = try stage(path, bytes, mode: mode, durable: durable)
        try commit(temp, to: path)
        if durable && syncParent { try syncDirectory(parent(of: path)) }
    }

    /// The first half of `writeAtomically`: writes `bytes` to a new temporary file beside
    /// `path` (fsynced when `durable`) and returns its name, for `commit` to rename over `path`
    /// later, or `remove` to drop. A writer can so prepare a file while it waits for something
    /// else and replace the old one as soon as the wait is over.
    public static func stage(
        _ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = false
    ) throws(StoreError) -> String {
        let temp = temporaryName(for: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: temp, operation: "create", errno: errno) }
        do throws(StoreError) {
            try writeAll(fd, bytes, path: temp)
            if durable, fsync(fd) != 0 { throw StoreError.io(path: temp, operation: "fsync", errno: errno) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        return temp
    }

    /// The second half of `writeAtomically` (without the directory's fsync): renames a file
    /// `stage` wrote over `path`; on failure the staged file is removed.
    ///
    /// With `freeingOldLater`, a regular file at `path` is exchanged with the staged one
    /// instead (readers still see the old or the new file, never neither), and the old file,
    /// now under the temporary name, is deleted by `DeferredRemovals`: the caller does not wait
    /// for its blocks to be freed. Where the file system cannot exchange, it is renamed over.
    public static func commit(_ staged: String, to path: String, freeingOldLater: Bool = false) throws(StoreError) {
        if freeingOldLater, isRegularFile(path), Renames.exchange(staged, path) == 0 {
            DeferredRemovals.schedule(staged)
            return
        }
        guard rename(staged, path) == 0 else {
            let code = errno
            unlink(staged)
            throw .io(path: path, operation: "rename", errno: code)
        }
    }

    /// Replaces a derived file, one that can be computed again from the store (a cache, a ref,
    /// the graph file): atomically, but without fsync, and with the old version's blocks freed
    /// off the caller's path (`commit(_:to:freeingOldLater:)`).
    public static func writeDerived(_ path: String, _ bytes: [UInt8]) throws(StoreError) {
        try commit(stage(path, bytes), to: path, freeingOldLater: true)
    }

    /// Whether `path` is a regular file (not following a symbolic link).
    static func isRegularFile(_ path: String) -> Bool {
        status(path).map { ($0.st_mode & S_IFMT) == S_IFREG } ?? false
    }

    /// A temporary name in the same directory: `.<name>.tmp-<pid>-<random>`.
    static func temporaryName(for path: String) -> String {
        let dir = parent(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? "file"
        return dir + "/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether a name is one of our temporary files (left behind by a crash, safe to delete).
    public static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".tmp-")
    }

    /// fsyncs a directory so that renames and creations inside it are durable.
    public static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
    }

    /// The directory part of `path` ("." for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Creates a directory; an existing directory is fine. Returns whether it was created.
    @discardableResult
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(StoreError) -> Bool {
        if mkdir(path, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw .io(path: path, operation: "mkdir", errno: errno)
    }

    /// Creates a directory and its missing parents.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(StoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current, mode: mode)
        }
    }

    /// `stat` of a path, or `nil` if it does not exist. Symbolic links are not followed.
    public static func status(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    /// Whether `path` exists (without following a final symbolic link).
    public static func exists(_ path: String) -> Bool { status(path) != nil }

    /// Whether `path` is a directory (following links).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without "." and "..".
    public static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else { throw .io(path: path, operation: "opendir", errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file; a missing file is fine.
    public static func remove(_ path: String) throws(StoreError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw .io(path: path, operation: "unlink", errno: errno)
        }
    }

    /// Removes a directory tree (without following symbolic links); a missing path is fine.
    public static func removeTree(_ path: String) throws(StoreError) {
        guard let st = status(path) else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw .io(path: path, operation: "rmdir", errno: errno) }
        } else {
            try remove(path)
        }
    }

    /// The current working directory.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Makes `path` absolute against the current directory and removes "." components and
    /// repeated slashes (".." is resolved textually).
    public static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        var parts: [Substring] = []
        for part in base.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
