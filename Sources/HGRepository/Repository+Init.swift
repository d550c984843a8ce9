import HGCore
import HGCrypto
import HGState
import HGStore
import HGSystem

/// What `init` did.
public struct InitResult: Sendable {
    public let root: String
    public let repository: ObjectID
    public let peer: PeerID
    /// Whether an identity key already in `.hgrepo/keys` was reused.
    public let reusedIdentity: Bool
}

extension Repository {
    /// Creates a repository in `root`: an identity (unless `.hgrepo/keys/identity`
    /// already exists), the genesis operation that makes this replica the
    /// founding admin, and the derived files.
    ///
    /// The genesis file is written last: a directory without it is an
    /// interrupted `init`, which running `init` again completes.
    public static func create(
        at root: String, adminQuorum: Int = 2,
        timestamp: UInt64 = Clock.nowMilliseconds()
    ) throws(RepositoryError) -> (Repository, InitResult) {
        let absoluteRoot = FileSystem.absolute(root)
        let layout = Layout(root: absoluteRoot)
        if FileSystem.exists(layout.genesis) { throw .store(.alreadyExists(path: absoluteRoot)) }
        guard (1...Limits.maxAdminQuorum).contains(adminQuorum) else {
            throw .decode(
                .invalidValue(field: "admin quorum", reason: "must be between 1 and \(Limits.maxAdminQuorum)"))
        }
        try lift {
            try FileSystem.makeDirectories(absoluteRoot)
            try FileSystem.makeDirectory(layout.meta)
            for dir in [layout.objects, layout.refs, layout.peerRefs, layout.indexDirectory] {
                try FileSystem.makeDirectory(dir)
            }
            try FileSystem.makeDirectory(layout.keys, mode: 0o700)
        }
        let lock = try lift { try RepositoryLock(path: layout.lock, timeout: defaultLockTimeout) }
        defer { withExtendedLifetime(lock) {} }
        if FileSystem.exists(layout.genesis) { throw .store(.alreadyExists(path: absoluteRoot)) }

        let reused = FileSystem.exists(layout.identityKey)
        let key: Ed25519.KeyPair = try lift {
            if reused { return try IdentityKey.load(layout.identityKey) }
            let fresh = try Ed25519.KeyPair.generate()
            try IdentityKey.save(fresh, to: layout.identityKey)
            return fresh
        }
        guard let peer = PeerID(publicKey: key.publicKey) else { throw .badIdentityKey(path: layout.identityKey) }

        let nonce = try lift { try SecureRandom.bytes(Genesis.nonceBytes) }
        let op = try lift {
            try Operation.create(
                signer: key, sequence: 1, parents: [], timestamp: timestamp,
                payload: .genesis(Genesis(adminQuorum: adminQuorum, nonce: nonce)))
        }
        let objects = try lift { try ObjectStore(layout: layout) }
        var config = Config()
        config.set("core", "peer", peer.text)
        try lift {
            try objects.write(op.encoded)
            try objects.flush()
            try OperationIndex.rewrite(layout.operationIndex, [OperationSummary(op)])
            let length = FileSystem.status(layout.operationIndex).map { Int($0.st_size) } ?? 0
            try derivedFiles(
                layout, refs: [peer: [.init(sequence: 1, id: op.id)]], heads: [op.id], tree: FileTree(),
                roles: [peer: .admin]
            ).write(layout, stamp: length)
            // The working tree's base: the genesis, whose tree is empty (FORMAT.md 5.13).
            try FileSystem.writeAtomically(layout.base, WorkTreeBase(heads: [op.id]).encoded(), durable: false)
            try FileSystem.writeAtomically(layout.config, Array(config.text.utf8))
            try FileSystem.writeAtomically(layout.formatMarker, Array(formatMarker.utf8))
            try FileSystem.writeAtomically(layout.genesis, Array((op.id.hex + "\n").utf8))
        }
        let repository = try Repository(layout: layout)
        return (repository, InitResult(root: absoluteRoot, repository: op.id, peer: peer, reusedIdentity: reused))
    }
}
