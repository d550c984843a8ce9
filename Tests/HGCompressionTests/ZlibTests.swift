import CZlib
import HGCompression
import HGTestSupport
import Testing

/// Kinds of payload used by the size-parameterised tests.
enum Payload: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case random
    case repetitive

    func bytes(_ count: Int) -> [UInt8] {
        switch self {
        case .random: return pseudoRandomBytes(count, seed: UInt64(count) &+ 99)
        case .repetitive: return repetitiveBytes(count)
        }
    }

    var testDescription: String { rawValue }
}

/// Runs `body`, which must throw; returns the error, recording an issue if it returned instead.
private func expectFailure(
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(CompressionError) -> [UInt8]
) -> CompressionError? {
    do {
        let output = try body()
        Issue.record("\(what): returned \(output.count) bytes instead of throwing", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

private let oneMiB = 1 << 20

@Suite("Zlib")
struct ZlibTests {
    @Test("round trips through one reused Deflater and Inflater")
    func roundTripReusingStreams() throws {
        let deflater = try Deflater()
        let inflater = try Inflater()
        let inputs: [(String, [UInt8])] = [
            ("empty", []),
            ("one byte", [0x5a]),
            ("small", Array("hello, hg-bft".utf8)),
            ("1 MiB random", pseudoRandomBytes(oneMiB, seed: 1)),
            ("1 MiB repetitive", repetitiveBytes(oneMiB)),
        ]
        // Several rounds, in alternating order, so every stream state follows every other.
        for round in 0..<3 {
            let ordered = round % 2 == 0 ? inputs : inputs.reversed()
            for (name, data) in ordered {
                let compressed = try deflater.compress(data)
                #expect(!compressed.isEmpty, "\(name)")
                let restored = try inflater.decompress(compressed, limit: oneMiB)
                #expect(restored == data, "\(name), round \(round)")
                let hinted = try inflater.decompress(compressed, limit: oneMiB, sizeHint: data.count)
                #expect(hinted == data, "\(name) with size hint, round \(round)")
            }
        }
        // Many small objects of varying size through the same pair.
        for i in 0..<300 {
            let data = i % 2 == 0 ? pseudoRandomBytes(i * 7, seed: UInt64(i)) : repetitiveBytes(i * 13)
            let restored = try inflater.decompress(try deflater.compress(data), limit: 10_000)
            #expect(restored == data, "object \(i)")
        }
    }

    @Test("compression actually compresses repetitive data and barely expands random data")
    func ratios() throws {
        let deflater = try Deflater()
        let repetitive = try deflater.compress(repetitiveBytes(oneMiB))
        #expect(repetitive.count < oneMiB / 100)
        let random = try deflater.compress(pseudoRandomBytes(oneMiB, seed: 2))
        #expect(random.count <= oneMiB + oneMiB / 100)
        // The same input compresses to the same bytes on a reused stream.
        #expect(try deflater.compress(repetitiveBytes(oneMiB)) == repetitive)
    }

    @Test("every compression level round-trips", arguments: [0, 1, 6, 9] as [Int32])
    func levels(level: Int32) throws {
        let deflater = try Deflater(level: level)
        let inflater = try Inflater()
        for data in [[], repetitiveBytes(100_000), pseudoRandomBytes(100_000, seed: 5)] {
            #expect(try inflater.decompress(try deflater.compress(data), limit: 100_000) == data)
        }
    }

    @Test("an invalid compression level is reported, not a crash")
    func invalidLevel() {
        // Z_STREAM_ERROR is -2.
        #expect(throws: CompressionError.library(-2)) { try Deflater(level: 42) }
    }

    @Test("a decompression bomb stops at the limit")
    func bomb() throws {
        let deflater = try Deflater(level: 9)
        let bomb = try deflater.compress([UInt8](repeating: 0, count: 64 * oneMiB))
        try #require(bomb.count < 128 * 1024)  // 64 MiB of zeros packs into about 64 KiB
        let inflater = try Inflater()
        #expect(throws: CompressionError.tooLarge(limit: oneMiB)) {
            try inflater.decompress(bomb, limit: oneMiB)
        }
        // A size hint claiming the full size does not raise the limit.
        #expect(throws: CompressionError.tooLarge(limit: oneMiB)) {
            try inflater.decompress(bomb, limit: oneMiB, sizeHint: 64 * oneMiB)
        }
        // The same inflater still works after refusing the bomb.
        #expect(try inflater.decompress(try deflater.compress([1, 2, 3]), limit: 3) == [1, 2, 3])
    }

    @Test(
        "output of exactly the limit succeeds; one byte over is too large",
        arguments: [0, 1, 1000, 65_535, 65_536, 65_537, 200_000, 1 << 20], Payload.allCases)
    func exactLimit(size: Int, payload: Payload) throws {
        let data = payload.bytes(size)
        let compressed = try Deflater().compress(data)
        let inflater = try Inflater()
        #expect(try inflater.decompress(compressed, limit: size) == data)
        #expect(try inflater.decompress(compressed, limit: size, sizeHint: size) == data)
        #expect(try inflater.decompress(compressed, limit: size + 1) == data)
        if size > 0 {
            #expect(throws: CompressionError.tooLarge(limit: size - 1)) {
                try inflater.decompress(compressed, limit: size - 1)
            }
            #expect(throws: CompressionError.tooLarge(limit: size - 1)) {
                try inflater.decompress(compressed, limit: size - 1, sizeHint: size)
            }
        }
    }

    @Test("every proper prefix of a stream is truncated")
    func truncated() throws {
        let inflater = try Inflater()
        let deflater = try Deflater()
        let small = try deflater.compress(
            Array("The quick brown fox jumps over the lazy dog. The quick brown fox.".utf8))
        var wrong: [String] = []
        for cut in 1..<small.count {
            let error = expectFailure("prefix of \(cut) bytes") { () throws(CompressionError) in
                try inflater.decompress(Array(small.prefix(cut)), limit: oneMiB)
            }
            if let error, error != .truncated { wrong.append("\(cut): \(error)") }
        }
        #expect(wrong.isEmpty, "\(wrong)")

        let large = try deflater.compress(pseudoRandomBytes(oneMiB, seed: 8))
        for cut in [2, large.count / 2, large.count - 4, large.count - 1] {
            #expect(throws: CompressionError.truncated) {
                try inflater.decompress(Array(large.prefix(cut)), limit: oneMiB)
            }
        }
    }

    @Test("empty input throws")
    func emptyInput() throws {
        #expect(throws: CompressionError.truncated) { try Inflater().decompress([], limit: oneMiB) }
        #expect(throws: CompressionError.truncated) { try Inflater().decompress([], limit: 0) }
    }

    @Test("a flipped byte in the middle of a stream is detected", arguments: Payload.allCases)
    func flippedByteInTheMiddle(payload: Payload) throws {
        let data = payload.bytes(100_000)
        var compressed = try Deflater().compress(data)
        compressed[compressed.count / 2] ^= 0xff
        let inflater = try Inflater()
        let error = expectFailure("flipped middle byte") { () throws(CompressionError) in
            try inflater.decompress(compressed, limit: oneMiB)
        }
        switch error {
        case .corrupt?, .truncated?, nil:
            break
        case let other?:
            Issue.record("unexpected error \(other)")
        }
    }

    @Test("a flipped byte at any position never yields data")
    func flippedByteAnywhere() throws {
        let data = Array("hg-bft: a Byzantine-fault-tolerant, eventually consistent repository. hg-bft!".utf8)
        let compressed = try Deflater().compress(data)
        let inflater = try Inflater()
        var wrong: [String] = []
        for position in 0..<compressed.count {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var bad = compressed
                bad[position] ^= mask
                let error = expectFailure("byte \(position) ^ \(mask)") { () throws(CompressionError) in
                    try inflater.decompress(bad, limit: oneMiB)
                }
                switch error {
                case .corrupt?, .truncated?, .trailingData?, nil:
                    break
                case let other?:
                    wrong.append("byte \(position) ^ \(mask): \(other)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        // The header and the Adler-32 trailer are checked.
        var badHeader = compressed
        badHeader[0] ^= 0x01
        #expect(throws: CompressionError.corrupt("incorrect header check")) {
            try inflater.decompress(badHeader, limit: oneMiB)
        }
        var badChecksum = compressed
        badChecksum[badChecksum.count - 1] ^= 0x01
        #expect(throws: CompressionError.corrupt("incorrect data check")) {
            try inflater.decompress(badChecksum, limit: oneMiB)
        }
        // After all those failures the inflater still decodes good data.
        #expect(try inflater.decompress(compressed, limit: oneMiB) == data)
    }

    @Test("bytes after the end of the stream are rejected")
    func trailingData() throws {
        let deflater = try Deflater()
        let inflater = try Inflater()
        for data in [[], Array("payload".utf8), pseudoRandomBytes(100_000, seed: 4)] {
            let compressed = try deflater.compress(data)
            #expect(throws: CompressionError.trailingData) { try inflater.decompress(compressed + [0], limit: oneMiB) }
            #expect(throws: CompressionError.trailingData) {
                try inflater.decompress(compressed + compressed, limit: oneMiB)
            }
            #expect(try inflater.decompress(compressed, limit: oneMiB) == data)
        }
    }

    @Test("data that is not zlib at all is corrupt")
    func notZlib() throws {
        let inflater = try Inflater()
        let error = expectFailure("plain text") { () throws(CompressionError) in
            try inflater.decompress(Array("hello world, not compressed".utf8), limit: oneMiB)
        }
        switch error {
        case .corrupt?: break
        default: Issue.record("expected .corrupt, got \(String(describing: error))")
        }
    }

    @Test("BlockCompressor makes zlib streams that zlib inflates", arguments: Payload.allCases)
    func blockCompressorRoundTrips(payload: Payload) throws {
        let compressor = try BlockCompressor(level: 1)
        let inflater = try Inflater()
        for size in [0, 1, 224, 4_096, 65_536, oneMiB + 3] {
            let data = payload.bytes(size)
            let stream = try compressor.compress(data)
            #expect(Array(stream.prefix(2)) == [0x78, 0x01], "zlib header, fastest level, no dictionary")
            #expect(try inflater.decompress(stream, limit: max(size, 1)) == data, "\(size) bytes")
            if payload == .repetitive && size >= 4_096 { #expect(stream.count * 10 < size) }
            // Stored blocks cost 5 bytes per 64 KiB block at most, plus header and checksum.
            if payload == .random { #expect(stream.count <= size + 5 * (size / 65_535 + 1) + 6) }
        }
        #expect(throws: CompressionError.library(-2)) { try BlockCompressor(level: 13) }
        #expect(throws: CompressionError.library(-2)) { try BlockCompressor(level: -1) }
    }

    @Test("BlockCompressor at level 0 writes the bytes zlib's level 0 writes, up to 64 KiB")
    func storedStreamsMatchZlib() throws {
        let block = try BlockCompressor(level: 0)
        let zlib = try Deflater(level: 0, memoryLevel: 1)
        for size in [0, 1, 15, 66, 127, 511, 4_096, 65_535] {
            let data = pseudoRandomBytes(size, seed: UInt64(size))
            #expect(try block.compress(data) == zlib.compress(data), "\(size) bytes")
        }
    }

    @Test("CRC-32 equals zlib's crc32_z at every length and alignment")
    func crc32MatchesZlib() {
        let data = pseudoRandomBytes(oneMiB + 64, seed: 5)
        data.withUnsafeBytes { raw in
            for length in [0, 1, 3, 15, 16, 17, 63, 64, 65, 255, 4_096, 100_003, oneMiB] {
                for offset in 0..<4 {
                    let part = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                    let zlib =
                        length == 0
                        ? 0
                        : UInt32(
                            truncatingIfNeeded: crc32_z(
                                0, part.baseAddress?.assumingMemoryBound(to: UInt8.self), length))
                    #expect(CRC32.checksum(part) == zlib, "length \(length), offset \(offset)")
                    #expect(
                        CRC32.checksum(part, seed: 0x1234_5678)
                            == UInt32(
                                truncatingIfNeeded: crc32_z(
                                    0x1234_5678, part.baseAddress?.assumingMemoryBound(to: UInt8.self), length)))
                }
            }
        }
    }

    @Test("CRC-32 check value and chaining")
    func crc32() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let a = Array("1234".utf8)
        let b = Array("56789".utf8)
        #expect(CRC32.checksum(b, seed: CRC32.checksum(a)) == 0xCBF4_3926)
        // An empty chunk in a chain leaves the running value alone.
        #expect(CRC32.checksum([], seed: 0xCBF4_3926) == 0xCBF4_3926)
        #expect(CRC32.checksum(Array("123456780".utf8)) != 0xCBF4_3926)
        // Memory (a mapped file) and ranges of an array give the same values.
        let check = Array("xx123456789yy".utf8)
        #expect(CRC32.checksum(check, range: 2..<11) == 0xCBF4_3926)
        check.withUnsafeBytes { raw in
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[2..<11])) == 0xCBF4_3926)
            #expect(CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[2..<2]), seed: 0xCBF4_3926) == 0xCBF4_3926)
        }
    }
}
