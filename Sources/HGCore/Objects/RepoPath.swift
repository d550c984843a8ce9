/// A path inside the repository, as stored in change operations.
///
/// Rules (FORMAT.md, "Paths"): 1 to 4096 bytes of UTF-8; components separated
/// by a single `/`, each 1 to 255 bytes; no empty, `.` or `..` component; no
/// component that equals `.hgrepo` ignoring ASCII case (a case-insensitive file
/// system would otherwise let a path write into the metadata); no C0 control
/// (below 0x20), DEL (0x7F) or C1 control (U+0080–U+009F). These rules make
/// every stored path safe to materialise under the working tree and to print.
///
/// Equality, hashing and order are those of the bytes, never of `String` (whose equality is
/// canonical equivalence: NFC `café` and NFD `café` are different paths here, as on disk).
public struct RepoPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The path's UTF-8 bytes; ordering is bytewise.
    public let bytes: [UInt8]

    /// Validates `bytes`.
    public init(bytes: [UInt8]) throws(DecodeError) {
        try RepoPath.validate(bytes)
        self.bytes = bytes
    }

    /// Validates a path given as text.
    public init(_ text: String) throws(DecodeError) {
        try self.init(bytes: Array(text.utf8))
    }

    /// The path as text (always valid UTF-8, checked on construction).
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public var description: String { string }

    /// The path's components, split at the byte `/` (splitting the `String` would not: `/`
    /// followed by a combining mark is one `Character`).
    public var components: [String] {
        bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    public static func < (a: RepoPath, b: RepoPath) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Whether `self` equals `prefix` or lies below the directory `prefix`.
    public func isInside(_ prefix: RepoPath) -> Bool {
        guard bytes.count >= prefix.bytes.count, bytes.starts(with: prefix.bytes) else { return false }
        return bytes.count == prefix.bytes.count || bytes[prefix.bytes.count] == UInt8(ascii: "/")
    }

    static func validate(_ bytes: [UInt8]) throws(DecodeError) {
        guard !bytes.isEmpty else { throw .invalidPath("empty") }
        guard bytes.count <= Limits.maxPathBytes else { throw .invalidPath("longer than \(Limits.maxPathBytes) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(field: "path") }
        if text.unicodeScalars.contains(where: { (0x80...0x9f).contains($0.value) }) {
            throw .invalidPath("control character")
        }
        var componentStart = 0
        for index in 0...bytes.count {
            if index < bytes.count {
                let b = bytes[index]
                if b < 0x20 || b == 0x7f { throw .invalidPath("control character") }
                if b != UInt8(ascii: "/") { continue }
            }
            let component = bytes[componentStart..<index]
            if component.isEmpty { throw .invalidPath("empty component") }
            if component.count > Limits.maxPathComponentBytes {
                throw .invalidPath("component longer than \(Limits.maxPathComponentBytes) bytes")
            }
            if component.elementsEqual([UInt8(ascii: ".")])
                || component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")])
            {
                throw .invalidPath("'.' or '..' component")
            }
            if component.count == 7,
                component.map({ $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }).elementsEqual(Array(".hgrepo".utf8))
            {
                throw .invalidPath("'.hgrepo' component")
            }
            componentStart = index + 1
        }
    }
}
