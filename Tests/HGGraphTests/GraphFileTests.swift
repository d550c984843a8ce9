import HGCompression
import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGGraph

/// Summaries of a random history, with messages (some not ASCII) and entry counts, as the
/// index holds them.
private func summaries(seed: UInt64) throws -> [OperationSummary] {
    let history = try randomHistory(seed: seed)
    return history.ops.enumerated().map { i, op in
        OperationSummary(
            id: op.id, author: op.author, sequence: op.sequence, timestamp: op.timestamp, kind: op.payload.kind,
            parents: op.parents, entryCount: i % 7, message: i % 3 == 0 ? "" : "change \(i) – ünï")
    }
}

/// Every public view of two graphs agrees.
private func expectSameGraph(_ a: Graph, _ b: Graph, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Array(a.nodes) == Array(b.nodes), sourceLocation: sourceLocation)
    #expect(a.levels == b.levels, sourceLocation: sourceLocation)
    #expect(a.heads == b.heads, sourceLocation: sourceLocation)
    #expect(a.authors == b.authors, sourceLocation: sourceLocation)
    #expect(a.nodesByAuthor() == b.nodesByAuthor(), sourceLocation: sourceLocation)
    for n in 0..<min(a.count, b.count) {
        #expect(Array(a.parents[n]) == Array(b.parents[n]), sourceLocation: sourceLocation)
        #expect(a.children[n] == b.children[n], sourceLocation: sourceLocation)
        #expect(a.number(of: a.ids[n]) == n, sourceLocation: sourceLocation)
    }
}

/// `bytes` with its checksum recomputed: a file whose columns were edited on purpose, which
/// only the column checks can refuse.
private func resealed(_ bytes: [UInt8]) -> [UInt8] {
    var body = Array(bytes.dropLast(4))
    let crc = CRC32.checksum(body)
    for shift in stride(from: 0, to: 32, by: 8) { body.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
    return body
}

private func putLE32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
    for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> UInt32(8 * k)) }
}

private func readLE32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
}

/// Where each column starts in an encoded file.
private struct Offsets {
    let nodes: Int, authors: Int, links: Int, messageBytes: Int
    let authorNumbers: Int, entryCounts: Int, parentEnds: Int, parentLinks: Int, messageEnds: Int, sortedNodes: Int

    init(_ bytes: [UInt8]) {
        nodes = Int(readLE32(bytes, at: 28))
        authors = Int(readLE32(bytes, at: 32))
        links = Int(readLE32(bytes, at: 36))
        messageBytes = Int(readLE32(bytes, at: 40))
        let ids = 48 + 32 * authors
        authorNumbers = ids + 32 * nodes
        let sequences = authorNumbers + 4 * nodes
        let kinds = sequences + 16 * nodes
        entryCounts = kinds + nodes
        parentEnds = entryCounts + 4 * nodes
        parentLinks = parentEnds + 4 * nodes
        messageEnds = parentLinks + 4 * links
        sortedNodes = messageEnds + 8 * nodes + messageBytes
    }
}

