import HGCore
import HGCrypto
import Testing

@testable import HGStore

/// Damaged pack indexes: readers open them without hashing them, so these check that a damaged
/// index can only hide objects (never hand out another object's bytes), and that the checked
/// open `verify` uses reports what readers skip.
@Suite("Pack index")
struct PackIndexTests {
    /// A store with one pack of `count` blobs; returns the blobs' encodings by id and the index path.
    private func packedStore(_ count: Int) throws -> (TempDirectory, ObjectStore, [ObjectID: [UInt8]], String) {
        let dir = try TempDirectory("hgpackidx")
        let layout = Layout(root: dir.path)
        try FileSystem.makeDirectories(layout.objects)
        let store = try ObjectStore(layout: layout)
        let encodings = (0..<count).map { Blob(content: Array("blob number \($0)\n".utf8)).encoded }
        let ids = try store.writePack(encodings)
        let names = try FileSystem.list(store.packDirectory).filter { $0.hasSuffix(".idx") }
        #expect(names.count == 1)
        return (dir, store, Dictionary(uniqueKeysWithValues: zip(ids, encodings)), store.packDirectory + "/" + names[0])
    }

    /// Replaces the read-only index file with `mutate` applied to its bytes.
    private func damage(_ path: String, _ mutate: (inout [UInt8]) -> Void) throws {
        var bytes = try fileBytes(path)
        mutate(&bytes)
        try FileSystem.remove(path)
        try setFileBytes(path, bytes)
    }

    private let entries = PackFormat.indexHeader.count + 4

    @Test func anIntactIndexPassesTheCheckAndFindsEveryObject() throws {
        let (dir, store, objects, indexPath) = try packedStore(40)
        defer { dir.cleanup() }
        let pack = try Pack(indexPath: indexPath)
        try pack.checkIndex()
        #expect(pack.count == 40)
        #expect(pack.ids == objects.keys.sorted())
        for (id, encoding) in objects { #expect(try store.read(id) == encoding) }
        #expect(pack.position(of: ObjectID(raw: .zero)) == nil)
        let checked = try store.openPacks(checked: true)
        #expect(checked.packs.count == 1 && checked.failures.isEmpty)
    }

    @Test func aBadChecksumIsReportedByTheCheckedOpenWhileReadsStillCheckEachObject() throws {
        let (dir, _, objects, indexPath) = try packedStore(10)
        defer { dir.cleanup() }
        try damage(indexPath) { $0[$0.count - 1] ^= 0x01 }
        let layout = Layout(root: dir.path)
        let reader = try ObjectStore(layout: layout)
        for (id, encoding) in objects { #expect(try reader.read(id) == encoding, "the entries themselves are intact") }
        let checked = try reader.openPacks(checked: true)
        #expect(checked.packs.isEmpty)
        #expect(checked.failures.count == 1)
        let reason = checked.failures.first.map { "\($0.1)" } ?? ""
        #expect(reason.contains("checksum does not match"), "\(reason)")
        #expect(try reader.openPacks().packs.count == 1, "an unchecked open still uses it")
    }

    @Test func idsOutOfOrderAreReportedAndCanOnlyHideObjects() throws {
        let (dir, _, objects, indexPath) = try packedStore(16)
        defer { dir.cleanup() }
        // Swap the first two entries (id and offset together): every lookup still lands on a
        // real entry or misses, and the checked open names the order.
        try damage(indexPath) { bytes in
            let first = Array(bytes[entries..<(entries + 40)])
            bytes.replaceSubrange(entries..<(entries + 40), with: bytes[(entries + 40)..<(entries + 80)])
            bytes.replaceSubrange((entries + 40)..<(entries + 80), with: first)
            // A valid checksum over the misordered entries, so that only the order is wrong.
            bytes.replaceSubrange((bytes.count - 32)..., with: Blake2b.hash256(Array(bytes[..<(bytes.count - 32)])))
        }
        let reader = try ObjectStore(layout: Layout(root: dir.path))
        for (id, encoding) in objects {
            do {
                #expect(try reader.read(id) == encoding)
            } catch {
                #expect(error == .objectMissing(id), "a lookup that misses says so: \(error)")
            }
        }
        let failure = try reader.openPacks(checked: true).failures.first.map { "\($0.1)" } ?? ""
        #expect(failure.contains("not sorted"), "\(failure)")
    }

    @Test func aWrongOffsetNeverYieldsAnotherObject() throws {
        let (dir, _, objects, indexPath) = try packedStore(8)
        defer { dir.cleanup() }
        // Point the first entry at the second entry's bytes.
        try damage(indexPath) { bytes in
            bytes.replaceSubrange((entries + 32)..<(entries + 40), with: bytes[(entries + 72)..<(entries + 80)])
        }
        let reader = try ObjectStore(layout: Layout(root: dir.path))
        let victim = try Pack(indexPath: indexPath).id(at: 0)
        #expect(throws: StoreError.self) { _ = try reader.read(victim) }
        if let error = storeError({ () throws(StoreError) in _ = try reader.read(victim) }) {
            #expect("\(error)".contains(victim.hex), "the error names the object: \(error)")
        }
        for (id, encoding) in objects where id != victim { #expect(try reader.read(id) == encoding) }
    }

    @Test func aTruncatedOrForeignIndexIsNotOpenedAndItsObjectsAreMissing() throws {
        for mutate: (inout [UInt8]) -> Void in [{ $0.removeLast(7) }, { $0[0] ^= 0xff }, { $0.append(0) }] {
            let (dir, _, objects, indexPath) = try packedStore(4)
            defer { dir.cleanup() }
            try damage(indexPath, mutate)
            #expect(throws: StoreError.self) { _ = try Pack(indexPath: indexPath) }
            let reader = try ObjectStore(layout: Layout(root: dir.path))
            for id in objects.keys {
                #expect(storeError({ () throws(StoreError) in _ = try reader.read(id) }) == .objectMissing(id))
            }
            #expect(try reader.openPacks().failures.count == 1)
        }
    }
}
