import HGTestSupport
import Testing

@testable import HGCore

/// Encodes one varint with `ByteWriter`.
private func encode(_ value: UInt64) -> [UInt8] {
    var w = ByteWriter()
    w.varint(value)
    return w.bytes
}

/// Decodes one varint from the start of `bytes`, returning the value and how many bytes it took.
private func decode(_ bytes: [UInt8]) throws(DecodeError) -> (value: UInt64, length: Int) {
    var r = ByteReader(bytes)
    let value = try r.varint("v")
    return (value, r.offset)
}

private func varintError(_ bytes: [UInt8]) -> DecodeError? {
    decodeError { () throws(DecodeError) in _ = try decode(bytes) }
}

@Suite("Varints")
struct VarintTests {
    static let boundaryValues: [UInt64] = [
        0, 1, 127, 128, 255, 256, 300, 16383, 16384, 2_097_151, 2_097_152,
        1 << 32, (1 << 35) - 1, 1 << 35, (1 << 56) - 1, 1 << 56, (1 << 63) - 1, 1 << 63, UInt64.max,
    ]

    @Test("boundary values round-trip and use the expected number of bytes", arguments: boundaryValues)
    func roundTrip(value: UInt64) throws {
        let bytes = encode(value)
        let decoded = try decode(bytes)
        #expect(decoded.value == value)
        #expect(decoded.length == bytes.count)
        // ceil(bits / 7), with 0 taking one byte.
        let bits = value == 0 ? 1 : 64 - value.leadingZeroBitCount
        #expect(bytes.count == (bits + 6) / 7)
        #expect(bytes == leb128(value))
    }

    @Test("exact encodings")
    func exactBytes() {
        #expect(encode(0) == [0x00])
        #expect(encode(1) == [0x01])
        #expect(encode(127) == [0x7f])
        #expect(encode(128) == [0x80, 0x01])
        #expect(encode(300) == [0xac, 0x02])
        #expect(encode(16383) == [0xff, 0x7f])
        #expect(encode(16384) == [0x80, 0x80, 0x01])
        #expect(encode(1 << 32) == [0x80, 0x80, 0x80, 0x80, 0x10])
        #expect(encode(1 << 63) == [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(encode(UInt64.max) == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    }

    @Test("exact decodings")
    func exactDecodings() throws {
        #expect(try decode([0xac, 0x02]).value == 300)
        #expect(try decode([0xff, 0x7f]).value == 16383)
        #expect(try decode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).value == UInt64.max)
        // Bytes after the varint are left unread.
        let withTail = try decode([0xac, 0x02, 0x99, 0x01])
        #expect(withTail.value == 300)
        #expect(withTail.length == 2)
    }

    static let nonMinimal: [[UInt8]] = [
        [0x80, 0x00],
        [0xff, 0x00],
        [0x81, 0x00],
        [0x80, 0x80, 0x00],
        [0xac, 0x82, 0x00],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00],
    ]

    @Test("non-minimal forms are rejected", arguments: nonMinimal)
    func rejectsNonMinimal(bytes: [UInt8]) {
        #expect(varintError(bytes) == .nonMinimalInteger(field: "v"))
    }

