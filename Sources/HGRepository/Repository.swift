import HGCore
import HGCrypto
import HGGraph
import HGState
import HGStore
import HGSystem
import HGWorkTree

#if canImport(Glibc)
import Glibc
#endif

/// An hg-bft repository: the façade every front end uses.
///
/// It owns no state beyond the files in `.hgrepo`; each method reads what it
/// needs. Methods that change the repository take the repository lock, and
/// write objects first, then the index record (the commit point), then the
/// derived caches, so a crash at any moment leaves a repository that
/// `verify` accepts and that holds every operation whose command reported success.
public final class Repository {
    public let layout: Layout
    /// The repository id: the genesis operation's id.
    public let genesis: ObjectID
    public internal(set) var config: Config
    let objects: ObjectStore
    /// The last index read and the file length it was read at: the index only grows by
    /// appends (under the lock) or is rewritten by `reindex`, so an unchanged length means
    /// unchanged records, and a sync does not parse 10^5 records twice.
    private var indexMemo: (length: Int, inode: UInt64, contents: OperationIndex.Contents)?
    /// The graph of `indexMemo`'s records, under the same key: a sync builds it for the
    /// session and receive extends it, instead of building it twice.
    private var graphMemo: (length: Int, inode: UInt64, graph: Graph, validLength: Int)?
    /// The blobs the last receive stored, by id, when their content is at most
    /// `recentBlobsLimit` bytes in all: the checkout that follows a sync writes them without
    /// reading each back from the pack just written. Ids are content hashes, so an entry can
    /// never be stale.
    var recentBlobs: [ObjectID: Blob] = [:]
    static let recentBlobsLimit = 16 << 20

    /// The content of `.hgrepo/format`.
    static let formatMarker = "hg-bft repository format 1\n"
    /// Default seconds to wait for the lock.
    public static let defaultLockTimeout = 10.0

    /// Waits until the old versions of replaced derived files (caches, refs, the graph file)
    /// are deleted: commands replace them without waiting for their blocks to be freed, and
    /// delete them on a background thread while they go on (`DeferredRemovals`). A process
    /// calls this before it exits, so that none is left behind under its temporary name.
    public static func waitForDeferredRemovals() {
        DeferredRemovals.waitForAll()
    }

    init(layout: Layout) throws(RepositoryError) {
        self.layout = layout
        let marker = try lift { try FileSystem.readIfExists(layout.formatMarker, limit: 4096) }
        guard let marker, String(decoding: marker, as: UTF8.self) == Repository.formatMarker else {
            if marker == nil && !FileSystem.exists(layout.genesis) {
                throw .store(.notARepository(path: layout.root))
            }
            throw .store(
                .badFile(path: layout.formatMarker, reason: "unknown repository format; this hg-bft reads format 1"))
        }
        let genesisText = try lift { try FileSystem.readIfExists(layout.genesis, limit: 4096) }
        guard let genesisText else {
            throw .store(
                .badFile(
                    path: layout.genesis,
                    reason: "missing: the repository was not fully created; remove .hgrepo and run 'hg-bft init' again")
            )
        }
        let text = String(decoding: genesisText, as: UTF8.self)
        guard text.hasSuffix("\n"), let id = ObjectID(hex: String(text.dropLast())), id.hex + "\n" == text else {
            throw .store(.badFile(path: layout.genesis, reason: "expected one 64-digit lowercase hex id"))
        }
        genesis = id
        let configBytes = try lift { try FileSystem.readIfExists(layout.config, limit: 1 << 20) } ?? []
        config = try lift { try Config(text: String(decoding: configBytes, as: UTF8.self), path: layout.config) }
        objects = try lift { try ObjectStore(layout: layout) }
    }

    /// Opens the repository whose root is exactly `path` (no search upwards): what `serve`
    /// uses, so that a mistyped path can never sync a different repository above it.
    public static func open(exactly path: String) throws(RepositoryError) -> Repository {
        let layout = Layout(root: FileSystem.absolute(path))
        guard FileSystem.isDirectory(layout.meta) else {
            throw .notARepositoryRoot(layout.root)
        }
        return try Repository(layout: layout)
    }

