import HGCore
import HGCrypto
import HGGraph

/// One side of Kleppmann and Howard's reconciliation (algorithm 2), run
/// identically by both peers (docs/PROTOCOL.md):
///
/// 1. both send HELLO and check the other's (version, repository);
/// 2. both send HAVE: heads, the heads shared with this peer last time, and a
///    Bloom filter over the operations added since those;
/// 3. both send every operation the other's filter does not contain (and every
///    descendant of those, which the other cannot have either), with the blobs
///    they name, then END;
/// 4. rounds of NEED: each asks by id for the predecessors it could not
///    resolve (Bloom false positives), answers the other's request, until
///    both ask for nothing.
///
/// Everything received is kept in memory under `SyncOptions` limits and
/// returned; nothing is stored here. The peer is untrusted: every frame and
/// filter is checked before use, and a peer that withholds predecessors costs
/// at most `maxRounds` rounds.
public final class SyncSession {
    private let source: SyncSource
    private let channel: MessageChannel
    private let options: SyncOptions
    private let progress: SyncProgress?
    private var stats = SyncStats()

    // Received, not yet validated.
    private var receivedOperations: [ObjectID: Operation] = [:]
    private var receivedOrder: [ObjectID] = []
    private var receivedBlobs: [ObjectID: Blob] = [:]
    private var receivedBytes = 0
    /// The peer's count of operations added since the shared heads: what it will send when
    /// both sides were in sync before (and all of it on a clone); only used for progress.
    private var expectedOperations = 0
    /// The local DAG while the protocol runs (released at its end, so that the caller's
    /// receive can extend the same graph without copying it).
    private var localGraph: Graph?
    /// Signatures of received operations, checked in the background while the session reads on.
    private let signatureChecks = SignatureChecks()
    /// Operations accepted from the current OBJECTS message, submitted for checking at its end.
    private var unsubmitted: [Operation] = []

    public init(source: SyncSource, stream: ByteStream, options: SyncOptions, progress: SyncProgress? = nil) {
        self.source = source
        self.channel = MessageChannel(stream: stream)
        self.options = options
        self.progress = progress
        stream.timeout = options.timeout
    }

    /// Runs the protocol to the end and returns what the peer sent.
    public func run() throws(SyncError) -> SyncOutcome {
        do {
            return try runProtocol()
        } catch {
            // Tell the peer why we stop (best effort), so its user sees a reason too.
            channel.send(.error(error.description))
            try? channel.flush()
            throw error
        }
    }

