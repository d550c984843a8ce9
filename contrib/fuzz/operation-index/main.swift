// Fuzz target `operation-index`: the bytes of `index/operations` (FORMAT.md 5.6), which every
// command reads, record by record, when the graph file cannot serve it.
//
// An input is one mode byte, then the file. The file is written to /dev/shm (the reader works on
// paths) and read three ways: `scan` (verify's: damage is listed and skipped), `read` (throws at
// the first damage) and `visit` (the graph's builder). When the mode byte is odd, every record
// whose length field leads inside the file first gets its CRC-32 recomputed, so that mutations
// reach the record decoder behind the checksum; otherwise the checksums stay as they are.
//
// Oracles, beyond "no trap and no AddressSanitizer report":
//  - decoding is strict, so every record accepted is canonical: encoding its summary again gives
//    back exactly the record's bytes, at the offset the reader reports;
//  - the three readers agree: `read` returns what `scan` does when `scan` found no damage and
//    throws otherwise; `visit` hands over the same records in the same order, up to the first
//    damage;
//  - the valid length is a record boundary inside the input, and a torn tail is reported only
//    after the last whole record.
import Glibc
import HGCompression
import HGCore
import HGStore

let path = "/dev/shm/hgbft-fuzz-index-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size > 0, let data else { return 0 }
    let reseal = data[0] & 1 == 1
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if reseal { resealRecords(&bytes) }
    guard (try? FileSystem.writeAtomically(path, bytes, durable: false)) != nil else { return 0 }
    defer { unlink(path) }

    guard let (contents, damage) = try? OperationIndex.scan(path) else { return 0 }
    precondition(contents.validLength <= bytes.count, "a valid length past the end")
    if damage.isEmpty && !contents.tornTail {
        precondition(contents.validLength == bytes.count, "an undamaged index not read to its end")
    }

    // `read` agrees with `scan`.
    switch Result(catching: { () throws(StoreError) in try OperationIndex.read(path) }) {
    case let .success(read):
        precondition(damage.isEmpty, "read accepted what scan found damaged")
        precondition(read.entries == contents.entries && read.validLength == contents.validLength && read.tornTail == contents.tornTail)
    case .failure:
        precondition(!damage.isEmpty, "read refused what scan found whole")
    }

    // `visit` hands over the records `scan` found, in order, up to the first damage; each is
    // canonical: its summary encodes to exactly the bytes that end where the reader says.
    var visited: [OperationSummary] = []
    let visit = Result(catching: { () throws(StoreError) in
        try OperationIndex.visit(path) { record in
            let encoded = OperationIndex.record(record.summary)
            precondition(record.end <= bytes.count && record.end >= encoded.count
                         && Array(bytes[(record.end - encoded.count)..<record.end]) == encoded,
                         "a record decoded from a non-canonical encoding")
            visited.append(record.summary)
            return true
        }
    })
    if damage.isEmpty {
        precondition((try? visit.get()) != nil, "visit refused an undamaged index")
        precondition(visited == contents.entries, "visit and scan disagree")
    } else {
        precondition(visited.count <= contents.entries.count && Array(contents.entries.prefix(visited.count)) == visited,
                     "visit handed over records scan did not")
    }
    return 0
}

/// Recomputes the CRC-32 of every record whose length field leads inside `bytes`, walking the
/// records from the header on.
func resealRecords(_ bytes: inout [UInt8]) {
    var at = OperationIndex.header.count
    while at + 8 <= bytes.count {
        let length = Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
        guard length <= OperationIndex.maxRecordBytes, at + 8 + length <= bytes.count else { return }
        let crc = CRC32.checksum(bytes, range: at..<(at + 4 + length))
        for k in 0..<4 { bytes[at + 4 + length + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * k)) }
        at += 8 + length
    }
}