    /// Opens the repository containing `path` (searching parent directories, like git).
    public static func discover(from path: String) throws(RepositoryError) -> Repository {
        guard let layout = Layout.discover(from: path) else {
            throw .store(.notARepository(path: FileSystem.absolute(path)))
        }
        return try Repository(layout: layout)
    }

    // MARK: - Identity

    /// Loads this replica's signing key (mode 0600 enforced).
    func identity() throws(RepositoryError) -> Ed25519.KeyPair {
        try lift { try IdentityKey.load(layout.identityKey) }
    }

    /// This replica's signing key and the peer id it stands for.
    func signingIdentity() throws(RepositoryError) -> (key: Ed25519.KeyPair, peer: PeerID) {
        let key = try identity()
        guard let peer = PeerID(publicKey: key.publicKey) else { throw .badIdentityKey(path: layout.identityKey) }
        return (key, peer)
    }

    /// This replica's peer id.
    public func peerID() throws(RepositoryError) -> PeerID {
        try signingIdentity().peer
    }

    // MARK: - Locking

    /// Seconds to wait for the lock: `core.lockTimeout` or 10.
    var lockTimeout: Double {
        config.value("core", "locktimeout").flatMap(Double.init).map { max(0, $0) } ?? Repository.defaultLockTimeout
    }

    /// Takes the repository lock.
    func lock() throws(RepositoryError) -> RepositoryLock {
        try lift { try RepositoryLock(path: layout.lock, timeout: lockTimeout) }
    }

    // MARK: - Index and derived caches

    /// The index file's length in bytes: the stamp every cache is checked against.
    func indexLength() -> Int {
        FileSystem.status(layout.operationIndex).map { Int($0.st_size) } ?? 0
    }

    /// Reads every index record.
    func readIndex() throws(RepositoryError) -> OperationIndex.Contents {
        let key = indexKey()
        if let memo = indexMemo, memo.length == key.length, memo.inode == key.inode { return memo.contents }
        let contents = try lift { try OperationIndex.read(layout.operationIndex) }
        indexMemo = (key.length, key.inode, contents)
        return contents
    }

    /// What the memos are keyed by: the index file's length and inode.
    private func indexKey() -> (length: Int, inode: UInt64) {
        let st = FileSystem.status(layout.operationIndex)
        return (st.map { Int($0.st_size) } ?? 0, st.map { UInt64($0.st_ino) } ?? 0)
    }

    /// The DAG of every operation in the index.
    public func loadGraph() throws(RepositoryError) -> Graph {
        try loadGraphAndLength().graph
    }

    /// The DAG, and the byte length of the index records it was built from.
    private func loadGraphAndLength() throws(RepositoryError) -> (graph: Graph, validLength: Int) {
        let key = indexKey()
        if let memo = graphMemo, memo.length == key.length, memo.inode == key.inode {
            return (memo.graph, memo.validLength)
        }
        // Built straight from the records, without a summary per operation in between (unless
        // the summaries were read already).
        var graph = Graph()
        let validLength: Int
        if let memo = indexMemo, memo.length == key.length, memo.inode == key.inode {
            graph = try lift { try Graph(memo.contents.entries) }
            validLength = memo.contents.validLength
        } else if let fromFile = graphFromFile(indexLength: key.length) {
            (graph, validLength) = fromFile
        } else {
            var failure: Graph.GraphError?
            let contents = try lift {
                try OperationIndex.visit(layout.operationIndex, reserving: { graph.reserveCapacity($0) }) { record in
                    Repository.append(record, to: &graph, failure: &failure)
                }
            }
            if let failure { throw .graph(failure) }
            validLength = contents.validLength
        }
        graphMemo = (key.length, key.inode, graph, validLength)
        return (graph, validLength)
    }

