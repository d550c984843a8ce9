import HGCore
import HGCrypto

/// The framing shared by the derived files of `index/` (FORMAT.md 5.9, 5.9.1): a header, the
/// index length the file reflects (varint), a body, and a BLAKE2b-256 of everything before it.
enum StampedCache {
    static func seal(header: [UInt8], stamp: Int, body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: header.count + 10 + body.count + 32)
        w.raw(header)
        w.varint(UInt64(stamp))
        w.raw(body)
        let sealed = w.bytes
        return sealed + Blake2b.hash256(sealed)
    }

    /// The stamp and body, or `nil` if the header or the checksum does not match.
    static func open(_ bytes: [UInt8], header: [UInt8]) -> (stamp: Int, body: [UInt8])? {
        guard bytes.count >= header.count + 33, Array(bytes[0..<header.count]) == header else { return nil }
        let sealed = Array(bytes[0..<(bytes.count - 32)])
        guard Blake2b.hash256(sealed) == Array(bytes[(bytes.count - 32)...]) else { return nil }
        var r = ByteReader(Array(sealed[header.count...]))
        guard let stamp = try? r.varint("stamp"), stamp <= UInt64(Int.max) else { return nil }
        return (Int(stamp), Array(sealed[(header.count + r.offset)...]))
    }
}