@Suite("Graph file")
struct GraphFileTests {
    @Test func decodingGivesBackTheGraphItsStampAndChecksum() throws {
        for seed in UInt64(1)...6 {
            let graph = try Graph(try summaries(seed: seed * 17))
            let bytes = GraphFile(graph: graph, stamp: 123_456 + Int(seed), lastRecordChecksum: 0xdead_beef).encoded()
            #expect(Array(bytes.prefix(16)) == Array("hg-bft graph v1\n".utf8))
            #expect(GraphFile.peekStamp(Array(bytes.prefix(GraphFile.prefixBytes))) == 123_456 + Int(seed))
            let file = try #require(GraphFile.decode(bytes), "seed \(seed)")
            #expect(file.stamp == 123_456 + Int(seed))
            #expect(file.lastRecordChecksum == 0xdead_beef)
            expectSameGraph(file.graph, graph)
            #expect(file.graph.number(of: ObjectID(hashing: Array("absent".utf8))) == nil)
            // The file's size is what FORMAT.md 5.9.2 gives: 48 + 32A + 73N + 4P + M + 4.
            let links = (0..<graph.count).reduce(0) { $0 + graph.parents[$1].count }
            let messages = (0..<graph.count).reduce(0) { $0 + graph.message($1).utf8.count }
            #expect(bytes.count == 48 + 32 * graph.authors.count + 73 * graph.count + 4 * links + messages + 4)
        }
        let empty = try #require(
            GraphFile.decode(GraphFile(graph: Graph(), stamp: 16, lastRecordChecksum: 0).encoded()))
        #expect(empty.graph.count == 0)
    }

    @Test func aDecodedGraphTakesMoreNodesAndEncodesAsIfBuiltInOneGo() throws {
        let all = try summaries(seed: 5)
        let cut = all.count * 2 / 3
        var extended = try #require(
            GraphFile.decode(
                GraphFile(
                    graph: try Graph(Array(all[..<cut])), stamp: 99,
                    lastRecordChecksum: 7
                ).encoded())
        ).graph
        for s in all[cut...] { try extended.append(s) }
        let whole = try Graph(all)
        expectSameGraph(extended, whole)
        // Appending an operation already held, whether read from the file or appended, throws
        // and adds nothing.
        #expect(throws: Graph.GraphError.duplicate(all[1].id)) { try extended.append(all[1]) }
        #expect(throws: Graph.GraphError.duplicate(all[cut].id)) { try extended.append(all[cut]) }
        #expect(extended.count == all.count)
        // The sorted list of the file merged with the appended nodes is the one built from scratch.
        #expect(
            GraphFile(graph: extended, stamp: 1, lastRecordChecksum: 2).encoded()
                == GraphFile(graph: whole, stamp: 1, lastRecordChecksum: 2).encoded())
    }

    @Test func lookupsFindEveryIdAmongManyAndAmongIdsThatShareTheirFirstBits() throws {
        // Ids that are not hash outputs: 3,000 spread evenly, then 300 that share their first 64
        // bits and so crowd a single bucket.
        func id(_ w0: UInt64, _ w3: UInt64) -> ObjectID { ObjectID(raw: Bytes32(w0: w0, w1: 1, w2: 2, w3: w3)) }
        let author = PeerID(key: Bytes32(w0: 9, w1: 9, w2: 9, w3: 9))
        var rng = SeededRNG(seed: 4)
        var ids = (0..<3000).map { _ in id(UInt64.random(in: .min ... .max, using: &rng), 0) }
        ids += (0..<300).map { id(0x8000_0000_0000_0000, UInt64($0)) }
        var graph = Graph()
        var previous: ObjectID?
        for (n, node) in ids.enumerated() {
            try graph.append(
                OperationSummary(
                    id: node, author: author, sequence: UInt64(n + 1), timestamp: 0, kind: 2,
                    parents: previous.map { [$0] } ?? [], entryCount: 0, message: ""))
            previous = node
        }
        let read = try #require(GraphFile.decode(GraphFile(graph: graph, stamp: 1, lastRecordChecksum: 0).encoded()))
            .graph
        #expect(read.sortedNodes.count == ids.count)
        for (n, node) in ids.enumerated() { #expect(read.number(of: node) == n) }
        for _ in 0..<200 { #expect(!read.contains(id(UInt64.random(in: .min ... .max, using: &rng), 5))) }
        #expect(!read.contains(id(0x8000_0000_0000_0000, 300)))
        #expect(!read.contains(id(.max, .max)))
    }

    @Test func anyDamagedByteIsRefused() throws {
        let bytes = GraphFile(graph: try Graph(try summaries(seed: 3)), stamp: 500, lastRecordChecksum: 1).encoded()
        for offset in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
            var damaged = bytes
            damaged[offset] ^= 0x20
            #expect(GraphFile.decode(damaged) == nil, "byte \(offset)")
        }
        #expect(GraphFile.decode(Array(bytes.dropLast())) == nil)
        #expect(GraphFile.decode(bytes + [0]) == nil)
        #expect(GraphFile.decode([]) == nil)
        #expect(GraphFile.peekStamp(Array(bytes.prefix(10))) == nil)
    }

    @Test func columnsThatBreakTheGraphsRulesAreRefusedEvenWithAGoodChecksum() throws {
        let graph = try Graph(try summaries(seed: 8))
        let bytes = GraphFile(graph: graph, stamp: 500, lastRecordChecksum: 1).encoded()
        let o = Offsets(bytes)
        #expect(o.nodes == graph.count)
        #expect(GraphFile.decode(resealed(bytes)) != nil, "resealing alone changes nothing")
        func refused(_ what: String, _ edit: (inout [UInt8]) -> Void) {
            var edited = bytes
            edit(&edited)
            #expect(GraphFile.decode(resealed(edited)) == nil, "\(what)")
        }
        // The node with the most parents names itself, then a later node, as its first parent.
        let merge = try #require((0..<graph.count).first { graph.parents[$0].count > 1 })
        let firstLink = Int(graph.parentStart[merge])
        refused("a parent that is the node itself") {
            putLE32(UInt32(merge), at: o.parentLinks + 4 * firstLink, in: &$0)
        }
        refused("a parent after its child") { putLE32(UInt32(merge + 1), at: o.parentLinks + 4 * firstLink, in: &$0) }
        refused("a parent end that goes backwards") { putLE32(0, at: o.parentEnds + 4 * (graph.count - 1), in: &$0) }
        refused("parent ends that miss the last link") {
            putLE32(
                readLE32($0, at: o.parentEnds + 4 * (graph.count - 1)) - 1, at: o.parentEnds + 4 * (graph.count - 1),
                in: &$0)
        }
        refused("an author number past the table") { putLE32(UInt32(o.authors), at: o.authorNumbers, in: &$0) }
        refused("an author that wrote nothing") {
            for n in 0..<o.nodes where readLE32($0, at: o.authorNumbers + 4 * n) == 1 {
                putLE32(0, at: o.authorNumbers + 4 * n, in: &$0)
            }
        }
        refused("an entry count over the limit") {
            putLE32(UInt32(Limits.maxChangeEntries + 1), at: o.entryCounts, in: &$0)
        }
        refused("a message end that goes backwards") {
            for k in 0..<8 { $0[o.messageEnds + 8 * (o.nodes - 1) + k] = 0 }
        }
        refused("two sorted entries swapped") {
            let a = readLE32($0, at: o.sortedNodes)
            let b = readLE32($0, at: o.sortedNodes + 4)
            putLE32(b, at: o.sortedNodes, in: &$0)
            putLE32(a, at: o.sortedNodes + 4, in: &$0)
        }
        refused("a node listed twice in the sorted list") {
            putLE32(readLE32($0, at: o.sortedNodes), at: o.sortedNodes + 4, in: &$0)
        }
        refused("a sorted entry past the nodes") {
            putLE32(UInt32(o.nodes), at: o.sortedNodes + 4 * (o.nodes - 1), in: &$0)
        }
        refused("a node count the size does not match") { putLE32(UInt32(o.nodes + 1), at: 28, in: &$0) }
        refused("a stamp past Int.max") { for k in 16..<24 { $0[k] = 0xff } }
        refused("two authors that are one") {
            for k in 0..<32 { $0[48 + 32 + k] = $0[48 + k] }
        }
        refused("a file cut short") { $0.removeLast(5) }
    }
}
