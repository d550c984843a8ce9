/// File content, stored as its own object so that unchanged files are shared
/// between operations and fetched only once.
///
/// Encoding: `0x01` (type), `0x01` (version), then the content bytes to the end.
public struct Blob: Hashable, Sendable {
    /// The file's bytes.
    public let content: [UInt8]

    public init(content: [UInt8]) {
        self.content = content
    }

    /// The canonical encoding.
    public var encoded: [UInt8] {
        var out: [UInt8] = [ObjectType.blob.rawValue, FormatVersion.current]
        out.reserveCapacity(content.count + 2)
        out.append(contentsOf: content)
        return out
    }

    /// The blob's id.
    public var id: ObjectID { ObjectID(hashing: encoded) }

    /// The id of a blob holding `content`, without building the encoding twice.
    public static func id(of content: [UInt8]) -> ObjectID {
        Blob(content: content).id
    }

    /// Strictly decodes a blob encoding.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Blob {
        var reader = ByteReader(bytes)
        let type = try reader.byte("type")
        guard type == ObjectType.blob.rawValue else { throw .unknownType(type) }
        let version = try reader.byte("version")
        guard version == FormatVersion.current else { throw .unknownVersion(version) }
        guard reader.remaining <= Limits.maxBlobContent else {
            throw .tooLarge(field: "blob content", limit: Limits.maxBlobContent)
        }
        return Blob(content: try reader.raw(reader.remaining, "blob content"))
    }
}
