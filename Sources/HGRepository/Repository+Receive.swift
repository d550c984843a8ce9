import HGCore
import HGGraph
import HGState
import HGStore

/// What `receive` added.
public struct ReceiveResult: Sendable {
    /// Operations added, in the order they were appended.
    public let added: [ObjectID]
    /// Operations already present, skipped.
    public let known: Int
    /// Operations refused (partial mode only), with the reason; descendants of a refused
    /// operation are refused too.
    public let rejected: [(id: ObjectID, reason: String)]
}

extension Repository {
    /// Adds operations made elsewhere (by other replicas), with the blobs they name.
    ///
    /// Every operation is validated before anything is stored: it must verify
    /// its signature (checked on all cores), have every parent either in the
    /// repository or earlier in the batch, follow the sequence rule, not be a
    /// second root, and have every blob it names either in `blobs` or stored
    /// already as a blob (FORMAT.md section 3, rule 5: an id that names an
    /// operation is never a blob, whether or not this replica holds that
    /// operation). Then all new objects go into one pack, their index records are
    /// appended with one fsync, and the heads, refs and state are updated.
    ///
    /// With `partial` false (the default), any invalid operation throws and
    /// nothing is written. With `partial` true — what sync uses, since a peer
    /// may mix garbage with good operations — invalid operations and their
    /// descendants are left out and listed in `rejected`, and the rest is stored.
    ///
    /// `signatures` are checks already started on these operations (a sync session starts them
    /// as operations arrive): their verdicts are used, and only operations they do not cover
    /// are checked here.
    public func receive(operations: [Operation], blobs: [Blob], partial: Bool = false,
                        signatures: SignatureChecks? = nil) throws(RepositoryError) -> ReceiveResult {
        let byID = Dictionary(blobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return try receive(operations: operations, blobsByID: byID, partial: partial, signatures: signatures)
    }

    /// `receive` of blobs keyed by ids the caller computed from their content (a sync session
    /// hashes each blob as it arrives), so that they are not hashed again. Each key must be
    /// the id of its blob: the store files the blob under it.
    public func receive(operations: [Operation], blobsByID blobs: [ObjectID: Blob], partial: Bool = false,
                        signatures: SignatureChecks? = nil) throws(RepositoryError) -> ReceiveResult {
        var knownBad: Set<ObjectID>?
        while true {
            switch try receiveOnce(operations: operations, blobIDs: blobs, partial: partial, started: signatures,
                                   knownBadSignatures: knownBad) {
            case let .done(result): return result
            case let .badSignatures(bad): knownBad = bad
            }
        }
    }

    private enum Attempt {
        case done(ReceiveResult)
        /// Some signatures failed: try again knowing which (nothing was added to the repository).
        case badSignatures(Set<ObjectID>)
    }

    /// One pass of `receive`, with the signature checks either known (`knownBadSignatures`,
    /// the second pass after a failed one) or to be made (`nil`).
    private func receiveOnce(operations: [Operation], blobIDs: [ObjectID: Blob], partial: Bool, started: SignatureChecks?,
                             knownBadSignatures: Set<ObjectID>?) throws(RepositoryError) -> Attempt {
        // Nothing to add (the serving side of a fetch): no lock, no graph, nothing written.
        guard !operations.isEmpty else { return .done(ReceiveResult(added: [], known: 0, rejected: [])) }
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        recentBlobs = [:]
        // The graph a sync session just built is reused (same index file), not built again.
        var (graph, validLength) = try takeGraph()

        // Positions in `operations`, not copies: a copy of an operation retains each of its
        // buffers, and releasing two thousand of them twice over was a millisecond at the end.
        var fresh: [ObjectID: Int] = [:]
        fresh.reserveCapacity(operations.count)
        for (position, op) in operations.enumerated() where !graph.contains(op.id) { fresh[op.id] = position }
        // Room for every fresh node now, rather than regrowing (and rehashing) the graph's
        // tables of the whole history part way through the batch.
        graph.reserveCapacity(graph.count + fresh.count)

        // Signatures are the dominant cost of receiving. They are checked on all cores while this
        // thread orders and validates as if every one held; if one does not, everything is done
        // again knowing which (a pack written before the results were in is withdrawn first).
        let candidates = fresh.keys.sorted().compactMap { fresh[$0] }  // positions, by id
        // Checks a sync session started are joined by those it did not cover (usually none); the
        // waiting is done by this thread, never by a pool thread the checks need.
        let checks = knownBadSignatures == nil ? (started ?? SignatureChecks()) : nil
        checks?.submit(operations, positions: candidates)
        // An operation without a verdict counts as a bad signature, never as a good one.
        let failures: () -> Set<ObjectID> = {
            guard let verdicts = checks?.verdicts() else { return [] }
            return Set(candidates.lazy.map { operations[$0].id }.filter { verdicts[$0] != true })
        }
        do {
            return try store(operations: operations, fresh: fresh, candidates: candidates, graph: consume graph,
                             validLength: validLength, blobIDs: blobIDs, partial: partial,
                             badSignature: knownBadSignatures ?? [], signaturesDone: failures)
        } catch {
            // A refusal in strict mode may only be the first one found assuming good signatures.
            let bad = failures()
            if !bad.isEmpty { return .badSignatures(bad) }
            throw error
        }
    }

    /// Orders, validates and stores the fresh operations (the body of `receive`): `fresh` gives
    /// the position in `operations` of each one not in the repository, and `candidates` those
    /// positions in order of id. `signaturesDone` waits for the signature checks and returns the
    /// failures.
    private func store(operations: [Operation], fresh: [ObjectID: Int], candidates: [Int], graph: consuming Graph,
                       validLength: Int, blobIDs: [ObjectID: Blob], partial: Bool, badSignature: Set<ObjectID>,
                       signaturesDone: () -> Set<ObjectID>) throws(RepositoryError) -> Attempt {
        let alreadyKnown = operations.count - fresh.count
        var rejected: [(id: ObjectID, reason: String)] = []
        func refuse(_ id: ObjectID, _ reason: String) throws(RepositoryError) {
            guard partial else { throw .refused(id, reason: reason) }
            rejected.append((id, reason))
        }

        // Parents before children; what never becomes ready has a parent that is missing or refused.
        var checker = SequenceChecker(graph: consume graph, authors: Set(candidates.map { operations[$0].author }))
        var tree = try state()
        var members = try membershipIndex(graph: checker.graph)
        // Who may write as the repository stands: while no membership operation arrives, earlier
        // effect decisions hold, and each new change is applied only if it has effect.
        let effectsBefore = members?.outcome(graph: checker.graph)
        var membershipArrived = false
        var encodings: [(id: ObjectID, encoding: [UInt8])] = []
        var added: [ObjectID] = []
        var newSummaries: [OperationSummary] = []
        var storedBlobs: [ObjectID: Blob] = [:]
        // Whether each id named but not received is stored as a blob: learning it reads the whole
        // object, so each id is read once per batch however many entries name it.
        var isStoredBlob: [ObjectID: Bool] = [:]
        // Kahn's algorithm over the new operations: an operation becomes ready when every
        // parent is in the repository or has been taken; ties go by id, so the order (and the
        // index) is the same whatever order the operations arrived in. Candidates are known by
        // their slot in `candidates`, and their parents among the candidates are looked up once,
        // here, so that the loop below keeps its books in arrays rather than tables keyed by id.
        let count = candidates.count
        var slotOf = [Int32](repeating: -1, count: operations.count)
        for (slot, position) in candidates.enumerated() { slotOf[position] = Int32(slot) }
        // Each candidate's parents, in its own order, as slots (-1: not a candidate).
        var parentSlots: [Int32] = []
        var parentStart = [Int](repeating: 0, count: count + 1)
        var waiting = [Int32](repeating: 0, count: count)
        var firstChildEdge = [Int32](repeating: -1, count: count)
        var edges: [(child: Int32, next: Int32)] = []
        var ready = Heap<SmallestFirst>()
        for (slot, position) in candidates.enumerated() {
            for parent in operations[position].parents {
                let parentSlot = fresh[parent].map { slotOf[$0] } ?? -1
                // One edge per mention: a parent named twice (which the decoder refuses) would add
                // two, and taking it would remove both.
                if parentSlot >= 0 {
                    waiting[slot] += 1
                    edges.append((child: Int32(slot), next: firstChildEdge[Int(parentSlot)]))
                    firstChildEdge[Int(parentSlot)] = Int32(edges.count - 1)
                }
                parentSlots.append(parentSlot)
            }
            parentStart[slot + 1] = parentSlots.count
            if waiting[slot] == 0 { ready.push(SmallestFirst(id: operations[position].id, slot: Int32(slot))) }
        }
        var taken = [Bool](repeating: false, count: count)
        var refused = [Bool](repeating: false, count: count)
        while let next = ready.pop() {
            let slot = Int(next.slot)
            let op = operations[candidates[slot]]
            taken[slot] = true
            var edge = firstChildEdge[slot]
            while edge >= 0 {
                let child = Int(edges[Int(edge)].child)
                waiting[child] -= 1
                if waiting[child] == 0 { ready.push(SmallestFirst(id: operations[candidates[child]].id, slot: Int32(child))) }
                edge = edges[Int(edge)].next
            }
            let mine = parentStart[slot]..<parentStart[slot + 1]
            if let bad = mine.first(where: { parentSlots[$0] >= 0 && refused[Int(parentSlots[$0])] }) {
                try refuse(op.id, "parent \(op.parents[bad - mine.lowerBound].hex) was refused")
                refused[slot] = true
                continue
            }
            // Parents among the candidates are in the graph by now (taken, and not refused);
            // the others must be there already.
            if let missing = mine.first(where: { parentSlots[$0] < 0 && !checker.graph.contains(op.parents[$0 - mine.lowerBound]) }) {
                try refuse(op.id, "parent \(op.parents[missing - mine.lowerBound].hex) is missing")
                refused[slot] = true
                continue
            }
            if let reason = validate(op, checker: checker, members: &members, badSignature: badSignature, blobIDs: blobIDs,
                                     isStoredBlob: &isStoredBlob) {
                try refuse(op.id, reason)
                refused[slot] = true
                continue
            }
            if let change = op.change {
                for entry in change.entries {
                    if let version = entry.version, let blob = blobIDs[version.blob] {
                        encodings.append((version.blob, blob.encoded))
                        storedBlobs[version.blob] = blob
                    }
                }
            }
            encodings.append((op.id, op.encoded))
            let summary = OperationSummary(op)
            newSummaries.append(summary)
            let node = try lift { try checker.append(summary) }
            if members == nil { members = MembershipOrigin(genesis: op, node: node).map { MembershipIndex(origin: $0, graph: checker.graph) { _ in nil } } }
            else { members?.record(node: node, change: op.membership, graph: checker.graph) }
            if op.membership != nil { membershipArrived = true }
            if let change = op.change, effectsBefore?.hasEffect(node: node, author: op.author, graph: checker.graph) ?? true {
                tree.apply(change, node: node, graph: checker.graph)
            }
            added.append(op.id)
        }
        // What never became ready waits on a parent that never arrived (or on a cycle, which
        // would need a hash collision).
        for slot in 0..<count where !taken[slot] {
            let op = operations[candidates[slot]]
            let missing = op.parents.first { !checker.graph.contains($0) && fresh[$0] == nil }
            let waiting = op.parents.first { !checker.graph.contains($0) }
            try refuse(op.id, missing.map { "parent \($0.hex) is missing" }
                ?? "parent \(waiting?.hex ?? "?") is missing (it arrived without its own predecessors)")
        }
        // The pack is written (compressed, fsynced) while the last signatures are still being
        // checked: its objects are not in the repository until the index names them, and if a
        // signature fails it is withdrawn before everything is done again.
        let pack = added.isEmpty ? nil : try lift { try objects.writePack(hashed: encodings) }
        // So is the graph file that will describe the extended index (under a temporary name,
        // renamed into place after the append; removed if anything fails first).
        let appendix = OperationIndex.Appendix(newSummaries, validLength: validLength)
        let stagedGraphFile = added.isEmpty ? nil : stageGraphFile(checker.graph, after: appendix)
        defer { if let stagedGraphFile { try? FileSystem.remove(stagedGraphFile) } }
        let bad = signaturesDone()
        if !bad.isEmpty {
            if let pack { try lift { try objects.withdrawPack(indexPath: pack) } }
            return .badSignatures(bad)
        }
        guard !added.isEmpty else { return .done(ReceiveResult(added: [], known: alreadyKnown, rejected: rejected)) }
        // The working tree stays at its base until a checkout: keep that base's tree while the
        // state cache still holds it.
        preserveBaseTree()
        try lift { try OperationIndex.append(layout.operationIndex, appendix) }
        let length = indexLength()
        let membership = members?.outcome(graph: checker.graph)
        // A membership change can take effect away from operations already applied (or give it
        // back): then the state is computed again from scratch.
        if membershipArrived && (effectsBefore?.limitsEffects == true || membership?.limitsEffects == true) {
            tree = try computeState(graph: checker.graph, membership: membership)
        }
        // The refs of every author appended, and ours, so that our next commit finds a current ref.
        // Heads and tips come from the extended graph, not from re-reading the history.
        var authors = Set(newSummaries.map(\.author))
        if let me = try? peerID(), !checker.tips(of: me).isEmpty { authors.insert(me) }
        let graphAfter = checker.graph
        var refs: [PeerID: [Refs.Tip]] = [:]
        for author in authors {
            refs[author] = checker.tips(of: author).map { Refs.Tip(sequence: graphAfter.sequence($0), id: graphAfter.ids[$0]) }
        }
        try lift {
            try derivedFiles(refs: refs, heads: graphAfter.heads, tree: tree,
                             roles: membership?.members.mapValues(\.role) ?? [:]).write(layout, stamp: length)
        }
        if let stagedGraphFile, length == appendix.end {
            try? FileSystem.commit(stagedGraphFile, to: layout.graphFile, freeingOldLater: true)
        }
        if storedBlobs.values.reduce(0, { $0 + $1.content.count }) <= Repository.recentBlobsLimit { recentBlobs = storedBlobs }
        return .done(ReceiveResult(added: added, known: alreadyKnown, rejected: rejected))
    }

    /// Why `op` (whose parents are all in the checker's graph) is invalid, or `nil`.
    private func validate(_ op: Operation, checker: borrowing SequenceChecker, members: inout MembershipIndex?,
                          badSignature: Set<ObjectID>, blobIDs: [ObjectID: Blob],
                          isStoredBlob: inout [ObjectID: Bool]) -> String? {
        if badSignature.contains(op.id) { return "signature does not verify" }
        if op.parents.isEmpty {
            // Only the genesis may be a root, and only as the first operation (a clone receives it).
            guard op.id == genesis, op.genesis != nil, checker.graph.count == 0 else {
                return "has no parents but is not this repository's genesis"
            }
            return nil
        }
        let expected = checker.expectedSequence(for: op)
        if expected != op.sequence { return "sequence number \(op.sequence), expected \(expected)" }
        let parentNodes = op.parents.compactMap { checker.graph.number(of: $0) }
        if let outcome = members?.outcome(parents: parentNodes, graph: checker.graph) {
            if let issue = MembershipIndex.issue(author: op.author, kind: op.payload.kind, in: outcome) { return issue }
        }
        if let change = op.change {
            for entry in change.entries {
                guard let version = entry.version else { continue }
                // The same words whatever this replica holds: the decision does not depend on it.
                guard blobIDs[version.blob] == nil else { continue }
                let stored = isStoredBlob[version.blob] ?? objects.containsBlob(version.blob)
                isStoredBlob[version.blob] = stored
                if !stored {
                    return "names blob \(version.blob.hex) of '\(entry.path)', but no blob with that id was received or is stored"
                }
            }
        }
        return nil
    }
}

/// Reverses an id's order, so that the max-heap of HGGraph hands out the smallest id first.
private struct SmallestFirst: Comparable {
    let id: ObjectID
    /// Where the operation is among the candidates.
    let slot: Int32
    static func < (a: SmallestFirst, b: SmallestFirst) -> Bool { b.id < a.id }
    static func == (a: SmallestFirst, b: SmallestFirst) -> Bool { a.id == b.id }
}
