import Testing
import HGTestSupport

/// A hex string in a test vector could not be decoded.
struct HexDecodingError: Error, CustomStringConvertible {
    let description: String
}

/// Decodes hex (either case). Spaces and line breaks are skipped, so long
/// vectors can be written as multi-line string literals. Throws on any other
/// character or an odd number of digits.
func hexBytes(_ text: String) throws -> [UInt8] {
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
func hexString(_ bytes: [UInt8]) -> String {
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
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
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
func repetitiveBytes(_ count: Int) -> [UInt8] {
    let phrase = Array("hg-bft replicates objects; ".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        out.append(contentsOf: phrase.prefix(count - out.count))
    }
    return out
}

@Suite("Test support")
struct TestSupportTests {
    @Test("hex decoding round-trips and rejects bad input")
    func hexRoundTrip() throws {
        #expect(try hexBytes("00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
        #expect(try hexBytes("00 ff\n10") == [0x00, 0xff, 0x10])
        #expect(try hexBytes("") == [])
        #expect(hexString([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
        #expect(throws: HexDecodingError.self) { try hexBytes("0g") }
        #expect(throws: HexDecodingError.self) { try hexBytes("abc") }
    }

    @Test("deterministic data helpers have the requested size")
    func dataHelpers() {
        #expect(pseudoRandomBytes(13, seed: 1).count == 13)
        #expect(pseudoRandomBytes(64, seed: 1) == pseudoRandomBytes(64, seed: 1))
        #expect(pseudoRandomBytes(64, seed: 1) != pseudoRandomBytes(64, seed: 2))
        #expect(repetitiveBytes(100).count == 100)
        #expect(repetitiveBytes(0).isEmpty)
    }
}