    /// The graph file's graph, extended with the index records added since it was written; `nil`
    /// when the file is missing, damaged, or not made from this index (then the caller reads
    /// the whole index, which also reports any damage there).
    private func graphFromFile(indexLength: Int) -> (graph: Graph, validLength: Int)? {
        // Mapped rather than read: the columns are copied out of it once, by the decoding.
        guard let mapped = try? MappedFile.ifExists(layout.graphFile, limit: OperationIndex.maxFileBytes),
            let file = mapped.withBytes(GraphFile.decode(file:)), file.stamp <= indexLength
        else { return nil }
        var graph = file.graph
        var failure: Graph.GraphError?
        let tail = try? OperationIndex.visit(
            layout.operationIndex, from: file.stamp, lastChecksum: file.lastRecordChecksum
        ) { record in
            Repository.append(record, to: &graph, failure: &failure)
        }
        // A torn tail is left to the whole read (and a writer's repair): the length a writer
        // appends at must never come from a derived file.
        guard let tail = tail ?? nil, failure == nil, !tail.tornTail else { return nil }
        return (graph, tail.validLength)
    }

    /// Appends an index record to `graph`, as a record visitor: false (and the error in
    /// `failure`) if the graph refuses it.
    private static func append(
        _ record: OperationIndex.Record, to graph: inout Graph, failure: inout Graph.GraphError?
    ) -> Bool {
        do throws(Graph.GraphError) {
            try graph.append(
                id: record.id, author: record.author, sequence: record.sequence, timestamp: record.timestamp,
                kind: record.kind, parents: record.parents, entryCount: record.entryCount, message: record.message)
            return true
        } catch {
            failure = error
            return false
        }
    }

    /// Index bytes a graph file may lag behind before a writer rewrites it: a sixteenth of what
    /// it covers, and at least this much. Reading the lagging records costs a reader at most about
    /// a sixteenth of reading the whole index again; the rewrites cost a writer, spread over the
    /// operations that made the index grow, a few bytes written per operation.
    static let graphFileSlack = 64 << 10

    /// Rewrites the graph file (FORMAT.md 5.9.2) when the index has grown past it by more than
    /// the slack. The caller holds the lock and has just appended to the index; `known`, when
    /// given, is the graph of exactly the index's records and their length. The file only saves
    /// time, so failing to write it fails nothing: readers then use the old one, or the index.
    func refreshGraphFile(known: (graph: Graph, length: Int)? = nil) {
        let length = indexLength()
        guard graphFileIsStale(forIndexLength: length),
            let (graph, validLength) = known.map({ ($0.graph, $0.length) }) ?? (try? loadGraphAndLength()),
            validLength == length, let checksum = OperationIndex.checksum(endingAt: length, in: layout.operationIndex)
        else { return }
        let file = GraphFile(graph: graph, stamp: length, lastRecordChecksum: checksum)
        try? FileSystem.writeDerived(layout.graphFile, file.encoded())
    }

    /// `refreshGraphFile` for a graph whose last records are still to be appended
    /// (`appendix`): the file is written under a temporary name (returned) when the current one
    /// would then be stale, for the caller to rename into place once the index holds them. A
    /// receiver does this while it waits for the signature checks, instead of after them.
    func stageGraphFile(_ graph: Graph, after appendix: OperationIndex.Appendix) -> String? {
        guard graphFileIsStale(forIndexLength: appendix.end), let checksum = appendix.lastRecordChecksum else {
            return nil
        }
        let file = GraphFile(graph: graph, stamp: appendix.end, lastRecordChecksum: checksum)
        return try? FileSystem.stage(layout.graphFile, file.encoded())
    }

    /// Whether the graph file falls far enough behind an index of `length` bytes to be
    /// rewritten: by more than `graphFileSlack` and a sixteenth of what it covers.
    private func graphFileIsStale(forIndexLength length: Int) -> Bool {
        let stamp =
            FileSystem.read(layout.graphFile, at: 0, count: GraphFile.prefixBytes).flatMap(GraphFile.peekStamp) ?? 0
        let behind = stamp <= length ? length - stamp : length
        return behind > max(Repository.graphFileSlack, stamp / 16)
    }

