import HGCore
import HGCompression
#if canImport(Glibc)
import Glibc
#endif

/// Loose objects: one zlib-compressed file per object under
/// `objects/<2 hex>/<62 hex>`, named by the object id.
///
/// Reads check the compressed size, decompress under a hard limit (so a
/// decompression bomb costs at most one object's worth of memory), and check
/// that the content hashes to the file's name. Not thread-safe: the zlib
/// streams are reused; give each thread its own instance.
public final class LooseObjects {
    public let layout: Layout
    private let deflater: Deflater
    private let inflater: Inflater
    /// Fan-out directories written since the last `flush`, to fsync once per batch.
    private var dirtyDirectories: Set<String> = []

    /// Largest object file accepted: the largest object plus zlib's worst-case expansion.
    public static let maxFileBytes = Limits.maxObjectBytes + Limits.maxObjectBytes / 1000 + 4096

    public init(layout: Layout) throws(StoreError) {
        self.layout = layout
        do {
            deflater = try Deflater()
            inflater = try Inflater()
        } catch {
            throw .badFile(path: layout.objects, reason: "zlib could not be initialised: \(error)")
        }
    }

    /// Whether an object file exists for `id` (its content is not checked).
    public func contains(_ id: ObjectID) -> Bool {
        FileSystem.exists(layout.objectPath(id.hex))
    }

    /// The canonical encoding of `id`, checked against its hash.
    public func read(_ id: ObjectID) throws(StoreError) -> [UInt8] {
        let path = layout.objectPath(id.hex)
        let compressed: [UInt8]
        do {
            compressed = try FileSystem.read(path, limit: LooseObjects.maxFileBytes)
        } catch let error {
            if case let .io(_, _, code) = error, code == ENOENT { throw .objectMissing(id) }
            if case .fileTooLarge = error { throw .objectCorrupt(id, path: path, reason: "file is larger than any valid object") }
            throw error
        }
        let bytes: [UInt8]
        do {
            bytes = try inflater.decompress(compressed, limit: Limits.maxObjectBytes)
        } catch {
            throw .objectCorrupt(id, path: path, reason: error.description)
        }
        let actual = ObjectID(hashing: bytes)
        guard actual == id else { throw .objectHashMismatch(id, path: path, actual: actual) }
        return bytes
    }

    /// Reads and strictly decodes an object.
    public func readObject(_ id: ObjectID) throws(StoreError) -> StoredObject {
        let bytes = try read(id)
        do {
            return try StoredObject.decode(bytes)
        } catch {
            throw .objectMalformed(id, path: layout.objectPath(id.hex), reason: error)
        }
    }

    /// Reads an object that must be an operation.
    public func readOperation(_ id: ObjectID) throws(StoreError) -> Operation {
        guard case let .operation(op) = try readObject(id) else {
            throw .objectMalformed(id, path: layout.objectPath(id.hex), reason: .unknownType(ObjectType.blob.rawValue))
        }
        return op
    }

    /// Reads an object that must be a blob, returning the file content.
    public func readBlob(_ id: ObjectID) throws(StoreError) -> [UInt8] {
        guard case let .blob(blob) = try readObject(id) else {
            throw .objectMalformed(id, path: layout.objectPath(id.hex), reason: .unknownType(ObjectType.operation.rawValue))
        }
        return blob.content
    }

    /// The raw stored (compressed) bytes of an object, as `cat-object --raw` shows them.
    public func readStored(_ id: ObjectID) throws(StoreError) -> [UInt8] {
        let path = layout.objectPath(id.hex)
        guard let bytes = try FileSystem.readIfExists(path, limit: LooseObjects.maxFileBytes) else { throw .objectMissing(id) }
        return bytes
    }

    /// Stores a canonical encoding under its id, unless it is already there.
    ///
    /// The file is written to a temporary name, fsynced when `durable`, made
    /// read-only and renamed into place; the fan-out directory is fsynced at `flush()`.
    @discardableResult
    public func write(_ encoding: [UInt8], durable: Bool = true) throws(StoreError) -> ObjectID {
        let id = ObjectID(hashing: encoding)
        let path = layout.objectPath(id.hex)
        if FileSystem.exists(path) { return id }
        let directory = FileSystem.parent(of: path)
        try FileSystem.makeDirectory(directory)
        let compressed: [UInt8]
        do {
            compressed = try deflater.compress(encoding)
        } catch {
            throw .badFile(path: path, reason: "compression failed: \(error)")
        }
        let temp = FileSystem.temporaryName(for: path)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw .io(path: temp, operation: "create", errno: errno) }
        do throws(StoreError) {
            try FileSystem.writeAll(fd, compressed, path: temp)
            if durable, fsync(fd) != 0 { throw StoreError.io(path: temp, operation: "fsync", errno: errno) }
            close(fd)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard rename(temp, path) == 0 else {
            let code = errno
            unlink(temp)
            throw .io(path: path, operation: "rename", errno: code)
        }
        if durable { dirtyDirectories.insert(directory) }
        return id
    }

    /// fsyncs every fan-out directory written since the last flush (and `objects/` itself,
    /// which may have gained a fan-out directory).
    public func flush() throws(StoreError) {
        guard !dirtyDirectories.isEmpty else { return }
        for directory in dirtyDirectories.sorted() { try FileSystem.syncDirectory(directory) }
        try FileSystem.syncDirectory(layout.objects)
        dirtyDirectories.removeAll()
    }

    /// Every object file name in the store, as ids, with the names that are not valid ids.
    public func enumerate() throws(StoreError) -> (ids: [ObjectID], strays: [String]) {
        var ids: [ObjectID] = []
        var strays: [String] = []
        for fan in try FileSystem.list(layout.objects).sorted() {
            let fanPath = layout.objects + "/" + fan
            guard fan.utf8.count == 2, Hex.isHex(Substring(fan)), FileSystem.isDirectory(fanPath) else {
                strays.append(fanPath)
                continue
            }
            for name in try FileSystem.list(fanPath).sorted() {
                if FileSystem.isTemporaryName(name) { continue }
                if let id = ObjectID(hex: fan + name), id.hex == fan + name {
                    ids.append(id)
                } else {
                    strays.append(fanPath + "/" + name)
                }
            }
        }
        return (ids, strays)
    }
}
