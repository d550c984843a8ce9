import Foundation
import HGCompression
import HGCore
import HGCrypto
import Testing

@testable import HGStore

/// Summaries with varied fields: genesis (no parents), merges, unicode messages.
private func sampleSummaries(_ count: Int = 5) throws -> [OperationSummary] {
    var out: [OperationSummary] = []
    for i in 0..<count {
        let parents = i == 0 ? [] : (0..<min(i, 3)).map { testID("op \(i - 1 - $0)") }.sorted()
        out.append(
            OperationSummary(
                id: testID("op \(i)"), author: try storePeer(i % 3), sequence: UInt64(i + 1),
                timestamp: 1_700_000_000_000 + UInt64(i) * 1000,
                kind: i == 0 ? Payload.Kind.genesis : Payload.Kind.change,
                parents: parents, entryCount: i == 0 ? 0 : i * 7,
                message: i == 0 ? "" : "message \(i) – ünïcödé \(String(repeating: "x", count: i * 10))"))
    }
    return out
}

/// Offsets of each record in a file holding `summaries` after the header.
private func recordOffsets(_ summaries: [OperationSummary]) -> [Range<Int>] {
    var offset = OperationIndex.header.count
    return summaries.map { s in
        let length = OperationIndex.record(s).count
        defer { offset += length }
        return offset..<(offset + length)
    }
}

