import HGCore
import HGCrypto
import HGSync
import HGTestSupport
import Testing

// MARK: - Helpers (private to this file; other HGSync test files may define their own)

private typealias BloomTestRNG = SplitMix64

private func randomID(_ rng: inout BloomTestRNG) -> ObjectID {
    ObjectID(raw: Bytes32(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next()))
}

private func randomIDs(_ count: Int, seed: UInt64) -> [ObjectID] {
    var rng = BloomTestRNG(seed: seed)
    return (0..<count).map { _ in randomID(&rng) }
}

/// Builds an id from exactly 32 bytes; records an issue (and returns nil) otherwise.
private func id(_ bytes: [UInt8]) -> ObjectID? {
    guard let raw = Bytes32(bytes: bytes) else {
        Issue.record("test id is \(bytes.count) bytes, not 32")
        return nil
    }
    return ObjectID(raw: raw)
}

private let fixedSalt: [UInt8] = Array(0..<16)
/// 32 × 0x11.
private let fixedBytesA = [UInt8](repeating: 0x11, count: 32)
/// 0x00, 0x01, …, 0x1f.
private let fixedBytesB: [UInt8] = Array(0..<32)
/// 0xff, 0xfe, …, 0xe0.
private let fixedBytesC: [UInt8] = (0..<32).map { 0xff - UInt8($0) }

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// An independent restatement of the wire contract: the probe positions of
/// `idBytes` in a filter of `byteCount` bytes. Written straight from the
/// specification, sharing no code with `BloomFilter`.
private func referenceProbes(idBytes: [UInt8], salt: [UInt8], byteCount: Int, probes: Int) -> [UInt64] {
    let m = UInt64(byteCount) * 8
    if m == 0 { return [] }
    var message = salt
    message.append(contentsOf: idBytes)
    let h = Blake2b.hash256(message)
    func u32LE(_ start: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in stride(from: start + 3, through: start, by: -1) { v = v * 256 + UInt64(h[i]) }
        return v
    }
    var x = u32LE(0) % m
    var y = u32LE(4) % m
    let z = u32LE(8) % m
    var out = [x]
    var remaining = probes - 1
    while remaining > 0 {
        x = (x + y) % m
        y = (y + z) % m
        out.append(x)
        remaining -= 1
    }
    return out
}

/// The filter bytes the specification predicts after inserting `ids`.
private func referenceBits(ids: [[UInt8]], salt: [UInt8], byteCount: Int, probes: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: byteCount)
    for idBytes in ids {
        for p in referenceProbes(idBytes: idBytes, salt: salt, byteCount: byteCount, probes: probes) {
            let byte = Int(p / 8)
            let bit = Int(p % 8)
            bytes[byte] = bytes[byte] | UInt8(1 << bit)
        }
    }
    return bytes
}

// MARK: - Tests

@Suite("Bloom filter")
struct BloomFilterTests {
    @Test("sizes follow ceil(10n/8) bytes with 7 probes")
    func sizing() {
        let cases: [(entries: Int, bytes: Int)] = [
            (0, 0), (1, 2), (3, 4), (4, 5), (8, 10), (1000, 1250), (10_001, 12_502),
        ]
        for (entries, bytes) in cases {
            let filter = BloomFilter(expectedEntries: entries, salt: fixedSalt)
            #expect(filter.bits.count == bytes, "expectedEntries \(entries)")
            #expect(filter.bits.allSatisfy { $0 == 0 })
            #expect(filter.probeCount == BloomFilter.defaultProbes)
            #expect(filter.salt == fixedSalt)
        }
        #expect(BloomFilter.bitsPerEntry == 10)
        #expect(BloomFilter.defaultProbes == 7)
        #expect(BloomFilter.maxProbes == 32)
        #expect(BloomFilter.saltBytes == 16)
        #expect(BloomFilter.maxBytes == 8 * 1024 * 1024)
    }

    @Test("expectedEntries is clamped so the filter never exceeds maxBytes")
    func clampedToMaxBytes() {
        let huge = BloomFilter(expectedEntries: Int.max, salt: fixedSalt)
        #expect(huge.bits.count == BloomFilter.maxBytes)
        let justOver = BloomFilter(expectedEntries: BloomFilter.maxBytes, salt: fixedSalt)
        #expect(justOver.bits.count == BloomFilter.maxBytes)
        let negative = BloomFilter(expectedEntries: -5, salt: fixedSalt)
        #expect(negative.bits.isEmpty)
        let minimum = BloomFilter(expectedEntries: Int.min, salt: fixedSalt)
        #expect(minimum.bits.isEmpty)
    }

    @Test("every inserted id is found", arguments: [1, 2, 5, 100, 2000])
    func insertedIDsAreFound(count: Int) {
        let ids = randomIDs(count, seed: 0xB100 + UInt64(count))
        var filter = BloomFilter(expectedEntries: count, salt: fixedSalt)
        for id in ids { filter.insert(id) }
        #expect(ids.allSatisfy { filter.mightContain($0) })
        // Overfilling (ten times the expected entries) still never loses an id.
        var crowded = BloomFilter(expectedEntries: max(count / 10, 1), salt: fixedSalt)
        for id in ids { crowded.insert(id) }
        #expect(ids.allSatisfy { crowded.mightContain($0) })
    }

