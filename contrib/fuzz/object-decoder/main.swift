// Fuzz target `object-decoder`: the bytes of a stored object, as `verify`, `show`, `cat-object`
// and a sync's receiver decode them.
//
// Each input is tried two ways:
//  1. as an object's canonical encoding (a blob or an operation): `StoredObject.decode`;
//  2. as a loose object file or a pack entry: zlib inflation under the real size limit
//     (`Inflater.decompress`, as `ObjectStore.read` does), then `StoredObject.decode`.
//     The check that the content hashes to the object's name is left out: no input could pass it.
//
// Oracles, beyond "no trap and no AddressSanitizer report":
//  - decoding is strict, so an accepted encoding is canonical: encoding the decoded object
//    again gives back exactly the input;
//  - everything the commands derive from a decoded object (summary, kind name, signature check,
//    paths, membership change) computes without trapping.
import HGCompression
@testable import HGCore  // for `Payload.encodeBody()`, internal; debug builds enable testability

// One stream, reset per input, as each `ObjectStore` instance does.
nonisolated(unsafe) let inflater = try! Inflater()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)
    if let inflated = try? inflater.decompress(bytes, limit: Limits.maxObjectBytes) {
        check(inflated)
    }
    return 0
}

/// Decodes `bytes` as an object; if it is accepted, checks what the commands do with it.
func check(_ bytes: [UInt8]) {
    guard let object = try? StoredObject.decode(bytes) else { return }
    switch object {
    case let .blob(blob):
        precondition(blob.encoded == bytes, "a blob decoded from a non-canonical encoding")
        _ = blob.id
    case let .operation(op):
        precondition(encode(op) == bytes, "an operation decoded from a non-canonical encoding")
        precondition(op.encoded == bytes && op.id == ObjectID(hashing: bytes))
        let summary = OperationSummary(op)
        _ = Payload.name(ofKind: summary.kind)
        _ = op.payload.kindName
        _ = op.hasValidSignature()
        _ = op.author.description
        if let change = op.change {
            for entry in change.entries {
                // Every decoded path must pass validation again (it is materialised under the tree).
                precondition((try? RepoPath(bytes: entry.path.bytes)) != nil)
                _ = entry.path.components
            }
        }
        if let membership = op.membership {
            _ = membership.description
            _ = membership.target
        }
    }
}

/// The canonical encoding of `op`, built field by field as `Operation.create` does.
func encode(_ op: Operation) -> [UInt8] {
    var w = ByteWriter()
    w.byte(ObjectType.operation.rawValue)
    w.byte(FormatVersion.current)
    w.id(op.author.key)
    w.varint(op.sequence)
    w.varint(UInt64(op.parents.count))
    for parent in op.parents { w.id(parent.raw) }
    w.varint(op.timestamp)
    w.byte(op.payload.kind)
    w.lengthPrefixed(op.payload.encodeBody())
    w.raw(op.signature)
    return w.bytes
}
