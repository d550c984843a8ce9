import HGCompression
import HGCore
import HGCrypto
import HGGraph
import HGRepository
import HGState
import HGStore
import HGSync
import HGSystem
import HGWorkTree
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every error that can reach a user renders as words, never as Swift's spelling of the case
/// (`badProbeCount(0)`) or a bare number: each case of each error type is listed here, alone
/// and wrapped as the façade wraps it.
@Suite("error messages")
struct ErrorMessageTests {
    private static let id = ObjectID(hashing: Array("an object".utf8))
    private static let other = ObjectID(hashing: Array("another object".utf8))
    private static let peer = PeerID(key: .zero)

    static let decode: [DecodeError] = [
        .truncated(field: "parents"), .trailingBytes(count: 3), .nonMinimalInteger(field: "sequence"),
        .integerOverflow(field: "timestamp"), .unknownType(9), .unknownVersion(2), .unknownKind(0x42),
        .tooLarge(field: "message", limit: 4096), .unsortedParents, .duplicateParent, .unsortedPaths,
        .invalidPath("'..' is not allowed"), .invalidUTF8(field: "message"),
        .invalidValue(field: "mode", reason: "must be 0 or 1"),
    ]
    static let bloom: [BloomError] = [.badSalt, .badProbeCount(0), .tooLarge(bytes: 9 << 20, limit: 8 << 20)]
    static let compression: [CompressionError] = [
        .corrupt("incorrect header check"), .truncated, .tooLarge(limit: 1024), .trailingData, .library(-4),
    ]
    static let sync: [SyncError] = [
        .io("read during the greeting", errno: ECONNRESET), .closed(during: "the greeting"),
        .timeout(seconds: 1, during: "the greeting"), .frameTooLarge(1 << 30, limit: 1 << 26),
        .protocolViolation("bad Bloom filter: \(BloomError.badProbeCount(0))"), .versionMismatch(ours: 1, theirs: 2),
        .differentRepository(ours: id, theirs: other), .limitExceeded("more than 10 objects"),
        .transport("cannot start ssh: \(ErrnoText.describe(ENOENT))"), .peerError("the peer's disk is full"),
        .noRandomness("the system's generator failed"),
    ]
    static let store: [StoreError] = [
        .io(path: "/r/.hgrepo/index/operations", operation: "write", errno: ENOSPC), .notARepository(path: "/r"),
        .alreadyExists(path: "/r"), .locked(lockPath: "/r/.hgrepo/lock", seconds: 10), .objectMissing(id),
        .objectCorrupt(id, path: "objects/ab/cd", reason: "\(CompressionError.truncated)"),
        .objectHashMismatch(id, path: "objects/ab/cd", actual: other),
        .objectMalformed(id, path: "objects/ab/cd", reason: .unsortedParents),
        .badFile(path: "/r/.hgrepo/heads", reason: "line 2 is not an id"),
        .keyPermissions(path: "/r/.hgrepo/keys/identity", mode: 0o644),
        .fileTooLarge(path: "/r/.hgrepo/config", limit: 1 << 20),
    ]
    static let workTree: [WorkTreeError] = [
        .io(path: "/r/a", operation: "open", errno: ENAMETOOLONG), .fileTooLarge(path: "/r/big", limit: 64 << 20),
        .blockedPath(path: "d/e", reason: "'d' is a file, not a directory"),
    ]
    static let graph: [Graph.GraphError] = [.duplicate(id), .missingParent(child: id, parent: other), .tooLarge]
    static let validity: [ValidityIssue] = [
        .badSignature(id), .missingParent(id, parent: other), .wrongSequence(id, expected: 2, actual: 5),
        .foreignRoot(id),
        .notGenesis(id), .invalidParent(id, parent: other), .missingBlob(id, blob: other, path: "a.txt"),
        .notAuthorised(id, reason: "the author is not a member"),
    ]
    static let repository: [RepositoryError] =
        [
            .nothingToCommit, .pathspecMatchesNothing("x"), .pathOutsideRepository("../x"), .unknownRevision("zz"),
            .ambiguousPrefix("ab", candidates: ["ab12", "ab34"]), .notAnOperation("ab12"), .wouldOverwrite(["a.txt"]),
            .badMessage("it is empty"), .inconsistent("the heads file is stale"), .unknownRemote("origin"),
            .notAuthorised("you are not a member"), .membership("already a member"), .syncWithItself(".", root: "/r"),
            .cloneTargetExists("/r"), .badIdentityKey(path: "/r/.hgrepo/keys/identity"), .noGenesis, .notAGenesis(id),
            .tooManyPaths(limit: 65536), .indexDamaged(path: "/r/.hgrepo/index/operations", at: 64, vouched: 128),
            .refused(id, reason: "signature does not verify"),
            .baseDamaged(path: "/r/.hgrepo/base", reason: "checksum mismatch"),
            .onlyUnsynced(["a.txt"]), .notARepositoryRoot("/r"), .noRemote, .peerExited(target: "origin", status: 1),
        ] + store.map { .store($0) } + workTree.map { .workTree($0) } + decode.map { .decode($0) }
        + graph.map { .graph($0) } + sync.map { .sync($0) }
        + [CryptoError.libraryUnavailable, .badLength(what: "seed", expected: 32, actual: 3), .operationFailed("sign")]
        .map { .crypto($0) }

