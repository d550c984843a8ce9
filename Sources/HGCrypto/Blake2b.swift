internal import CSodium

/// BLAKE2b (RFC 7693) through libsodium's `crypto_generichash`.
public enum Blake2b {
    /// Digest length used for object ids and fingerprints.
    public static let digestBytes256 = 32

    /// One-shot BLAKE2b-256 of the concatenation of `parts`.
    public static func hash256(_ parts: [UInt8]...) -> [UInt8] {
        oneShot256 { state in
            for part in parts {
                part.withUnsafeBufferPointer { _ = crypto_generichash_update(state, $0.baseAddress, UInt64($0.count)) }
            }
        }
    }

    /// One-shot BLAKE2b-256 of the concatenation of `first` and `rest`, given as memory.
    public static func hash256(raw first: UnsafeRawBufferPointer, _ rest: UnsafeRawBufferPointer...) -> [UInt8] {
        oneShot256 { state in
            func feed(_ part: UnsafeRawBufferPointer) {
                _ = crypto_generichash_update(
                    state, part.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(part.count))
            }
            feed(first)
            rest.forEach(feed)
        }
    }

    /// A BLAKE2b-256 digest held in four words, its 32 bytes in order in memory (read them with
    /// `withUnsafeBytes(of:)`): a value on the stack rather than an array.
    public typealias Digest256 = (UInt64, UInt64, UInt64, UInt64)

    /// BLAKE2b-256 of `first` followed by `second`, without any allocation: for hashing many short
    /// inputs (a Bloom filter's probes hash a salt and one id each).
    public static func digest256(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Digest256 {
        _ = Sodium.ready
        var digest: Digest256 = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digest) { out in
            withUnsafeTemporaryAllocation(byteCount: crypto_generichash_statebytes(), alignment: 64) { memory in
                guard let base = memory.baseAddress, let output = out.baseAddress else { return }
                let state = OpaquePointer(base)
                crypto_generichash_init(state, nil, 0, digestBytes256)
                _ = crypto_generichash_update(
                    state, first.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(first.count))
                _ = crypto_generichash_update(
                    state, second.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(second.count))
                _ = crypto_generichash_final(state, output.assumingMemoryBound(to: UInt8.self), digestBytes256)
            }
        }
        return digest
    }

    /// A BLAKE2b-256 digest whose state lives on the stack for the call: a hash of a few dozen
    /// bytes (an object id, a Bloom probe) used to cost two heap allocations for the state, as
    /// much as the hashing. Only for public data: the state is not wiped afterwards.
    private static func oneShot256(_ feed: (OpaquePointer) -> Void) -> [UInt8] {
        _ = Sodium.ready
        return withUnsafeTemporaryAllocation(byteCount: crypto_generichash_statebytes(), alignment: 64) { memory in
            var out = [UInt8](repeating: 0, count: digestBytes256)
            guard let base = memory.baseAddress else { return out }
            let state = OpaquePointer(base)
            crypto_generichash_init(state, nil, 0, digestBytes256)
            feed(state)
            out.withNonNullMutablePointer { o, _ in _ = crypto_generichash_final(state, o, digestBytes256) }
            return out
        }
    }

    /// One-shot BLAKE2b with an arbitrary output length (1...64) and optional key.
    public static func hash(_ message: [UInt8], outputLength: Int, key: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureReady()
        guard (Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(outputLength) else {
            throw .badLength(what: "BLAKE2b output", expected: digestBytes256, actual: outputLength)
        }
        guard key.count <= Int(crypto_generichash_KEYBYTES_MAX) else {
            throw .badLength(what: "BLAKE2b key", expected: Int(crypto_generichash_KEYBYTES_MAX), actual: key.count)
        }
        var out = [UInt8](repeating: 0, count: outputLength)
        let rc = out.withNonNullMutablePointer { o, _ in
            message.withNonNullPointer { m, mCount in
                key.withNonNullPointer { k, kCount in
                    crypto_generichash(o, outputLength, m, UInt64(mCount), kCount == 0 ? nil : k, kCount)
                }
            }
        }
        guard rc == 0 else { throw .operationFailed("crypto_generichash") }
        return out
    }
}

/// Incremental BLAKE2b, for hashing data that arrives in pieces (files, framed streams).
///
/// libsodium's state struct is 64-byte aligned and opaque to Swift, so it is
/// kept in raw memory of the size and alignment libsodium asks for.
public final class Blake2bHasher {
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    /// Starts a hash with the given digest length (clamped to 16...64 bytes; 32 by default).
    public init(outputLength: Int = Blake2b.digestBytes256) {
        _ = Sodium.ready
        let length = min(max(outputLength, Int(crypto_generichash_BYTES_MIN)), Int(crypto_generichash_BYTES_MAX))
        self.outputLength = length
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(OpaquePointer(state), nil, 0, length)
    }

    deinit {
        sodium_memzero(state, crypto_generichash_statebytes())
        state.deallocate()
    }

    /// Feeds bytes.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            _ = crypto_generichash_update(OpaquePointer(state), b.baseAddress, UInt64(b.count))
        }
    }

    /// Feeds bytes from a slice without copying.
    public func update(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { b in
            _ = crypto_generichash_update(OpaquePointer(state), b.baseAddress, UInt64(b.count))
        }
    }

    /// Feeds bytes from a raw buffer.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        _ = crypto_generichash_update(
            OpaquePointer(state), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    /// Ends the hash and returns the digest. The hasher must not be used afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        let length = outputLength
        out.withNonNullMutablePointer { o, _ in
            _ = crypto_generichash_final(OpaquePointer(state), o, length)
        }
        return out
    }
}
