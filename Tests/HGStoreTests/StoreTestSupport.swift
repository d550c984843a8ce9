import Foundation
import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGStore

// Shared helpers for the HGStore tests.

/// A fresh, empty directory under the system temporary directory, removed by `cleanup()`.
struct TempDirectory {
    let path: String

    init(_ label: String = "hgstore") throws {
        path = try makeTemporaryDirectory(label)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The error `body` throws, or `nil` if it returns normally.
func storeError(_ body: () throws(StoreError) -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The bytes of a file (Foundation, for checking what the store wrote).
func fileBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Replaces a file's bytes (Foundation, for corrupting what the store wrote).
func setFileBytes(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The permission bits of a file.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    let value = try #require(attributes[.posixPermissions] as? NSNumber)
    return value.intValue & 0o777
}

/// A deterministic test id.
func testID(_ text: String) -> ObjectID { ObjectID(hashing: Array(text.utf8)) }

/// A peer id from the fixed key of author `k`.
func storePeer(_ k: Int) throws -> PeerID {
    try #require(PeerID(publicKey: authorKey(k).publicKey))
}

/// A signed change operation, for tests that want real ids.
func signedChange(
    key: Ed25519.KeyPair, sequence: UInt64, parents: [ObjectID], path: String = "f",
    text: String, timestamp: UInt64 = 1_700_000_000_000
) throws -> HGCore.Operation {
    try HGTestSupport.signedChange(
        by: key, sequence: sequence, parents: parents, timestamp: timestamp,
        message: "change \(text)", entries: [try writing(path, blob: Blob.id(of: Array(text.utf8)))])
}

/// A signed genesis operation.
func signedGenesis(key: Ed25519.KeyPair) throws -> HGCore.Operation {
    try HGTestSupport.signedGenesis(by: key, nonceByte: 9, timestamp: 1_700_000_000_000)
}
