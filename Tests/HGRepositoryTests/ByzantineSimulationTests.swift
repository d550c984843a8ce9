import Foundation
import HGCore
import HGCrypto
import HGRepository
import HGTestSupport
import Testing

/// A Byzantine participant: it holds a member's key and every operation it has seen, and makes
/// operations the way an attacker would — equivocating, forging, back-dating, adding sybils
/// and handing its operations to some replicas only.
private final class Byzantine {
    let key: Ed25519.KeyPair
    let id: PeerID
    private(set) var pool: [ObjectID: HGCore.Operation] = [:]
    private(set) var blobs: [ObjectID: Blob] = [:]
    /// The heads it saw when it joined: what it back-dates onto.
    private(set) var early: [ObjectID] = []
    /// Operations it made (and those of its sybils), valid-looking.
    private(set) var made: [HGCore.Operation] = []
    /// Keys of the sybils it added.
    private(set) var sybils: [Ed25519.KeyPair] = []
    private var sybilCounter: UInt8 = 0

    init(seed: UInt8) throws {
        key = try Ed25519.KeyPair(seed: [UInt8](repeating: seed, count: 32))
        id = try #require(PeerID(publicKey: key.publicKey))
    }

    /// Takes in every operation of `repo` it lacks.
    func learn(from repo: Repository) throws {
        let (ops, found) = try operations(of: repo, excluding: Set(pool.keys))
        for op in ops { pool[op.id] = op }
        blobs.merge(found) { first, _ in first }
        if early.isEmpty { early = heads() }
    }

    func heads() -> [ObjectID] {
        var named = Set<ObjectID>()
        for op in pool.values { named.formUnion(op.parents) }
        return pool.keys.filter { !named.contains($0) }.sorted()
    }

    /// 1 + the highest sequence of `signer` among the ancestors of `parents` in its pool.
    private func sequence(of signer: PeerID, on parents: [ObjectID]) -> UInt64 {
        var best: UInt64 = 0
        var seen = Set<ObjectID>()
        var stack = parents
        while let id = stack.popLast() {
            guard seen.insert(id).inserted, let op = pool[id] else { continue }
            if op.author == signer { best = max(best, op.sequence) }
            stack.append(contentsOf: op.parents)
        }
        return best + 1
    }

    private func keep(_ op: HGCore.Operation) -> HGCore.Operation {
        pool[op.id] = op
        made.append(op)
        return op
    }

    /// A change by `signer` (default: itself) on `parents`, with an explicit sequence if given.
    @discardableResult
    func write(
        _ path: String, _ text: String, on parents: [ObjectID], signer: Ed25519.KeyPair? = nil,
        sequence: UInt64? = nil
    ) throws -> HGCore.Operation {
        let signer = signer ?? key
        let author = try #require(PeerID(publicKey: signer.publicKey))
        let blob = Blob(content: Array(text.utf8))
        blobs[blob.id] = blob
        let change = Change(
            message: "byzantine",
            entries: [
                ChangeEntry(path: try RepoPath(path), version: FileVersion(blob: blob.id, mode: .regular))
            ])
        return keep(
            try HGCore.Operation.create(
                signer: signer, sequence: sequence ?? self.sequence(of: author, on: parents),
                parents: parents, timestamp: 1_700_000_500_000, payload: .change(change)))
    }

    /// A membership change of its own on `parents`.
    @discardableResult
    func member(_ change: MembershipChange, on parents: [ObjectID]) throws -> HGCore.Operation {
        keep(
            try HGCore.Operation.create(
                signer: key, sequence: sequence(of: id, on: parents), parents: parents,
                timestamp: 1_700_000_500_000, payload: .membership(change)))
    }

    /// The removals of `peer` it has seen.
    func removals(of peer: PeerID) -> [HGCore.Operation] {
        pool.values.filter { $0.membership == .remove(peer) }.sorted { $0.id < $1.id }
    }

    /// Two different changes with one sequence number on the current heads.
    func equivocate(_ tag: String) throws {
        let parents = heads()
        let sequence = self.sequence(of: id, on: parents)
        try write("byz/\(tag)-left.txt", "left \(tag)\n", on: parents, sequence: sequence)
        try write("byz/\(tag)-right.txt", "right \(tag)\n", on: parents, sequence: sequence)
    }

