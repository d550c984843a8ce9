import Foundation
import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGStore

private func isBadFile(_ error: StoreError?, path: String) -> Bool {
    if case let .badFile(errorPath, _)? = error { return errorPath == path }
    return false
}

@Suite("Refs")
struct RefsTests {
    @Test func headsRoundTrip() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("heads")
        let ids = (0..<5).map { testID("head \($0)") }
        let heads = Refs.Heads(ids: ids, stamp: 1234)
        #expect(heads.ids == ids.sorted(), "init sorts")
        let encoded = Refs.encodeHeads(heads)
        let text = String(decoding: encoded, as: UTF8.self)
        #expect(text.hasPrefix("hg-bft heads v1 1234\n"))
        #expect(text.hasSuffix("\n"))
        try FileSystem.writeAtomically(path, encoded)
        #expect(try Refs.readHeads(path) == heads)
        // No heads at all is a valid file too.
        try FileSystem.writeAtomically(path, Refs.encodeHeads(Refs.Heads(ids: [], stamp: 0)))
        #expect(try Refs.readHeads(path) == Refs.Heads(ids: [], stamp: 0))
        #expect(try Refs.readHeads(dir.file("missing")) == nil)
    }

    @Test(arguments: [
        "unsorted", "duplicate", "uppercase", "missing newline", "bad magic", "bad stamp", "negative stamp",
        "short id", "blank line", "trailing space", "empty", "plus stamp", "leading zero stamp",
    ])
    func headsRejects(_ defect: String) throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("heads")
        let ids = [testID("a"), testID("b")].sorted()
        let lo = ids[0].hex
        let hi = ids[1].hex
        let text: String
        switch defect {
        case "unsorted": text = "hg-bft heads v1 3\n\(hi)\n\(lo)\n"
        case "duplicate": text = "hg-bft heads v1 3\n\(lo)\n\(lo)\n"
        case "uppercase": text = "hg-bft heads v1 3\n\(lo.uppercased())\n"
        case "missing newline": text = "hg-bft heads v1 3\n\(lo)"
        case "bad magic": text = "hg-bft heads v2 3\n\(lo)\n"
        case "bad stamp": text = "hg-bft heads v1 x\n\(lo)\n"
        case "negative stamp": text = "hg-bft heads v1 -1\n\(lo)\n"
        case "short id": text = "hg-bft heads v1 3\n\(lo.dropLast())\n"
        case "blank line": text = "hg-bft heads v1 3\n\(lo)\n\n\(hi)\n"
        case "trailing space": text = "hg-bft heads v1 3\n\(lo) \n"
        case "plus stamp": text = "hg-bft heads v1 +3\n\(lo)\n"
        case "leading zero stamp": text = "hg-bft heads v1 03\n\(lo)\n"
        default: text = ""
        }
        try setFileBytes(path, Array(text.utf8))
        let error = storeError { () throws(StoreError) in _ = try Refs.readHeads(path) }
        #expect(isBadFile(error, path: path), "\(defect): \(String(describing: error))")
    }

    @Test func peerRoundTrip() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("peer")
        let tips = [Refs.Tip(sequence: 12, id: testID("x")), Refs.Tip(sequence: 12, id: testID("w"))]
        let ref = Refs.PeerRef(tips: tips, stamp: 977)
        let encoded = Refs.encodePeer(ref)
        let lines = String(decoding: encoded, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first == "hg-bft ref v1 977")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("12 ") })
        try FileSystem.writeAtomically(path, encoded)
        #expect(try Refs.readPeer(path) == ref)
        #expect(try Refs.readPeer(path)?.tips == tips.sorted())
        #expect(try Refs.readPeer(dir.file("missing")) == nil)
    }

    @Test(arguments: [
        "missing newline", "uppercase", "leading zero", "unsorted", "empty", "only header", "three fields",
        "no id", "negative", "short id", "plus sign", "mixed sequences", "duplicate", "blank line", "bad stamp",
        "no header",
    ])
    func peerRejects(_ defect: String) throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("peer")
        let ids = [testID("a"), testID("b")].sorted()
        let a = ids[0].hex
        let b = ids[1].hex
        let h = "hg-bft ref v1 10\n"
        let text: String
        switch defect {
        case "missing newline": text = h + "1 \(a)"
        case "uppercase": text = h + "1 \(a.uppercased())\n"
        case "leading zero": text = h + "01 \(a)\n"
        case "unsorted": text = h + "1 \(b)\n1 \(a)\n"
        case "empty": text = ""
        case "only header": text = h
        case "three fields": text = h + "1 \(a) extra\n"
        case "no id": text = h + "1\n"
        case "negative": text = h + "-1 \(a)\n"
        case "short id": text = h + "1 \(a.dropLast())\n"
        case "mixed sequences": text = h + "1 \(a)\n2 \(b)\n"
        case "duplicate": text = h + "1 \(a)\n1 \(a)\n"
        case "blank line": text = h + "1 \(a)\n\n1 \(b)\n"
        case "bad stamp": text = "hg-bft ref v1 010\n1 \(a)\n"
        case "no header": text = "1 \(a)\n"
        default: text = h + "+1 \(a)\n"
        }
        try setFileBytes(path, Array(text.utf8))
        let error = storeError { () throws(StoreError) in _ = try Refs.readPeer(path) }
        #expect(isBadFile(error, path: path), "\(defect): \(String(describing: error))")
    }

    @Test func deriveHeadsAndTips() throws {
        let keyA = try authorKey(0)
        let keyB = try authorKey(1)
        let g = try signedGenesis(key: keyA)
        let a2 = try signedChange(key: keyA, sequence: 2, parents: [g.id], text: "a2")
        // Author B equivocates: two operations with sequence 1.
        let b1 = try signedChange(key: keyB, sequence: 1, parents: [g.id], text: "b1")
        let b1x = try signedChange(key: keyB, sequence: 1, parents: [g.id], text: "b1 again")
        let a3 = try signedChange(key: keyA, sequence: 3, parents: [a2.id, b1.id], text: "a3")
        let entries = [g, a2, b1, b1x, a3].map(OperationSummary.init)
        let derived = Refs.derive(from: entries)
        #expect(derived.heads == [a3.id, b1x.id].sorted())
        let peerA = try storePeer(0)
        let peerB = try storePeer(1)
        #expect(derived.tips.count == 2)
        #expect(derived.tips[peerA] == [Refs.Tip(sequence: 3, id: a3.id)])
        #expect(derived.tips[peerB] == [Refs.Tip(sequence: 1, id: b1.id), Refs.Tip(sequence: 1, id: b1x.id)].sorted())
        // The result does not depend on the order of the records.
        let reversed = Refs.derive(from: entries.reversed())
        #expect(reversed.heads == derived.heads)
        #expect(reversed.tips == derived.tips)
        // B's tips survive an encode/read round trip.
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let tipsB = try #require(derived.tips[peerB])
        try FileSystem.writeAtomically(dir.file("b"), Refs.encodePeer(.init(tips: tipsB, stamp: 5)))
        #expect(try Refs.readPeer(dir.file("b"))?.tips == tipsB)
        // Once B moves on, it has one tip again.
        let b2 = try signedChange(key: keyB, sequence: 2, parents: [b1.id, b1x.id], text: "b2")
        let after = Refs.derive(from: entries + [OperationSummary(b2)])
        #expect(after.tips[peerB] == [Refs.Tip(sequence: 2, id: b2.id)])
        #expect(after.heads == [a3.id, b2.id].sorted())
        #expect(Refs.derive(from: []).heads.isEmpty)
    }
}
