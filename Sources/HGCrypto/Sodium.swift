internal import CSodium

/// Makes sure libsodium is initialised exactly once before any primitive runs.
///
/// `sodium_init` is idempotent and thread-safe, but calling it on every use costs
/// a lock; a lazily initialised global runs it once per process.
enum Sodium {
    /// `true` once `sodium_init` has succeeded (it returns 0 the first time, 1 after).
    static let ready: Bool = sodium_init() >= 0

    /// Call at the top of every entry point that touches libsodium.
    @inline(__always)
    static func ensureReady() throws(CryptoError) {
        guard ready else { throw CryptoError.libraryUnavailable }
    }
}