    @Test func everyErrorReadsAsASentence() {
        let messages: [(Any, String)] =
            Self.decode.map { ($0, $0.description) } + Self.bloom.map { ($0, $0.description) }
            + Self.compression.map { ($0, $0.description) } + Self.sync.map { ($0, $0.description) }
            + Self.store.map { ($0, $0.description) } + Self.workTree.map { ($0, $0.description) }
            + Self.graph.map { ($0, $0.description) } + Self.validity.map { ($0, $0.description) }
            + Self.repository.map { ($0, $0.description) }
        for (error, message) in messages {
            #expect(Self.readsAsWords(message), "\(String(reflecting: error)) renders as '\(message)'")
        }
    }

    /// The check itself catches what it is for.
    @Test func theCheckRefusesSwiftSpellingsAndBareNumbers() {
        for bad in [
            "the peer broke the sync protocol: bad Bloom filter: badProbeCount(0)", "read failed (errno 28)",
            "failed: .objectMissing", "", "two\nlines",
        ] {
            #expect(!Self.readsAsWords(bad), "'\(bad)' passed the check")
        }
        #expect(Self.readsAsWords("object 1a2b is missing (see 'hg-bft verify')"))
    }

    /// Not empty, one line, and no identifier in Swift's case spelling (`camelCase(`, `.case`)
    /// or bare errno; the case name itself never appears.
    static func readsAsWords(_ message: String) -> Bool {
        guard !message.isEmpty, !message.contains("\n"), !message.contains("errno") else { return false }
        let scalars = Array(message.unicodeScalars)
        var i = 0
        while i < scalars.count {
            // A word that starts lower-case, holds an upper-case letter and is followed by '(' or
            // sits after a '.' is Swift's spelling of a case.
            guard CharacterSet.lowercase(scalars[i]) else {
                i += 1
                continue
            }
            let start = i
            while i < scalars.count, CharacterSet.letter(scalars[i]) { i += 1 }
            let word = scalars[start..<i]
            let camel = word.dropFirst().contains { CharacterSet.uppercase($0) }
            let called = i < scalars.count && scalars[i] == "("
            let dotted = start > 0 && scalars[start - 1] == "." && (start < 2 || scalars[start - 2] == " ")
            if camel && (called || dotted) { return false }
        }
        return true
    }
}

/// ASCII letter classes, enough for the identifiers these checks look for.
private enum CharacterSet {
    static func lowercase(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) }
    static func uppercase(_ s: Unicode.Scalar) -> Bool { ("A"..."Z").contains(s) }
    static func letter(_ s: Unicode.Scalar) -> Bool { lowercase(s) || uppercase(s) }
}
