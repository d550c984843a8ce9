import HGCore
import HGGraph
import Testing

@testable import HGSync

/// What a side sends in the Bloom round (PROTOCOL.md §3, step 3), on a chain of operations of
/// which the peer has the first two.
@Suite("Choosing what to send in the Bloom round")
struct BloomRoundTests {
    /// genesis ← op 1 ← … ← op `count - 1`, by one author.
    static func chain(_ count: Int) throws -> (Graph, [ObjectID]) {
        var graph = Graph()
        var ids: [ObjectID] = []
        for n in 0..<count {
            let id = ObjectID(raw: Bytes32(w0: UInt64(n + 1), w1: 0x5eed, w2: 0, w3: 0))
            _ = try graph.append(
                OperationSummary(
                    id: id, author: PeerID(key: .zero), sequence: UInt64(n + 1), timestamp: 0,
                    kind: 0, parents: ids.last.map { [$0] } ?? [], entryCount: 0, message: ""))
            ids.append(id)
        }
        return (graph, ids)
    }

    /// A filter with room for a thousand entries holding only `ids`: no false positive among the
    /// chain's other ids (checked), so that each case tests what it names.
    static func filter(holding ids: [ObjectID], chain: [ObjectID]) -> BloomFilter {
        var filter = BloomFilter(expectedEntries: 1000, salt: Array(0..<16))
        for id in ids { filter.insert(id) }
        for id in chain where !ids.contains(id) { #expect(!filter.mightContain(id)) }
        return filter
    }

    static func toSend(_ graph: Graph, shared: ObjectID, filter: BloomFilter) -> [ObjectID] {
        let have = Have(heads: [shared], sharedHeads: [shared], filter: filter, filterEntries: 1)
        return SyncSession.operationsToSend(graph: graph, have: have).map { graph.ids[$0] }
    }

    @Test func operationsTheFilterLacksGoWithTheirDescendants() throws {
        let (graph, ids) = try Self.chain(6)
        #expect(Self.toSend(graph, shared: ids[1], filter: Self.filter(holding: [], chain: ids)) == Array(ids[2...]))
        // The filter claims op 4, but op 3 before it is missing: op 4 goes as its descendant.
        #expect(
            Self.toSend(graph, shared: ids[1], filter: Self.filter(holding: [ids[4]], chain: ids)) == Array(ids[2...]))
    }

    @Test func theFirstOperationPastWhatThePeerHasGoesEvenIfTheFilterClaimsIt() throws {
        let (graph, ids) = try Self.chain(6)
        // A false positive at the start of the new work: it goes all the same, and what follows
        // it goes because the filter lacks it. Before, the whole chain waited for a NEED round.
        #expect(
            Self.toSend(graph, shared: ids[1], filter: Self.filter(holding: [ids[2]], chain: ids)) == Array(ids[2...]))
        // A peer that really has everything (from a third replica, say) costs that one operation.
        #expect(
            Self.toSend(graph, shared: ids[1], filter: Self.filter(holding: Array(ids[2...]), chain: ids)) == [ids[2]])
        // Nothing past what the peer has: nothing to send.
        #expect(Self.toSend(graph, shared: ids[5], filter: Self.filter(holding: [], chain: ids)) == [])
        // Nothing known to be shared (the peer's heads are new to us): the genesis, which the
        // filter claims, is not sent, nor anything the filter claims after it.
        let unknown = ObjectID(raw: Bytes32(w0: 99, w1: 0, w2: 0, w3: 0))
        #expect(Self.toSend(graph, shared: unknown, filter: Self.filter(holding: ids, chain: ids)) == [])
        #expect(
            Self.toSend(graph, shared: unknown, filter: Self.filter(holding: Array(ids[..<3]), chain: ids))
                == Array(ids[3...]))
    }
}
