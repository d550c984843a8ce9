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
    public func receive(
        operations: [Operation], blobs: [Blob], partial: Bool = false,
        signatures: SignatureChecks? = nil
    ) throws(RepositoryError) -> ReceiveResult {
        let byID = Dictionary(blobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return try receive(operations: operations, blobsByID: byID, partial: partial, signatures: signatures)
    }

    /// `receive` of blobs keyed by ids the caller computed from their content (a sync session
    /// hashes each blob as it arrives), so that they are not hashed again. Each key must be
    /// the id of its blob: the store files the blob under it.
    public func receive(
        operations: [Operation], blobsByID blobs: [ObjectID: Blob], partial: Bool = false,
        signatures: SignatureChecks? = nil
    ) throws(RepositoryError) -> ReceiveResult {
        var knownBad: Set<ObjectID>?
        while true {
            switch try receiveOnce(
                operations: operations, blobIDs: blobs, partial: partial, started: signatures,
                knownBadSignatures: knownBad)
            {
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
    private func receiveOnce(
        operations: [Operation], blobIDs: [ObjectID: Blob], partial: Bool, started: SignatureChecks?,
        knownBadSignatures: Set<ObjectID>?
    ) throws(RepositoryError) -> Attempt {
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
            let admission = Admission(
                operations: operations, fresh: fresh, candidates: candidates, genesis: genesis,
                badSignatures: knownBadSignatures ?? [], carriesBlob: { blobIDs[$0] != nil },
                isStoredBlob: { [objects] in objects.containsBlob($0) })
            return try store(
                admission, graph: consume graph, validLength: validLength, blobIDs: blobIDs, partial: partial,
                signaturesDone: failures)
        } catch {
            // A refusal in strict mode may only be the first one found assuming good signatures.
            let bad = failures()
            if !bad.isEmpty { return .badSignatures(bad) }
            throw error
        }
    }

    /// Stores what `admission` (HGState) admits of the fresh operations (the body of `receive`):
    /// their objects in one pack, their records in one index append, then the derived files.
    /// `signaturesDone` waits for the signature checks and returns the failures.
    private func store(
        _ admission: Admission, graph: consuming Graph, validLength: Int, blobIDs: [ObjectID: Blob],
        partial: Bool, signaturesDone: () -> Set<ObjectID>
    ) throws(RepositoryError) -> Attempt {
        let alreadyKnown = admission.operations.count - admission.fresh.count
        var checker = SequenceChecker(
            graph: consume graph,
            authors: Set(admission.candidates.map { admission.operations[$0].author }))
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
        // What is admitted is stored: its blobs and itself go into the pack, its summary into
        // the index, its change into the state when it has effect.
        let rejected = try lift {
            try admission.run(checker: &checker, members: &members) { op, node, graph in
                if let change = op.change {
                    for entry in change.entries {
                        if let version = entry.version, let blob = blobIDs[version.blob] {
                            encodings.append((version.blob, blob.encoded))
                            storedBlobs[version.blob] = blob
                        }
                    }
                }
                encodings.append((op.id, op.encoded))
                newSummaries.append(OperationSummary(op))
                if op.membership != nil { membershipArrived = true }
                if let change = op.change, effectsBefore?.hasEffect(node: node, author: op.author, graph: graph) ?? true
                {
                    tree.apply(change, node: node, graph: graph)
                }
                added.append(op.id)
            }
        }
        if !partial, let first = rejected.first { throw .refused(first.id, reason: first.reason) }
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
            refs[author] = checker.tips(of: author).map {
                Refs.Tip(sequence: graphAfter.sequence($0), id: graphAfter.ids[$0])
            }
        }
        try lift {
            try derivedFiles(
                refs: refs, heads: graphAfter.heads, tree: tree,
                roles: membership?.members.mapValues(\.role) ?? [:]
            ).write(layout, stamp: length)
        }
        if let stagedGraphFile, length == appendix.end {
            try? FileSystem.commit(stagedGraphFile, to: layout.graphFile, freeingOldLater: true)
        }
        if storedBlobs.values.reduce(0, { $0 + $1.content.count }) <= Repository.recentBlobsLimit {
            recentBlobs = storedBlobs
        }
        return .done(ReceiveResult(added: added, known: alreadyKnown, rejected: rejected))
    }
}
