import HGCore
import HGCrypto
import HGGraph
import HGStore
import HGSync
import HGWorkTree

/// Every failure the façade reports. Each message is one line that says what
/// went wrong and, where there is something to do, what to do next.
public enum RepositoryError: Error, Sendable, CustomStringConvertible {
    case store(StoreError)
    case workTree(WorkTreeError)
    case decode(DecodeError)
    case crypto(CryptoError)
    case graph(Graph.GraphError)
    case sync(SyncError)
    /// `commit` found nothing to record.
    case nothingToCommit
    /// A pathspec matches no file in the working tree or the state.
    case pathspecMatchesNothing(String)
    /// A pathspec points outside the working tree.
    case pathOutsideRepository(String)
    /// No object or operation has this id or prefix.
    case unknownRevision(String)
    /// More than one object matches the prefix.
    case ambiguousPrefix(String, candidates: [String])
    /// The id names a blob where an operation is required.
    case notAnOperation(String)
    /// `checkout` would overwrite uncommitted changes.
    case wouldOverwrite([String])
    /// A commit message is not acceptable.
    case badMessage(String)
    /// A stored structure is inconsistent in a way only `verify` or `reindex` can sort out.
    case inconsistent(String)
    /// No remote of that name is configured.
    case unknownRemote(String)
    /// The signing identity may not make this operation (not a member, or not an admin).
    case notAuthorised(String)
    /// A membership command that would change nothing or names a non-member.
    case membership(String)
    /// The identity key file does not hold a key of the right length.
    case badIdentityKey(path: String)
    /// The operation index holds no genesis operation (or none the membership can start from).
    case noGenesis
    /// The object the genesis file names is not a genesis operation.
    case notAGenesis(ObjectID)
    /// A change would touch more paths than one operation may.
    case tooManyPaths(limit: Int)
    /// The operation index is damaged before the length the heads file vouches for.
    case indexDamaged(path: String, at: Int, vouched: Int)
    /// An operation was refused where nothing may be (a complete batch, e.g. a local import).
    case refused(ObjectID, reason: String)
    /// The directory given to `open(exactly:)` holds no `.hgrepo` directly inside it.
    case notARepositoryRoot(String)
    /// `sync` without a remote, in a repository with none configured.
    case noRemote
    /// The peer's process exited with a failure status before the sync finished.
    case peerExited(target: String, status: Int32)
    /// `.hgrepo/base` cannot be read as a base (FORMAT.md 5.13).
    case baseDamaged(path: String, reason: String)
    /// `commit` found changes only in paths whose merged version was never checked out.
    case onlyUnsynced([String])
    /// `sync` was given an address (as typed) that leads back to this replica (at `root`).
    case syncWithItself(String, root: String)
    /// `clone`'s target exists and is not an empty directory.
    case cloneTargetExists(String)

    public var description: String {
        switch self {
        case let .store(e): return e.description
        case let .workTree(e): return e.description
        case let .decode(e): return e.description
        case let .crypto(e): return e.description
        case let .graph(e): return "the operation index is inconsistent (\(e)); run 'hg-bft reindex'"
        case let .sync(e): return e.description
        case .nothingToCommit: return "nothing to commit (the working tree matches the merged state)"
        case let .pathspecMatchesNothing(spec): return "pathspec '\(spec)' did not match any file"
        case let .pathOutsideRepository(spec): return "'\(spec)' is outside the repository"
        case let .unknownRevision(text): return "'\(text)' does not name an object in this repository"
        case let .ambiguousPrefix(text, candidates):
            return
                "short id '\(text)' is ambiguous: \(candidates.prefix(5).joined(separator: ", "))\(candidates.count > 5 ? ", …" : ""); give more digits"
        case let .notAnOperation(text): return "'\(text)' is a blob, not an operation"
        case let .wouldOverwrite(paths):
            return
                "uncommitted changes would be overwritten in \(paths.count) file(s): \(paths.prefix(5).joined(separator: ", "))\(paths.count > 5 ? ", …" : ""); commit them first or use --force"
        case let .badMessage(why): return "bad commit message: \(why)"
        case let .inconsistent(why): return why
        case let .notAuthorised(why): return why
        case let .membership(why): return why
        case let .notARepositoryRoot(root):
            return "'\(root)' is not an hg-bft repository (no .hgrepo directly inside it)"
        case .noRemote: return "no remote to sync with; give one, or add one with 'hg-bft remote add <name> <address>'"
        case let .peerExited(target, status):
            return "the peer for \(target) exited with status \(status) before the sync finished; its message is above"
        case let .badIdentityKey(path):
            return
                "'\(path)' does not hold an Ed25519 key of the right length; restore it from a backup or make a new replica with 'hg-bft clone'"
        case .noGenesis: return "the repository has no genesis operation in its index; run 'hg-bft verify'"
        case let .notAGenesis(id): return "the genesis object \(id.hex) is not a genesis operation; run 'hg-bft verify'"
        case let .tooManyPaths(limit):
            return "a change may touch at most \(limit) paths; commit in parts with pathspecs"
        case let .indexDamaged(path, at, vouched):
            return
                "'\(path)' is damaged at byte \(at), before the \(vouched) bytes the heads file records; run 'hg-bft verify', then 'hg-bft reindex'"
        case let .refused(id, reason): return "operation \(id.hex): \(reason)"
        case let .baseDamaged(path, reason):
            return
                "'\(path)' (the working tree's base) is damaged: \(reason); run 'hg-bft checkout' to write it again (files with changes are left alone)"
        case let .onlyUnsynced(paths):
            return
                "nothing committed: \(paths.count) changed path(s) were not checked out since a newer version arrived (\(paths.prefix(5).joined(separator: ", "))\(paths.count > 5 ? ", …" : "")); move your file aside and run 'hg-bft checkout', or name the path to commit your version over the newer one"
        case let .syncWithItself(given, root):
            return "'\(given)' is this repository itself (\(root)); sync with another replica"
        case let .cloneTargetExists(path):
            return "destination '\(path)' already exists and is not an empty directory; clone into a new one"
        case let .unknownRemote(name):
            return "no remote named '\(name)'; 'hg-bft remote list' shows the configured ones"
        }
    }
}

/// Runs `body`, turning the subsystems' typed errors into `RepositoryError`.
@inline(__always)
func lift<T>(_ body: () throws -> T) throws(RepositoryError) -> T {
    do {
        return try body()
    } catch let e as RepositoryError {
        throw e
    } catch let e as StoreError {
        throw .store(e)
    } catch let e as WorkTreeError {
        throw .workTree(e)
    } catch let e as DecodeError {
        throw .decode(e)
    } catch let e as CryptoError {
        throw .crypto(e)
    } catch let e as Graph.GraphError {
        throw .graph(e)
    } catch let e as SyncError {
        throw .sync(e)
    } catch {
        throw .inconsistent("\(error)")
    }
}
