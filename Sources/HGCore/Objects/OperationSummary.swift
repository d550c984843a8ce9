/// What the operation index keeps of each operation: everything `log`,
/// `heads` and the DAG queries need, without the change entries.
public struct OperationSummary: Hashable, Sendable {
    public let id: ObjectID
    public let author: PeerID
    public let sequence: UInt64
    public let timestamp: UInt64
    public let kind: UInt8
    public let parents: [ObjectID]
    /// Number of paths a change touches (0 for other kinds).
    public let entryCount: Int
    /// The change's message ("" for other kinds).
    public let message: String

    public init(
        id: ObjectID, author: PeerID, sequence: UInt64, timestamp: UInt64, kind: UInt8,
        parents: [ObjectID], entryCount: Int, message: String
    ) {
        self.id = id
        self.author = author
        self.sequence = sequence
        self.timestamp = timestamp
        self.kind = kind
        self.parents = parents
        self.entryCount = entryCount
        self.message = message
    }

    /// The summary of a decoded operation.
    public init(_ op: Operation) {
        let change = op.change
        self.init(
            id: op.id, author: op.author, sequence: op.sequence, timestamp: op.timestamp,
            kind: op.payload.kind, parents: op.parents, entryCount: change?.entries.count ?? 0,
            message: change?.message ?? "")
    }
}
