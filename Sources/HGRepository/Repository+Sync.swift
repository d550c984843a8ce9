import HGCore
import HGGraph
import HGStore
import HGSync

/// What a sync did, for the summary line and `--json`.
public struct SyncResult: Sendable {
    public let peer: PeerID
    public let stats: SyncStats
    /// Operations received and stored.
    public let added: Int
    /// Operations the peer sent that were refused, with reasons.
    public let rejected: [(id: ObjectID, reason: String)]
    /// Objects the peer never supplied though operations it sent, or its announced heads,
    /// need them (see `SyncOutcome.unresolved`); what depends on them was not stored.
    public let unresolved: Int
    public let heads: [ObjectID]
    /// Heads the peer announced and did not send when asked (counted in `unresolved`).
    public var undeliveredHeads: [ObjectID] = []
    /// Operations the peer sent in answer to our requests that we had not asked for.
    public var unrequestedOperations = 0
    /// Operations held before the sync that lost their effect through a membership change it
    /// brought (a concurrent removal of their author), oldest first.
    public var lostEffect: [LostEffect] = []
}

extension Repository: SyncSource {
    public var repositoryID: ObjectID { genesis }

    /// This replica's peer id. `sync(over:)` reads the identity key before the session starts
    /// and fails there if it is bad, so the all-zero id here is never announced.
    public var localPeer: PeerID {
        (try? peerID()) ?? PeerID(key: .zero)
    }

    public func syncGraph() throws -> Graph { try loadGraph() }

    public func encodedObject(_ id: ObjectID) -> [UInt8]? { try? objects.read(id) }

    /// Objects are not hashed against their ids here: the receiver hashes each one it gets.
    public func encodedObjects(_ ids: [ObjectID], budget: Int) -> [[UInt8]?] {
        objects.read(ids, budget: budget, checkingIDs: false).map { $0.flatMap { try? $0.get() } }
    }

    public func hasObject(_ id: ObjectID) -> Bool { objects.contains(id) }

    // MARK: - Per-peer sync state

    /// `.hgrepo/sync/<peer-id>`: the line `hg-bft sync v1`, then the heads this
    /// replica had at the end of its last complete sync with that peer, one hex
    /// id per line. Losing or damaging it only makes the next sync send more.
    func syncStatePath(_ peer: PeerID) -> String { layout.meta + "/sync/" + peer.text }

    public func sharedHeads(with peer: PeerID) -> [ObjectID] {
        guard let bytes = try? FileSystem.readIfExists(syncStatePath(peer), limit: 1 << 22) else { return [] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == "hg-bft sync v1" else { return [] }
        return lines.dropFirst().compactMap { ObjectID(hex: String($0)) }
    }

    /// Most per-peer sync files kept: every replica that ever cloned or synced leaves one, and
    /// anyone can make new identities, so the oldest are dropped (costing them efficiency only).
    static let maxSyncStates = 1024

    func recordSharedHeads(_ heads: [ObjectID], with peer: PeerID) {
        let text = "hg-bft sync v1\n" + heads.sorted().map { $0.hex + "\n" }.joined()
        let directory = layout.meta + "/sync"
        _ = try? FileSystem.makeDirectory(directory)
        try? FileSystem.writeDerived(syncStatePath(peer), Array(text.utf8))
        guard let names = try? FileSystem.list(directory), names.count > Repository.maxSyncStates else { return }
        let byAge = names.compactMap { name -> (name: String, modified: Int64)? in
            guard let st = FileSystem.status(directory + "/" + name) else { return nil }
            return (name, Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        }.sorted { $0.modified < $1.modified }
        for old in byAge.prefix(byAge.count - Repository.maxSyncStates) {
            try? FileSystem.remove(directory + "/" + old.name)
        }
    }

    // MARK: - Sync

    /// Reconciles with a peer over `stream` (both sides end with the union of
    /// their operations), then validates and stores what arrived. Does not
    /// touch the working tree; the CLI runs `checkout` afterwards.
    public func sync(
        over stream: ByteStream, options: SyncOptions = SyncOptions(),
        progress: SyncProgress? = nil
    ) throws(RepositoryError) -> SyncResult {
        // A bad identity key is an error here, not a session announcing the all-zero peer.
        _ = try peerID()
        let session = SyncSession(source: self, stream: stream, options: options, progress: progress)
        let outcome: SyncOutcome
        do {
            outcome = try session.run()
        } catch {
            throw .sync(error)
        }
        // Only a membership change can take effect away; most syncs bring none and pay nothing.
        let before = outcome.operations.contains { $0.membership != nil } ? try effectSnapshot() : nil
        let received = try receive(
            operations: outcome.operations, blobsByID: outcome.blobs, partial: true,
            signatures: outcome.signatureChecks)
        let lost = try before.map { before throws(RepositoryError) in try lostEffects(since: before) } ?? []
        let heads = try self.heads()
        // Only a clean, complete exchange says both sides now share these heads.
        if received.rejected.isEmpty && outcome.unresolved == 0 {
            recordSharedHeads(heads, with: outcome.peer)
        }
        return SyncResult(
            peer: outcome.peer, stats: outcome.stats, added: received.added.count,
            rejected: received.rejected, unresolved: outcome.unresolved, heads: heads,
            undeliveredHeads: outcome.undeliveredHeads, unrequestedOperations: outcome.unrequestedOperations,
            lostEffect: lost)
    }
}
