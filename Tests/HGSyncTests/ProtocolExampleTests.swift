import Foundation
import HGCompression
import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGSync

/// The worked example of docs/PROTOCOL.md, rebuilt from the objects of
/// FORMAT.md's examples and compared byte for byte with the committed vector
/// file the document quotes. HGBFT_WRITE_VECTORS=1 regenerates the file.
///
/// `objects-compressed` is the example's batch as COMPRESSED OBJECTS (level
/// `ProtocolLimits.compressionLevel`, as libdeflate 1.14 compresses it). A zlib stream is not
/// canonical, so another compressor could pin other bytes; any valid stream decodes.
@Suite struct ProtocolExampleTests {
    static let vectorFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/protocol-examples.txt")

    static func render() throws -> String {
        let example = try FormatExamples()
        let (peer, genesis, blob, change) = (example.peer, example.genesis, example.blob, example.change)
        let salt = (0..<16).map { UInt8($0) }
        var filter = BloomFilter(expectedEntries: 2, salt: salt)
        filter.insert(genesis.id)
        filter.insert(change.id)
        let messages: [(String, Message)] = [
            (
                "hello",
                .hello(
                    Hello(version: 2, repository: genesis.id, peer: peer, maxFrameBytes: ProtocolLimits.maxFrameBytes))
            ),
            ("have", .have(Have(heads: [change.id], sharedHeads: [], filter: filter, filterEntries: 2))),
            (
                "have-empty",
                .have(
                    Have(
                        heads: [genesis.id], sharedHeads: [genesis.id],
                        filter: BloomFilter(expectedEntries: 0, salt: salt), filterEntries: 0))
            ),
            ("objects", .objects([blob.encoded, change.encoded])),
            ("end", .endOfRound),
            ("need", .need([change.id])),
            ("need-empty", .need([])),
            ("error", .error("repository is busy")),
        ]
        var lines = messages.map { "\($0.0) \(Hex.encode($0.1.frame()))" }
        let compressed = try Message.compressedObjectsFrame(
            [blob.encoded, change.encoded], compressor: Self.compressor())
        lines.insert("objects-compressed \(Hex.encode(compressed))", at: 4)
        return lines.joined(separator: "\n") + "\n"
    }

    static func compressor() throws -> BlockCompressor { try BlockCompressor(level: ProtocolLimits.compressionLevel) }

    /// The frame of `message` in the form of `type` (OBJECTS or COMPRESSED OBJECTS for objects).
    static func reframe(_ message: Message, as type: UInt8) throws -> [UInt8] {
        guard type == Message.Kind.compressedObjects.rawValue, case let .objects(objects) = message else {
            return message.frame()
        }
        return try Message.compressedObjectsFrame(objects, compressor: compressor())
    }

    @Test func framesMatchTheCommittedVectors() throws {
        let text = try Self.render()
        if ProcessInfo.processInfo.environment["HGBFT_WRITE_VECTORS"] == "1" {
            try Data(text.utf8).write(to: Self.vectorFile)
        }
        #expect(String(decoding: try Data(contentsOf: Self.vectorFile), as: UTF8.self) == text)
    }

    @Test func everyVectorFrameDecodesToItsMessage() throws {
        for line in String(decoding: try Data(contentsOf: Self.vectorFile), as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            let frame = try #require(parts.count == 2 ? Hex.decode(String(parts[1])) : nil)
            let length = Int(frame[0]) | Int(frame[1]) << 8 | Int(frame[2]) << 16 | Int(frame[3]) << 24
            #expect(length == frame.count - 4)
            let message = try Message.decode(Array(frame[4...]))
            #expect(try Self.reframe(message, as: frame[4]) == frame, "\(parts[0])")
        }
    }

    @Test func theExampleBatchGoesUncompressedBecauseCompressingDoesNotShrinkIt() throws {
        let lines = String(decoding: try Data(contentsOf: Self.vectorFile), as: UTF8.self).split(separator: "\n")
        func frame(_ name: String) throws -> [UInt8] {
            let line = try #require(lines.first { $0.hasPrefix(name + " ") })
            return try #require(Hex.decode(String(line.split(separator: " ")[1])))
        }
        let plain = try frame("objects")
        let compressed = try frame("objects-compressed")
        #expect(compressed.count > plain.count)
        #expect(try Message.decode(Array(plain[4...])) == Message.decode(Array(compressed[4...])))
        // What hg-bft sends: the smaller of the two.
        #expect(try Message.decode(Array(plain[4...])).frame(compressed: true) == plain)
    }

