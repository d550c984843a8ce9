import HGCore
import HGCrypto

// Signed operations as every target's fixtures make them (History, the HGCore, HGStore and
// HGRepository helpers, the malicious peer's EvilOps): each is one of these with its own defaults.

/// An entry writing `path` as the blob `blob` (which need not exist, nor be a blob).
public func writing(_ path: String, blob: ObjectID, mode: FileMode = .regular) throws -> ChangeEntry {
    ChangeEntry(path: try RepoPath(path), version: FileVersion(blob: blob, mode: mode))
}

/// An entry deleting `path`.
public func deleting(_ path: String) throws -> ChangeEntry {
    ChangeEntry(path: try RepoPath(path), version: nil)
}

/// A change operation signed by `key`.
public func signedChange(
    by key: Ed25519.KeyPair, sequence: UInt64, parents: [ObjectID], timestamp: UInt64,
    message: String, entries: [ChangeEntry]
) throws -> Operation {
    try Operation.create(
        signer: key, sequence: sequence, parents: parents, timestamp: timestamp,
        payload: .change(Change(message: message, entries: entries)))
}

/// A genesis operation signed by `key`: sequence 1, no parents, the nonce 16 bytes of `nonceByte`.
public func signedGenesis(
    by key: Ed25519.KeyPair, quorum: Int = 1, nonceByte: UInt8,
    timestamp: UInt64
) throws -> Operation {
    try Operation.create(
        signer: key, sequence: 1, parents: [], timestamp: timestamp,
        payload: .genesis(Genesis(adminQuorum: quorum, nonce: [UInt8](repeating: nonceByte, count: 16))))
}
