import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// Mapping the store's files by path: the checks and errors of `FileSystem.read`.
extension MappedFile {
    /// Maps `path`; throws if it cannot be opened or mapped, or is longer than `limit`.
    public convenience init(_ path: String, limit: Int) throws(StoreError) {
        let (fd, size) = try FileSystem.openRegularFile(path)
        defer { close(fd) }
        guard size <= limit else { throw .fileTooLarge(path: path, limit: limit) }
        try self.init(fd: fd, size: size) { StoreError.io(path: path, operation: "mmap", errno: $0) }
    }

    /// Maps `path`, or `nil` if it does not exist.
    public static func ifExists(_ path: String, limit: Int) throws(StoreError) -> MappedFile? {
        do {
            return try MappedFile(path, limit: limit)
        } catch let .io(_, _, code) where code == ENOENT {
            return nil
        }
    }
}