    /// The DAG, for a caller that is about to extend it and write the index: the memos are
    /// dropped, so that the caller holds the only reference and appending does not copy.
    func takeGraph() throws(RepositoryError) -> (graph: Graph, validLength: Int) {
        let taken = try loadGraphAndLength()
        graphMemo = nil
        indexMemo = nil
        return taken
    }

    /// The current heads: from the heads file when its stamp is current, else (stale, missing
    /// or damaged) derived from the index.
    public func heads() throws(RepositoryError) -> [ObjectID] {
        if let cached = try? Refs.readHeads(layout.heads), cached.stamp == indexLength() {
            return cached.ids
        }
        return Refs.derive(from: try readIndex().entries).heads
    }

    /// The merged file tree: from the state cache when its stamp is current, else recomputed.
    public func state() throws(RepositoryError) -> FileTree {
        if let bytes = try lift({ try FileSystem.readIfExists(layout.stateCache, limit: 1 << 30) }),
            let cached = StateCache.decode(bytes), cached.stamp == indexLength()
        {
            return cached.tree
        }
        return try computeState(graph: try loadGraph())
    }

    /// Recomputes the file tree from every change operation that has effect
    /// (ACCESS-CONTROL.md: a removed member's concurrent changes have none).
    func computeState(graph: Graph) throws(RepositoryError) -> FileTree {
        var index = try membershipIndex(graph: graph)
        return try computeState(graph: graph, membership: index?.outcome(graph: graph))
    }

    /// Recomputes the file tree, given the membership of the whole graph.
    func computeState(graph: Graph, membership: MembershipOutcome?) throws(RepositoryError) -> FileTree {
        try lift {
            try FileTree.compute(graph: graph) { node in
                guard graph.kind(node) == Payload.Kind.change,
                    membership?.hasEffect(node: node, author: graph.author(node), graph: graph) ?? true
                else { return nil }
                return try objects.readOperation(graph.ids[node]).change
            }
        }
    }

    /// Rewrites the heads, peer refs and state cache from the index when any is stale.
    /// The caller holds the lock. Returns the index contents read, if it had to read them.
    @discardableResult
    func repairCaches() throws(RepositoryError) -> OperationIndex.Contents? {
        let length = indexLength()
        let headsFresh = (try? Refs.readHeads(layout.heads))??.stamp == length
        let stateBytes = try? FileSystem.readIfExists(layout.stateCache, limit: 1 << 30)
        let stateFresh = stateBytes.flatMap { $0 }.flatMap(StateCache.decode)?.stamp == length
        let membersBytes = try? FileSystem.readIfExists(layout.membersCache, limit: 1 << 26)
        let membersFresh = membersBytes.flatMap { $0 }.flatMap(MembersCache.decode)?.stamp == length
        if headsFresh && stateFresh && membersFresh { return nil }
        var contents = try readIndex()
        if contents.tornTail {
            // A torn record can only follow the last complete append. If the heads file vouches
            // for bytes beyond where the readable records end, a length field in the middle was
            // damaged: cutting there would drop committed operations, so stop instead.
            if let vouched = (try? Refs.readHeads(layout.heads))??.stamp, vouched > contents.validLength {
                throw .indexDamaged(path: layout.operationIndex, at: contents.validLength, vouched: vouched)
            }
            // Cut the torn record so the file's length is a record boundary again.
            try lift { try OperationIndex.append(layout.operationIndex, [], validLength: contents.validLength) }
            contents.tornTail = false
        }
        let graph = try lift { try Graph(contents.entries) }
        let newLength = indexLength()
        let derived = Refs.derive(from: contents.entries)
        var index = try membershipIndex(graph: graph)
        let membership = index?.outcome(graph: graph)
        let tree = try computeState(graph: graph, membership: membership)
        try lift {
            try derivedFiles(
                refs: derived.tips, heads: derived.heads, tree: tree,
                roles: membership?.members.mapValues(\.role) ?? [:]
            ).write(layout, stamp: newLength)
        }
        refreshGraphFile(known: (graph, newLength))
        return contents
    }

