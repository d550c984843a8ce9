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
}

extension Repository {
    /// Adds operations made elsewhere (by other replicas), with the blobs they name.
    ///
    /// Everything is validated before anything is stored: each operation must
    /// decode, verify its signature, have every parent either in the repository
    /// or earlier in `operations`, follow the sequence rule, not be a second
    /// root, and have every blob it names either stored already or in `blobs`
    /// (checked against its id). Then all new objects go into one pack, their
    /// index records are appended with one fsync, and the heads, refs and state
    /// are updated. If any check fails, nothing is written.
    public func receive(operations: [Operation], blobs: [Blob]) throws(RepositoryError) -> ReceiveResult {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try repairCaches()
        let contents = try readIndex()
        var summaries = contents.entries
        var known = Set(summaries.map(\.id))
        let blobIDs = Dictionary(blobs.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        // Order parents before children among the new operations.
        var pending = operations.filter { !known.contains($0.id) }
        let alreadyKnown = operations.count - pending.count
        var ordered: [Operation] = []
        var placed = known
        while !pending.isEmpty {
            let ready = pending.filter { $0.parents.allSatisfy(placed.contains) }
            guard !ready.isEmpty else {
                let missing = pending.flatMap(\.parents).first { !placed.contains($0) && !pending.map(\.id).contains($0) }
                throw .inconsistent("operation \(pending[0].id.hex) names a parent \(missing?.hex ?? "in a cycle") that is not present")
            }
            for op in ready.sorted(by: { $0.id < $1.id }) where placed.insert(op.id).inserted { ordered.append(op) }
            let readyIDs = Set(ready.map(\.id))
            pending.removeAll { readyIDs.contains($0.id) }
        }

        var checker = SequenceChecker(graph: try lift { try Graph(summaries) })
        var tree = try state()
        var encodings: [[UInt8]] = []
        var added: [ObjectID] = []
        for op in ordered {
            guard op.hasValidSignature() else { throw .inconsistent("operation \(op.id.hex): signature does not verify") }
            if op.parents.isEmpty { throw .inconsistent("operation \(op.id.hex) has no parents but is not this repository's genesis") }
            let expected = checker.expectedSequence(for: op)
            guard expected == op.sequence else {
                throw .inconsistent("operation \(op.id.hex): sequence number \(op.sequence), expected \(expected)")
            }
            if let change = op.change {
                for entry in change.entries {
                    guard let version = entry.version else { continue }
                    if let blob = blobIDs[version.blob] {
                        encodings.append(blob.encoded)
                    } else if !objects.contains(version.blob) {
                        throw .inconsistent("operation \(op.id.hex) names blob \(version.blob.hex), which was not received")
                    }
                }
            }
            encodings.append(op.encoded)
            let summary = OperationSummary(op)
            summaries.append(summary)
            known.insert(op.id)
            let node = try lift { try checker.append(summary) }
            if let change = op.change { tree.apply(change, node: node, graph: checker.graph) }
            added.append(op.id)
        }
        guard !added.isEmpty else { return ReceiveResult(added: [], known: alreadyKnown) }
        _ = try lift { try objects.writePack(encodings) }
        let newSummaries = Array(summaries.suffix(added.count))
        try lift { try OperationIndex.append(layout.operationIndex, newSummaries, validLength: contents.validLength) }
        let length = indexLength()
        let derived = Refs.derive(from: summaries)
        // The refs of every author appended, and ours, so that our next commit finds a current ref.
        var authors = Set(newSummaries.map(\.author))
        if let me = try? peerID(), derived.tips[me] != nil { authors.insert(me) }
        try lift {
            for author in authors {
                try FileSystem.writeAtomically(layout.peerRef(author.text),
                                               Refs.encodePeer(.init(tips: derived.tips[author] ?? [], stamp: length)), durable: false)
            }
            try FileSystem.writeAtomically(layout.heads, Refs.encodeHeads(.init(ids: derived.heads, stamp: length)), durable: false)
            try FileSystem.writeAtomically(layout.stateCache, StateCache.encode(tree, stamp: length), durable: false)
        }
        return ReceiveResult(added: added, known: alreadyKnown)
    }
}
