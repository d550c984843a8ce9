internal import CSodium

/// HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869).
///
/// libsodium 1.0.18 has HMAC-SHA-256 but no HKDF, so HKDF's two steps are
/// composed here from libsodium's HMAC; the test suite checks them against
/// RFC 5869's test vectors.
public enum HKDF {
    public static let hashBytes = 32

    /// HMAC-SHA-256(key, message), any key length.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        _ = Sodium.ready
        var state = crypto_auth_hmacsha256_state()
        var out = [UInt8](repeating: 0, count: hashBytes)
        key.withNonNullPointer { k, count in
            _ = crypto_auth_hmacsha256_init(&state, k, count)
        }
        message.withUnsafeBufferPointer { m in
            _ = crypto_auth_hmacsha256_update(&state, m.baseAddress, UInt64(m.count))
        }
        _ = crypto_auth_hmacsha256_final(&state, &out)
        withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) }
        return out
    }

    /// HKDF-Extract: PRK = HMAC(salt, IKM); an empty salt means 32 zero bytes.
    public static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) -> [UInt8] {
        let effectiveSalt = salt.isEmpty ? [UInt8](repeating: 0, count: hashBytes) : salt
        return hmacSHA256(key: effectiveSalt, message: inputKeyMaterial)
    }

    /// HKDF-Expand: `length` bytes of output keying material (at most 255 × 32).
    public static func expand(pseudoRandomKey: [UInt8], info: [UInt8], length: Int) throws(CryptoError) -> [UInt8] {
        guard length >= 0, length <= 255 * hashBytes else {
            throw .badLength(what: "HKDF output", expected: 255 * hashBytes, actual: length)
        }
        var output: [UInt8] = []
        output.reserveCapacity(length)
        var previous: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < length {
            previous = hmacSHA256(key: pseudoRandomKey, message: previous + info + [counter])
            output += previous.prefix(length - output.count)
            counter &+= 1
        }
        SecureMemory.zero(&previous)
        return output
    }

    /// Extract-then-expand in one call.
    public static func deriveKey(
        salt: [UInt8], inputKeyMaterial: [UInt8], info: [UInt8], length: Int
    ) throws(CryptoError) -> [UInt8] {
        var prk = extract(salt: salt, inputKeyMaterial: inputKeyMaterial)
        defer { SecureMemory.zero(&prk) }
        return try expand(pseudoRandomKey: prk, info: info, length: length)
    }
}