    @Test func batchesThatShrinkTravelCompressedAndDecodeToTheSameObjects() throws {
        // Many small text blobs: a batch like a sync's.
        let objects = (0..<500).map {
            Blob(content: Array("line \($0): the quick brown fox jumps over the lazy dog\n".utf8)).encoded
        }
        let plain = Message.objects(objects).frame()
        let compressed = Message.objects(objects).frame(compressed: true)
        #expect(compressed[4] == Message.Kind.compressedObjects.rawValue)
        #expect(compressed.count * 3 < plain.count, "\(compressed.count) bytes compressed, \(plain.count) plain")
        #expect(try Message.decode(Array(compressed[4...])) == .objects(objects))
    }

    /// Decodes a COMPRESSED OBJECTS body built from `size` and zlib `stream`.
    static func decodeCompressed(
        size: UInt64, stream: [UInt8], maxFrameBytes: Int = ProtocolLimits.maxFrameBytes
    ) throws(SyncError) -> Message {
        var w = ByteWriter()
        w.byte(Message.Kind.compressedObjects.rawValue)
        w.varint(size)
        w.raw(stream)
        return try Message.decode(w.bytes, maxFrameBytes: maxFrameBytes)
    }

    static func violation(_ body: () throws(SyncError) -> Message) -> String? {
        do throws(SyncError) {
            _ = try body()
            return nil
        } catch {
            if case let .protocolViolation(why) = error { return why }
            return "not a protocol violation: \(error)"
        }
    }

    @Test func compressedObjectsAreDecodedStrictlyAndWithinTheirDeclaredSize() throws {
        let deflater = try Deflater(level: ProtocolLimits.compressionLevel)
        let payload = Message.objectsPayload([Blob(content: Array("hello, world\n".utf8)).encoded])
        let stream = try deflater.compress(payload)
        let size = UInt64(payload.count)
        #expect(
            try Self.decodeCompressed(size: size, stream: stream)
                == .objects([Blob(content: Array("hello, world\n".utf8)).encoded]))
        let cases: [(String, () throws(SyncError) -> Message, String)] = [
            (
                "declared size 0", { () throws(SyncError) in try Self.decodeCompressed(size: 0, stream: stream) },
                "declares 0"
            ),
            (
                "declared size above the frame limit",
                { () throws(SyncError) in
                    try Self.decodeCompressed(size: UInt64(ProtocolLimits.maxFrameBytes), stream: stream)
                }, "the limit"
            ),
            (
                "declared size above a smaller announced limit",
                { () throws(SyncError) in
                    try Self.decodeCompressed(size: size, stream: stream, maxFrameBytes: Int(size))
                }, "the limit"
            ),
            (
                "inflates past the declared size",
                { () throws(SyncError) in try Self.decodeCompressed(size: size - 1, stream: stream) }, "more than"
            ),
            (
                "inflates to less than declared",
                { () throws(SyncError) in try Self.decodeCompressed(size: size + 1, stream: stream) }, "declares"
            ),
            (
                "raw deflate without the zlib wrapper",
                { () throws(SyncError) in
                    try Self.decodeCompressed(size: size, stream: Array(stream.dropFirst(2).dropLast(4)))
                }, "zlib"
            ),
            (
                "a wrong Adler-32",
                { () throws(SyncError) in
                    try Self.decodeCompressed(size: size, stream: stream.dropLast() + [stream.last! ^ 1])
                }, "zlib"
            ),
            (
                "a truncated stream",
                { () throws(SyncError) in try Self.decodeCompressed(size: size, stream: Array(stream.dropLast(3))) },
                "zlib"
            ),
            (
                "bytes after the stream",
                { () throws(SyncError) in try Self.decodeCompressed(size: size, stream: stream + [0]) }, "zlib"
            ),
            ("no stream", { () throws(SyncError) in try Self.decodeCompressed(size: size, stream: []) }, "zlib"),
            (
                "decompressed objects with a trailing byte",
                { () throws(SyncError) in
                    try Self.decodeCompressed(size: size + 1, stream: try! deflater.compress(payload + [0]))
                }, "trailing"
            ),
        ]
        for (name, body, mentions) in cases {
            let why = Self.violation(body)
            #expect(why?.contains(mentions) == true, "\(name): \(why ?? "accepted")")
        }
    }

    @Test func aDecompressionBombStopsAtTheDeclaredSize() throws {
        // 64 MiB of zeros deflate to about 64 KiB; the frame claims 1 MiB.
        let stream = try Deflater(level: ProtocolLimits.compressionLevel).compress(
            [UInt8](repeating: 0, count: 64 << 20))
        #expect(stream.count < 1 << 20)
        let why = Self.violation { () throws(SyncError) in try Self.decodeCompressed(size: 1 << 20, stream: stream) }
        #expect(why?.contains("more than the 1048576 bytes") == true, "\(why ?? "accepted")")
    }
}
