import Dispatch
import HGCompression
import HGCore
import HGSystem

#if canImport(Glibc)
import Glibc
#endif

/// The object store: loose objects (one zlib-compressed file per object under
/// `objects/<2 hex>/<62 hex>`, named by the object id) and the packs beside them, read and
/// written as one.
///
/// Reads check the compressed size, decompress under a hard limit (so a
/// decompression bomb costs at most one object's worth of memory), and check
/// that the content hashes to the file's name. Not thread-safe: the zlib
/// streams are reused; give each thread its own instance.
public final class ObjectStore {
    public let layout: Layout
    private let compressors: ObjectCompressors
    private let inflater: Inflater
    /// Fan-out directories written since the last `flush`, to fsync once per batch.
    private var dirtyDirectories: Set<String> = []
    /// Whether a fan-out directory was created since the last `flush` (then `objects/` needs an fsync too).
    private var createdFanOut = false
    /// Packs, opened on first use (commands that only write never load them).
    private var loadedPacks: [Pack]?
    /// The pack directory's modification time when `loadedPacks` was read: another
    /// process (or another instance) adding a pack changes it, and the list is read again.
    private var packDirectoryStamp: (Int64, Int64)?
    /// The position in `loadedPacks` of the pack that held the last object found.
    private var lastPackHit = 0

    /// `objects/pack`.
    public var packDirectory: String { layout.objects + "/pack" }

    /// zlib level for everything compressed. Objects are small (a few hundred bytes), where
    /// level 1 compresses almost as well as 6 at a fraction of the cost.
    public static let compressionLevel: Int32 = 1

    /// Largest object file accepted: the largest object plus zlib's worst-case expansion.
    public static let maxFileBytes = Limits.maxObjectBytes + Limits.maxObjectBytes / 1000 + 4096

    public init(layout: Layout) throws(StoreError) {
        self.layout = layout
        do {
            compressors = try ObjectCompressors()
            inflater = try Inflater()
        } catch {
            throw .badFile(path: layout.objects, reason: "zlib could not be initialised: \(error)")
        }
    }

    /// An instance that reads packed objects through `packs`, already opened (by `openPacks`),
    /// instead of loading its own: readers on several threads can share one copy of the pack
    /// indexes, each with its own instance for its zlib streams.
    public convenience init(layout: Layout, packs: [Pack]) throws(StoreError) {
        try self.init(layout: layout)
        packDirectoryStamp = directoryStamp()
        loadedPacks = packs
    }

    /// Whether an object file or pack entry exists for `id` (its content is not checked).
    public func contains(_ id: ObjectID) -> Bool {
        FileSystem.exists(layout.objectPath(id.hex)) || packEntry(id) != nil
    }

    /// Whether `id` is stored and its object is a blob. An object's type byte is part of what
    /// its id hashes, so an id names a blob or an operation whatever a replica holds; `contains`
    /// alone would also say yes for an operation, so the object is read (and hashed) to know.
    public func containsBlob(_ id: ObjectID) -> Bool {
        guard contains(id), let bytes = try? read(id) else { return false }
        return bytes.first == ObjectType.blob.rawValue
    }

    /// The packs of the store, opened once. A pack whose index cannot be read is skipped here
    /// and reported by `verify` (through `openPacks`).
    public func packs() -> [Pack] {
        if let loadedPacks { return loadedPacks }
        packDirectoryStamp = directoryStamp()
        let opened = (try? openPacks().packs) ?? []
        loadedPacks = opened
        return opened
    }

    private func directoryStamp() -> (Int64, Int64)? {
        FileSystem.status(packDirectory).map { (Int64($0.st_mtim.tv_sec), Int64($0.st_mtim.tv_nsec)) }
    }

    /// Every object id in the store, loose or packed, each once.
    public func allIDs() throws(StoreError) -> [ObjectID] {
        var ids = try enumerate().ids
        var seen = Set(ids)
        for pack in packs() { for id in pack.ids where seen.insert(id).inserted { ids.append(id) } }
        return ids
    }

    /// Opens every pack index, returning the packs and the failures. With `checked`, an index
    /// whose checksum or order is wrong is a failure too (what `verify` asks).
    public func openPacks(checked: Bool = false) throws(StoreError) -> (packs: [Pack], failures: [(String, StoreError)])
    {
        guard FileSystem.isDirectory(packDirectory) else { return ([], []) }
        var packs: [Pack] = []
        var failures: [(String, StoreError)] = []
        for name in try FileSystem.list(packDirectory).sorted()
        where name.hasSuffix(".idx") && !FileSystem.isTemporaryName(name) {
            let path = packDirectory + "/" + name
            do {
                let pack = try Pack(indexPath: path)
                if checked { try pack.checkIndex() }
                packs.append(pack)
            } catch {
                failures.append((path, error))
            }
        }
        return (packs, failures)
    }

