import HGCompression
import HGCore
import HGSystem

/// Failures of the repository store. Each message names the file or object
/// involved and, where there is one, what the user can do about it.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed on `path`.
    case io(path: String, operation: String, errno: Int32)
    /// No `.hgrepo` directory was found.
    case notARepository(path: String)
    /// `init` found an existing repository.
    case alreadyExists(path: String)
    /// Another process holds the repository lock.
    case locked(lockPath: String, seconds: Double)
    /// An object is not in the store.
    case objectMissing(ObjectID)
    /// An object file failed to decompress.
    case objectCorrupt(ObjectID, path: String, reason: String)
    /// An object's content does not hash to its name.
    case objectHashMismatch(ObjectID, path: String, actual: ObjectID)
    /// An object's bytes are not a canonical encoding.
    case objectMalformed(ObjectID, path: String, reason: DecodeError)
    /// A file of the store is not in the format FORMAT.md gives.
    case badFile(path: String, reason: String)
    /// The identity key file is readable by other users.
    case keyPermissions(path: String, mode: UInt32)
    /// A file is larger than the store will read.
    case fileTooLarge(path: String, limit: Int)

    public var description: String {
        switch self {
        case let .io(path, operation, errno):
            return "\(operation) '\(path)': \(ErrnoText.describe(errno))"
        case let .notARepository(path):
            return "not an hg-bft repository (or any parent up to /): \(path); run 'hg-bft init' to create one"
        case let .alreadyExists(path):
            return "a repository already exists in \(path)"
        case let .locked(lockPath, seconds):
            let waited = seconds >= 10 ? "\(Int(seconds.rounded()))" : "\(Double(Int(seconds * 10)) / 10)"
            return
                "another hg-bft process holds the repository lock '\(lockPath)' (waited \(waited) s); try again when it has finished"
        case let .objectMissing(id):
            return "object \(id.hex) is missing"
        case let .objectCorrupt(id, path, reason):
            return "object \(id.hex) is corrupt (\(path)): \(reason)"
        case let .objectHashMismatch(id, path, actual):
            return "object \(id.hex) hashes to \(actual.hex) (\(path)): its content was changed"
        case let .objectMalformed(id, path, reason):
            return "object \(id.hex) is malformed (\(path)): \(reason)"
        case let .badFile(path, reason):
            return "'\(path)' is damaged: \(reason)"
        case let .keyPermissions(path, mode):
            return
                "permissions \(String(mode & 0o777, radix: 8)) for '\(path)' are too open; the identity key must be readable only by you (chmod 600 '\(path)')"
        case let .fileTooLarge(path, limit):
            return "'\(path)' is larger than \(limit) bytes"
        }
    }
}
