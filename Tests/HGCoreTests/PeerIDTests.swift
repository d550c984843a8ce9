import HGCrypto
import HGTestSupport
import Testing

@testable import HGCore

@Suite("Base32 and PeerID")
struct PeerIDTests {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")

    /// Text form of the fixed seed-7 key, computed independently (Python
    /// `base64.b32encode` + `hashlib.blake2b`, lowercased, padding stripped).
    static let fixedKeyText = "hg5jfgyy7ctrjavpxvkb5rglwf7gkuo5vox27hxescd3vgsfcg2iwowty"

    @Test("RFC 4648 test vectors, lowercase and unpadded")
    func rfc4648Vectors() {
        let vectors: [(String, String)] = [
            ("", ""), ("f", "my"), ("fo", "mzxq"), ("foo", "mzxw6"),
            ("foob", "mzxw6yq"), ("fooba", "mzxw6ytb"), ("foobar", "mzxw6ytboi"),
        ]
        for (plain, encoded) in vectors {
            let bytes = Array(plain.utf8)
            #expect(Base32.encode(bytes) == encoded)
            #expect(Base32.decode(encoded, byteCount: bytes.count) == bytes)
        }
    }

    @Test("Base32 round-trips every length from 0 to 40")
    func base32RoundTrip() {
        var rng = SplitMix64(seed: 32)
        for length in 0...40 {
            let bytes: [UInt8] = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Base32.encode(bytes)
            #expect(text.utf8.count == (length * 8 + 4) / 5)
            #expect(Base32.decode(text, byteCount: length) == bytes)
            // The wrong byte count is refused.
            #expect(Base32.decode(text, byteCount: length + 1) == nil)
        }
    }

    @Test("Base32 rejects characters outside the lowercase alphabet")
    func base32RejectsBadCharacters() {
        for bad in ["0", "1", "8", "9", "A", "M", "=", " ", "é"] {
            #expect(Base32.decode("m" + bad, byteCount: 1) == nil, "\(bad)")
        }
        #expect(Base32.decode("MY", byteCount: 1) == nil)
        #expect(Base32.decode("my======", byteCount: 1) == nil)
    }

    @Test("Base32 rejects non-zero padding bits")
    func base32RejectsPaddingBits() {
        // "my" encodes 0x66 = 01100 110(00): the last character carries two
        // padding bits. "mz" (110 01) sets them.
        #expect(Base32.decode("my", byteCount: 1) == [0x66])
        #expect(Base32.decode("mz", byteCount: 1) == nil)
        #expect(Base32.decode("m2", byteCount: 1) == nil)
    }

    @Test("text form of the fixed key matches an independent computation")
    func knownText() throws {
        let key = try fixedKey()
        let peer = try #require(PeerID(publicKey: key.publicKey))
        #expect(peer.text == Self.fixedKeyText)
        #expect(peer.description == Self.fixedKeyText)
        #expect(peer.short == String(Self.fixedKeyText.prefix(12)))
        #expect(PeerID(text: Self.fixedKeyText) == peer)
        // The checksum is the first two bytes of BLAKE2b-256("hg-bft peer id v1\0" ‖ key).
        let checksum = Array(Blake2b.hash256(Array("hg-bft peer id v1".utf8) + [0], key.publicKey).prefix(2))
        #expect(Base32.decode(String(Self.fixedKeyText.dropFirst(2)), byteCount: 34) == key.publicKey + checksum)
    }