    private func runProtocol() throws(SyncError) -> SyncOutcome {
        let graph: Graph
        do { graph = try source.syncGraph() } catch { throw .transport("cannot read the local repository: \(error)") }
        localGraph = graph
        defer { localGraph = nil }

        // 1. Greetings.
        channel.send(
            .hello(
                Hello(
                    version: ProtocolLimits.version, repository: source.repositoryID,
                    peer: source.localPeer, maxFrameBytes: ProtocolLimits.maxFrameBytes)))
        guard case let .hello(theirs) = try channel.receive(during: "the greeting") else {
            throw .protocolViolation("expected HELLO first")
        }
        guard theirs.version == ProtocolLimits.version else {
            throw .versionMismatch(ours: ProtocolLimits.version, theirs: theirs.version)
        }
        // A replica being cloned has no repository yet and says so with an all-zero id.
        let unborn = ObjectID(raw: .zero)
        guard theirs.repository == source.repositoryID || theirs.repository == unborn || source.repositoryID == unborn
        else {
            throw .differentRepository(ours: source.repositoryID, theirs: theirs.repository)
        }
        if theirs.repository == unborn && source.repositoryID == unborn {
            throw .protocolViolation("neither side has a repository")
        }
        let peer = theirs.peer

        // 2. What each side has.
        let shared = source.sharedHeads(with: peer).filter { graph.contains($0) }
        let sinceShared = Self.nodesNotBelow(shared, in: graph)
        // A salt a peer could predict would let it aim false positives at chosen operations: no
        // fallback to a fixed one.
        let salt: [UInt8]
        do {
            salt = try SecureRandom.bytes(BloomFilter.saltBytes)
        } catch {
            throw .noRandomness("\(error)")
        }
        var filter = BloomFilter(expectedEntries: sinceShared.count, salt: salt)
        for node in sinceShared { filter.insert(graph.ids[node]) }
        channel.send(
            .have(Have(heads: graph.heads, sharedHeads: shared, filter: filter, filterEntries: sinceShared.count)))
        guard case let .have(have) = try channel.receive(during: "the peer's summary") else {
            throw .protocolViolation("expected HAVE after HELLO")
        }
        expectedOperations = have.filterEntries

        // 3. The Bloom round: send what the peer's filter says it lacks, and all descendants.
        let toSend = Self.operationsToSend(graph: graph, have: have)
        try sendObjects(toSend, graph: graph, maxFrame: theirs.maxFrameBytes)
        channel.send(.endOfRound)
        try receiveObjectsUntilEnd(during: "the peer's operations")
        stats.roundTrips = 1

        // 4. NEED rounds until neither side asks for anything.
        var rounds = 0
        var answered = 0
        var unresolved = 0
        var undeliveredHeads: [ObjectID] = []
        var unrequestedOperations = 0
        while true {
            let missing = missingObjects(graph: graph, theirHeads: have.heads)
            let ask = Array(missing.prefix(ProtocolLimits.maxIDs))
            channel.send(.need(ask))
            guard case let .need(requested) = try channel.receive(during: "the peer's requests") else {
                throw .protocolViolation("expected NEED")
            }
            if !requested.isEmpty {
                // Answering is bounded too, or a peer could make us resend objects forever.
                answered += 1
                guard answered <= options.maxRounds else {
                    throw .limitExceeded("the peer kept asking after \(options.maxRounds) rounds")
                }
                try sendRequested(requested, graph: graph, maxFrame: theirs.maxFrameBytes)
                channel.send(.endOfRound)
            }
            if !ask.isEmpty {
                let before = receivedOperations.count + receivedBlobs.count
                let operationsBefore = receivedOrder.count
                try receiveObjectsUntilEnd(during: "the objects we asked for")
                let asked = Set(ask)
                unrequestedOperations += receivedOrder[operationsBefore...].filter { !asked.contains($0) }.count
                stats.roundTrips += 1
                rounds += 1
                let progressed = receivedOperations.count + receivedBlobs.count > before
                if !progressed || rounds >= options.maxRounds {
                    // The peer withholds what it must have: stop asking. Operations whose
                    // predecessors never arrived are left out by the caller's validation.
                    unresolved = missingObjects(graph: graph, theirHeads: have.heads).count
                    undeliveredHeads = have.heads.filter { !graph.contains($0) && receivedOperations[$0] == nil }
                    channel.send(.need([]))
                    try drainUntilSatisfied(graph: graph, maxFrame: theirs.maxFrameBytes)
                    break
                }
            }
            if ask.isEmpty && requested.isEmpty { break }
        }
        try channel.flush()
        stats.bytesSent = channel.bytesSent
        stats.bytesReceived = channel.bytesReceived
        let operations = receivedOrder.compactMap { receivedOperations[$0] }
        return SyncOutcome(
            peer: peer, repository: theirs.repository, theirHeads: have.heads, operations: operations,
            blobs: receivedBlobs, unresolved: unresolved, undeliveredHeads: undeliveredHeads,
            unrequestedOperations: unrequestedOperations, stats: stats,
            signatureChecks: signatureChecks)
    }