    @Test("inserting is idempotent")
    func insertTwice() {
        let ids = randomIDs(50, seed: 77)
        var once = BloomFilter(expectedEntries: 50, salt: fixedSalt)
        for id in ids { once.insert(id) }
        var twice = once
        for id in ids { twice.insert(id) }
        #expect(once == twice)
    }

    @Test("an empty filter contains nothing")
    func emptyFilter() {
        let probes = randomIDs(1000, seed: 42)
        let unfilled = BloomFilter(expectedEntries: 100, salt: fixedSalt)
        #expect(!probes.contains { unfilled.mightContain($0) })

        var zeroBytes = BloomFilter(expectedEntries: 0, salt: fixedSalt)
        #expect(zeroBytes.bits.isEmpty)
        #expect(!probes.contains { zeroBytes.mightContain($0) })
        // Inserting into a 0-byte filter does nothing and cannot crash.
        for id in probes.prefix(10) { zeroBytes.insert(id) }
        #expect(zeroBytes.bits.isEmpty)
        #expect(!probes.contains { zeroBytes.mightContain($0) })
    }

    @Test("bits match an independent implementation of the probe formula")
    func deterministicBitsMatchReference() throws {
        let idBytes = [fixedBytesA, fixedBytesB, fixedBytesC]
        let ids = idBytes.compactMap { id($0) }
        try #require(ids.count == 3)

        // A locally built filter for 3 entries: 4 bytes, m = 32, 7 probes.
        var small = BloomFilter(expectedEntries: 3, salt: fixedSalt)
        for id in ids { small.insert(id) }
        #expect(small.bits == referenceBits(ids: idBytes, salt: fixedSalt, byteCount: 4, probes: 7))

        // Wire filters of other sizes and probe counts, including a single probe
        // and the maximum of 32, and m not a power of two.
        for (byteCount, probes) in [(64, 7), (64, 1), (100, 32), (1, 3), (1250, 7)] {
            var filter = try BloomFilter(
                bits: [UInt8](repeating: 0, count: byteCount), probeCount: probes, salt: fixedSalt)
            for id in ids { filter.insert(id) }
            let expected = referenceBits(ids: idBytes, salt: fixedSalt, byteCount: byteCount, probes: probes)
            #expect(filter.bits == expected, "\(byteCount) bytes, \(probes) probes")
            #expect(ids.allSatisfy { filter.mightContain($0) })
        }

        // Building the same filter again gives the same bytes.
        var again = BloomFilter(expectedEntries: 3, salt: fixedSalt)
        for id in ids { again.insert(id) }
        #expect(again == small)
    }

