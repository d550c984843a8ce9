import HGCore
import HGStore

extension Repository {
    /// The decoded operation named by `text` (a full id or an unambiguous prefix).
    public func operation(_ text: String) throws(RepositoryError) -> Operation {
        let id = try resolve(text, graph: try? loadGraph())
        let object = try lift { try objects.readObject(id) }
        guard case let .operation(op) = object else { throw .notAnOperation(text) }
        return op
    }

    /// Any object, decoded and checked against its id.
    public func object(_ text: String) throws(RepositoryError) -> (id: ObjectID, object: StoredObject) {
        let id = try resolve(text, graph: try? loadGraph())
        return (id, try lift { try objects.readObject(id) })
    }

    /// The bytes of an object as stored on disk (zlib-compressed canonical encoding).
    public func storedBytes(_ text: String) throws(RepositoryError) -> [UInt8] {
        let id = try resolve(text, graph: try? loadGraph())
        return try lift { try objects.readStored(id) }
    }

    /// The content of a blob.
    public func blobContent(_ id: ObjectID) throws(RepositoryError) -> [UInt8] {
        if let blob = recentBlobs[id] { return blob.content }
        return try lift { try objects.readBlob(id) }
    }
}