    /// After we stopped asking, keep answering the peer's requests until it asks for nothing.
    private func drainUntilSatisfied(graph: Graph, maxFrame: Int) throws(SyncError) {
        for _ in 0..<options.maxRounds {
            guard case let .need(requested) = try channel.receive(during: "the peer's requests") else {
                throw .protocolViolation("expected NEED")
            }
            if requested.isEmpty { return }
            try sendRequested(requested, graph: graph, maxFrame: maxFrame)
            channel.send(.endOfRound)
            channel.send(.need([]))
        }
        throw .limitExceeded("the peer kept asking after \(options.maxRounds) rounds")
    }

    // MARK: - Choosing what to send

    /// Node numbers of every operation that is neither one of `ids` nor an ancestor of one.
    static func nodesNotBelow(_ ids: [ObjectID], in graph: Graph) -> [Int] {
        let starts = ids.compactMap { graph.number(of: $0) }
        var below = graph.ancestorMask(of: starts)
        for start in starts { below[start] = true }
        return (0..<graph.count).filter { !below[$0] }
    }

    /// The operations to send in the Bloom round, in topological order.
    static func operationsToSend(graph: Graph, have: Have) -> [Int] {
        // What the peer certainly has: its heads and claimed shared heads that we know, and their ancestors.
        let candidates = nodesNotBelow(have.heads + have.sharedHeads, in: graph)
        var isCandidate = [Bool](repeating: false, count: graph.count)
        for node in candidates { isCandidate[node] = true }
        var send = [Bool](repeating: false, count: graph.count)
        var stack: [Int] = []
        for node in candidates where !have.filter.mightContain(graph.ids[node]) {
            send[node] = true
            stack.append(node)
        }
        // Every descendant of an operation the peer lacks is one it lacks too.
        while let node = stack.popLast() {
            for child in graph.children[node] where isCandidate[Int(child)] && !send[Int(child)] {
                send[Int(child)] = true
                stack.append(Int(child))
            }
        }
        // The first operations past what the peer certainly has go whatever the filter says: a
        // false positive there hid a whole chain of new work until the peer asked for its start
        // by NEED (a second round trip in about 1 % of syncs). One the peer does have costs
        // only its bytes. (Not the genesis, the one operation without parents: a peer with our
        // repository has it, and a peer being cloned claims nothing.)
        let parents = graph.parents
        for node in candidates
        where !send[node] && !parents[node].isEmpty
            && !parents[node].contains(where: { isCandidate[Int($0)] })
        {
            send[node] = true
        }
        return (0..<graph.count).filter { send[$0] }
    }

    private func sendObjects(_ nodes: [Int], graph: Graph, maxFrame: Int) throws(SyncError) {
        var batch = ObjectBatch(maxFrame: maxFrame, channel: channel)
        var blobsSent = Set<ObjectID>()
        var start = 0
        var readAhead = Self.firstReadAhead
        while start < nodes.count {
            // Operations are read a run at a time, then the blobs they name (the store reads
            // entries close to each other at once); runs grow like batches, so the first batch
            // leaves after a few reads.
            // The run is the operations read within the budget, in order: large objects make it
            // short (the first operation alone, at worst), so that memory stays bounded.
            let ids = nodes[start..<min(start + readAhead, nodes.count)].map { graph.ids[$0] }
            var operations: [(op: Operation, encoding: [UInt8])] = []
            operations.reserveCapacity(ids.count)
            for (id, read) in zip(ids, source.encodedObjects(ids, budget: Self.readBudget)) {
                if read == nil && !operations.isEmpty { break }
                // Not hashed here (nor, from a pack, by the store): the receiver hashes every object.
                guard let encoding = read ?? source.encodedObject(id),
                    let op = try? Operation.decode(encoding, knownID: id)
                else {
                    throw .transport(
                        "operation \(id.hex) is in the index but its object cannot be read; run 'hg-bft verify'")
                }
                operations.append((op, encoding))
            }
            start += operations.count
            readAhead = min(readAhead * 2, Self.maxReadAhead)
            var blobIDs: [ObjectID] = []
            var listed = Set<ObjectID>()
            for (op, _) in operations {
                for entry in op.change?.entries ?? [] {
                    if let blob = entry.version?.blob, !blobsSent.contains(blob), listed.insert(blob).inserted {
                        blobIDs.append(blob)
                    }
                }
            }
            var blobs: [ObjectID: [UInt8]] = [:]
            // Blobs past the budget are read one by one as they are sent.
            for (id, encoding) in zip(blobIDs, source.encodedObjects(blobIDs, budget: Self.readBudget)) {
                blobs[id] = encoding
            }
            for (op, encoding) in operations {
                sendBlobs(of: op, sent: &blobsSent, into: &batch, read: { blobs[$0] })
                batch.add(encoding)
                stats.operationsSent += 1
                stats.payloadBytesSent += encoding.count
                progress?("Sending operations", stats.operationsSent, nodes.count, batch.bytesQueued)
            }
        }
        batch.flush()
    }

