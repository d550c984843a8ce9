/// Failures of the cryptographic primitives. Messages never contain key material.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libsodium could not be initialised (no entropy source, broken install).
    case libraryUnavailable
    /// A key, seed or signature had the wrong number of bytes.
    case badLength(what: String, expected: Int, actual: Int)
    /// libsodium refused an operation (for instance a low-order public key).
    case operationFailed(String)

    public var description: String {
        switch self {
        case .libraryUnavailable:
            return "libsodium could not be initialised"
        case let .badLength(what, expected, actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case let .operationFailed(what):
            return "cryptographic operation failed: \(what)"
        }
    }
}