    @Test("text form is 57 characters: 'hg' then the base32 alphabet; it round-trips")
    func shapeAndRoundTrip() throws {
        var rng = SplitMix64(seed: 57)
        for round in 0..<200 {
            let keyBytes: [UInt8] =
                round == 0
                ? [UInt8](repeating: 0, count: 32)
                : round == 1
                    ? [UInt8](repeating: 0xff, count: 32)
                    : (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let peer = try #require(PeerID(publicKey: keyBytes))
            let text = peer.text
            #expect(text.count == 57)
            #expect(text.utf8.count == PeerID.textLength)
            #expect(text.hasPrefix("hg"))
            #expect(text.dropFirst(2).allSatisfy { Self.alphabet.contains($0) })
            #expect(PeerID(text: text) == peer)
            #expect(PeerID(text: text)?.key.bytes == keyBytes)
        }
    }

    @Test("publicKey of the wrong length is refused")
    func wrongKeyLength() {
        #expect(PeerID(publicKey: []) == nil)
        #expect(PeerID(publicKey: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(PeerID(publicKey: [UInt8](repeating: 1, count: 33)) == nil)
    }

    @Test("changing any one character of the text is detected")
    func singleCharacterChange() {
        let chars = Array(Self.fixedKeyText)
        var accepted: [String] = []
        for position in chars.indices {
            for replacement in Self.alphabet + ["h", "g", "H", "0"] where replacement != chars[position] {
                var changed = chars
                changed[position] = replacement
                let text = String(changed)
                if PeerID(text: text) != nil { accepted.append(text) }
            }
        }
        #expect(accepted.isEmpty)
    }

    @Test("swapping two adjacent different characters is detected")
    func transposition() {
        let chars = Array(Self.fixedKeyText)
        for position in 2..<(chars.count - 1) where chars[position] != chars[position + 1] {
            var changed = chars
            changed.swapAt(position, position + 1)
            #expect(PeerID(text: String(changed)) == nil, "swap at \(position)")
        }
    }

    @Test("uppercase, wrong prefix and wrong length are rejected")
    func malformedText() {
        let text = Self.fixedKeyText
        #expect(PeerID(text: text.uppercased()) == nil)
        #expect(PeerID(text: "HG" + text.dropFirst(2)) == nil)
        #expect(PeerID(text: "hg" + text.dropFirst(2).uppercased()) == nil)
        #expect(PeerID(text: "xx" + text.dropFirst(2)) == nil)
        #expect(PeerID(text: String(text.dropFirst(2))) == nil)
        #expect(PeerID(text: String(text.dropLast())) == nil)
        #expect(PeerID(text: text + "a") == nil)
        #expect(PeerID(text: text + "=") == nil)
        #expect(PeerID(text: "") == nil)
        #expect(PeerID(text: "hg") == nil)
        #expect(PeerID(text: "   ") == nil)
        // Inner whitespace is not trimmed.
        #expect(PeerID(text: String(text.prefix(20)) + " " + text.dropFirst(20)) == nil)
    }

    @Test("non-zero padding bits in the last character are rejected")
    func paddingBits() throws {
        // 34 bytes = 272 bits in 55 characters (275 bits): the last character's
        // low three bits are padding and must be zero.
        let text = Self.fixedKeyText
        let last = try #require(text.last)
        let lastValue = try #require(Self.alphabet.firstIndex(of: last))
        #expect(lastValue & 0b111 == 0)
        for low in 1...7 {
            let replacement = Self.alphabet[lastValue | low]
            let changed = String(text.dropLast()) + String(replacement)
            #expect(Base32.decode(String(changed.dropFirst(2)), byteCount: 34) == nil)
            #expect(PeerID(text: changed) == nil)
        }
    }

    @Test(
        "leading and trailing whitespace is ignored",
        arguments: [
            " ", "  ", "\t", "\n", "\r", "\r\n", " \t\n", "\n\n",
        ])
    func surroundingWhitespace(space: String) throws {
        let text = Self.fixedKeyText
        let peer = try #require(PeerID(text: text))
        #expect(PeerID(text: space + text) == peer)
        #expect(PeerID(text: text + space) == peer)
        #expect(PeerID(text: space + text + space) == peer)
    }

    @Test("trimmingASCIIWhitespace trims spaces, tabs, CR, LF and CRLF at both ends only")
    func trimming() {
        #expect("  a b \t".trimmingASCIIWhitespace() == "a b")
        #expect("\r\na\r\n".trimmingASCIIWhitespace() == "a")
        #expect("a\r\n\r\n".trimmingASCIIWhitespace() == "a")
        #expect("\n\r a".trimmingASCIIWhitespace() == "a")
        #expect("a\r\nb".trimmingASCIIWhitespace() == "a\r\nb")
        #expect(" \r\n\t ".trimmingASCIIWhitespace() == "")
        #expect("".trimmingASCIIWhitespace() == "")
        // Non-ASCII spaces are left alone.
        #expect("\u{a0}a\u{2003}".trimmingASCIIWhitespace() == "\u{a0}a\u{2003}")
    }

    @Test("ordering follows the key bytes")
    func ordering() throws {
        let low = try #require(PeerID(publicKey: [UInt8](repeating: 0, count: 31) + [1]))
        let high = try #require(PeerID(publicKey: [1] + [UInt8](repeating: 0, count: 31)))
        #expect(low < high)
        #expect(!(high < low))
    }
}