    /// The pack holding `id` among `opened`, and its position there. Readers of many objects
    /// (verify, clone, reindex) go pack by pack, so the pack of the last hit is tried first: one
    /// binary search per lookup instead of one per pack (a repository filled by batches of
    /// 10,000 operations has 100 packs at 10^6).
    private func search(_ opened: [Pack], for id: ObjectID) -> (Pack, Int)? {
        if lastPackHit < opened.count, let position = opened[lastPackHit].position(of: id) {
            return (opened[lastPackHit], position)
        }
        for (n, pack) in opened.enumerated() where n != lastPackHit {
            if let position = pack.position(of: id) {
                lastPackHit = n
                return (pack, position)
            }
        }
        return nil
    }

    private func packEntry(_ id: ObjectID) -> (Pack, Int)? {
        if let hit = search(packs(), for: id) { return hit }
        // Not found: another process (or instance) may have added packs since the list was
        // read. The directory's modification time says so cheaply; within two seconds of it
        // (the same tick of a coarse clock could hide a second change) the names are compared.
        let current = directoryStamp()
        switch (current, packDirectoryStamp) {
        case (nil, nil):
            return nil
        case let (now?, known?) where now == known:
            var clock = timespec()
            clock_gettime(CLOCK_REALTIME, &clock)
            if Int64(clock.tv_sec) - now.0 > 2 { return nil }
            let names = Set(((try? FileSystem.list(packDirectory)) ?? []).filter { $0.hasSuffix(".idx") })
            if names == Set(packs().map { String($0.indexPath.split(separator: "/").last ?? "") }) { return nil }
        default:
            break
        }
        loadedPacks = nil
        return search(packs(), for: id)
    }

    /// Writes a batch of encodings as one pack (one fsync for all of them) and makes it readable.
    /// Hashing and compression run on all cores; the pack lists objects in the order given.
    @discardableResult
    public func writePack(_ encodings: [[UInt8]]) throws(StoreError) -> [ObjectID] {
        try writePack(count: encodings.count, encoding: { encodings[$0] }, knownID: { _ in nil }).ids
    }

    /// `writePack` of objects whose ids the caller computed from these very encodings (a
    /// receiver hashed each object when it decoded it): they are not hashed again.
    /// Returns the path of the pack's index (`nil` for an empty batch), for `withdrawPack`.
    @discardableResult
    public func writePack(hashed objects: [(id: ObjectID, encoding: [UInt8])]) throws(StoreError) -> String? {
        try writePack(count: objects.count, encoding: { objects[$0].encoding }, knownID: { objects[$0].id }).indexPath
    }

    /// Removes a pack this instance wrote (index first, so that it stops counting before its
    /// data goes) while the caller still holds the lock that it held to write it. What a pack
    /// holds is not in the repository until index records name it, so a receiver may write its
    /// pack while the signatures are still being checked, and withdraw it if one fails.
    public func withdrawPack(indexPath: String) throws(StoreError) {
        guard indexPath.hasSuffix(".idx") else { return }
        let packPath = String(indexPath.dropLast(4)) + ".pack"
        loadedPacks = nil
        lastPackHit = 0
        try FileSystem.remove(indexPath)
        try FileSystem.remove(packPath)
        // The directory too, if that pack was all it held: it is made again when needed.
        _ = rmdir(packDirectory)
    }

    /// `writePack` of `count` objects, the `i`th being `encoding(i)` with id `knownID(i)` (hashed
    /// here when `nil`). The objects are read where they are, not gathered into new arrays first.
    private func writePack(
        count: Int, encoding: @Sendable (Int) -> [UInt8], knownID: @Sendable (Int) -> ObjectID?
    )
        throws(StoreError) -> (ids: [ObjectID], indexPath: String?)
    {
        var writer = PackWriter()
        var ids: [ObjectID] = []
        ids.reserveCapacity(count)
        try Self.compressInParallel(count: count, encoding: encoding, knownID: knownID) {
            compressed throws(StoreError) in
            writer = PackWriter(reservingBytes: compressed.reduce(0) { $0 + ($1?.1.count ?? 0) + 10 }, objects: count)
            for (index, item) in compressed.enumerated() {
                guard let (id, bytes) = item else {
                    throw .badFile(path: packDirectory, reason: "compression failed for object \(index) of the batch")
                }
                writer.add(id: id, compressed: bytes)
                ids.append(id)
            }
        }
        guard !writer.isEmpty else { return (ids, nil) }
        let indexPath = try writer.write(to: packDirectory)
        try FileSystem.syncDirectory(layout.objects)
        adoptWrittenPack(indexPath)
        return (ids, indexPath)
    }

