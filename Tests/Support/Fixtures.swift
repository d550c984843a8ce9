import Foundation
import HGCore
import HGCrypto

/// A failure of the test scaffolding itself (not of the code under test).
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The Ed25519 key pair whose seed is 32 bytes of `byte`: the fixed keys the tests sign with.
public func keyPair(seedByte byte: UInt8) throws -> Ed25519.KeyPair {
    try Ed25519.KeyPair(seed: [UInt8](repeating: byte, count: 32))
}

/// A fresh empty directory `<label>-<UUID>` under the system's temporary directory; the caller
/// removes it.
public func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.path + "/" + label + "-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `body` with a fresh empty directory named `hgbft-<prefix>-<UUID>` under the system's
/// temporary directory, removed afterwards. The path is given with symlinks resolved (e.g.
/// /tmp), so that it compares equal to the paths the code under test reports.
public func withTemporaryDirectory<T>(prefix: String = "tests", _ body: (String) throws -> T) throws -> T {
    let path = try makeTemporaryDirectory("hgbft-" + prefix)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
}

/// A hex string in a test vector could not be decoded.
public struct HexDecodingError: Error, CustomStringConvertible {
    public let description: String
}

/// Decodes hex (either case). Spaces and line breaks are skipped, so long
/// vectors can be written as multi-line string literals. Throws on any other
/// character or an odd number of digits.
public func hexBytes(_ text: String) throws -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count / 2)
    var high: UInt8?
    for byte in text.utf8 {
        let nibble: UInt8
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
            continue
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            nibble = byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"):
            nibble = byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"):
            nibble = byte - UInt8(ascii: "A") + 10
        default:
            throw HexDecodingError(description: "not a hex digit: \(byte)")
        }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    guard high == nil else { throw HexDecodingError(description: "odd number of hex digits") }
    return out
}

/// Lower-case hex of `bytes`.
public func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// `count` incompressible bytes, deterministic for a given seed.
public func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    var out: [UInt8] = []
    out.reserveCapacity(count + 8)
    while out.count < count {
        var word = generator.next()
        for _ in 0..<8 {
            out.append(UInt8(truncatingIfNeeded: word))
            word >>= 8
        }
    }
    out.removeLast(out.count - count)
    return out
}

/// `count` highly compressible bytes: a short phrase repeated.
public func repetitiveBytes(_ count: Int) -> [UInt8] {
    let phrase = Array("hg-bft replicates objects; ".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        out.append(contentsOf: phrase.prefix(count - out.count))
    }
    return out
}
