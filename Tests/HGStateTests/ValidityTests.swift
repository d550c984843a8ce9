import HGCore
import HGCrypto
import HGGraph
import HGTestSupport
import Testing

@testable import HGState

/// The issues `StructuralValidity.check` finds.
private func issues(_ graph: Graph, genesis: ObjectID, local: [ObjectID: ValidityIssue] = [:]) -> [ValidityIssue] {
    StructuralValidity.check(graph: graph, genesis: genesis, local: local).issues
}

@Suite("Sequence checking and structural validity")
struct ValidityTests {
    @Test func validLinearHistoryHasNoIssues() throws {
        let h = try History(authors: 1)
        var tip = try h.genesis()
        for i in 0..<10 {
            tip = try h.change(by: 0, parents: [tip], [try write("f", "v\(i)")])
        }
        #expect(tip.sequence == 11)
        #expect(issues(try h.graph(), genesis: h.ops[0].id).isEmpty)
    }

    @Test func validConcurrentHistoryHasNoIssues() throws {
        let h = try History(authors: 3)
        let g = try h.genesis()
        let a2 = try h.change(by: 0, parents: [g], [try write("a", "1")])
        let b1 = try h.change(by: 1, parents: [g], [try write("b", "1")])
        let c1 = try h.change(by: 2, parents: [a2], [try write("c", "1")])
        let b2 = try h.change(by: 1, parents: [b1, c1], [try write("b", "2")])
        let a3 = try h.change(by: 0, parents: [a2, b1], [try write("a", "3")])
        let m = try h.change(by: 2, parents: [a3, b2], [try write("c", "2")])
        #expect([a2.sequence, b1.sequence, c1.sequence, b2.sequence, a3.sequence, m.sequence] == [2, 1, 1, 2, 3, 2])
        #expect(issues(try h.graph(), genesis: g.id).isEmpty)
        // Valid whatever the (topological) index order.
        var rng = SeededRNG(seed: 99)
        for _ in 0..<10 {
            let order = randomTopologicalOrder(h.ops, using: &rng)
            #expect(issues(try h.graph(order), genesis: g.id).isEmpty)
        }
    }

    @Test func skippedSequenceIsWrongSequenceExpectedThree() throws {
        let h = try History(authors: 1)
        let g = try h.genesis()
        let s2 = try h.change(by: 0, parents: [g], [try write("f", "2")])
        let s4 = try h.change(by: 0, parents: [s2], [try write("f", "4")], sequence: 4)
        let found = issues(try h.graph(), genesis: g.id)
        #expect(found == [.wrongSequence(s4.id, expected: 3, actual: 4)])
        #expect(found.first?.operation == s4.id)
        // An operation that follows the bad one continues from the sequence it claims.
        let s5 = try h.change(by: 0, parents: [s4], [try write("f", "5")])
        #expect(s5.sequence == 5)
        let result = StructuralValidity.check(graph: try h.graph(), genesis: g.id)
        // Its descendant is invalid through it, not because of its own sequence.
        #expect(result.issues == [.wrongSequence(s4.id, expected: 3, actual: 4), .invalidParent(s5.id, parent: s4.id)])
        #expect(result.invalid == [s4.id, s5.id])
    }

    @Test func sequenceRepeatingOneInTheCausalPastIsReported() throws {
        let h = try History(authors: 2)
        let g = try h.genesis()
        let a2 = try h.change(by: 0, parents: [g], [try write("f", "a")])
        let again = try h.change(by: 0, parents: [a2], [try write("f", "b")], sequence: 2)
        #expect(issues(try h.graph(), genesis: g.id) == [.wrongSequence(again.id, expected: 3, actual: 2)])
    }

    @Test func sequenceLowerThanOneInTheCausalPastIsReported() throws {
        // 1, 2, 3 then an op by the same author claiming 2, reached through another author's op.
        let h = try History(authors: 2)
        let g = try h.genesis()
        let a2 = try h.change(by: 0, parents: [g], [try write("f", "a")])
        let a3 = try h.change(by: 0, parents: [a2], [try write("f", "b")])
        let b1 = try h.change(by: 1, parents: [a3], [try write("g", "b")])
        let low = try h.change(by: 0, parents: [b1], [try write("f", "c")], sequence: 2)
        #expect(issues(try h.graph(), genesis: g.id) == [.wrongSequence(low.id, expected: 4, actual: 2)])
    }

    @Test func firstOperationOfASecondAuthorMustBeOne() throws {
        let h = try History(authors: 2)
        let g = try h.genesis()
        let b = try h.change(by: 1, parents: [g], [try write("f", "b")], sequence: 2)
        #expect(issues(try h.graph(), genesis: g.id) == [.wrongSequence(b.id, expected: 1, actual: 2)])
    }

