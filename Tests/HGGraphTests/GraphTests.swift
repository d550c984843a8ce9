import HGCore
import HGCrypto
import HGTestSupport
import Testing

@testable import HGGraph

/// g ← a ← c ← m, g ← b ← m: a fork after g, merged by m; d is a second head on b.
private struct Diamond {
    let h: History
    let g: Operation, a: Operation, b: Operation, c: Operation, m: Operation, d: Operation

    init() throws {
        h = try History(authors: 2)
        g = try h.genesis()
        a = try h.change(by: 0, parents: [g], [try write("f", "a")])
        b = try h.change(by: 1, parents: [g], [try write("f", "b")])
        c = try h.change(by: 0, parents: [a], [try write("f", "c")])
        m = try h.change(by: 0, parents: [c, b], [try write("f", "m")])
        d = try h.change(by: 1, parents: [b], [try write("x", "d")])
    }
}

@Suite("Graph")
struct GraphTests {
    @Test func headsAreTheNodesWithoutChildrenSorted() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        #expect(graph.count == 6)
        #expect(graph.heads == [t.m.id, t.d.id].sorted())
        #expect(try t.h.graph([t.g]).heads == [t.g.id])
        #expect(try Graph([]).heads.isEmpty)
    }

    @Test func fieldsOfEachNodeAreTheSummaryItWasBuiltFrom() throws {
        let t = try Diamond()
        let ops = [t.g, t.a, t.b, t.c, t.m, t.d]
        // Summaries with messages (one not ASCII) and entry counts, as the index holds them.
        let summaries = ops.enumerated().map { i, op in
            OperationSummary(
                id: op.id, author: op.author, sequence: op.sequence, timestamp: op.timestamp + UInt64(i),
                kind: op.payload.kind, parents: op.parents, entryCount: i * 3,
                message: i == 0 ? "" : "change \(i) – ünï")
        }
        let graph = try Graph(summaries)
        #expect(Array(graph.nodes) == summaries)
        #expect(graph.ids == ops.map(\.id))
        for (n, s) in summaries.enumerated() {
            #expect(graph.summary(at: n) == s)
            #expect(graph.summary(s.id) == s)
            #expect(graph.author(n) == s.author)
            #expect(graph.sequence(n) == s.sequence)
            #expect(graph.timestamp(n) == s.timestamp)
            #expect(graph.kind(n) == s.kind)
            #expect(graph.message(n) == s.message)
        }
        #expect(graph.authors == [t.g.author, t.b.author])
        let byAuthor = graph.nodesByAuthor()
        #expect(byAuthor[t.g.author] == [0, 1, 3, 4])
        #expect(byAuthor[t.b.author] == [2, 5])
        #expect(graph.nodesByAuthor([t.b.author]) == [t.b.author: [2, 5]])
        #expect(graph.nodes(by: t.a.author) == [0, 1, 3, 4])
    }

    @Test func appendingFromPackedIDsMatchesAppendingSummaries() throws {
        let t = try Diamond()
        let summaries = [t.g, t.a, t.b, t.c, t.m, t.d].map(OperationSummary.init)
        var packed = Graph()
        for s in summaries {
            let bytes = s.parents.flatMap(\.raw.bytes)
            let message = Array(s.message.utf8)
            try bytes.withUnsafeBytes { raw in
                try message.withUnsafeBufferPointer { text in
                    let parents = try #require(PackedIDs(raw, count: s.parents.count))
                    try packed.append(
                        id: s.id, author: s.author, sequence: s.sequence, timestamp: s.timestamp, kind: s.kind,
                        parents: parents, entryCount: s.entryCount, message: text)
                }
            }
        }
        let whole = try Graph(summaries)
        #expect(Array(packed.nodes) == Array(whole.nodes))
        #expect(packed.levels == whole.levels)
        #expect(packed.heads == whole.heads)
        // A parent not in the graph adds nothing.
        let orphan = [UInt8](repeating: 7, count: 32)
        try orphan.withUnsafeBytes { raw in
            let unknown = try #require(PackedIDs(raw, count: 1))
            #expect(throws: Graph.GraphError.self) {
                try packed.append(
                    id: ObjectID(hashing: Array("orphan".utf8)), author: t.g.author, sequence: 9, timestamp: 0,
                    kind: 2, parents: unknown, entryCount: 0, message: UnsafeBufferPointer(start: nil, count: 0))
            }
            #expect(
                PackedIDs(UnsafeRawBufferPointer(rebasing: raw[1...]), count: 1) == nil,
                "ids beyond the buffer are refused")
        }
        #expect(packed.count == summaries.count)
    }

    @Test func levelsAreLongestPathFromARoot() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        func level(_ op: Operation) throws -> Int32 { graph.levels[try #require(graph.number(of: op.id))] }
        #expect(try level(t.g) == 0)
        #expect(try level(t.a) == 1)
        #expect(try level(t.b) == 1)
        #expect(try level(t.c) == 2)
        #expect(try level(t.m) == 3)
        #expect(try level(t.d) == 2)
    }

    @Test func isAncestor() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        func n(_ op: Operation) throws -> Int { try #require(graph.number(of: op.id)) }
        #expect(graph.isAncestor(try n(t.g), of: try n(t.m)))
        #expect(graph.isAncestor(try n(t.a), of: try n(t.m)))
        #expect(graph.isAncestor(try n(t.b), of: try n(t.m)))
        #expect(graph.isAncestor(try n(t.b), of: try n(t.d)))
        #expect(!graph.isAncestor(try n(t.m), of: try n(t.g)), "descendant is not an ancestor")
        #expect(!graph.isAncestor(try n(t.a), of: try n(t.b)), "concurrent")
        #expect(!graph.isAncestor(try n(t.a), of: try n(t.d)), "concurrent at a lower level")
        #expect(!graph.isAncestor(try n(t.c), of: try n(t.d)), "concurrent at the same level")
        #expect(!graph.isAncestor(try n(t.m), of: try n(t.m)), "not a strict ancestor of itself")
    }

    @Test func isAncestorAgreesWithTheDefinitionOnRandomDAGs() throws {
        for seed in UInt64(1)...5 {
            let h = try randomHistory(seed: seed * 31)
            let graph = try h.graph()
            for x in 0..<graph.count {
                let xid = graph.nodes[x].id
                for y in 0..<graph.count {
                    let expected = h.ancestors[graph.nodes[y].id]?.contains(xid) == true
                    if graph.isAncestor(x, of: y) != expected {
                        Issue.record("seed \(seed): isAncestor(\(x), of: \(y)) should be \(expected)")
                    }
                }
            }
        }
    }

    @Test func ancestors() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        func n(_ op: Operation) throws -> Int { try #require(graph.number(of: op.id)) }
        #expect(graph.ancestors(of: [try n(t.m)]) == Set(try [t.g, t.a, t.b, t.c].map(n)))
        #expect(graph.ancestors(of: [try n(t.d)]) == Set(try [t.g, t.b].map(n)))
        #expect(graph.ancestors(of: [try n(t.c), try n(t.d)]) == Set(try [t.g, t.a, t.b].map(n)))
        #expect(graph.ancestors(of: [try n(t.g)]).isEmpty)
        #expect(graph.ancestors(of: []).isEmpty)
    }

    @Test func lookups() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        #expect(graph.contains(t.c.id))
        #expect(!graph.contains(blobID("nope")))
        #expect(graph.number(of: blobID("nope")) == nil)
        #expect(graph.summary(t.c.id) == OperationSummary(t.c))
        let m = try #require(graph.number(of: t.m.id))
        let parentIDs = graph.parents[m].map { graph.nodes[Int($0)].id }
        #expect(parentIDs == t.m.parents)
        let b = try #require(graph.number(of: t.b.id))
        #expect(Set(graph.children[b].map { graph.nodes[Int($0)].id }) == [t.m.id, t.d.id])
    }

    @Test func newestFirstPutsChildrenBeforeParentsAndIsDeterministic() throws {
        for seed in UInt64(1)...8 {
            let h = try randomHistory(seed: seed * 101)
            let graph = try h.graph()
            let order = graph.newestFirst()
            #expect(order.count == graph.count)
            #expect(Set(order).count == graph.count)
            var position = [Int](repeating: 0, count: graph.count)
            for (i, n) in order.enumerated() { position[n] = i }
            for child in 0..<graph.count {
                for p in graph.parents[child] {
                    #expect(position[child] < position[Int(p)], "seed \(seed)")
                }
            }
            let ids = order.map { graph.nodes[$0].id }
            var rng = SeededRNG(seed: seed)
            for _ in 0..<5 {
                let other = try h.graph(randomTopologicalOrder(h.ops, using: &rng))
                #expect(other.newestFirst().map { other.nodes[$0].id } == ids, "seed \(seed)")
            }
            #expect(graph.newestFirst() == order)
        }
    }

    @Test func newestFirstPrefersTheNewestTimestampAmongReadyNodes() throws {
        let t = try Diamond()
        let graph = try t.h.graph()
        let ids = graph.newestFirst().map { graph.nodes[$0].id }
        // d has the newest timestamp of all, then m; b becomes ready only after both.
        #expect(ids == [t.d.id, t.m.id, t.c.id, t.b.id, t.a.id, t.g.id])
    }

    @Test func initRejectsDuplicates() throws {
        let t = try Diamond()
        let summaries = [t.g, t.a, t.a].map(OperationSummary.init)
        #expect(throws: Graph.GraphError.duplicate(t.a.id)) { try Graph(summaries) }
    }

    @Test func initRejectsParentsThatComeLaterOrAreMissing() throws {
        let t = try Diamond()
        let later = [t.g, t.c, t.a].map(OperationSummary.init)
        #expect(throws: Graph.GraphError.missingParent(child: t.c.id, parent: t.a.id)) { try Graph(later) }
        let missing = [t.g, t.b, t.d, t.m].map(OperationSummary.init)
        #expect(throws: Graph.GraphError.missingParent(child: t.m.id, parent: t.c.id)) { try Graph(missing) }
        let error = Graph.GraphError.missingParent(child: t.m.id, parent: t.c.id)
        #expect(error.description.contains(t.c.id.hex))
    }

    @Test("append links the new node to its parents' children; a refused append changes nothing")
    func appendExtendsTheGraphAndRefusalsLeaveItAsItWas() throws {
        let t = try Diamond()
        var graph = try Graph([t.g, t.a, t.b, t.c].map(OperationSummary.init))
        func node(_ op: Operation) throws -> Int { try #require(graph.number(of: op.id)) }
        // m has two parents, one of them (b) an earlier head; d is b's second child.
        #expect(try graph.append(OperationSummary(t.m)) == 4)
        #expect(try graph.append(OperationSummary(t.d)) == 5)
        #expect(try graph.parents[node(t.m)].map { Int($0) } == [try node(t.c), try node(t.b)])
        #expect(try graph.children[node(t.b)].map { Int($0) } == [try node(t.m), try node(t.d)])
        #expect(try graph.childCount(node(t.b)) == 2)
        #expect(graph.heads == [t.m.id, t.d.id].sorted())
        #expect(try graph.levels[node(t.m)] == 3)
        #expect(try graph.isAncestor(node(t.g), of: node(t.m)))

        // The same graph built at once agrees with the one built by appends.
        let whole = try t.h.graph()
        for n in 0..<whole.count {
            let id = whole.nodes[n].id
            let m = try #require(graph.number(of: id))
            #expect(
                Set(graph.parents[m].map { graph.nodes[Int($0)].id })
                    == Set(whole.parents[n].map { whole.nodes[Int($0)].id }))
            #expect(
                Set(graph.children[m].map { graph.nodes[Int($0)].id })
                    == Set(whole.children[n].map { whole.nodes[Int($0)].id }))
        }

        // Refused: a node listed twice, and one whose parent is missing. Neither leaves a trace.
        let before = (graph.count, graph.heads, try graph.children[node(t.m)])
        #expect(throws: Graph.GraphError.duplicate(t.m.id)) { try graph.append(OperationSummary(t.m)) }
        let e = try t.h.change(by: 0, parents: [t.m], [try write("e", "e")])
        let f = try t.h.change(by: 1, parents: [e], [try write("f", "f")])
        #expect(throws: Graph.GraphError.missingParent(child: f.id, parent: e.id)) {
            try graph.append(OperationSummary(f))
        }
        #expect(graph.count == before.0)
        #expect(graph.heads == before.1)
        #expect(try graph.children[node(t.m)] == before.2)
        // The next append still numbers and links correctly.
        #expect(try graph.append(OperationSummary(e)) == 6)
        let merge = try node(t.m)
        #expect(graph.parents[6].map { Int($0) } == [merge])
        #expect(graph.heads == [t.d.id, e.id].sorted())
    }
}

