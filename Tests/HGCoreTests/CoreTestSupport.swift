import HGCrypto
import HGTestSupport
import Testing

@testable import HGCore

// Shared helpers for the HGCore tests.

/// The fixed signing key used throughout: seed = 32 bytes of 0x07.
func fixedKey() throws -> Ed25519.KeyPair {
    try keyPair(seedByte: 7)
}

/// The error thrown by `body`, or `nil` if it returned normally.
func decodeError(_ body: () throws(DecodeError) -> Void) -> DecodeError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The error `Operation.decode` throws for `bytes`, or `nil` if it accepts them.
func operationDecodeError(_ bytes: [UInt8]) -> DecodeError? {
    decodeError { () throws(DecodeError) in _ = try Operation.decode(bytes) }
}

extension DecodeError {
    /// Whether this is `.truncated`, whatever the field.
    var isTruncated: Bool {
        if case .truncated = self { return true }
        return false
    }

    /// The field of an `.invalidValue`, or `nil` for any other case.
    var invalidValueField: String? {
        if case let .invalidValue(field, _) = self { return field }
        return nil
    }

    /// Whether this is `.invalidPath`, whatever the reason.
    var isInvalidPath: Bool {
        if case .invalidPath = self { return true }
        return false
    }
}

/// The minimal LEB128 encoding of `value`, written independently of `ByteWriter`.
func leb128(_ value: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    var v = value
    repeat {
        var byte = UInt8(v & 0x7f)
        v >>= 7
        if v != 0 { byte |= 0x80 }
        out.append(byte)
    } while v != 0
    return out
}

/// An `ObjectID` whose 32 bytes are all `byte`.
func filledID(_ byte: UInt8) throws -> ObjectID {
    ObjectID(raw: try #require(Bytes32(bytes: [UInt8](repeating: byte, count: 32))))
}

/// An `ObjectID` from 32 explicit bytes.
func idFrom(_ bytes: [UInt8]) throws -> ObjectID {
    ObjectID(raw: try #require(Bytes32(bytes: bytes)))
}

/// A hand-assembled operation encoding whose every field can be set to any
/// bytes, including invalid ones, so that each decoder rule can be hit alone.
struct RawOperation {
    var type: UInt8 = 0x02
    var version: UInt8 = 0x01
    var author: [UInt8] = [UInt8](repeating: 0xaa, count: 32)
    var sequence: [UInt8] = [0x02]
    /// `nil` means: the minimal varint of `parents.count`.
    var parentCount: [UInt8]?
    var parents: [[UInt8]] = [[UInt8](repeating: 0x11, count: 32)]
    var timestamp: [UInt8] = leb128(1_700_000_000_000)
    var kind: UInt8 = 0x02
    /// `nil` means: the minimal varint of `body.count`.
    var bodyLength: [UInt8]?
    var body: [UInt8] = ChangeBody().bytes
    /// `nil` means: 64 zero bytes (decoding does not check signatures).
    var signature: [UInt8]?
    var trailing: [UInt8] = []

    /// Everything the signature covers.
    var unsigned: [UInt8] {
        var out: [UInt8] = [type, version]
        out += author
        out += sequence
        out += parentCount ?? leb128(UInt64(parents.count))
        for parent in parents { out += parent }
        out += timestamp
        out.append(kind)
        out += bodyLength ?? leb128(UInt64(body.count))
        out += body
        return out
    }

    var bytes: [UInt8] {
        unsigned + (signature ?? [UInt8](repeating: 0, count: 64)) + trailing
    }

    /// A genesis-shaped operation (sequence 1, no parents, kind 0x01).
    static func genesis(quorum: [UInt8] = [0x01], nonce: [UInt8] = [UInt8](repeating: 0x5a, count: 16)) -> RawOperation
    {
        var op = RawOperation()
        op.sequence = [0x01]
        op.parents = []
        op.kind = 0x01
        op.body = quorum + nonce
        return op
    }

    /// The same operation with `author` set to `key`'s public key and a real signature.
    func signed(by key: Ed25519.KeyPair) -> RawOperation {
        var op = self
        op.author = key.publicKey
        op.signature = key.sign(Operation.signatureDomain + op.unsigned)
        return op
    }
}

/// A hand-assembled change body.
struct ChangeBody {
    var messageLength: [UInt8]?
    var message: [UInt8] = Array("msg".utf8)
    /// `nil` means: the minimal varint of `entries.count`.
    var entryCount: [UInt8]?
    /// Each entry: path bytes, mode byte, and (for modes 1 and 2) a blob id.
    var entries: [(path: [UInt8], mode: UInt8, blob: [UInt8])] = [
        (Array("a.txt".utf8), 0x01, [UInt8](repeating: 0x33, count: 32))
    ]
    var trailing: [UInt8] = []

    var bytes: [UInt8] {
        var out = messageLength ?? leb128(UInt64(message.count))
        out += message
        out += entryCount ?? leb128(UInt64(entries.count))
        for entry in entries {
            out += leb128(UInt64(entry.path.count))
            out += entry.path
            out.append(entry.mode)
            out += entry.blob
        }
        return out + trailing
    }
}

/// Builds a valid change operation with `Operation.create` and the fixed key.
func sampleChange(
    key: Ed25519.KeyPair, sequence: UInt64 = 2, parents: [ObjectID]? = nil, timestamp: UInt64 = 1_700_000_000_000,
    message: String = "first", files: [(String, String)] = [("hello.txt", "hello\n")]
) throws -> Operation {
    let entries = try files.map { name, content in try writing(name, blob: Blob(content: Array(content.utf8)).id) }
    return try signedChange(
        by: key, sequence: sequence, parents: try parents ?? [try filledID(0x11)], timestamp: timestamp,
        message: message, entries: entries)
}

/// Builds a valid genesis operation with `Operation.create` and the fixed key.
func sampleGenesis(key: Ed25519.KeyPair, quorum: Int = 1, timestamp: UInt64 = 1_700_000_000_000) throws -> Operation {
    try signedGenesis(by: key, quorum: quorum, nonceByte: 0x5a, timestamp: timestamp)
}