    @Test func equivocationIsValid() throws {
        // Two concurrent operations by one author with the same sequence number.
        let h = try History(authors: 2)
        let g = try h.genesis()
        let x = try h.change(by: 0, parents: [g], [try write("f", "x")])
        let y = try h.change(by: 0, parents: [g], [try write("f", "y")])
        #expect(x.sequence == 2)
        #expect(y.sequence == 2)
        #expect(x.id != y.id)
        #expect(issues(try h.graph(), genesis: g.id).isEmpty)
        // Another author merging both, and the equivocator continuing from both, are valid too.
        let b = try h.change(by: 1, parents: [x, y], [try write("f", "merged")])
        let a3 = try h.change(by: 0, parents: [b], [try write("f", "more")])
        #expect(a3.sequence == 3)
        #expect(issues(try h.graph(), genesis: g.id).isEmpty)
        #expect(issues(try h.graph([g, y, x, b, a3]), genesis: g.id).isEmpty)
    }

    @Test func equivocationAtADeeperLevelIsValid() throws {
        // Same author and sequence, but one of the pair sits deeper in the DAG.
        let h = try History(authors: 2)
        let g = try h.genesis()
        let b1 = try h.change(by: 1, parents: [g], [try write("b", "1")])
        let b2 = try h.change(by: 1, parents: [b1], [try write("b", "2")])
        let deep = try h.change(by: 0, parents: [b2], [try write("f", "deep")])
        let shallow = try h.change(by: 0, parents: [g], [try write("f", "shallow")])
        #expect(deep.sequence == 2)
        #expect(shallow.sequence == 2)
        #expect(issues(try h.graph(), genesis: g.id).isEmpty)
    }

    @Test func expectedSequenceForANewOperation() throws {
        let h = try History(authors: 2)
        let g = try h.genesis()
        let a2 = try h.change(by: 0, parents: [g], [try write("f", "a")])
        let b1 = try h.change(by: 1, parents: [g], [try write("g", "b")])
        let graph = try h.graph()
        let checker = SequenceChecker(graph: graph)
        // Not added to `h`, so not in the graph.
        let onA2 = try Operation.create(
            signer: h.keys[0], sequence: 3, parents: [a2.id], timestamp: 1,
            payload: .change(Change(message: "", entries: [try write("f", "c")])))
        #expect(checker.expectedSequence(for: onA2) == 3)
        let onB1 = try Operation.create(
            signer: h.keys[0], sequence: 2, parents: [b1.id], timestamp: 1,
            payload: .change(Change(message: "", entries: [try write("f", "c")])))
        // Author 0's genesis is in b1's past; a2 is not.
        #expect(checker.expectedSequence(for: onB1) == 2)
        let newAuthor = try Operation.create(
            signer: try authorKey(7), sequence: 1, parents: [a2.id], timestamp: 1,
            payload: .change(Change(message: "", entries: [try write("f", "c")])))
        #expect(checker.expectedSequence(for: newAuthor) == 1)
        let skipping = try Operation.create(
            signer: h.keys[1], sequence: 5, parents: [a2.id, b1.id], timestamp: 1,
            payload: .change(Change(message: "", entries: [try write("f", "c")])))
        #expect(checker.expectedSequence(for: skipping) == 2)
    }