@Suite("GraphLayout")
struct GraphLayoutTests {
    @Test func linearHistoryIsOneColumn() throws {
        let h = try History(authors: 1)
        var tip = try h.genesis()
        for i in 0..<5 { tip = try h.change(by: 0, parents: [tip], [try write("f", "\(i)")]) }
        let graph = try h.graph()
        let rows = GraphLayout.layout(graph: graph, order: graph.newestFirst())
        #expect(rows.count == 6)
        for (i, row) in rows.enumerated() {
            #expect(row.commitLine == "* ")
            #expect(row.after.isEmpty)
            #expect(row.continuation == (i == rows.count - 1 ? "" : "| "))
        }
    }

    @Test func forkAndMergeDrawsConnectors() throws {
        let h = try History(authors: 2)
        let g = try h.genesis()
        let a = try h.change(by: 0, parents: [g], [try write("f", "a")])
        let b = try h.change(by: 1, parents: [g], [try write("f", "b")])
        let m = try h.change(by: 0, parents: [a, b], [try write("f", "m")])
        let graph = try h.graph()
        let order = graph.newestFirst()
        let rows = GraphLayout.layout(graph: graph, order: order)
        #expect(rows.count == 4)
        for row in rows {
            #expect(row.commitLine.filter { $0 == "*" }.count == 1, "\(row.commitLine)")
        }
        // The merge comes first and opens a second lane: "|" then "\".
        #expect(graph.nodes[order[0]].id == m.id)
        #expect(rows[0].commitLine == "* ")
        #expect(rows[0].after.count == 1)
        let opened = rows[0].after.first ?? ""
        #expect(opened.hasPrefix("|") && opened.contains("\\") && !opened.contains("/"), "\(opened)")
        // The two sides of the fork sit in different columns.
        #expect(rows[1].commitLine.contains("|") && rows[2].commitLine.contains("|"))
        let column1 = rows[1].commitLine.firstIndex(of: "*").map {
            rows[1].commitLine.distance(from: rows[1].commitLine.startIndex, to: $0)
        }
        let column2 = rows[2].commitLine.firstIndex(of: "*").map {
            rows[2].commitLine.distance(from: rows[2].commitLine.startIndex, to: $0)
        }
        #expect(column1 != column2)
        // The second lane closes into the genesis's lane after the later side, as git draws it: "|/".
        #expect(graph.nodes[order[3]].id == g.id)
        #expect(rows[2].after == ["|/"])
        #expect(rows[3].commitLine == "* ")
        #expect(rows[3].after.isEmpty)
        #expect(rows[3].continuation == "")
        // No line ends in a space.
        for row in rows { for line in row.after { #expect(!line.hasSuffix(" ")) } }
    }

    @Test func everyRowOfRandomDAGsHasExactlyOneStar() throws {
        for seed in UInt64(1)...10 {
            let h = try randomHistory(seed: seed * 977)
            let graph = try h.graph()
            let rows = GraphLayout.layout(graph: graph, order: graph.newestFirst())
            #expect(rows.count == graph.count)
            for row in rows {
                #expect(row.commitLine.filter { $0 == "*" }.count == 1, "seed \(seed): \(row.commitLine)")
                for line in row.after { #expect(!line.contains("*")) }
                #expect(!row.continuation.contains("*"))
            }
            // Once every operation is drawn, no lane is left open.
            #expect(rows.last?.continuation == "", "seed \(seed)")
        }
    }
}
