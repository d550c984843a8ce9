import HGCore
import HGCrypto
import HGGraph
import HGStore
import HGSync

extension Repository {
    /// Creates a new replica in `root` of the repository a peer serves: a new
    /// identity of its own, then everything the peer has, validated as any sync
    /// is. If the clone fails, the `.hgrepo` it created is removed again.
    public static func clone(
        into root: String, over stream: ByteStream, options: SyncOptions = SyncOptions(),
        progress: SyncProgress? = nil
    ) throws(RepositoryError) -> (Repository, SyncResult) {
        let absoluteRoot = FileSystem.absolute(root)
        let layout = Layout(root: absoluteRoot)
        if FileSystem.exists(layout.meta) { throw .store(.alreadyExists(path: absoluteRoot)) }
        let createdRoot = !FileSystem.exists(absoluteRoot)
        do {
            let key = try prepareUnborn(layout)
            guard let peer = PeerID(publicKey: key.publicKey) else {
                throw RepositoryError.badIdentityKey(path: layout.identityKey)
            }
            let outcome: SyncOutcome
            do {
                outcome = try SyncSession(
                    source: UnbornReplica(peer: peer), stream: stream, options: options,
                    progress: progress
                ).run()
            } catch {
                throw RepositoryError.sync(error)
            }
            guard outcome.repository != ObjectID(raw: .zero) else {
                throw RepositoryError.sync(.protocolViolation("the peer has no repository to clone"))
            }
            try lift { try FileSystem.writeAtomically(layout.genesis, Array((outcome.repository.hex + "\n").utf8)) }
            let repository = try Repository(layout: layout)
            let received = try repository.receive(
                operations: outcome.operations, blobsByID: outcome.blobs, partial: true,
                signatures: outcome.signatureChecks)
            guard received.added.first == outcome.repository else {
                throw RepositoryError.sync(
                    .protocolViolation("the peer did not send the repository's genesis operation"))
            }
            let heads = try repository.heads()
            if received.rejected.isEmpty && outcome.unresolved == 0 {
                repository.recordSharedHeads(heads, with: outcome.peer)
            }
            return (
                repository,
                SyncResult(
                    peer: outcome.peer, stats: outcome.stats, added: received.added.count,
                    rejected: received.rejected, unresolved: outcome.unresolved, heads: heads,
                    undeliveredHeads: outcome.undeliveredHeads,
                    unrequestedOperations: outcome.unrequestedOperations)
            )
        } catch {
            try? FileSystem.removeTree(createdRoot ? absoluteRoot : layout.meta)
            if let error = error as? RepositoryError { throw error }
            throw .inconsistent("\(error)")
        }
    }

    /// The layout, identity and config of a replica whose repository id is not known yet.
    private static func prepareUnborn(_ layout: Layout) throws(RepositoryError) -> Ed25519.KeyPair {
        try lift {
            try FileSystem.makeDirectories(layout.root)
            try FileSystem.makeDirectory(layout.meta)
            for dir in [layout.objects, layout.refs, layout.peerRefs, layout.indexDirectory] {
                try FileSystem.makeDirectory(dir)
            }
            try FileSystem.makeDirectory(layout.keys, mode: 0o700)
            let key = try Ed25519.KeyPair.generate()
            try IdentityKey.save(key, to: layout.identityKey)
            guard let peer = PeerID(publicKey: key.publicKey) else {
                throw RepositoryError.badIdentityKey(path: layout.identityKey)
            }
            var config = Config()
            config.set("core", "peer", peer.text)
            try FileSystem.writeAtomically(layout.config, Array(config.text.utf8))
            try FileSystem.writeAtomically(layout.formatMarker, Array(formatMarker.utf8))
            return key
        }
    }
}

/// The sync source of a replica being cloned: no operations, and the all-zero repository id
/// that tells the peer so.
final class UnbornReplica: SyncSource {
    let localPeer: PeerID
    init(peer: PeerID) { localPeer = peer }
    var repositoryID: ObjectID { ObjectID(raw: .zero) }
    func syncGraph() throws -> Graph { try Graph([]) }
    func sharedHeads(with peer: PeerID) -> [ObjectID] { [] }
    func encodedObject(_ id: ObjectID) -> [UInt8]? { nil }
    func hasObject(_ id: ObjectID) -> Bool { false }
}