    /// Operations `sendObjects` reads at once: at first, and at most.
    static let firstReadAhead = 16
    static let maxReadAhead = 512
    /// About the most bytes of operations, and then of blobs, `sendObjects` reads ahead.
    static let readBudget = 4 << 20

    /// Answers a NEED: each requested object we have, and before each requested change
    /// operation the blobs it names (PROTOCOL.md §3, step 4.2), so that an operation asked for
    /// after a Bloom false positive arrives with its content instead of costing another round.
    private func sendRequested(_ ids: [ObjectID], graph: Graph, maxFrame: Int) throws(SyncError) {
        var batch = ObjectBatch(maxFrame: maxFrame, channel: channel)
        var sent = Set<ObjectID>()
        func add(_ id: ObjectID, _ encoding: [UInt8], isOperation: Bool) {
            guard sent.insert(id).inserted else { return }
            if isOperation { stats.operationsSent += 1 } else { stats.blobsSent += 1 }
            stats.payloadBytesSent += encoding.count
            batch.add(encoding)
        }
        for id in ids {
            // Only objects that belong to the repository: operations in the DAG, and blobs.
            guard let encoding = source.encodedObject(id) else { continue }
            if encoding.first == ObjectType.operation.rawValue {
                guard graph.contains(id) else { continue }
                if let op = try? Operation.decode(encoding, knownID: id) {
                    sendBlobs(of: op, sent: &sent, into: &batch)
                }
                add(id, encoding, isOperation: true)
            } else {
                add(id, encoding, isOperation: false)
            }
        }
        batch.flush()
    }

    /// Queues the blobs a change operation names that are not in `sent` yet (and marks them
    /// sent), to go before the operation: the receiver validates it only with its content.
    private func sendBlobs(
        of op: Operation, sent: inout Set<ObjectID>, into batch: inout ObjectBatch,
        read: (ObjectID) -> [UInt8]? = { _ in nil }
    ) {
        for entry in op.change?.entries ?? [] {
            guard let blob = entry.version?.blob, !sent.contains(blob),
                let encoding = read(blob) ?? source.encodedObject(blob)
            else { continue }
            sent.insert(blob)
            batch.add(encoding)
            stats.blobsSent += 1
            stats.payloadBytesSent += encoding.count
        }
    }

    // MARK: - Receiving

    private func receiveObjectsUntilEnd(during: String) throws(SyncError) {
        while true {
            switch try channel.receive(during: during) {
            case let .objects(objects):
                for encoding in objects { try accept(encoding) }
                signatureChecks.submit(unsubmitted)
                unsubmitted.removeAll(keepingCapacity: true)
            case .endOfRound:
                return
            default:
                throw .protocolViolation("expected OBJECTS or END during \(during)")
            }
        }
    }