    /// Known answers computed outside Swift (coreutils `b2sum -l 256` over
    /// salt ‖ id, and shell arithmetic for the probes), pinning the wire contract.
    @Test("known-answer vectors for the probe positions")
    func knownAnswers() throws {
        let idBytes = [fixedBytesA, fixedBytesB, fixedBytesC]
        let ids = idBytes.compactMap { id($0) }
        try #require(ids.count == 3)

        #expect(
            hex(Blake2b.hash256(fixedSalt, fixedBytesA))
                == "7c37177a350f99f3c4cebdaf7a3029da199d79f0f00a2b92233f88b8c285321d")
        #expect(
            referenceProbes(idBytes: fixedBytesA, salt: fixedSalt, byteCount: 64, probes: 7)
                == [380, 177, 170, 359, 232, 301, 54])
        #expect(
            referenceProbes(idBytes: fixedBytesB, salt: fixedSalt, byteCount: 64, probes: 7)
                == [369, 99, 170, 70, 311, 381, 280])
        #expect(
            referenceProbes(idBytes: fixedBytesC, salt: fixedSalt, byteCount: 64, probes: 7)
                == [257, 231, 136, 484, 251, 461, 90])

        var wide = try BloomFilter(bits: [UInt8](repeating: 0, count: 64), probeCount: 7, salt: fixedSalt)
        for id in ids { wide.insert(id) }
        #expect(
            hex(wide.bits) == """
                0000000000004000400000040800000000010000000402000000000080010008\
                0200000100208000000000008000023000000000000000000020000010000000
                """)

        var small = BloomFilter(expectedEntries: 3, salt: fixedSalt)
        for id in ids { small.insert(id) }
        #expect(hex(small.bits) == "da25c23d")
    }

    @Test("false-positive rate stays below 2 %", arguments: [1000, 10_000])
    func falsePositiveRate(entries: Int) {
        var rng = BloomTestRNG(seed: 0xF00D_0000 + UInt64(entries))
        var salt: [UInt8] = []
        for _ in 0..<BloomFilter.saltBytes { salt.append(UInt8.random(in: 0...255, using: &rng)) }
        let members = (0..<entries).map { _ in randomID(&rng) }
        let memberSet = Set(members)
        var filter = BloomFilter(expectedEntries: entries, salt: salt)
        for id in members { filter.insert(id) }

        let queries = 100_000
        var falsePositives = 0
        var asked = 0
        while asked < queries {
            let candidate = randomID(&rng)
            if memberSet.contains(candidate) { continue }
            asked += 1
            if filter.mightContain(candidate) { falsePositives += 1 }
        }
        let rate = Double(falsePositives) / Double(queries)
        #expect(rate < 0.02, "false-positive rate \(rate) for \(entries) entries")
        // Not degenerate either: a filter that says "maybe" to nothing is broken too.
        #expect(falsePositives > 0)
    }

    @Test("different salts give different bit patterns")
    func saltsMatter() throws {
        let ids = randomIDs(20, seed: 5)
        let otherSalt = [UInt8](repeating: 0xA5, count: 16)
        var a = BloomFilter(expectedEntries: 20, salt: fixedSalt)
        var b = BloomFilter(expectedEntries: 20, salt: otherSalt)
        var c = BloomFilter(expectedEntries: 20, salt: fixedSalt)
        for id in ids {
            a.insert(id)
            b.insert(id)
            c.insert(id)
        }
        #expect(a.bits != b.bits)
        #expect(a != b)
        #expect(a.bits == c.bits)
        #expect(ids.allSatisfy { b.mightContain($0) })

        // Even a one-bit change of the salt moves a single id's probes.
        guard let single = id(fixedBytesA) else { return }
        var flipped = fixedSalt
        flipped[15] ^= 1
        var x = try BloomFilter(bits: [UInt8](repeating: 0, count: 64), probeCount: 7, salt: fixedSalt)
        var y = try BloomFilter(bits: [UInt8](repeating: 0, count: 64), probeCount: 7, salt: flipped)
        x.insert(single)
        y.insert(single)
        #expect(x.bits != y.bits)
    }

    @Test("wire init rejects salts that are not 16 bytes")
    func wireRejectsBadSalt() {
        for length in [0, 1, 15, 17, 32] {
            #expect(throws: BloomError.badSalt) {
                try BloomFilter(bits: [0, 0], probeCount: 7, salt: [UInt8](repeating: 1, count: length))
            }
        }
    }

    @Test("wire init rejects probe counts outside 1...32", arguments: [0, 33, -1, Int.min, Int.max])
    func wireRejectsBadProbeCount(probes: Int) {
        #expect(throws: BloomError.badProbeCount(probes)) {
            try BloomFilter(bits: [0, 0], probeCount: probes, salt: fixedSalt)
        }
    }

    @Test("wire init rejects filters over 8 MiB")
    func wireRejectsTooLarge() throws {
        let limit = BloomFilter.maxBytes
        #expect(throws: BloomError.tooLarge(bytes: limit + 1, limit: limit)) {
            try BloomFilter(bits: [UInt8](repeating: 0, count: limit + 1), probeCount: 7, salt: fixedSalt)
        }
        // Exactly the limit is fine.
        let atLimit = try BloomFilter(bits: [UInt8](repeating: 0, count: limit), probeCount: 7, salt: fixedSalt)
        #expect(atLimit.bits.count == limit)
    }

    @Test("wire init checks the salt first, then the probe count, then the size")
    func wireValidationOrder() {
        let oversized = [UInt8](repeating: 0, count: BloomFilter.maxBytes + 1)
        #expect(throws: BloomError.badSalt) {
            try BloomFilter(bits: oversized, probeCount: 0, salt: [])
        }
        #expect(throws: BloomError.badProbeCount(99)) {
            try BloomFilter(bits: oversized, probeCount: 99, salt: fixedSalt)
        }
    }

    @Test("wire init accepts a 0-byte filter, which contains nothing")
    func wireAcceptsEmpty() throws {
        let empty = try BloomFilter(bits: [], probeCount: 7, salt: fixedSalt)
        #expect(empty.bits.isEmpty)
        #expect(!randomIDs(200, seed: 9).contains { empty.mightContain($0) })
    }

    @Test("wire init accepts the bounds 1 and 32 probes, and a filter round-trips")
    func wireRoundTrip() throws {
        let ids = randomIDs(300, seed: 11)
        var local = BloomFilter(expectedEntries: ids.count, salt: fixedSalt)
        for id in ids { local.insert(id) }
        let received = try BloomFilter(bits: local.bits, probeCount: local.probeCount, salt: local.salt)
        #expect(received == local)
        #expect(ids.allSatisfy { received.mightContain($0) })

        for probes in [1, BloomFilter.maxProbes] {
            var filter = try BloomFilter(bits: [UInt8](repeating: 0, count: 512), probeCount: probes, salt: fixedSalt)
            for id in ids.prefix(40) { filter.insert(id) }
            #expect(filter.probeCount == probes)
            #expect(ids.prefix(40).allSatisfy { filter.mightContain($0) })
        }
    }

    @Test("a garbage filter from a peer is harmless: all ones says maybe to everything")
    func allOnesFilter() throws {
        let full = try BloomFilter(bits: [UInt8](repeating: 0xff, count: 3), probeCount: 32, salt: fixedSalt)
        #expect(randomIDs(100, seed: 13).allSatisfy { full.mightContain($0) })
    }
}
