import Foundation
import HGCompression
import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGStore

/// A repository layout in a fresh temporary directory, with `objects/` created.
private func makeStore() throws -> (TempDirectory, ObjectStore) {
    let dir = try TempDirectory("hgobjects")
    let layout = Layout(root: dir.path)
    try FileSystem.makeDirectories(layout.objects)
    return (dir, try ObjectStore(layout: layout))
}

/// Writes `bytes` at an object's path (replacing the read-only file if there is one).
private func overwriteObject(_ store: ObjectStore, _ id: ObjectID, _ bytes: [UInt8]) throws {
    let path = store.layout.objectPath(id.hex)
    try FileSystem.makeDirectory(FileSystem.parent(of: path))
    try FileSystem.remove(path)
    try setFileBytes(path, bytes)
}

private func readError(_ store: ObjectStore, _ id: ObjectID) -> StoreError? {
    storeError { () throws(StoreError) in _ = try store.read(id) }
}

@Suite("ObjectStore")
struct ObjectStoreTests {
    @Test func writeReadRoundTrip() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let blob = Blob(content: Array("hello, loose objects\n".utf8))
        let id = try store.write(blob.encoded)
        #expect(id == blob.id)
        #expect(store.contains(id))
        #expect(try store.read(id) == blob.encoded)
        #expect(try store.readBlob(id) == blob.content)
        let path = store.layout.objectPath(id.hex)
        #expect(path == dir.path + "/.hgrepo/objects/" + id.hex.prefix(2) + "/" + id.hex.dropFirst(2))
        #expect(try permissions(path) == 0o444)
        // The stored file is the zlib compression of the encoding.
        let inflater = try Inflater()
        #expect(try inflater.decompress(try store.readStored(id), limit: 1 << 20) == blob.encoded)
        try store.flush()