    /// Decodes one received object into the quarantine, enforcing the session's limits.
    private func accept(_ encoding: [UInt8]) throws(SyncError) {
        receivedBytes += encoding.count
        guard receivedBytes <= options.maxReceiveBytes else {
            throw .limitExceeded("more than \(options.maxReceiveBytes) bytes of objects")
        }
        guard receivedOperations.count + receivedBlobs.count < options.maxReceiveObjects else {
            throw .limitExceeded("more than \(options.maxReceiveObjects) objects")
        }
        let object: StoredObject
        do { object = try StoredObject.decode(encoding) } catch {
            throw .protocolViolation("sent an object that does not decode: \(error)")
        }
        stats.payloadBytesReceived += encoding.count
        switch object {
        case let .operation(op):
            // Known means in the DAG: a lookup in memory, not a file system probe per operation.
            if receivedOperations[op.id] != nil || (localGraph?.contains(op.id) ?? source.hasObject(op.id)) { return }
            receivedOperations[op.id] = op
            receivedOrder.append(op.id)
            unsubmitted.append(op)
            stats.operationsReceived += 1
            // The peer's count is advisory: show a percentage only while it holds.
            let total = stats.operationsReceived <= expectedOperations ? expectedOperations : 0
            progress?("Receiving operations", stats.operationsReceived, total, receivedBytes)
        case let .blob(blob):
            let id = blob.id
            if receivedBlobs[id] != nil { return }
            receivedBlobs[id] = blob
            stats.blobsReceived += 1
        }
    }

    /// The peer's heads, parents of received operations, and blobs they name, that we have
    /// neither stored nor received; sorted for a deterministic request. The heads matter: a
    /// head (and every descendant) the peer skipped because our filter falsely claimed it is
    /// asked for here, so one session always ends with both sides holding the union.
    private func missingObjects(graph: Graph, theirHeads: [ObjectID]) -> [ObjectID] {
        var missing = Set<ObjectID>()
        for head in theirHeads where !graph.contains(head) && receivedOperations[head] == nil {
            missing.insert(head)
        }
        for op in receivedOperations.values {
            for parent in op.parents where !graph.contains(parent) && receivedOperations[parent] == nil {
                missing.insert(parent)
            }
            if let change = op.change {
                for entry in change.entries {
                    guard let blob = entry.version?.blob else { continue }
                    if receivedBlobs[blob] == nil && !source.hasObject(blob) { missing.insert(blob) }
                }
            }
        }
        return missing.sorted()
    }
}

/// Groups object encodings into OBJECTS messages under the peer's frame limit (the channel sends
/// each compressed when that is smaller, which never makes a frame larger).
struct ObjectBatch {
    let maxFrame: Int
    let channel: MessageChannel
    private var pending: [[UInt8]] = []
    private var pendingBytes = 0
    private(set) var bytesQueued = 0
    /// Where the batch being filled closes: `firstBytes` for the first batch of a round, then
    /// twice the previous limit, up to `targetBytes`.
    private var limitBytes = ObjectBatch.firstBytes
    /// Largest batch: big enough to amortise framing and compress well, small enough to stream.
    static let targetBytes = 1 << 16
    /// The first batch of a round is small, so that the receiver starts decoding and checking
    /// signatures (on all its cores) after tens of objects rather than hundreds.
    static let firstBytes = 1 << 12

    init(maxFrame: Int, channel: MessageChannel) {
        self.maxFrame = maxFrame
        self.channel = channel
    }

    mutating func add(_ encoding: [UInt8]) {
        let cost = encoding.count + 10
        if !pending.isEmpty
            && (pendingBytes + cost > min(limitBytes, maxFrame - 64)
                || pending.count >= ProtocolLimits.maxObjectsPerMessage)
        {
            flush()
        }
        pending.append(encoding)
        pendingBytes += cost
    }

    mutating func flush() {
        guard !pending.isEmpty else { return }
        channel.send(.objects(pending))
        bytesQueued += pendingBytes
        limitBytes = min(limitBytes * 2, Self.targetBytes)
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }
}
