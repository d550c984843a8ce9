internal import CSodium

/// Cryptographically secure random bytes (libsodium's `randombytes_buf`, backed by `getrandom`).
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: count)
        out.withNonNullMutablePointer { pointer, count in randombytes_buf(pointer, count) }
        return out
    }
}

/// Wiping of secrets that the optimiser cannot elide.
public enum SecureMemory {
    /// Overwrites `bytes` with zeros using `sodium_memzero`.
    public static func zero(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
        }
    }

    /// Constant-time comparison of two equal-length byte strings.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                sodium_memcmp(pa.baseAddress, pb.baseAddress, pa.count) == 0
            }
        }
    }
}