    /// The highest sequence number of `author`'s operations: from the author's ref when its
    /// stamp is current, else (after a crash, or for an author with no ref) from the index.
    func highestSequence(of author: PeerID) throws(RepositoryError) -> UInt64 {
        if let ref = try? Refs.readPeer(layout.peerRef(author.text)), ref.stamp == indexLength() {
            return ref.tips.map(\.sequence).max() ?? 0
        }
        return try readIndex().entries.lazy.filter { $0.author == author }.map(\.sequence).max() ?? 0
    }

    /// After operations by `author` were appended to the index (the last one being `tip`,
    /// which is now the only head unless `heads` says otherwise): rewrites the author's ref, the heads and the state cache,
    /// stamped with the index's new length. None is fsynced: the index record is the durable
    /// fact, and a cache whose stamp is behind the index is recomputed.
    func publish(
        author: PeerID, tip: Refs.Tip, heads: [ObjectID]? = nil, tree: FileTree,
        roles: [PeerID: Role]
    ) throws(RepositoryError) {
        try lift {
            try derivedFiles(refs: [author: [tip]], heads: heads ?? [tip.id], tree: tree, roles: roles)
                .write(layout, stamp: indexLength())
        }
        refreshGraphFile()
    }

    /// The derived files of a state: refs and heads, then the state and members caches (the
    /// one list of caches every writer publishes; FORMAT.md 5.12).
    func derivedFiles(
        refs: [PeerID: [Refs.Tip]], heads: [ObjectID], tree: FileTree, roles: [PeerID: Role]
    ) -> DerivedFiles {
        Repository.derivedFiles(layout, refs: refs, heads: heads, tree: tree, roles: roles)
    }

    /// `derivedFiles` for a repository being created (`init`).
    static func derivedFiles(
        _ layout: Layout, refs: [PeerID: [Refs.Tip]], heads: [ObjectID], tree: FileTree,
        roles: [PeerID: Role]
    ) -> DerivedFiles {
        DerivedFiles(
            refs: refs, heads: heads,
            caches: [
                .init(path: layout.stateCache) { StateCache.encode(tree, stamp: $0) },
                .init(path: layout.membersCache) { MembersCache.encode(roles, stamp: $0) },
            ])
    }

    // MARK: - Work tree cache

    func loadWorkTreeCache() -> WorkTreeCache {
        guard let st = FileSystem.status(layout.worktreeCache),
            let bytes = try? FileSystem.read(layout.worktreeCache, limit: 1 << 30),
            let cache = WorkTreeCache.decode(bytes, modified: (Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)))
        else { return WorkTreeCache() }
        return cache
    }

    /// Writes the work-tree cache, first refreshing the entries of files just hashed and
    /// marking as racy every entry modified too recently to be trusted later.
    func saveWorkTreeCache(
        _ cache: WorkTreeCache, hashed: [RepoPath: (FileStamp, ObjectID)] = [:]
    ) throws(RepositoryError) {
        var updated = cache
        for (path, (stamp, blob)) in hashed { updated.refresh(path, stamp: stamp, blob: blob) }
        updated.markRacyEntries(now: Clock.now())
        try lift { try FileSystem.writeDerived(layout.worktreeCache, updated.encode()) }
    }

    /// The working tree's scanner. A recorded file over the blob limit is listed, not skipped
    /// (so that no comparison reads it as deleted); the state is read only if there is one.
    func scanner() -> WorkTreeScanner {
        WorkTreeScanner(root: layout.root, ignore: WorkTreeScanner.loadIgnoreRules(root: layout.root)) { [self] path in
            guard let state = try? state() else { return true }
            if case .absent = state.value(path) { return false }
            return true
        }
    }
}
