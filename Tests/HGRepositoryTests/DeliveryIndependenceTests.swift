import Foundation
import HGCore
import HGRepository
import HGStore
import HGTestSupport
import Testing

// BEC asks that validity follow from an operation and its causal past alone (FORMAT.md 3): what
// else a replica holds, and the order and batches in which things reach it, must not change
// which operations it accepts. These histories mix honest changes with changes that name, as a
// blob, an operation (a parent, an ancestor, a concurrent one, the genesis) or nothing at all.

/// A random history on top of one commit, with what FORMAT.md 3 says of each operation.
private struct History {
    var operations: [HGCore.Operation] = []
    var blobs: [Blob] = []
    /// The operations a correct replica accepts: parents valid and every blob named a blob.
    var valid = Set<ObjectID>()
    /// Operations some change names as a blob.
    var namedAsBlobs = Set<ObjectID>()
}

private func randomHistory(
    on base: ObjectID, genesis: ObjectID, operations count: Int,
    rng: inout SplitMix64
) throws -> History {
    let peers = try testPeerSeeds.map { try Peer(seed: $0) }
    let paths = ["a.txt", "b.txt", "dir/c.txt"]
    var history = History()
    // Per operation: author index, sequence number, strict ancestors among the new operations.
    var author: [ObjectID: Int] = [:]
    var sequence: [ObjectID: UInt64] = [:]
    var ancestors: [ObjectID: Set<ObjectID>] = [base: []]
    var blobContents: [[UInt8]] = []
    var made: [ObjectID] = [base]
    for n in 0..<count {
        let who = Int.random(in: 0..<peers.count, using: &rng)
        var parents = [made.randomElement(using: &rng) ?? base]
        if made.count > 1, Bool.random(using: &rng), let second = made.randomElement(using: &rng), second != parents[0]
        {
            parents.append(second)
        }
        let past = parents.reduce(into: Set(parents)) { $0.formUnion(ancestors[$1] ?? []) }
        let highest = past.filter { author[$0] == who }.compactMap { sequence[$0] }.max() ?? 0
        var entries: [ChangeEntry] = []
        var namesBlobs = true
        for path in paths.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)) {
            let blob: ObjectID
            switch Int.random(in: 0..<8, using: &rng) {
            case 0:  // an earlier operation: a parent, an ancestor or a concurrent one
                blob = made.randomElement(using: &rng) ?? base
                history.namedAsBlobs.insert(blob)
                namesBlobs = false
            case 1:  // the genesis, or nothing at all
                blob = Bool.random(using: &rng) ? genesis : ObjectID(hashing: Array("nothing \(n)".utf8))
                if blob == genesis { history.namedAsBlobs.insert(blob) }
                namesBlobs = false
            case 2 where !blobContents.isEmpty:  // a blob another change wrote too
                blob = Blob(content: blobContents.randomElement(using: &rng) ?? []).id
            default:
                let content = Array("content \(n) of \(path)\n".utf8)
                blobContents.append(content)
                history.blobs.append(Blob(content: content))
                blob = Blob(content: content).id
            }
            entries.append(ChangeEntry(path: try RepoPath(path), version: FileVersion(blob: blob, mode: .regular)))
        }
        let op = try HGCore.Operation.create(
            signer: peers[who].key, sequence: highest + 1, parents: parents,
            timestamp: 1_700_000_500_000 + UInt64(n),
            payload: .change(Change(message: "op \(n)", entries: entries)))
        author[op.id] = who
        sequence[op.id] = highest + 1
        ancestors[op.id] = past
        made.append(op.id)
        history.operations.append(op)
        if namesBlobs && parents.allSatisfy({ $0 == base || history.valid.contains($0) }) {
            history.valid.insert(op.id)
        }
    }
    return history
}

@Suite("Validity does not depend on what a replica holds or on the order of arrival")
struct DeliveryIndependenceTests {
    /// Three clones hold different things first (nothing; a random part of the history, received;
    /// every operation that is named as a blob, stored outside the index as an interrupted
    /// command leaves it), then receive every operation and blob in random order and random
    /// batches, several times over (an operation that came before its parent or its blob is
    /// refused and comes again). Each must accept exactly the valid operations, verify clean,
    /// check out, and agree with the others. Holding an operation used to make a change that
    /// names it as a blob acceptable.
    @Test(
        "random histories with operations named as blobs: every replica accepts the same operations",
        arguments: [1, 2, 3, 4, 5] as [UInt64])
    func sameDecisions(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        try withTemporaryDirectory { dir in
            let (origin, root) = try makeRepository(in: dir)
            try writeFile(root, "notes.txt", "base\n")
            let base = try origin.commit(message: "base", timestamp: 1_700_000_100_000)
            let history = try randomHistory(on: base.id, genesis: origin.genesis, operations: 16, rng: &rng)
            let before = try operationIDs(origin)
            var accepted: [Set<ObjectID>] = []
            for holding in 0..<3 {
                let replica = try cloneReplica(of: origin, into: dir + "/replica\(holding)")
                switch holding {
                case 1:
                    let part = history.operations.filter { _ in Bool.random(using: &rng) }
                    try deliver(part, history.blobs, to: replica, rng: &rng)
                case 2:
                    let store = try ObjectStore(layout: replica.layout)
                    for op in history.operations where history.namedAsBlobs.contains(op.id) {
                        _ = try store.write(op.encoded)
                    }
                default:
                    break
                }
                try deliver(history.operations, history.blobs, to: replica, rng: &rng)
                let ids = try operationIDs(replica).subtracting(before)
                #expect(
                    ids == history.valid,
                    "seed \(seed), replica \(holding): accepted \(ids.subtracting(history.valid).count) invalid, refused \(history.valid.subtracting(ids).count) valid"
                )
                let problems = try replica.verify().problems.map(\.message)
                #expect(problems.isEmpty, "seed \(seed), replica \(holding)")
                _ = try replica.checkout()
                accepted.append(ids)
            }
            #expect(Set(accepted).count == 1)
            // The generator must have made both kinds, or the property says little.
            #expect(!history.namedAsBlobs.isEmpty)
            #expect(history.valid.count > 1 && history.valid.count < history.operations.count)
        }
    }

    /// Receives `operations` and `blobs` shuffled into random batches (partial, as sync does), in
    /// three rounds, then all at once in random order (a blob is stored only with an operation
    /// that names it, so an operation whose blob came in another batch waits for a later round).
    private func deliver(
        _ operations: [HGCore.Operation], _ blobs: [Blob], to replica: Repository,
        rng: inout SplitMix64
    ) throws {
        enum Item {
            case operation(HGCore.Operation)
            case blob(Blob)
        }
        let items = operations.map(Item.operation) + blobs.map(Item.blob)
        for _ in 0..<3 {
            var rest = items.shuffled(using: &rng)[...]
            while !rest.isEmpty {
                let batch = rest.prefix(Int.random(in: 1...max(1, items.count / 2), using: &rng))
                rest = rest.dropFirst(batch.count)
                var ops: [HGCore.Operation] = []
                var contents: [Blob] = []
                for item in batch {
                    switch item {
                    case let .operation(op): ops.append(op)
                    case let .blob(blob): contents.append(blob)
                    }
                }
                _ = try replica.receive(operations: ops, blobs: contents, partial: true)
            }
        }
        _ = try replica.receive(
            operations: operations.shuffled(using: &rng), blobs: blobs.shuffled(using: &rng), partial: true)
    }
}
