import Foundation
import HGCore
import HGCrypto
import HGTestSupport
import Testing

/// The worked examples of docs/FORMAT.md, rebuilt from their inputs and
/// compared byte for byte with the committed vector file that the document
/// quotes. Set HGBFT_WRITE_VECTORS=1 to regenerate the file after a
/// deliberate format change (and then update FORMAT.md from it).
@Suite struct FormatExampleTests {
    static let vectorFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/format-examples.txt")

    /// Builds every example and renders the vector file's text.
    static func render() throws -> String {
        let example = try FormatExamples()
        let (seed, key, peer) = (example.seed, example.key, example.peer)
        let (genesis, blob, change) = (example.genesis, example.blob, example.change)
        var lines: [String] = []
        func add(_ name: String, _ value: String) { lines.append("\(name) \(value)") }
        add("seed", Hex.encode(seed))
        add("public-key", Hex.encode(key.publicKey))
        add("peer-id", peer.text)
        add("genesis-encoding", Hex.encode(genesis.encoded))
        add("genesis-signed-message", Hex.encode(Operation.signatureDomain + genesis.encoded.dropLast(64)))
        add("genesis-id", genesis.id.hex)
        add("blob-encoding", Hex.encode(blob.encoded))
        add("blob-id", blob.id.hex)
        add("change-encoding", Hex.encode(change.encoded))
        add("change-id", change.id.hex)
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func examplesMatchTheCommittedVectors() throws {
        let text = try Self.render()
        if ProcessInfo.processInfo.environment["HGBFT_WRITE_VECTORS"] == "1" {
            try Data(text.utf8).write(to: Self.vectorFile)
        }
        let committed = String(decoding: try Data(contentsOf: Self.vectorFile), as: UTF8.self)
        #expect(committed == text)
    }

    @Test func vectorsDecodeAndVerify() throws {
        let committed = String(decoding: try Data(contentsOf: Self.vectorFile), as: UTF8.self)
        var fields: [String: String] = [:]
        for line in committed.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        for name in ["genesis", "change"] {
            let bytes = try #require(fields["\(name)-encoding"].flatMap(Hex.decode))
            let op = try Operation.decode(bytes)
            #expect(op.hasValidSignature())
            #expect(op.id.hex == fields["\(name)-id"])
            #expect(op.encoded == bytes)
        }
        let blobBytes = try #require(fields["blob-encoding"].flatMap(Hex.decode))
        #expect(try Blob.decode(blobBytes).id.hex == fields["blob-id"])
    }
}
