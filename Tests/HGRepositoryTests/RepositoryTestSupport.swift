import Foundation
import HGCore
import HGCrypto
import HGRepository
import HGStore
import HGTestSupport

/// Runs `body` with a fresh empty directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    try HGTestSupport.withTemporaryDirectory(prefix: "repo-tests", body)
}

/// The simulated peers the tests use (`Peer(seed:)`), which `makeRepository` makes writers.
let testPeerSeeds: [UInt8] = [7, 9, 0x5A]

/// Creates a repository in `<dir>/<name>` whose founder then adds the test peers as writers
/// (so that their operations, made on top of a later commit, are authorised), and returns it
/// with its root.
func makeRepository(
    in dir: String, name: String = "a",
    writers: [UInt8] = testPeerSeeds
) throws -> (repo: Repository, root: String) {
    let (repo, result) = try Repository.create(at: dir + "/" + name, timestamp: 1_700_000_000_000)
    for (n, seed) in writers.enumerated() {
        _ = try repo.changeMembership(.add(try Peer(seed: seed).id, .writer), timestamp: 1_700_000_000_001 + UInt64(n))
    }
    return (repo, result.root)
}

/// Writes a working-tree file, creating directories as needed.
func writeFile(_ root: String, _ path: String, _ content: [UInt8]) throws {
    let full = root + "/" + path
    let dir = (full as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(content).write(to: URL(fileURLWithPath: full))
}

func writeFile(_ root: String, _ path: String, _ text: String) throws {
    try writeFile(root, path, Array(text.utf8))
}

/// Reads a working-tree file; `nil` if it does not exist.
func readFile(_ root: String, _ path: String) -> [UInt8]? {
    let full = root + "/" + path
    guard FileManager.default.fileExists(atPath: full) else { return nil }
    return (try? Data(contentsOf: URL(fileURLWithPath: full))).map { [UInt8]($0) }
}

func repoPath(_ text: String) throws -> RepoPath { try RepoPath(text) }

/// Every file under `.hgrepo` except the lock, with its bytes; directories are listed with a
/// trailing slash and no bytes. Old versions of replaced files still waiting to be deleted are
/// waited for first, as the command-line tool does before it exits.
func snapshotMeta(_ repo: Repository) throws -> [String: [UInt8]] {
    Repository.waitForDeferredRemovals()
    let meta = repo.layout.meta
    guard let walker = FileManager.default.enumerator(atPath: meta) else {
        throw FixtureError("cannot list \(meta)")
    }
    var out: [String: [UInt8]] = [:]
    while let next = walker.nextObject() {
        guard let relative = next as? String, relative != "lock" else { continue }
        let full = meta + "/" + relative
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue {
            out[relative + "/"] = []
        } else {
            out[relative] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: full)))
        }
    }
    return out
}

/// Another replica, simulated by a signing key of its own: it makes operations
/// that reach the repository under test through `receive`.
struct Peer {
    let key: Ed25519.KeyPair
    let id: PeerID

    init(seed: UInt8) throws {
        key = try keyPair(seedByte: seed)
        guard let peer = PeerID(publicKey: key.publicKey) else { throw FixtureError("bad public key length") }
        id = peer
    }

    /// A signed change writing (`content` non-nil) or deleting (`nil`) each path, with the blobs it names.
    func change(
        sequence: UInt64, parents: [ObjectID], files: [(String, [UInt8]?)], message: String = "peer change",
        mode: FileMode = .regular, timestamp: UInt64 = 1_700_000_500_000
    ) throws -> (op: HGCore.Operation, blobs: [Blob]) {
        var entries: [ChangeEntry] = []
        var blobs: [Blob] = []
        for (path, content) in files {
            if let content {
                let blob = Blob(content: content)
                blobs.append(blob)
                entries.append(try writing(path, blob: blob.id, mode: mode))
            } else {
                entries.append(try deleting(path))
            }
        }
        let op = try signedChange(
            by: key, sequence: sequence, parents: parents, timestamp: timestamp, message: message,
            entries: entries)
        return (op, blobs)
    }
}

/// A signed change by `peer` (its first operation unless told) writing `path` as the object
/// `blob`, which need not be a blob at all: what a malicious member can sign.
func craftedChange(
    by peer: Peer, sequence: UInt64 = 1, parents: [ObjectID], path: String,
    blob: ObjectID
) throws -> HGCore.Operation {
    try signedChange(
        by: peer.key, sequence: sequence, parents: parents, timestamp: 1_700_000_500_000, message: "crafted",
        entries: [try writing(path, blob: blob)])
}

/// The conflict file README "Conflicts" / `ConflictRendering` specify, built independently
/// from the documented format: versions ordered by operation id, each after a marker line,
/// a newline added to content lacking one, then the closing line.
func documentedConflictText(_ versions: [(op: ObjectID, author: PeerID, content: [UInt8]?)]) -> [UInt8] {
    var out: [UInt8] = []
    for (index, version) in versions.sorted(by: { $0.op < $1.op }).enumerated() {
        let marker = index == 0 ? "<<<<<<<" : "======="
        out += Array("\(marker) op \(version.op.short) by \(version.author.short)".utf8)
        if version.content == nil { out += Array(" (deleted)".utf8) }
        out.append(UInt8(ascii: "\n"))
        if let content = version.content {
            out += content
            if !content.isEmpty && content.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        }
    }
    out += Array(">>>>>>> end of conflict (\(versions.count) versions)\n".utf8)
    return out
}

/// The scenario most tests start from: A commits `base` to `path`, then B (on top of that
/// commit) writes `theirs`, while A, not yet knowing B's operation, commits `mine`.
/// Returns A's two commits and B's operation, not yet received.
struct ConcurrentWrites {
    let repo: Repository
    let root: String
    let peer: Peer
    let me: PeerID
    let base: CommitResult
    let mine: CommitResult
    let theirs: (op: HGCore.Operation, blobs: [Blob])
}

func concurrentWrites(
    in dir: String, path: String = "notes.txt", base: [UInt8] = Array("base\n".utf8),
    mine: [UInt8]?, theirs: [UInt8]?
) throws -> ConcurrentWrites {
    let (repo, root) = try makeRepository(in: dir)
    let peer = try Peer(seed: 9)
    try writeFile(root, path, base)
    let baseCommit = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
    let theirOp = try peer.change(sequence: 1, parents: [baseCommit.id], files: [(path, theirs)], message: "theirs")
    if let mine {
        try writeFile(root, path, mine)
    } else {
        try FileManager.default.removeItem(atPath: root + "/" + path)
    }
    let mineCommit = try repo.commit(message: "mine", timestamp: 1_700_000_200_000)
    return ConcurrentWrites(
        repo: repo, root: root, peer: peer, me: try repo.peerID(), base: baseCommit,
        mine: mineCommit, theirs: theirOp)
}