        let op = try signedChange(key: try authorKey(0), sequence: 2, parents: [testID("p")], text: "x")
        let opID = try store.write(op.encoded, durable: false)
        #expect(opID == op.id)
        #expect(try store.readOperation(opID) == op)
        // Reading an object as the wrong type is malformed.
        guard case .objectMalformed(opID, _, _)? = storeError({ () throws(StoreError) in _ = try store.readBlob(opID) })
        else {
            Issue.record("readBlob of an operation should be objectMalformed")
            return
        }
        guard
            case .objectMalformed(id, _, _)? = storeError({ () throws(StoreError) in _ = try store.readOperation(id) })
        else {
            Issue.record("readOperation of a blob should be objectMalformed")
            return
        }
    }

    /// FORMAT.md 5.5 and 6.2: small operations and tiny objects are stored blocks (level 0),
    /// other objects deflated; the documented bytes of the example blob are what is written.
    @Test func smallOperationsAndTinyObjectsAreStoredOthersDeflated() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        func isStoredBlock(_ zlib: [UInt8]) -> Bool { zlib.count > 2 && zlib[2] & 0x06 == 0 }  // BTYPE 00

        let hello = Blob(content: Array("hello, world\n".utf8))
        try store.write(hello.encoded)
        #expect(Hex.encode(try store.readStored(hello.id)) == "7801010f00f0ff010168656c6c6f2c20776f726c640a22060495")

        let op = try signedChange(key: try authorKey(0), sequence: 2, parents: [testID("p")], text: "x")
        #expect(op.encoded.count < ObjectCompressors.storedOperationBytes)
        let text = Blob(content: Array(String(repeating: "a line of ordinary text that compresses\n", count: 8).utf8))
        #expect(text.encoded.count > ObjectCompressors.storedObjectBytes)
        try store.write(op.encoded)
        try store.write(text.encoded)
        #expect(isStoredBlock(try store.readStored(op.id)))
        #expect(!isStoredBlock(try store.readStored(text.id)))
        #expect(try store.readStored(text.id).count < text.encoded.count / 2)

        // A pack makes the same choice per object, and reads back both kinds.
        let otherOp = try signedChange(key: try authorKey(1), sequence: 2, parents: [testID("q")], text: "y")
        let otherText = Blob(content: text.content + Array("one more line\n".utf8))
        try store.writePack([otherOp.encoded, otherText.encoded])
        #expect(isStoredBlock(try store.readStored(otherOp.id)))
        #expect(!isStoredBlock(try store.readStored(otherText.id)))
        #expect(try store.read(otherOp.id) == otherOp.encoded)
        #expect(try store.read(otherText.id) == otherText.encoded)
    }

    @Test func rewriteIsIdempotent() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let encoding = Blob(content: Array(repeating: 42, count: 1000)).encoded
        let id = try store.write(encoding)
        let path = store.layout.objectPath(id.hex)
        let before = try FileManager.default.attributesOfItem(atPath: path)
        let stored = try fileBytes(path)
        #expect(try store.write(encoding) == id)
        let after = try FileManager.default.attributesOfItem(atPath: path)
        #expect(try fileBytes(path) == stored)
        #expect((before[.systemFileNumber] as? NSNumber) == (after[.systemFileNumber] as? NSNumber), "not replaced")
        #expect(try FileSystem.list(FileSystem.parent(of: path)) == [String(id.hex.dropFirst(2))], "no temporary left")
        #expect(try store.read(id) == encoding)
    }

    @Test func flippedByteIsCorruptOrHashMismatchNamingTheID() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let blob = Blob(content: Array("some content that compresses a little, a little, a little".utf8))
        let id = try store.write(blob.encoded)
        let stored = try store.readStored(id)
        var harmless: [Int] = []
        for offset in stored.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var bytes = stored
                bytes[offset] ^= mask
                try overwriteObject(store, id, bytes)
                let error = readError(store, id)
                switch error {
                case let .objectCorrupt(errorID, path, _)?, let .objectHashMismatch(errorID, path, _)?:
                    #expect(errorID == id)
                    #expect(path == store.layout.objectPath(id.hex))
                    #expect(error.map(String.init(describing:))?.contains(id.hex) == true)
                case nil:
                    // Still a valid zlib stream of the same bytes: nothing wrong reaches the reader.
                    #expect(try store.read(id) == blob.encoded)
                    harmless.append(offset)
                default:
                    Issue.record("byte \(offset) ^ \(mask): got \(String(describing: error))")
                }
            }
        }
        // The object is small, so it is a stored block, whose header byte (offset 2) has five
        // padding bits that inflate ignores; every other flip is detected.
        #expect(stored[2] & 0x06 == 0)
        #expect(harmless == [2])
    }

    @Test func validZlibOfOtherContentIsAHashMismatch() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let real = Blob(content: Array("real".utf8))
        let fake = Blob(content: Array("fake".utf8))
        try overwriteObject(store, real.id, try Deflater().compress(fake.encoded))
        #expect(
            readError(store, real.id)
                == .objectHashMismatch(real.id, path: store.layout.objectPath(real.id.hex), actual: fake.id))
    }

    @Test func missingObject() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let id = testID("absent")
        #expect(!store.contains(id))
        #expect(readError(store, id) == .objectMissing(id))
        #expect(storeError { () throws(StoreError) in _ = try store.readStored(id) } == .objectMissing(id))
    }

    @Test func emptyAndTruncatedFilesAreCorrupt() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let blob = Blob(content: Array("truncate me please".utf8))
        let id = try store.write(blob.encoded)
        let stored = try store.readStored(id)
        for cut in 0..<stored.count {
            try overwriteObject(store, id, Array(stored.prefix(cut)))
            guard case .objectCorrupt(id, _, _)? = readError(store, id) else {
                Issue.record("cut \(cut): expected objectCorrupt, got \(String(describing: readError(store, id)))")
                continue
            }
        }
        try overwriteObject(store, id, stored + [0])
        guard case .objectCorrupt(id, _, _)? = readError(store, id) else {
            Issue.record("trailing byte: expected objectCorrupt")
            return
        }
    }

    @Test func decompressionBombIsCorruptMentioningTheLimit() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        let bomb = try Deflater(level: 9).compress([UInt8](repeating: 0, count: 100 << 20))
        #expect(bomb.count < 1 << 20)
        let id = testID("bomb")
        try overwriteObject(store, id, bomb)
        let error = readError(store, id)
        guard case let .objectCorrupt(errorID, _, reason)? = error else {
            Issue.record("expected objectCorrupt, got \(String(describing: error))")
            return
        }
        #expect(errorID == id)
        #expect(reason.contains("limit"))
        #expect(reason.contains("\(Limits.maxObjectBytes)"))
    }

    @Test func enumerateListsIDsAndStrays() throws {
        let (dir, store) = try makeStore()
        defer { dir.cleanup() }
        var ids: [ObjectID] = []
        for i in 0..<20 {
            ids.append(try store.write(Blob(content: Array("object \(i)".utf8)).encoded, durable: false))
        }
        let objects = store.layout.objects
        try setFileBytes(objects + "/zz", [1])
        try FileSystem.makeDirectory(objects + "/xy")
        let fan = objects + "/" + ids[0].hex.prefix(2)
        try setFileBytes(fan + "/not-an-id", [1])
        try setFileBytes(fan + "/" + String(ids[0].hex.dropFirst(2)).uppercased(), [1])
        try setFileBytes(fan + "/.leftover.tmp-123-456", [1])
        let (found, strays) = try store.enumerate()
        #expect(found == ids.sorted())
        #expect(
            Set(strays) == [
                objects + "/zz", objects + "/xy", fan + "/not-an-id",
                fan + "/" + String(ids[0].hex.dropFirst(2)).uppercased(),
            ])
        #expect(!strays.contains { $0.contains(".tmp-") }, "temporary files are not strays")
    }
}
