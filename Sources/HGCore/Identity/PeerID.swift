import HGCrypto

/// A replica's identity: its Ed25519 public key.
///
/// The text form is `hg` followed by lowercase RFC 4648 base32 (no padding) of
/// the 32 key bytes and a 2-byte checksum, 57 characters in all: letters and
/// digits only, so a double click selects it and a typo is caught.
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 32-byte Ed25519 public key.
    public let key: Bytes32

    /// Prefix of the text form.
    public static let textPrefix = "hg"
    /// Length of the text form.
    public static let textLength = 57
    /// Characters of the text form shown in short displays (prefix included).
    public static let shortLength = 12
    /// Domain of the checksum: ASCII "hg-bft peer id v1" and one zero byte.
    static let checksumDomain: [UInt8] = Array("hg-bft peer id v1".utf8) + [0]

    public init(key: Bytes32) { self.key = key }

    /// From a 32-byte public key; `nil` for any other length.
    public init?(publicKey: [UInt8]) {
        guard let key = Bytes32(bytes: publicKey) else { return nil }
        self.key = key
    }

    /// Parses the text form, checking the checksum. Surrounding whitespace is ignored.
    public init?(text: String) {
        let trimmed = text.trimmingASCIIWhitespace()
        guard trimmed.utf8.count == PeerID.textLength, trimmed.hasPrefix(PeerID.textPrefix),
            let decoded = Base32.decode(String(trimmed.dropFirst(PeerID.textPrefix.count)), byteCount: 34),
            let key = Bytes32(bytes: Array(decoded[0..<32]))
        else { return nil }
        guard Array(decoded[32..<34]) == PeerID.checksum(key) else { return nil }
        self.key = key
    }

    /// The 57-character text form.
    public var text: String {
        PeerID.textPrefix + Base32.encode(key.bytes + PeerID.checksum(key))
    }

    /// The first 12 characters of the text form.
    public var short: String { String(text.prefix(PeerID.shortLength)) }

    public var description: String { text }

    static func checksum(_ key: Bytes32) -> [UInt8] {
        Array(Blake2b.hash256(checksumDomain, key.bytes).prefix(2))
    }

    public static func < (a: PeerID, b: PeerID) -> Bool { a.key < b.key }
}

/// Lowercase RFC 4648 base32 without padding.
public enum Base32 {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 {
            out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes text that must encode exactly `byteCount` bytes, with zero padding bits.
    public static func decode(_ text: String, byteCount: Int) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count == (byteCount * 8 + 4) / 5 else { return nil }
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            let v: UInt32
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - UInt8(ascii: "a"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): v = UInt32(c - UInt8(ascii: "2") + 26)
            default: return nil
            }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits - 8)))
                bits -= 8
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        // Leftover bits must be zero so that each key has exactly one text form.
        guard buffer == 0, out.count == byteCount else { return nil }
        return out
    }
}

extension String {
    /// The string without leading and trailing ASCII white space, as C's `isspace`
    /// counts it: space, tab, newline, vertical tab, form feed, carriage return.
    public func trimmingASCIIWhitespace() -> String {
        // "\r\n" is one Character (a single grapheme cluster), so it needs its own case.
        let isSpace: (Character) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" || $0 == "\u{0B}" || $0 == "\u{0C}"
        }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
