#if canImport(Glibc)
import Glibc
#endif

/// A file mapped read-only into memory, unmapped when the last reference goes.
///
/// For files that hg-bft never changes in place once they exist (pack indexes and the graph file
/// are written under a temporary name and renamed; a replaced or removed file stays mapped as it
/// was): opening one costs no read and no copy into fresh memory, and a lookup touches only the
/// pages it needs. Reading a 1.6 MB pack index whole was about 1.5 ms of every command that read
/// one object, most of it page faults. As with git's packs, something outside hg-bft that
/// truncated such a file under a reader would make the reader fault.
// @unchecked: the mapping is read-only and `bytes` never changes after init (munmap is in deinit).
public final class MappedFile: @unchecked Sendable {
    /// The file's bytes; valid only while this instance lives, which Swift does not promise past
    /// an instance's last use: outside this package use `withBytes`, and inside it keep the
    /// instance in a stored property of whatever reads them.
    package let bytes: UnsafeRawBufferPointer

    /// Maps the `size` bytes of the open file `fd` (which the caller still closes); a failed
    /// mmap throws `failure(errno)`, so that each module names the path in its own error.
    public init<Failure: Error>(fd: Int32, size: Int, failure: (Int32) -> Failure) throws(Failure) {
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let start = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), start != MAP_FAILED else {
            throw failure(errno)
        }
        bytes = UnsafeRawBufferPointer(start: start, count: size)
    }

    /// Calls `body` with the file's bytes, keeping the mapping alive until it returns.
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withExtendedLifetime(self) { () throws(E) -> R in try body(bytes) }
    }

    deinit {
        if let start = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: start), bytes.count) }
    }
}
