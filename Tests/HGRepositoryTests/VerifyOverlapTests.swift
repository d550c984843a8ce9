import Foundation
import HGCore
import HGStore
import Testing

@testable import HGAudit
@testable import HGRepository

/// `verify` audits the history while the signatures are still being checked, as if all were
/// good, and audits it again without the operations whose signature fails: the report must be
/// the one of the second audit.
@Suite struct VerifyOverlapTests {
    /// A repository with one commit, and a writer's change on top of it stored as if received:
    /// its object, its blob and its index record, with the signature damaged when `forged`.
    private func repositoryWithExtraChange(
        in dir: String, forged: Bool
    ) throws -> (repo: Repository, clean: VerifyReport, extra: ObjectID) {
        let (repo, root) = try makeRepository(in: dir)
        try writeFile(root, "a.txt", "first\n")
        _ = try repo.commit(message: "first", timestamp: 1_700_000_100_000)
        let clean = try repo.verify()
        let (signed, blobs) = try Peer(seed: 7).change(
            sequence: 1, parents: try repo.heads(), files: [("b.txt", Array("b\n".utf8))])
        var op = signed
        if forged {
            var bytes = signed.encoded
            bytes[bytes.count - 10] ^= 0x40
            op = try HGCore.Operation.decode(bytes)
            #expect(!op.hasValidSignature())
        }
        let store = try ObjectStore(layout: repo.layout)
        for blob in blobs { try store.write(blob.encoded) }
        try store.write(op.encoded)
        let index = repo.layout.operationIndex
        try OperationIndex.append(
            index, [OperationSummary(op)], validLength: try OperationIndex.read(index).validLength)
        return (repo, clean, op.id)
    }

    @Test("an operation whose signature fails is one signature problem, and the state, heads and counts leave it out")
    func forgedOperationLeftOut() throws {
        try withTemporaryDirectory { dir in
            let (repo, clean, forged) = try repositoryWithExtraChange(in: dir, forged: true)
            let report = try repo.verify()
            #expect(report.problems.map(\.check) == [.signature])
            #expect(report.problems.first?.object == forged)
            #expect(report.fingerprint == clean.fingerprint)
            #expect(report.heads == clean.heads)
            #expect(report.operations == clean.operations)
            #expect(report.signatures == clean.signatures + 1)
            #expect(report.blobs == clean.blobs + 1)
            #expect(report.equivocations.isEmpty)
            let signatures = report.invariants.first { $0.invariant == .signatures }
            #expect(signatures?.violations == 1)
            #expect(signatures?.checked == clean.signatures + 1)
        }
    }

    @Test("the same change with its signature intact is audited into the state (the forged case above is not vacuous)")
    func signedOperationAudited() throws {
        try withTemporaryDirectory { dir in
            let (repo, clean, extra) = try repositoryWithExtraChange(in: dir, forged: false)
            let report = try repo.verify()
            #expect(!report.problems.contains { $0.check == .signature })
            #expect(report.fingerprint != clean.fingerprint)
            #expect(report.heads == [extra])
            #expect(report.operations == clean.operations + 1)
        }
    }
}

/// The table of object ids `verify` reads the store through.
@Suite struct ObjectTableTests {
    private func id(_ n: UInt8) -> ObjectID { ObjectID(hashing: [n]) }

    /// Writes a pack listing `ids` (the entries' bytes do not matter to the table) and opens it.
    private func pack(_ ids: [ObjectID], in dir: String) throws -> Pack {
        var writer = PackWriter()
        for id in ids { writer.add(id: id, compressed: [1, 2, 3]) }
        return try Pack(indexPath: try writer.write(to: dir))
    }

    @Test("an id listed loose and packed, or in two packs, counts once, at its first place")
    func repeatsCountOnce() throws {
        try withTemporaryDirectory { dir in
            let first = try pack([id(2), id(3)], in: dir + "/p1")
            let second = try pack([id(3), id(4), id(5)], in: dir + "/p2")
            let table = ObjectTable(loose: [id(1), id(2)], packs: [first, second])
            #expect(table.slotCount == 7)
            #expect(table.count == 5)
            let order = (0..<table.slotCount).map { table.id(at: $0) }
            #expect(order == [id(1), id(2)] + first.ids + second.ids)
            #expect(
                (0..<table.slotCount).filter(table.isRepeat).map { table.id(at: $0) }.sorted()
                    == [id(2), id(3)].sorted())
            for n: UInt8 in 1...5 {
                let slot = try #require(table.slot(of: id(n)))
                #expect(table.id(at: slot) == id(n))
                #expect(!table.isRepeat(slot))
            }
            #expect(table.slot(of: id(6)) == nil)
        }
    }

    @Test("empty sources (no loose objects, an empty pack) take no slots")
    func emptySources() throws {
        try withTemporaryDirectory { dir in
            let empty = try pack([], in: dir + "/p0")
            let full = try pack([id(7), id(8)], in: dir + "/p1")
            let table = ObjectTable(loose: [], packs: [empty, full, empty])
            #expect(table.slotCount == 2)
            #expect(table.count == 2)
            #expect(Set((0..<2).map { table.id(at: $0) }) == [id(7), id(8)])
            #expect(table.slot(of: id(8)).map { table.id(at: $0) } == id(8))
            #expect(ObjectTable(loose: [], packs: []).slot(of: id(1)) == nil)
        }
    }
}
