internal import CSodium

/// Ed25519 signatures (RFC 8032, deterministic) through libsodium.
///
/// libsodium's verifier rejects non-canonical `S` values and small-order public
/// keys, so a third party cannot produce a second valid signature for a message
/// that someone else signed.
public enum Ed25519 {
    public static let publicKeyBytes = 32
    public static let secretKeyBytes = 64
    public static let seedBytes = 32
    public static let signatureBytes = 64

    /// A signing key pair. The secret half is wiped when the value is destroyed.
    // @unchecked: secretKey is a var only so that deinit can wipe it; nothing writes it before then.
    public final class KeyPair: @unchecked Sendable {
        /// The 32-byte public key.
        public let publicKey: [UInt8]
        // libsodium's 64-byte secret key: seed ‖ public key. Immutable after init.
        private var secretKey: [UInt8]

        /// Derives the key pair from a 32-byte seed (RFC 8032 §5.1.5).
        public init(seed: [UInt8]) throws(CryptoError) {
            try Sodium.ensureReady()
            guard seed.count == seedBytes else {
                throw .badLength(what: "Ed25519 seed", expected: seedBytes, actual: seed.count)
            }
            var pk = [UInt8](repeating: 0, count: publicKeyBytes)
            var sk = [UInt8](repeating: 0, count: secretKeyBytes)
            let rc = crypto_sign_seed_keypair(&pk, &sk, seed)
            guard rc == 0 else { throw .operationFailed("crypto_sign_seed_keypair") }
            publicKey = pk
            secretKey = sk
        }

        /// A fresh key pair from the operating system's random source.
        public static func generate() throws(CryptoError) -> KeyPair {
            var seed = try SecureRandom.bytes(seedBytes)
            defer { SecureMemory.zero(&seed) }
            return try KeyPair(seed: seed)
        }

        /// The 32-byte seed this key pair was derived from (the first half of libsodium's secret key).
        /// The caller must wipe the copy it receives.
        public func exportSeed() -> [UInt8] {
            Array(secretKey[0..<seedBytes])
        }

        /// Signs `message`, returning the 64-byte signature.
        public func sign(_ message: [UInt8]) -> [UInt8] {
            var signature = [UInt8](repeating: 0, count: signatureBytes)
            message.withUnsafeBufferPointer { m in
                _ = crypto_sign_detached(&signature, nil, m.baseAddress, UInt64(m.count), secretKey)
            }
            return signature
        }

        deinit { SecureMemory.zero(&secretKey) }
    }

    /// Verifies `signature` over `message` by `publicKey`. Wrong lengths are simply invalid.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard Sodium.ready, signature.count == signatureBytes, publicKey.count == publicKeyBytes else {
            return false
        }
        return message.withUnsafeBufferPointer { m in
            crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), publicKey) == 0
        }
    }

    /// Verifies a signature over data that lives in a slice, without copying it.
    public static func verify(signature: ArraySlice<UInt8>, message: [UInt8], publicKey: ArraySlice<UInt8>) -> Bool {
        verify(signature: Array(signature), message: message, publicKey: Array(publicKey))
    }
}