    @Test func secondRootIsAForeignRoot() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: 0)
        try h.change(by: 0, parents: [g], [try write("f", "a")])
        let other = try h.genesis(by: 1)
        let sameAuthor = try h.genesis(by: 0)
        let result = StructuralValidity.check(graph: try h.graph(), genesis: g.id)
        #expect(result.issues == [.foreignRoot(other.id), .foreignRoot(sameAuthor.id)])
        #expect(result.invalid == [other.id, sameAuthor.id])
    }

    @Test func genesisIDThatIsNotTheRootMakesTheRootForeign() throws {
        let h = try History(authors: 1)
        let g = try h.genesis()
        let c = try h.change(by: 0, parents: [g], [try write("f", "a")])
        #expect(issues(try h.graph(), genesis: c.id) == [.foreignRoot(g.id), .invalidParent(c.id, parent: g.id)])
    }

    @Test func rootThatIsNotAGenesisOperation() throws {
        // A signed operation cannot be a parentless change, but an index record can claim one.
        let key = try authorKey(0)
        let author = try #require(PeerID(publicKey: key.publicKey))
        let rootID = blobID("fake root")
        let root = OperationSummary(
            id: rootID, author: author, sequence: 1, timestamp: 1, kind: Payload.Kind.change,
            parents: [], entryCount: 1, message: "not a genesis")
        let child = OperationSummary(
            id: blobID("child"), author: author, sequence: 2, timestamp: 2, kind: Payload.Kind.change,
            parents: [rootID], entryCount: 1, message: "")
        let graph = try Graph([root, child])
        let found = issues(graph, genesis: rootID)
        #expect(found == [.notGenesis(rootID), .invalidParent(child.id, parent: rootID)])
        #expect(found.first?.description.contains("not a genesis") == true)
    }

    @Test func invalidityIsInheritedByEveryDescendantButNotBySiblings() throws {
        let h = try History(authors: 2)
        let g = try h.genesis()
        let good = try h.change(by: 1, parents: [g], [try write("g", "ok")])
        let bad = try h.change(by: 0, parents: [g], [try write("f", "bad")], sequence: 7)
        let child = try h.change(by: 1, parents: [bad, good], [try write("f", "child")])
        let grandchild = try h.change(by: 0, parents: [child], [try write("f", "grandchild")])
        let sibling = try h.change(by: 1, parents: [good], [try write("g", "sibling")], sequence: 2)
        let result = StructuralValidity.check(graph: try h.graph(), genesis: g.id)
        #expect(result.invalid == [bad.id, child.id, grandchild.id])
        #expect(
            result.issues == [
                .wrongSequence(bad.id, expected: 2, actual: 7),
                .invalidParent(child.id, parent: bad.id),
                .invalidParent(grandchild.id, parent: child.id),
            ])
        #expect(!result.invalid.contains(sibling.id))
        #expect(!result.invalid.contains(good.id))
    }

    @Test func localIssuesAreReportedAndInherited() throws {
        let h = try History(authors: 1)
        let g = try h.genesis()
        let a = try h.change(by: 0, parents: [g], [try write("f", "a")])
        let b = try h.change(by: 0, parents: [a], [try write("f", "b")])
        let missing = ValidityIssue.missingBlob(a.id, blob: blobID("a"), path: "f")
        let result = StructuralValidity.check(graph: try h.graph(), genesis: g.id, local: [a.id: missing])
        #expect(result.issues == [missing, .invalidParent(b.id, parent: a.id)])
        #expect(result.invalid == [a.id, b.id])
    }

    @Test func issueDescriptionsNameTheOperation() throws {
        let id = blobID("x")
        let issues: [ValidityIssue] = [
            .badSignature(id), .missingParent(id, parent: blobID("p")), .wrongSequence(id, expected: 3, actual: 4),
            .foreignRoot(id), .notGenesis(id), .invalidParent(id, parent: blobID("p")),
            .missingBlob(id, blob: blobID("b"), path: "dir/file"),
        ]
        for issue in issues {
            #expect(issue.operation == id)
            #expect(issue.description.contains(id.hex))
        }
        #expect(ValidityIssue.wrongSequence(id, expected: 3, actual: 4).description.contains("expected 3"))
    }
}

@Suite("Sequence table")
struct SequenceTableTests {
    @Test func numbersInOrderForksAndNumbersOutOfOrderAreAllFound() {
        var table = SequenceTable()
        #expect(table.isEmpty)
        #expect(table.nodes(1).isEmpty)
        // 1, 2, 3 in order; 6 and 5 ahead of 4; a fork of 2; then 4, 5 (a fork of the 5 that came
        // early), 6 (likewise) and a fork of 9, a number far ahead.
        let adds: [(node: Int32, sequence: UInt64)] = [
            (0, 1), (1, 2), (2, 3), (3, 6), (4, 5), (5, 2), (6, 4), (7, 5),
            (8, 6), (9, 9), (10, 9), (11, 0),
        ]
        for (node, sequence) in adds { table.add(node, sequence: sequence) }
        #expect(table.count == adds.count)
        #expect(table.highest == 9)
        #expect(table.nodes(1) == [0])
        #expect(table.nodes(2) == [1, 5])
        #expect(table.nodes(3) == [2])
        #expect(table.nodes(4) == [6])
        #expect(table.nodes(5) == [4, 7], "the node that came first stays first")
        #expect(table.nodes(6) == [3, 8])
        #expect(table.nodes(7).isEmpty)
        #expect(table.nodes(9) == [9, 10])
        #expect(table.nodes(0) == [11])
        #expect(table.forkCount == 4)
        #expect(table.sequences.sorted() == [0, 1, 2, 3, 4, 5, 6, 9])
        #expect(table.contains(5) { $0 == 7 })
        #expect(!table.contains(5) { $0 == 6 })
        #expect(!table.contains(8) { _ in true })
        // A number near UInt64.max takes no room in proportion to it.
        table.add(12, sequence: .max)
        #expect(table.nodes(.max) == [12])
        #expect(table.highest == .max)
    }
}
