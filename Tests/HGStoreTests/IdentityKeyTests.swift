import Foundation
import HGCore
import HGCrypto
import Testing

@testable import HGStore

private func loadError(_ path: String) -> StoreError? {
    storeError { () throws(StoreError) in _ = try IdentityKey.load(path) }
}

@Suite("IdentityKey")
struct IdentityKeyTests {
    static let seed = [UInt8](0..<32).map { $0 &* 7 &+ 3 }

    @Test func saveCreatesMode0600AndLoadsTheSameKey() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("identity")
        let key = try Ed25519.KeyPair(seed: IdentityKeyTests.seed)
        try IdentityKey.save(key, to: path)
        #expect(try permissions(path) == 0o600)
        let text = String(decoding: try fileBytes(path), as: UTF8.self)
        #expect(text == "hg-bft identity v1\nseed \(Hex.encode(IdentityKeyTests.seed))\n")
        let loaded = try IdentityKey.load(path)
        #expect(loaded.publicKey == key.publicKey)
        #expect(loaded.exportSeed() == IdentityKeyTests.seed)
        // Saving over an existing key keeps mode 0600 and leaves no temporary file.
        let other = try Ed25519.KeyPair(seed: [UInt8](repeating: 1, count: 32))
        try IdentityKey.save(other, to: path)
        #expect(try permissions(path) == 0o600)
        #expect(try IdentityKey.load(path).publicKey == other.publicKey)
        #expect(try FileSystem.list(dir.path) == ["identity"])
    }

    @Test(arguments: [0o640, 0o644, 0o604, 0o660, 0o602])
    func tooOpenPermissionsAreRefusedWithoutLeakingTheSeed(mode: Int) throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("identity")
        try IdentityKey.save(try Ed25519.KeyPair(seed: IdentityKeyTests.seed), to: path)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        let error = loadError(path)
        guard case let .keyPermissions(errorPath, errorMode)? = error else {
            Issue.record("expected keyPermissions, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(Int(errorMode) & 0o777 == mode)
        let message = error.map(String.init(describing:)) ?? ""
        #expect(message.contains("chmod 600"))
        #expect(message.contains(path))
        #expect(message.contains(String(mode, radix: 8)))
        #expect(!message.lowercased().contains(Hex.encode(IdentityKeyTests.seed)))
        // Fixing the permissions makes the key loadable again.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try IdentityKey.load(path).exportSeed() == IdentityKeyTests.seed)
    }

    @Test(arguments: [
        "bad seed digit", "short seed", "long seed", "no seed line", "bad magic", "extra line", "seed keyword",
        "uppercase seed", "missing final newline", "blank line between", "crlf",
    ])
    func malformedFileIsBadFileWithoutTheSeed(_ defect: String) throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("identity")
        let hex = Hex.encode(IdentityKeyTests.seed)
        let text: String
        switch defect {
        case "bad seed digit": text = "hg-bft identity v1\nseed \(hex.dropLast())g\n"
        case "short seed": text = "hg-bft identity v1\nseed \(hex.dropLast(2))\n"
        case "long seed": text = "hg-bft identity v1\nseed \(hex)00\n"
        case "no seed line": text = "hg-bft identity v1\n"
        case "bad magic": text = "\(hex)\nseed \(hex)\n"
        case "extra line": text = "hg-bft identity v1\nseed \(hex)\n\(hex)\n"
        case "uppercase seed": text = "hg-bft identity v1\nseed \(hex.uppercased())\n"
        case "missing final newline": text = "hg-bft identity v1\nseed \(hex)"
        case "blank line between": text = "hg-bft identity v1\n\nseed \(hex)\n"
        case "crlf": text = "hg-bft identity v1\r\nseed \(hex)\r\n"
        default: text = "hg-bft identity v1\nSEED \(hex)\n"
        }
        try setFileBytes(path, Array(text.utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let error = loadError(path)
        guard case let .badFile(errorPath, _)? = error else {
            Issue.record("\(defect): expected badFile, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        let message = error.map(String.init(describing:)) ?? ""
        // Neither the seed nor any long run of it may appear in the message.
        #expect(!message.contains(String(hex.prefix(16))), "\(defect): \(message)")
        #expect(!message.contains(String(hex.suffix(16))), "\(defect): \(message)")
    }

    @Test func missingFileAndDirectoryAreReported() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        guard case let .io(path, _, code)? = loadError(dir.file("missing")) else {
            Issue.record("expected an io error")
            return
        }
        #expect(path == dir.file("missing"))
        #expect(code == ENOENT)
        try FileManager.default.createDirectory(
            atPath: dir.file("adir"), withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        guard case .badFile? = loadError(dir.file("adir")) else {
            Issue.record("expected badFile for a directory")
            return
        }
    }
}