    static let overflowing: [[UInt8]] = [
        // 10th byte 0x02: bit 64 set.
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f],
        // 10th byte has the continuation bit: an 11th byte would follow.
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        // 11 bytes of continuation.
        [UInt8](repeating: 0xff, count: 11),
        [UInt8](repeating: 0x80, count: 11) + [0x00],
    ]

    @Test("values beyond 64 bits are rejected", arguments: overflowing)
    func rejectsOverflow(bytes: [UInt8]) {
        #expect(varintError(bytes) == .integerOverflow(field: "v"))
    }

    static let truncatedInputs: [[UInt8]] = [
        [],
        [0x80],
        [0xff],
        [0xac],
        [0x80, 0x80],
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]

    @Test("input that ends inside a varint is truncated", arguments: truncatedInputs)
    func rejectsTruncated(bytes: [UInt8]) {
        #expect(varintError(bytes) == .truncated(field: "v"))
    }

    @Test("every prefix of a multi-byte varint is truncated")
    func everyPrefixTruncated() {
        let full = encode(UInt64.max)
        for length in 0..<full.count {
            #expect(varintError(Array(full.prefix(length))) == .truncated(field: "v"), "prefix \(length)")
        }
    }

    @Test("randomized: decode(encode(x)) == x for 10,000 values of every length")
    func randomizedRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5eed_0001)
        for _ in 0..<10_000 {
            // Shift by a random amount so every byte length is well represented.
            let value = rng.next() >> UInt64.random(in: 0...63, using: &rng)
            let bytes = encode(value)
            #expect(bytes == leb128(value))
            let decoded = try decode(bytes)
            #expect(decoded.value == value)
            #expect(decoded.length == bytes.count)
        }
    }

    @Test("randomized: every accepted byte string re-encodes to the bytes it consumed")
    func randomizedAcceptedReencodes() {
        var rng = SplitMix64(seed: 0x5eed_0002)
        var accepted = 0
        for _ in 0..<10_000 {
            let length = Int.random(in: 1...12, using: &rng)
            // Mostly continuation bytes, with low groups that are often zero, so
            // that the non-minimal and overflow paths are exercised as well.
            let bytes: [UInt8] = (0..<length).map { _ in
                let high: UInt8 = UInt8.random(in: 0..<4, using: &rng) == 0 ? 0 : 0x80
                let low: UInt8 = Bool.random(using: &rng) ? 0 : UInt8.random(in: 0...0x7f, using: &rng)
                return high | low
            }
            switch Result(catching: { () throws(DecodeError) in try decode(bytes) }) {
            case let .success(decoded):
                accepted += 1
                #expect(encode(decoded.value) == Array(bytes.prefix(decoded.length)), "\(bytes)")
            case let .failure(error):
                switch error {
                case .truncated, .nonMinimalInteger, .integerOverflow: break
                default: Issue.record("unexpected error \(error) for \(bytes)")
                }
            }
        }
        #expect(accepted > 1000)
    }

    @Test("exhaustive: each value below 2^14 has exactly one accepted one- or two-byte encoding")
    func exhaustiveTwoBytes() {
        var seen: [UInt64: [UInt8]] = [:]
        var candidates: [[UInt8]] = (0...255).map { [UInt8($0)] }
        for a in 0...255 { for b in 0...255 { candidates.append([UInt8(a), UInt8(b)]) } }
        for bytes in candidates {
            var r = ByteReader(bytes)
            guard let value = try? r.varint("v"), r.isAtEnd else { continue }
            #expect(seen[value] == nil, "\(value) accepted as both \(seen[value] ?? []) and \(bytes)")
            seen[value] = bytes
            #expect(encode(value) == bytes)
        }
        #expect(seen.count == 16384)
        #expect(seen.keys.max() == 16383)
    }

    @Test("count enforces its limit; lengthPrefixed checks the bytes present")
    func countAndLengthPrefixed() throws {
        var r = ByteReader([0x80, 0x08])  // 1024
        #expect(try r.count("n", limit: 1024) == 1024)
        var over = ByteReader([0x81, 0x08])  // 1025
        #expect(
            decodeError { () throws(DecodeError) in _ = try over.count("n", limit: 1024) }
                == .tooLarge(field: "n", limit: 1024))
        // A value above Int.max is refused, not converted (which would trap).
        var huge = ByteReader(encode(UInt64.max))
        #expect(
            decodeError { () throws(DecodeError) in _ = try huge.count("n", limit: Int.max) }
                == .tooLarge(field: "n", limit: Int.max))

        var lp = ByteReader([0x03, 0x61, 0x62, 0x63, 0x64])
        #expect(try lp.lengthPrefixed("s", limit: 10) == [0x61, 0x62, 0x63])
        #expect(lp.remaining == 1)
        #expect(throws: DecodeError.trailingBytes(count: 1)) { try lp.expectEnd() }
        var short = ByteReader([0x04, 0x61, 0x62, 0x63])
        #expect(
            decodeError { () throws(DecodeError) in _ = try short.lengthPrefixed("s", limit: 10) }
                == .truncated(field: "s"))
        var tooLong = ByteReader([0x0b] + [UInt8](repeating: 0, count: 11))
        #expect(
            decodeError { () throws(DecodeError) in _ = try tooLong.lengthPrefixed("s", limit: 10) }
                == .tooLarge(field: "s", limit: 10))
        var raw = ByteReader([1, 2])
        #expect(decodeError { () throws(DecodeError) in _ = try raw.raw(-1, "r") } == .truncated(field: "r"))
        #expect(decodeError { () throws(DecodeError) in _ = try raw.raw(3, "r") } == .truncated(field: "r"))
        #expect(try raw.raw(2, "r") == [1, 2])
        #expect(raw.isAtEnd)
    }
}
