import HGCompression
import HGCore
import Testing

@testable import HGStore

/// Reading many packed objects at once (`Pack.compressed(at:)` of positions and
/// `ObjectStore.read(_:)` of ids): the same bytes and the same errors as one read per object,
/// whatever the order asked, the sizes of the entries and the distances between them.
@Suite("Pack batch reads")
struct PackBatchReadTests {
    /// Content that zlib cannot shrink much, so that an entry is about `count` bytes in the pack.
    private static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    /// Blobs of mixed sizes: mostly small, some past the 1 KiB first read, and some of 100 KB,
    /// which put more than the 16 KiB gap between their neighbours (so reads split), with
    /// enough in all to pass the 1 MiB most read at once.
    private static func mixedBlobs() -> [[UInt8]] {
        (0..<400).map { n -> [UInt8] in
            let size = n % 37 == 0 ? 100_000 : (n % 5 == 0 ? 1_000 + n * 7 : 20 + n % 90)
            return Blob(content: noise(size, seed: UInt64(n))).encoded
        }
    }

    private static func store(_ dir: TempDirectory) throws -> ObjectStore {
        let layout = Layout(root: dir.path)
        try FileSystem.makeDirectories(layout.objects)
        return try ObjectStore(layout: layout)
    }

    @Test func entriesReadTogetherMatchEntriesReadOneByOne() throws {
        let dir = try TempDirectory("hgbatchread")
        defer { dir.cleanup() }
        let store = try Self.store(dir)
        let encodings = Self.mixedBlobs()
        let ids = try store.writePack(encodings)
        guard let pack = store.packs().first else {
            Issue.record("no pack was written")
            return
        }
        #expect(
            FileSystem.status(pack.packPath).map { Int($0.st_size) } ?? 0 > 1 << 20,
            "the pack should pass the largest read")
        let positions = ids.compactMap { pack.position(of: $0) }
        #expect(positions.count == ids.count)
        // Pack order, reversed, shuffled with repeats: each answer in the order asked.
        var shuffled = positions
        var state: UInt64 = 7
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            shuffled.swapAt(i, Int(state >> 33) % (i + 1))
        }
        for asked in [positions, positions.reversed(), shuffled + shuffled.prefix(50), [], [positions[3]]] {
            let together = try pack.compressed(at: asked)
            let oneByOne = try asked.map { position throws(StoreError) in try pack.compressed(at: position) }
            #expect(together == oneByOne)
        }
        let read = store.read(ids)
        for (index, result) in read.enumerated() {
            #expect((try? result.get()) == encodings[index], "object \(index) differs")
        }
    }

    @Test func aBudgetStopsTheReadsEarlyButNeverBeforeTheFirstObject() throws {
        let dir = try TempDirectory("hgbatchread-budget")
        defer { dir.cleanup() }
        let store = try Self.store(dir)
        let encodings = Self.mixedBlobs()
        let ids = try store.writePack(encodings)
        let loose = Blob(content: Array("a loose object\n".utf8)).encoded
        let looseID = try store.write(loose)
        guard let pack = store.packs().first else {
            Issue.record("no pack was written")
            return
        }
        let positions = ids.compactMap { pack.position(of: $0) }

        for budget in [0, 1, 50_000, 300_000] {
            let entries = try pack.compressed(at: positions, budget: budget)
            let read = entries.compactMap { $0 }
            #expect(!read.isEmpty, "budget \(budget): nothing read")
            // What was read stays within the budget, one span and one entry.
            #expect(read.reduce(0) { $0 + $1.count } <= budget + Pack.maxSpan + Pack.firstRead + 110_000)
            for (k, entry) in entries.enumerated() {
                if let entry { #expect(entry == (try pack.compressed(at: positions[k]))) }
            }
            if budget < 300_000 { #expect(read.count < positions.count, "budget \(budget) read everything") }

            let asked = [looseID] + ids
            let objects = store.read(asked, budget: budget)
            let got = objects.compactMap { $0 }
            #expect(!got.isEmpty && got.count < asked.count, "budget \(budget): \(got.count) of \(asked.count)")
            #expect(got.reduce(0) { $0 + ((try? $1.get().count) ?? 0) } <= budget + 2 * 110_000)
            for (index, result) in objects.enumerated() {
                guard let result else { continue }
                #expect((try? result.get()) == (index == 0 ? loose : encodings[index - 1]), "object \(index) differs")
            }
        }
        #expect(store.read(ids, budget: .max).allSatisfy { $0 != nil }, "an unlimited budget reads everything")
    }

    @Test func looseMissingAndPackedObjectsComeBackInTheOrderAsked() throws {
        let dir = try TempDirectory("hgbatchread-mixed")
        defer { dir.cleanup() }
        let store = try Self.store(dir)
        let first = (0..<30).map { Blob(content: Array("first pack \($0)\n".utf8)).encoded }
        let second = (0..<30).map { Blob(content: Array("second pack \($0)\n".utf8)).encoded }
        let firstIDs = try store.writePack(first)
        let secondIDs = try store.writePack(second)
        let loose = Blob(content: Array("a loose object\n".utf8)).encoded
        let looseID = try store.write(loose)
        let missing = ObjectID(hashing: Blob(content: Array("never stored\n".utf8)).encoded)
        #expect(store.packs().count == 2)

        var asked: [ObjectID] = []
        var expected: [[UInt8]?] = []
        for n in 0..<30 {
            asked += [secondIDs[29 - n], firstIDs[n]]
            expected += [second[29 - n], first[n]]
            if n % 10 == 0 {
                asked += [looseID, missing]
                expected += [loose, nil]
            }
        }
        let results = store.read(asked)
        #expect(results.count == asked.count)
        for (index, result) in results.enumerated() {
            switch result {
            case let .success(bytes):
                #expect(bytes == expected[index], "answer \(index) is another object's")
            case let .failure(error):
                #expect(expected[index] == nil, "answer \(index) failed: \(error)")
                #expect(error == .objectMissing(missing))
            }
        }
    }

    @Test func aDamagedEntryFailsAloneAndNamesItsObject() throws {
        let entries = PackFormat.indexHeader.count + 4
        // One index entry pointing at another entry's bytes, then one pointing past the pack:
        // the first fails its hash check, the second fails the whole batched read (which is then
        // done object by object); every other object still reads, and nothing is written.
        for pointPastTheEnd in [false, true] {
            let dir = try TempDirectory("hgbatchread-damaged")
            defer { dir.cleanup() }
            let store = try Self.store(dir)
            let encodings = (0..<24).map { Blob(content: Array("object \($0) of the batch\n".utf8)).encoded }
            let ids = try store.writePack(encodings)
            guard let indexPath = store.packs().first?.indexPath else {
                Issue.record("no pack was written")
                return
            }
            var bytes = try fileBytes(indexPath)
            let offsetField = (entries + 32)..<(entries + 40)
            if pointPastTheEnd {
                bytes.replaceSubrange(offsetField, with: [UInt8](repeating: 0x7f, count: 8))
            } else {
                bytes.replaceSubrange(offsetField, with: bytes[(entries + 72)..<(entries + 80)])
            }
            try FileSystem.remove(indexPath)
            try setFileBytes(indexPath, bytes)
            let packBytes = try fileBytes(String(indexPath.dropLast(4)) + ".pack")

            let reader = try ObjectStore(layout: Layout(root: dir.path))
            let victim = try Pack(indexPath: indexPath).id(at: 0)
            let results = reader.read(ids)
            for (index, result) in results.enumerated() {
                if ids[index] == victim {
                    let error = storeError { () throws(StoreError) in _ = try result.get() }
                    #expect(error != nil, "the damaged entry was read")
                    #expect(
                        "\(error.map { "\($0)" } ?? "")".contains(victim.hex) || pointPastTheEnd,
                        "the error names the object: \(String(describing: error))")
                    #expect(
                        error == storeError { () throws(StoreError) in _ = try reader.read(victim) },
                        "the batched read fails as the single read does")
                } else {
                    #expect(
                        (try? result.get()) == encodings[index], "object \(index) was lost to its neighbour's damage")
                }
            }
            #expect(
                try fileBytes(indexPath) == bytes && fileBytes(String(indexPath.dropLast(4)) + ".pack") == packBytes)
        }
    }

    /// A sender's reads skip the hash (its receiver hashes everything): a pack entry that
    /// inflates to other content than its id says is then returned as it is, while a checking
    /// read names the mismatch; damage that breaks the zlib stream fails either way.
    @Test func uncheckedReadsSkipOnlyTheHash() throws {
        let dir = try TempDirectory("hgbatchread")
        defer { dir.cleanup() }
        let store = try Self.store(dir)
        let real = Blob(content: Array("what the id names\n".utf8))
        let other = Blob(content: Array("something else\n".utf8))
        let honest = Blob(content: Array("an honest neighbour\n".utf8))
        // A pack whose entry for `real` holds `other` (the writer vouches for what it is given).
        var writer = PackWriter()
        let compress = try BlockCompressor(level: 0)
        writer.add(id: real.id, compressed: try compress.compress(other.encoded))
        writer.add(id: honest.id, compressed: try compress.compress(honest.encoded))
        var broken = try compress.compress(honest.encoded)
        broken[broken.count - 1] ^= 0x01  // the Adler-32
        let damaged = Blob(content: Array("damaged on disk\n".utf8))
        writer.add(id: damaged.id, compressed: broken)
        _ = try writer.write(to: store.packDirectory)

        let ids = [real.id, honest.id, damaged.id]
        let checked = store.read(ids, budget: .max)
        #expect(throws: StoreError.self) { try checked[0]?.get() }
        #expect(try checked[1]?.get() == honest.encoded)
        #expect(throws: StoreError.self) { try checked[2]?.get() }
        let unchecked = store.read(ids, budget: .max, checkingIDs: false)
        #expect(try unchecked[0]?.get() == other.encoded)
        #expect(try unchecked[1]?.get() == honest.encoded)
        #expect(throws: StoreError.self) { try unchecked[2]?.get() }
    }
}