@Suite("OperationIndex")
struct OperationIndexTests {
    @Test func appendThenReadRoundTrips() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries()
        try OperationIndex.append(path, Array(summaries.prefix(2)), validLength: 0)
        let first = try OperationIndex.read(path)
        #expect(first.entries == Array(summaries.prefix(2)))
        #expect(!first.tornTail)
        try OperationIndex.append(path, Array(summaries.dropFirst(2)), validLength: first.validLength)
        let all = try OperationIndex.read(path)
        #expect(all.entries == summaries)
        #expect(!all.tornTail)
        #expect(all.validLength == (try fileBytes(path)).count)
        #expect(Array(try fileBytes(path).prefix(16)) == Array("hg-bft index v1\n".utf8))
        let (scanned, damage) = try OperationIndex.scan(path)
        #expect(damage.isEmpty)
        #expect(scanned.entries == summaries)
    }

    @Test func anAppendixKnowsTheLengthAndLastChecksumItsAppendLeaves() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries()
        var length = 0
        for part in [Array(summaries.prefix(2)), Array(summaries.dropFirst(2))] {
            let appendix = OperationIndex.Appendix(part, validLength: length)
            try OperationIndex.append(path, appendix)
            let written = try fileBytes(path)
            #expect(appendix.end == written.count)
            #expect(Array(written[appendix.start...]) == appendix.bytes)
            #expect(appendix.lastRecordChecksum != nil)
            #expect(appendix.lastRecordChecksum == OperationIndex.checksum(endingAt: appendix.end, in: path))
            length = appendix.end
        }
        #expect(try OperationIndex.read(path).entries == summaries)
        #expect(OperationIndex.Appendix([], validLength: length).lastRecordChecksum == nil)
        #expect(OperationIndex.Appendix([], validLength: 0).lastRecordChecksum == nil, "a header alone has no record")
    }

    @Test func missingAndEmptyFilesReadAsEmpty() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let missing = try OperationIndex.read(dir.file("nothing"))
        #expect(missing.entries.isEmpty && missing.validLength == 0 && !missing.tornTail)
        try setFileBytes(dir.file("empty"), [])
        let empty = try OperationIndex.read(dir.file("empty"))
        #expect(empty.entries.isEmpty && empty.validLength == 0 && !empty.tornTail)
    }

    @Test func rewriteReplacesTheIndex() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries()
        try OperationIndex.append(path, summaries, validLength: 0)
        try OperationIndex.rewrite(path, Array(summaries.prefix(2)))
        #expect(try OperationIndex.read(path).entries == Array(summaries.prefix(2)))
        #expect(try FileSystem.list(dir.path) == ["operations"])
    }

    @Test func tornTailIsIgnoredAndCutByTheNextAppend() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(4)
        try OperationIndex.append(path, summaries, validLength: 0)
        let full = try fileBytes(path)
        let last = try #require(recordOffsets(summaries).last)
        #expect(last.upperBound == full.count)
        let extra = OperationSummary(
            id: testID("extra"), author: try storePeer(1), sequence: 9, timestamp: 5,
            kind: Payload.Kind.change, parents: [summaries[2].id], entryCount: 1, message: "extra")
        for cut in 1..<last.count {
            try setFileBytes(path, Array(full.dropLast(cut)))
            let (contents, damage) = try OperationIndex.scan(path)
            #expect(damage.isEmpty, "cut \(cut)")
            #expect(contents.tornTail, "cut \(cut)")
            #expect(contents.entries == Array(summaries.dropLast()), "cut \(cut)")
            #expect(contents.validLength == last.lowerBound, "cut \(cut)")
            let read = try OperationIndex.read(path)
            #expect(read.tornTail && read.entries == contents.entries, "cut \(cut)")
            // The next writer truncates the torn record before appending (checked for a few cuts: fsync is slow).
            if [1, 3, 4, 5, last.count / 2, last.count - 4, last.count - 1].contains(cut) {
                try OperationIndex.append(path, [extra], validLength: contents.validLength)
                let after = try OperationIndex.read(path)
                #expect(!after.tornTail, "cut \(cut)")
                #expect(after.entries == Array(summaries.dropLast()) + [extra], "cut \(cut)")
                #expect(
                    try fileBytes(path) == Array(full[0..<last.lowerBound]) + OperationIndex.record(extra), "cut \(cut)"
                )
            }
        }
        // Cutting exactly the whole last record leaves a clean, shorter index.
        try setFileBytes(path, Array(full[0..<last.lowerBound]))
        let clean = try OperationIndex.read(path)
        #expect(!clean.tornTail)
        #expect(clean.entries == Array(summaries.dropLast()))
    }

    @Test func tornHeaderIsATornEmptyIndex() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(2)
        for cut in 1..<OperationIndex.header.count {
            try setFileBytes(path, Array(OperationIndex.header.prefix(cut)))
            let contents = try OperationIndex.read(path)
            #expect(contents.tornTail && contents.entries.isEmpty && contents.validLength == 0, "cut \(cut)")
            try OperationIndex.append(path, summaries, validLength: contents.validLength)
            #expect(try OperationIndex.read(path).entries == summaries, "cut \(cut)")
        }
    }

    @Test func flippedByteInAMiddleRecordIsDamage() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(5)
        try OperationIndex.append(path, summaries, validLength: 0)
        let full = try fileBytes(path)
        let middle = recordOffsets(summaries)[2]
        // Every byte of the payload and of the checksum (not the length field, which would lose the framing).
        for offset in (middle.lowerBound + 4)..<middle.upperBound {
            var bytes = full
            bytes[offset] ^= 0x5A
            try setFileBytes(path, bytes)
            let error = storeError { () throws(StoreError) in _ = try OperationIndex.read(path) }
            guard case let .badFile(errorPath, reason)? = error else {
                Issue.record("byte \(offset): expected badFile, got \(String(describing: error))")
                continue
            }
            #expect(errorPath == path)
            #expect(reason.contains("\(middle.lowerBound)"), "\(reason)")
            let (contents, damage) = try OperationIndex.scan(path)
            #expect(damage.count == 1, "byte \(offset)")
            #expect(
                contents.entries == summaries.enumerated().filter { $0.offset != 2 }.map(\.element), "byte \(offset)")
            #expect(!contents.tornTail)
        }
    }

    @Test func fullLengthLastRecordWithABadChecksumIsDamageNotTorn() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(3)
        try OperationIndex.append(path, summaries, validLength: 0)
        var bytes = try fileBytes(path)
        let last = bytes.count - 1
        bytes[last] ^= 0xFF  // the checksum's last byte
        try setFileBytes(path, bytes)
        let (contents, damage) = try OperationIndex.scan(path)
        #expect(!contents.tornTail)
        #expect(damage.count == 1)
        #expect(damage.first?.contains("checksum") == true)
        #expect(contents.entries == Array(summaries.dropLast()))
        #expect(throws: StoreError.self) { try OperationIndex.read(path) }
    }

    @Test func recordWithValidChecksumButUndecodablePayloadIsDamage() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(2)
        let payload: [UInt8] = [1, 2, 3]
        var bogus: [UInt8] = []
        appendLE32(UInt32(payload.count), to: &bogus)
        bogus += payload
        appendLE32(CRC32.checksum(payload), to: &bogus)
        let bytes =
            OperationIndex.header + OperationIndex.record(summaries[0]) + bogus + OperationIndex.record(summaries[1])
        try setFileBytes(path, bytes)
        let (contents, damage) = try OperationIndex.scan(path)
        #expect(damage.count == 1)
        #expect(contents.entries == summaries)
        #expect(throws: StoreError.self) { try OperationIndex.read(path) }
    }

    @Test func oversizedLengthFieldIsDamage() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(2)
        var huge: [UInt8] = []
        appendLE32(UInt32(OperationIndex.maxRecordBytes + 1), to: &huge)
        try setFileBytes(path, OperationIndex.header + OperationIndex.record(summaries[0]) + huge + [0, 0, 0, 0])
        let (contents, damage) = try OperationIndex.scan(path)
        #expect(damage.count == 1)
        #expect(!contents.tornTail)
        #expect(contents.entries == [summaries[0]])
    }

    @Test func visitHandsOverEveryRecordAsTheSummariesRead() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(7)
        try OperationIndex.append(path, summaries, validLength: 0)
        var seen: [OperationSummary] = []
        var reserved = 0
        let contents = try OperationIndex.visit(path, reserving: { reserved = $0 }) { record in
            #expect(record.parents.count == record.summary.parents.count)
            #expect(Array(record.message) == Array(record.summary.message.utf8))
            seen.append(record.summary)
            return true
        }
        #expect(seen == summaries)
        #expect(seen == (try OperationIndex.read(path)).entries)
        #expect(reserved >= 1)
        #expect(contents.validLength == (try fileBytes(path)).count)
        #expect(!contents.tornTail)
        #expect(contents.entries.isEmpty)
    }

    @Test func visitStopsWhenAskedAndReportsATornTail() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(4)
        try OperationIndex.append(path, summaries, validLength: 0)
        var count = 0
        let stopped = try OperationIndex.visit(path) { _ in
            count += 1
            return count < 2
        }
        #expect(count == 2)
        #expect(stopped.validLength == recordOffsets(summaries)[1].upperBound)

        let full = try fileBytes(path)
        try setFileBytes(path, Array(full.dropLast(3)))
        var ids: [ObjectID] = []
        let torn = try OperationIndex.visit(path) { record in
            ids.append(record.id)
            return true
        }
        #expect(ids == summaries.dropLast().map(\.id))
        #expect(torn.tornTail)
        #expect(torn.validLength == recordOffsets(summaries)[3].lowerBound)
        #expect(try fileBytes(path) == Array(full.dropLast(3)), "reading changes nothing")
    }

    @Test func visitThrowsOnDamageWithoutHandingOverTheDamagedRecord() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(5)
        try OperationIndex.append(path, summaries, validLength: 0)
        var bytes = try fileBytes(path)
        let middle = recordOffsets(summaries)[2]
        bytes[middle.lowerBound + 10] ^= 0x01
        try setFileBytes(path, bytes)
        var ids: [ObjectID] = []
        let error = storeError { () throws(StoreError) in
            _ = try OperationIndex.visit(path) { record in
                ids.append(record.id)
                return true
            }
        }
        guard case let .badFile(errorPath, reason)? = error else {
            Issue.record("expected badFile, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(reason.contains("\(middle.lowerBound)"), "\(reason)")
        #expect(ids == summaries.prefix(2).map(\.id))
        #expect(try fileBytes(path) == bytes, "reading changes nothing")
    }

    @Test func recordsTellWhereTheyEnd() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(5)
        try OperationIndex.append(path, summaries, validLength: 0)
        var ends: [Int] = []
        _ = try OperationIndex.visit(path) { record in
            ends.append(record.end)
            return true
        }
        #expect(ends == recordOffsets(summaries).map(\.upperBound))
        // The checksum field of the record ending at each end, as a graph file records it.
        let bytes = try fileBytes(path)
        for record in recordOffsets(summaries) {
            // The CRC-32 of the record's length field and payload: everything but its last 4 bytes.
            let expected = CRC32.checksum(bytes, range: record.lowerBound..<(record.upperBound - 4))
            #expect(OperationIndex.checksum(endingAt: record.upperBound, in: path) == expected)
        }
        #expect(OperationIndex.checksum(endingAt: bytes.count + 4, in: path) == nil, "past the end of the file")
        #expect(OperationIndex.checksum(endingAt: 10, in: path) == nil, "inside the header")
        #expect(OperationIndex.checksum(endingAt: 1, in: dir.file("missing")) == nil)
    }

    @Test func visitFromAnOffsetReadsOnlyTheRecordsAfterIt() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(6)
        try OperationIndex.append(path, summaries, validLength: 0)
        let offsets = recordOffsets(summaries)
        let boundary = offsets[2].upperBound
        let checksum = try #require(OperationIndex.checksum(endingAt: boundary, in: path))
        var seen: [OperationSummary] = []
        let tail = try #require(
            try OperationIndex.visit(path, from: boundary, lastChecksum: checksum) { record in
                seen.append(record.summary)
                return true
            })
        #expect(seen == Array(summaries[3...]))
        #expect(tail.validLength == offsets[5].upperBound)
        #expect(!tail.tornTail)
        // At the end of the file: nothing to read, and still a match.
        let atEnd = try #require(OperationIndex.checksum(endingAt: offsets[5].upperBound, in: path))
        let empty = try OperationIndex.visit(path, from: offsets[5].upperBound, lastChecksum: atEnd) { _ in
            Issue.record("no record lies after the end")
            return true
        }
        #expect(empty?.validLength == offsets[5].upperBound)
        // Another checksum (an index rewritten since), or an offset past the end: nil, nothing visited.
        var visited = 0
        #expect(
            try OperationIndex.visit(path, from: boundary, lastChecksum: checksum ^ 1) { _ in
                visited += 1
                return true
            } == nil)
        #expect(
            try OperationIndex.visit(path, from: offsets[5].upperBound + 40, lastChecksum: checksum) { _ in
                visited += 1
                return true
            } == nil)
        #expect(visited == 0)
        // A torn tail after the offset is reported as when reading the whole file.
        let full = try fileBytes(path)
        try setFileBytes(path, Array(full.dropLast(3)))
        seen = []
        let torn = try #require(
            try OperationIndex.visit(path, from: boundary, lastChecksum: checksum) { record in
                seen.append(record.summary)
                return true
            })
        #expect(seen == Array(summaries[3..<5]))
        #expect(torn.tornTail)
        #expect(torn.validLength == offsets[5].lowerBound)
        // Damage after the offset throws, naming its offset in the file.
        var damaged = full
        damaged[offsets[4].lowerBound + 9] ^= 0x01
        try setFileBytes(path, damaged)
        let error = storeError { () throws(StoreError) in
            _ = try OperationIndex.visit(path, from: boundary, lastChecksum: checksum) { _ in true }
        }
        guard case let .badFile(_, reason)? = error else {
            Issue.record("expected badFile, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("\(offsets[4].lowerBound)"), "\(reason)")
        #expect(try fileBytes(path) == damaged, "reading changes nothing")
    }

    @Test func badHeader() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("operations")
        let summaries = try sampleSummaries(2)
        var bytes = OperationIndex.header + summaries.flatMap(OperationIndex.record)
        bytes[3] = UInt8(ascii: "X")
        try setFileBytes(path, bytes)
        let error = storeError { () throws(StoreError) in _ = try OperationIndex.read(path) }
        guard case let .badFile(errorPath, reason)? = error else {
            Issue.record("expected badFile, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(reason.contains("header"))
        let (contents, damage) = try OperationIndex.scan(path)
        #expect(contents.entries.isEmpty && !contents.tornTail)
        #expect(damage.count == 1)
        // A short file that is not a prefix of the header is not torn either.
        try setFileBytes(path, Array("garbage".utf8))
        #expect(throws: StoreError.self) { try OperationIndex.read(path) }
    }
}
