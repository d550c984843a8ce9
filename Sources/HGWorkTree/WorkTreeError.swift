import HGCore
import HGSystem

/// Failures while reading or writing the working tree.
public enum WorkTreeError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    /// A file is larger than a blob may be.
    case fileTooLarge(path: String, limit: Int)
    /// Materialising would have to write through a symbolic link or replace a non-directory.
    case blockedPath(path: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, operation, errno): return "\(operation) '\(path)': \(ErrnoText.describe(errno))"
        case let .fileTooLarge(path, limit):
            return "'\(path)' is larger than the \(limit / (1 << 20)) MiB limit for one file"
        case let .blockedPath(path, reason): return "cannot write '\(path)': \(reason)"
        }
    }
}