    /// A back-dated add of a new key, and a write by it: made on the heads it saw when it joined,
    /// so that both look concurrent with any later removal of this participant.
    @discardableResult
    func addSybil(_ tag: String) throws -> HGCore.Operation {
        sybilCounter &+= 1
        let sybil = try Ed25519.KeyPair(seed: [UInt8](repeating: 0xC0 &+ sybilCounter, count: 31) + [key.publicKey[0]])
        sybils.append(sybil)
        let add = try member(.add(try #require(PeerID(publicKey: sybil.publicKey)), .writer), on: early)
        try write("byz/sybil-\(tag).txt", "sybil \(tag)\n", on: [add.id], signer: sybil)
        return add
    }

    /// A signed change whose signature is then damaged.
    func forged(_ tag: String) throws -> HGCore.Operation {
        let blob = Blob(content: Array("forged \(tag)\n".utf8))
        blobs[blob.id] = blob
        let parents = heads()
        let op = try HGCore.Operation.create(
            signer: key, sequence: sequence(of: id, on: parents), parents: parents, timestamp: 1_700_000_500_000,
            payload: .change(
                Change(
                    message: "forged",
                    entries: [
                        ChangeEntry(
                            path: try RepoPath("byz/forged-\(tag).txt"),
                            version: FileVersion(blob: blob.id, mode: .regular))
                    ])))
        var bytes = op.encoded
        bytes[bytes.count - 10] ^= 0x40
        return try HGCore.Operation.decode(bytes)
    }

    /// Hands everything it made to `repo` (which keeps what is valid).
    func deliver(to repo: Repository) throws -> ReceiveResult {
        try repo.receive(operations: made, blobs: Array(blobs.values), partial: true)
    }
}

/// Checks the invariants of one correct replica: `verify` is clean (every invariant of
/// INVARIANTS.md), and the cached state and members agree with the recomputed ones.
private func expectInvariants(
    _ repo: Repository, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let report = try repo.verify()
    #expect(report.isClean, "\(what): \(report.problems.map(\.message))", sourceLocation: sourceLocation)
    #expect(report.invariants.allSatisfy { $0.violations == 0 }, "\(what)", sourceLocation: sourceLocation)
    #expect(try repo.state().fingerprint == report.fingerprint, "\(what): cached state", sourceLocation: sourceLocation)
    #expect(
        try repo.membership().members == report.membership?.members, "\(what): members", sourceLocation: sourceLocation)
}

@Suite("A network of 10 replicas, 3 of them Byzantine")
struct ByzantineSimulationTests {
    @Test(
        "random commits, membership changes and syncs: correct replicas keep every invariant and converge",
        arguments: [UInt64(11), 2026])
    func simulation(seed: UInt64) throws {
        try withTemporaryDirectory { dir in
            var rng = SplitMix64(seed: seed)
            let (founder, _) = try makeRepository(in: dir, name: "r0", writers: [])
            var correct = [founder]
            for n in 1...6 { correct.append(try cloneReplica(of: founder, into: dir + "/r\(n)")) }
            let byzantine = try [Byzantine(seed: 0xB1), Byzantine(seed: 0xB2), Byzantine(seed: 0xB3)]
            // Two correct admins besides the founder, four correct writers; Byzantine: two admins, one writer.
            for (n, replica) in correct.enumerated().dropFirst() {
                _ = try founder.changeMembership(.add(try replica.peerID(), n <= 2 ? .admin : .writer))
            }
            for (n, z) in byzantine.enumerated() {
                _ = try founder.changeMembership(.add(z.id, n == 2 ? .writer : .admin))
            }
            for replica in correct.dropFirst() { try syncPair(founder, replica) }
            for z in byzantine { try z.learn(from: founder) }

            var forgedIDs = Set<ObjectID>()
            var scripted: [ObjectID] = []
            for step in 0..<70 {
                let what = "seed \(seed) step \(step)"
                let r = Int.random(in: 0..<correct.count, using: &rng)
                let replica = correct[r]
                var touched = [r]
                switch Int.random(in: 0..<12, using: &rng) {
                case 0...2:
                    do {
                        _ = try replica.commitBatch([
                            BatchChange(
                                message: what,
                                files: [
                                    (
                                        try RepoPath("f\(Int.random(in: 0..<5, using: &rng)).txt"),
                                        Array("\(what)\n".utf8)
                                    )
                                ])
                        ])
                    } catch RepositoryError.notAuthorised {
                        // A Byzantine admin may have removed this replica; refusing is the correct behaviour.
                    }
                case 3, 4:
                    let other = Int.random(in: 0..<correct.count, using: &rng)
                    if other != r {
                        try syncPair(replica, correct[other])
                        touched.append(other)
                    }
                case 5:
                    // A correct admin removes a Byzantine member it still sees.
                    let z = byzantine[Int.random(in: 0..<byzantine.count, using: &rng)]
                    let membership = try replica.membership()
                    if membership.role(of: try replica.peerID()) == .admin, membership.role(of: z.id) != nil {
                        _ = try replica.changeMembership(.remove(z.id))
                    }
                    if Bool.random(using: &rng) { try z.learn(from: replica) }
                default:
                    let z = byzantine[Int.random(in: 0..<byzantine.count, using: &rng)]
                    try z.learn(from: replica)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: try z.equivocate("\(step)")
                    case 1: try z.addSybil("\(step)")
                    case 2: try z.write("byz/backdated-\(step).txt", "back-dated\n", on: z.early)
                    case 3:
                        // The talk's counter-attack: having seen its removal, it removes the remover
                        // with an operation back-dated to look concurrent with that removal.
                        if let removal = z.removals(of: z.id).first {
                            try z.member(.remove(removal.author), on: removal.parents)
                        } else {
                            try z.write("byz/early-\(step).txt", "early\n", on: z.early)
                        }
                    default:
                        let forged = try z.forged("\(step)")
                        forgedIDs.insert(forged.id)
                        let result = try replica.receive(
                            operations: [forged], blobs: Array(z.blobs.values), partial: true)
                        #expect(result.added.isEmpty && result.rejected.map(\.id) == [forged.id], "\(what): forged")
                    }
                    // Withholding: only this one replica is told; the others learn through syncs.
                    _ = try z.deliver(to: replica)
                }
                if step == 35 {
                    // Scripted, so every seed exercises it: the founder removes the first Byzantine
                    // admin, which answers with the talk's attacks — removing the founder and adding
                    // a sybil, both back-dated to look concurrent — and tells one other replica.
                    let z = byzantine[0]
                    if try founder.membership().role(of: z.id) != nil {
                        let removal = try founder.changeMembership(.remove(z.id))
                        try z.learn(from: founder)
                        let counter = try z.member(
                            .remove(try founder.peerID()),
                            on: try #require(z.removals(of: z.id).first { $0.id == removal.id }).parents)
                        let sybil = try z.addSybil("scripted")
                        let target = Int.random(in: 1..<correct.count, using: &rng)
                        try syncPair(founder, correct[target])
                        let delivered = try z.deliver(to: correct[target])
                        #expect(
                            Set([counter.id, sybil.id]).isSubset(of: Set(delivered.added)),
                            "\(what): \(delivered.rejected)")
                        touched += [0, target]
                        scripted = [counter.id, sybil.id]
                    }
                }
                for t in Set(touched) { try expectInvariants(correct[t], "\(what), replica \(t)") }
            }

            // The founder (rank 1: it wins every dispute) removes every member that is not a
            // correct replica, after hearing everything.
            for _ in 0..<2 { for replica in correct.dropFirst() { try syncPair(founder, replica) } }
            let correctIDs = Set(try correct.map { try $0.peerID() })
            #expect(
                try founder.membership().role(of: try founder.peerID()) == .admin,
                "seed \(seed): the founder lost its role")
            for peer in try founder.membership().members.keys where !correctIDs.contains(peer) {
                _ = try founder.changeMembership(.remove(peer))
            }
            for _ in 0..<2 { for replica in correct.dropFirst() { try syncPair(founder, replica) } }

            try expectConverged(correct, "seed \(seed): after the final syncs")
            let reference = try founder.membership()
            #expect(
                Set(reference.members.keys).isSubset(of: correctIDs),
                "seed \(seed): a Byzantine or sybil key is still a member")
            for (n, replica) in correct.enumerated() {
                #expect(try replica.membership().members == reference.members, "seed \(seed): replica \(n) members")
                for id in forgedIDs {
                    #expect(!replica.hasObject(id), "seed \(seed): replica \(n) stored a forged operation")
                }
            }
            let made = byzantine.reduce(0) { $0 + $1.made.count }
            #expect(made > 20, "seed \(seed): the Byzantine participants hardly acted (\(made) operations)")
            #expect(scripted.count == 2, "seed \(seed): the scripted attack did not run")
            for id in scripted {
                #expect(
                    reference.voided[id] != nil,
                    "seed \(seed): the back-dated counter-removal and sybil add must have no effect: \(reference.voided)"
                )
            }
        }
    }
}
