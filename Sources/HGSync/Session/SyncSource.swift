import HGCore
import HGGraph

/// What a sync session needs from the local repository. The façade implements
/// it; the session never writes: what it receives is returned, and the caller
/// validates and stores it.
public protocol SyncSource: AnyObject {
    /// The repository id (the genesis operation's id).
    var repositoryID: ObjectID { get }
    /// This replica's peer id.
    var localPeer: PeerID { get }
    /// The DAG of every operation.
    func syncGraph() throws -> Graph
    /// The heads this replica believes it shared with `peer` at the end of the last sync (empty if none).
    func sharedHeads(with peer: PeerID) -> [ObjectID]
    /// The canonical encoding of a stored object, or `nil` if it is not stored.
    func encodedObject(_ id: ObjectID) -> [UInt8]?
    /// `encodedObject` of each of `ids`, in that order (a sender reads what it sends in runs),
    /// stopping once about `budget` bytes are read: `nil` for an object not stored, or not read
    /// within the budget (ask `encodedObject` for it). At least the first object is read. The
    /// source need not hash what it reads against the ids: the receiver checks every object.
    func encodedObjects(_ ids: [ObjectID], budget: Int) -> [[UInt8]?]
    /// Whether an object is stored.
    func hasObject(_ id: ObjectID) -> Bool
}

extension SyncSource {
    public func encodedObjects(_ ids: [ObjectID], budget: Int) -> [[UInt8]?] {
        var spent = 0
        return ids.map { id in
            guard spent == 0 || spent <= budget, let encoding = encodedObject(id) else { return nil }
            spent += encoding.count
            return encoding
        }
    }
}

/// Limits and timeouts of one session.
public struct SyncOptions: Sendable {
    /// Seconds a read may wait for the peer.
    public var timeout: Double = 60
    /// Most bytes accepted from the peer in one session.
    public var maxReceiveBytes = 2 << 30
    /// Most objects accepted from the peer in one session.
    public var maxReceiveObjects = 4_000_000
    /// Most NEED rounds before giving up on a peer that never supplies what it is asked.
    public var maxRounds = 64

    public init() {}
}

/// What a session did.
public struct SyncStats: Sendable, Equatable {
    public var operationsSent = 0
    public var blobsSent = 0
    public var operationsReceived = 0
    public var blobsReceived = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Exchanges of objects: 1 for the Bloom-filter round, plus one per round of NEED requests.
    public var roundTrips = 0
    /// Bytes of the canonical encodings of the objects sent (before compression: COMPRESSED OBJECTS
    /// frames carry them deflated, so `bytesSent` can be smaller than this).
    public var payloadBytesSent = 0
    public var payloadBytesReceived = 0

    public init() {}
}

/// The outcome of a session: everything received, not yet validated.
public struct SyncOutcome: Sendable {
    public let peer: PeerID
    /// The repository id the peer announced (all zero bytes for a replica being cloned).
    public let repository: ObjectID
    public let theirHeads: [ObjectID]
    public var operations: [Operation]
    /// Blobs by the id the session computed from their content when it received them.
    public var blobs: [ObjectID: Blob]
    /// Objects still missing when we stopped asking: the peer's heads, parents of the
    /// operations it sent, and blobs they name, which it never supplied.
    public var unresolved: Int
    /// Of those, the heads the peer announced in its HAVE and did not send even when asked.
    public var undeliveredHeads: [ObjectID] = []
    /// Operations the peer sent in answer to our NEED that we had not asked for: other bytes
    /// in place of what it announced (an honest peer answers a NEED with what was asked and
    /// the blobs those operations name).
    public var unrequestedOperations = 0
    public var stats: SyncStats
    /// The signature checks of `operations`, started as they arrived (`Repository.receive`
    /// collects them instead of checking again).
    public var signatureChecks: SignatureChecks? = nil
}

/// Progress reports: a phase name, items done, items expected (0 if unknown), bytes so far.
public typealias SyncProgress = @Sendable (_ phase: String, _ done: Int, _ total: Int, _ bytes: Int) -> Void