    /// Adds a pack this instance just wrote to the opened list, instead of opening every pack
    /// again on the next lookup, when the directory holds exactly the known packs and it (the
    /// writer holds the repository lock, so that is the usual case); otherwise the list is
    /// dropped and read again when next needed.
    private func adoptWrittenPack(_ indexPath: String) {
        // Stamped before listing: a pack added after the listing changes the directory again.
        let stamp = directoryStamp()
        guard let known = loadedPacks,
            let names = try? FileSystem.list(packDirectory).filter({
                $0.hasSuffix(".idx") && !FileSystem.isTemporaryName($0)
            }),
            Set(names)
                == Set((known.map(\.indexPath) + [indexPath]).map { String($0.split(separator: "/").last ?? "") }),
            let written = try? Pack(indexPath: indexPath)
        else {
            loadedPacks = nil
            return
        }
        loadedPacks = known + [written]
        packDirectoryStamp = stamp
    }

    /// The canonical encoding of `id`, checked against its hash.
    public func read(_ id: ObjectID) throws(StoreError) -> [UInt8] {
        // Packs first: a binary search in memory is cheaper than a failed open per object.
        if let (pack, position) = packEntry(id) {
            return try inflateAndCheck(id, try pack.compressed(at: position), path: pack.packPath)
        }
        var path = layout.objectPath(id.hex)
        let compressed: [UInt8]
        do {
            compressed = try FileSystem.read(path, limit: ObjectStore.maxFileBytes)
        } catch let error {
            if case let .io(_, _, code) = error, code == ENOENT {
                guard let (pack, position) = packEntry(id) else { throw .objectMissing(id) }
                path = pack.packPath
                return try inflateAndCheck(id, try pack.compressed(at: position), path: path)
            }
            if case .fileTooLarge = error {
                throw .objectCorrupt(id, path: path, reason: "file is larger than any valid object")
            }
            throw error
        }
        return try inflateAndCheck(id, compressed, path: path)
    }

    /// `read` of many objects at once, in the order of `ids`: packed objects are read pack by
    /// pack with `Pack.compressed(at:)` (entries close to each other in one read), each still
    /// checked against its hash. A pack whose batched read fails is read object by object, so
    /// that each error names its own object.
    public func read(_ ids: [ObjectID]) -> [Result<[UInt8], StoreError>] {
        read(ids, budget: .max).map { $0 ?? .failure(.objectMissing(ObjectID(raw: .zero))) }
    }

    /// `read(_:)` that stops once the objects read, compressed and decompressed, pass `budget`
    /// bytes: the ids it did not reach are `nil`, for the caller to read later (one by one, or in
    /// another batch). At least one is read, so that a caller always makes progress; the most
    /// held is about twice the budget plus a pack read's span and two objects.
    ///
    /// With `checkingIDs` false, objects from packs are not hashed against their ids: only zlib's
    /// checks (its Adler-32 of the content among them) stand between damage on disk and the
    /// caller. For a sender, whose receiver hashes everything it gets: hashing was an eighth of
    /// what serving a fetch costs.
    public func read(_ ids: [ObjectID], budget: Int, checkingIDs: Bool = true) -> [Result<[UInt8], StoreError>?] {
        var results = [Result<[UInt8], StoreError>?](repeating: nil, count: ids.count)
        var spent = 0
        var readAny = false
        var exhausted: Bool { readAny && spent > budget }
        var byPack: [(pack: Pack, indices: [Int], positions: [Int])] = []
        var groupOf: [ObjectIdentifier: Int] = [:]
        for (index, id) in ids.enumerated() {
            guard let (pack, position) = packEntry(id) else {
                guard !exhausted else { continue }
                let result = Result { () throws(StoreError) in try read(id) }
                spent += (try? result.get().count) ?? 0
                results[index] = result
                readAny = true
                continue
            }
            if let group = groupOf[ObjectIdentifier(pack)] {
                byPack[group].indices.append(index)
                byPack[group].positions.append(position)
            } else {
                groupOf[ObjectIdentifier(pack)] = byPack.count
                byPack.append((pack, [index], [position]))
            }
        }
        for (pack, indices, positions) in byPack where !exhausted {
            // Compressed bytes count against the same budget as the objects they inflate to.
            let entries = try? pack.compressed(at: positions, budget: readAny ? max(0, budget - spent) : budget)
            for (k, index) in indices.enumerated() {
                if exhausted { break }
                let id = ids[index]
                let result: Result<[UInt8], StoreError>
                if let entries {
                    guard let entry = entries[k] else { continue }
                    spent += entry.count
                    result = Result { () throws(StoreError) in
                        try inflateAndCheck(id, entry, path: pack.packPath, checkingID: checkingIDs)
                    }
                } else {
                    result = Result { () throws(StoreError) in try read(id) }
                }
                spent += (try? result.get().count) ?? 0
                results[index] = result
                readAny = true
            }
        }
        return results
    }

