import Foundation
import HGCore
import HGCrypto
@testable import HGSync
import Testing

/// The worked example of docs/PROTOCOL.md, rebuilt from the objects of
/// FORMAT.md's examples and compared byte for byte with the committed vector
/// file the document quotes. HGBFT_WRITE_VECTORS=1 regenerates the file.
@Suite struct ProtocolExampleTests {
    static let vectorFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Vectors/protocol-examples.txt")

    static func render() throws -> String {
        let key = try Ed25519.KeyPair(seed: (0..<32).map { UInt8($0) })
        let genesis = try Operation.create(signer: key, sequence: 1, parents: [], timestamp: 1_763_683_200_000,
                                           payload: .genesis(Genesis(adminQuorum: 1, nonce: (0..<16).map { UInt8(0xa0 + $0) })))
        let blob = Blob(content: Array("hello, world\n".utf8))
        let change = try Operation.create(
            signer: key, sequence: 2, parents: [genesis.id], timestamp: 1_763_683_260_000,
            payload: .change(Change(message: "first draft", entries: [
                ChangeEntry(path: try RepoPath("README.md"), version: FileVersion(blob: blob.id, mode: .regular)),
                ChangeEntry(path: try RepoPath("old.txt"), version: nil),
            ])))
        guard let peer = PeerID(publicKey: key.publicKey) else { throw DecodeError.truncated(field: "key") }
        let salt = (0..<16).map { UInt8($0) }
        var filter = BloomFilter(expectedEntries: 2, salt: salt)
        filter.insert(genesis.id)
        filter.insert(change.id)
        let messages: [(String, Message)] = [
            ("hello", .hello(Hello(version: 1, repository: genesis.id, peer: peer, maxFrameBytes: ProtocolLimits.maxFrameBytes))),
            ("have", .have(Have(heads: [change.id], sharedHeads: [], filter: filter, filterEntries: 2))),
            ("have-empty", .have(Have(heads: [genesis.id], sharedHeads: [genesis.id],
                                      filter: BloomFilter(expectedEntries: 0, salt: salt), filterEntries: 0))),
            ("objects", .objects([blob.encoded, change.encoded])),
            ("end", .endOfRound),
            ("need", .need([change.id])),
            ("need-empty", .need([])),
            ("error", .error("repository is busy")),
        ]
        return messages.map { "\($0.0) \(Hex.encode($0.1.frame()))" }.joined(separator: "\n") + "\n"
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
            #expect(message.frame() == frame, "\(parts[0])")
        }
    }
}
