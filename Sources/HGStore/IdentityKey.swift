import HGCore
import HGCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The replica's Ed25519 identity in `.hgrepo/keys/identity`.
///
/// File (mode 0600): the line `hg-bft identity v1`, then `seed <64 hex digits>`.
/// Like ssh, the key is refused when the file is readable or writable by
/// anyone but its owner. The seed never appears in an error message.
public enum IdentityKey {
    static let magic = "hg-bft identity v1"

    /// Loads the key pair, checking the file's permissions first.
    public static func load(_ path: String) throws(StoreError) -> Ed25519.KeyPair {
        guard let st = FileSystem.status(path) else { throw .io(path: path, operation: "open", errno: ENOENT) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .badFile(path: path, reason: "not a regular file") }
        guard st.st_mode & 0o077 == 0 else { throw .keyPermissions(path: path, mode: UInt32(st.st_mode)) }
        var bytes = try FileSystem.read(path, limit: 4096)
        defer { SecureMemory.zero(&bytes) }
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count == 3, lines[2].isEmpty, Array(lines[0]) == Array(magic.utf8) else {
            throw .badFile(path: path, reason: "not an hg-bft identity file")
        }
        let seedLine = Array(lines[1])
        let prefix = Array("seed ".utf8)
        let seedHex = seedLine.dropFirst(prefix.count)
        guard seedLine.count == prefix.count + 64, seedLine.starts(with: prefix),
            seedHex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            var seed = Hex.decode(String(decoding: seedHex, as: UTF8.self))
        else { throw .badFile(path: path, reason: "malformed seed line (expected 'seed' and 64 lowercase hex digits)") }
        defer { SecureMemory.zero(&seed) }
        do {
            return try Ed25519.KeyPair(seed: seed)
        } catch {
            throw .badFile(path: path, reason: "unusable key")
        }
    }

    /// Writes a key pair with mode 0600 (created that way, never chmod-ed after writing).
    public static func save(_ keyPair: Ed25519.KeyPair, to path: String) throws(StoreError) {
        var seed = keyPair.exportSeed()
        defer { SecureMemory.zero(&seed) }
        var text = Array("\(magic)\nseed ".utf8) + Array(Hex.encode(seed).utf8) + [UInt8(ascii: "\n")]
        defer { SecureMemory.zero(&text) }
        try FileSystem.writeAtomically(path, text, mode: 0o600)
    }
}
