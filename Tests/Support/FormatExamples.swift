import HGCore
import HGCrypto

/// The worked examples of docs/FORMAT.md, built from their inputs: a key from the seed
/// 00 01 … 1f, its genesis, a blob and a change writing README.md and deleting old.txt.
/// FORMAT.md quotes them (HGCoreTests' format-examples.txt) and PROTOCOL.md's example sends them
/// (HGSyncTests' protocol-examples.txt).
public struct FormatExamples {
    public let seed: [UInt8]
    public let key: Ed25519.KeyPair
    public let peer: PeerID
    public let genesis: Operation
    public let blob: Blob
    public let change: Operation

    public init() throws {
        seed = (0..<32).map { UInt8($0) }
        key = try Ed25519.KeyPair(seed: seed)
        let nonce = (0..<16).map { UInt8(0xa0 + $0) }
        genesis = try Operation.create(
            signer: key, sequence: 1, parents: [], timestamp: 1_763_683_200_000,
            payload: .genesis(Genesis(adminQuorum: 1, nonce: nonce)))
        blob = Blob(content: Array("hello, world\n".utf8))
        change = try Operation.create(
            signer: key, sequence: 2, parents: [genesis.id], timestamp: 1_763_683_260_000,
            payload: .change(
                Change(
                    message: "first draft",
                    entries: [
                        ChangeEntry(
                            path: try RepoPath("README.md"), version: FileVersion(blob: blob.id, mode: .regular)),
                        ChangeEntry(path: try RepoPath("old.txt"), version: nil),
                    ])))
        guard let peer = PeerID(publicKey: key.publicKey) else { throw DecodeError.truncated(field: "key") }
        self.peer = peer
    }
}
