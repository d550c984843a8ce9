// Fuzz target `graph-file`: the bytes of `index/graph` (FORMAT.md 5.9.2), the DAG's columns that
// every command loads instead of the whole index when the file is usable.
//
// The trailing CRC-32 is recomputed over each input before it is decoded: otherwise nearly every
// mutation would stop at the checksum, and the column checks behind it (the ones that keep a
// crafted file from building a graph that breaks the invariants the rest of the program relies
// on) would go untested. The checksum itself is covered by the unit tests.
//
// Oracles, beyond "no trap and no AddressSanitizer report":
//  - decoding is strict, so an accepted file is canonical: encoding the decoded graph again
//    gives back exactly the input;
//  - the graph read from the file is the graph that appending the same operations one by one
//    builds (what reading the index does): the same fields, parents, levels, children and heads
//    for every node, and every id found at its own node number;
//  - the decoded graph keeps working: look-ups of absent ids, ancestry, and appending a node.
import HGCompression
import HGCore
@testable import HGGraph  // the columns, to compare the two graphs exactly

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 4 {
        let crc = CRC32.checksum(bytes, range: 0..<(bytes.count - 4))
        for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * k)) }
    }
    guard let file = GraphFile.decode(bytes) else { return 0 }
    precondition(file.encoded() == bytes, "a graph file decoded from a non-canonical encoding")
    let g = file.graph

    var reference = Graph()
    for n in 0..<g.count {
        do {
            try reference.append(g.summary(at: n))
        } catch {
            preconditionFailure("the file holds a graph that appending its operations refuses: \(error)")
        }
    }
    precondition(reference.count == g.count && reference.ids == g.ids && reference.levels == g.levels)
    precondition(reference.heads == g.heads, "heads differ")
    for n in 0..<g.count {
        precondition(g.summary(at: n) == reference.summary(at: n))
        precondition(g.message(n) == reference.message(n))
        precondition(Array(g.parents[n]) == Array(reference.parents[n]), "parents of \(n) differ")
        precondition(g.children[n].sorted() == reference.children[n].sorted(), "children of \(n) differ")
        precondition(g.childCount(n) == reference.childCount(n))
        precondition(g.number(of: g.ids[n]) == n, "node \(n) is not found by its id")
    }
    for author in Set(g.authors) {
        precondition(g.nodes(by: author) == reference.nodes(by: author), "nodes by author differ")
    }

    // Absent ids (all bits flipped in the first id, and all zeros) are not found.
    if let first = g.ids.first {
        let flipped = ObjectID(raw: Bytes32(w0: ~first.raw.w0, w1: ~first.raw.w1, w2: ~first.raw.w2, w3: ~first.raw.w3))
        precondition(g.contains(flipped) == g.ids.contains(flipped))
    }
    precondition(g.contains(ObjectID(raw: .zero)) == g.ids.contains(ObjectID(raw: .zero)))
    if g.count >= 2 {
        let last = g.count - 1
        precondition(g.isAncestor(0, of: last) == reference.isAncestor(0, of: last))
        precondition(g.ancestorMask(of: [last]) == reference.ancestorMask(of: [last]))
    }

    // A node appended after the file's: it finds its parents (the heads) and is found in turn.
    var extended = g
    let heads = g.heads
    let id = ObjectID(hashing: Array("graph-file fuzz \(g.count)".utf8))
    if !g.contains(id), let author = g.authors.first {
        do {
            let n = try extended.append(OperationSummary(id: id, author: author, sequence: 1, timestamp: 0, kind: 1,
                                                         parents: heads, entryCount: 0, message: ""))
            precondition(n == g.count && extended.number(of: id) == n && extended.heads == [id])
        } catch {
            preconditionFailure("appending to a decoded graph failed: \(error)")
        }
    }
    return 0
}