    private func inflateAndCheck(
        _ id: ObjectID, _ compressed: [UInt8], path: String, checkingID: Bool = true
    ) throws(StoreError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try inflater.decompress(compressed, limit: Limits.maxObjectBytes)
        } catch {
            throw .objectCorrupt(id, path: path, reason: error.description)
        }
        guard checkingID else { return bytes }
        let actual = ObjectID(hashing: bytes)
        guard actual == id else { throw .objectHashMismatch(id, path: path, actual: actual) }
        return bytes
    }

    /// Reads and strictly decodes an object.
    public func readObject(_ id: ObjectID) throws(StoreError) -> StoredObject {
        let bytes = try read(id)
        do {
            // `read` has checked that the bytes hash to `id`: an operation is not hashed again.
            if bytes.first == ObjectType.operation.rawValue {
                return .operation(try Operation.decode(bytes, knownID: id))
            }
            return try StoredObject.decode(bytes)
        } catch {
            throw .objectMalformed(id, path: location(of: id), reason: error)
        }
    }

    /// Where an object is stored: its loose file, or the pack holding it.
    public func location(of id: ObjectID) -> String {
        let loose = layout.objectPath(id.hex)
        if FileSystem.exists(loose) { return loose }
        return packEntry(id)?.0.packPath ?? loose
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
            throw .objectMalformed(
                id, path: layout.objectPath(id.hex), reason: .unknownType(ObjectType.operation.rawValue))
        }
        return blob.content
    }

    /// The raw stored (compressed) bytes of an object, as `cat-object --raw` shows them.
    public func readStored(_ id: ObjectID) throws(StoreError) -> [UInt8] {
        let path = layout.objectPath(id.hex)
        if let bytes = try FileSystem.readIfExists(path, limit: ObjectStore.maxFileBytes) { return bytes }
        guard let (pack, position) = packEntry(id) else { throw .objectMissing(id) }
        return try pack.compressed(at: position)
    }

    /// Ids and zlib streams of `encodings`, computed on all cores with one pair of
    /// compressors per worker; `nil` where compression failed.
    static func compressInParallel(
        count: Int, encoding: @Sendable (Int) -> [UInt8], knownID: @Sendable (Int) -> ObjectID?,
        _ body: (UnsafeBufferPointer<(ObjectID, [UInt8])?>) throws(StoreError) -> Void
    ) throws(StoreError) {
        guard count > 0 else { return }
        let results = UnsafeMutablePointer<(ObjectID, [UInt8])?>.allocate(capacity: count)
        results.initialize(repeating: nil, count: count)
        defer {
            results.deinitialize(count: count)
            results.deallocate()
        }
        let slots = SendablePointer(results)
        let workers = min(count / 256 + 1, System.coreCount)
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            guard let compressors = try? ObjectCompressors() else { return }
            for index in (worker * chunk)..<min(count, (worker + 1) * chunk) {
                let bytes = encoding(index)
                if let compressed = try? compressors.compress(bytes) {
                    slots.pointer[index] = (knownID(index) ?? ObjectID(hashing: bytes), compressed)
                }
            }
        }
        // Handed over in place: copying two thousand results out (and releasing them twice) cost
        // more than compressing the operations, which are mostly stored uncompressed.
        try body(UnsafeBufferPointer(start: results, count: count))
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
        if try FileSystem.makeDirectory(directory) { createdFanOut = true }
        let compressed: [UInt8]
        do {
            compressed = try compressors.compress(encoding)
        } catch {
            throw .badFile(path: path, reason: "compression failed: \(error)")
        }
        try FileSystem.writeAtomically(path, compressed, mode: 0o444, durable: durable, syncParent: false)
        if durable { dirtyDirectories.insert(directory) }
        return id
    }

    /// fsyncs every fan-out directory written since the last flush, and `objects/` itself
    /// when it gained a fan-out directory.
    public func flush() throws(StoreError) {
        for directory in dirtyDirectories.sorted() { try FileSystem.syncDirectory(directory) }
        if createdFanOut { try FileSystem.syncDirectory(layout.objects) }
        dirtyDirectories.removeAll()
        createdFanOut = false
    }

    /// Every object file name in the store, as ids, with the names that are not valid ids.
    public func enumerate() throws(StoreError) -> (ids: [ObjectID], strays: [String]) {
        var ids: [ObjectID] = []
        var strays: [String] = []
        for fan in try FileSystem.list(layout.objects).sorted() where fan != "pack" {
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

/// A raw pointer handed to concurrent workers that write disjoint indices.
// @unchecked: each worker writes only its own indices, and the owner reads after all have ended.
private struct SendablePointer<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
