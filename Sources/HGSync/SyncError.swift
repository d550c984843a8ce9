import HGCore
import HGSystem

/// Why a sync failed. Messages name the peer's misbehaviour precisely, because
/// the peer may be malicious and the user must be able to tell.
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call on the transport failed.
    case io(String, errno: Int32)
    /// The peer closed the connection before the protocol was finished.
    case closed(during: String)
    /// Nothing arrived within the timeout.
    case timeout(seconds: Double, during: String)
    /// A frame announced more bytes than the hard maximum.
    case frameTooLarge(Int, limit: Int)
    /// The peer broke the protocol (bad message, wrong order, absurd parameters).
    case protocolViolation(String)
    /// The peer speaks another protocol version.
    case versionMismatch(ours: UInt64, theirs: UInt64)
    /// The peer's repository is a different repository.
    case differentRepository(ours: ObjectID, theirs: ObjectID)
    /// The peer sent more than the configured limits allow.
    case limitExceeded(String)
    /// Starting the transport (a subprocess, ssh) failed.
    case transport(String)
    /// The peer gave up and said why.
    case peerError(String)
    /// The system's random number generator failed (the Bloom filter's salt must be random).
    case noRandomness(String)

    public var description: String {
        switch self {
        case let .io(what, errno): return "\(what) failed: \(ErrnoText.describe(errno))"
        case let .closed(during): return "the peer closed the connection during \(during)"
        case let .timeout(seconds, during): return "the peer sent nothing for \(seconds) s during \(during)"
        case let .frameTooLarge(size, limit): return "the peer sent a frame of \(size) bytes; the limit is \(limit)"
        case let .protocolViolation(why): return "the peer broke the sync protocol: \(why)"
        case let .versionMismatch(ours, theirs):
            return "the peer speaks sync protocol version \(theirs) and this hg-bft speaks version \(ours); "
                + "upgrade hg-bft \(theirs < ours ? "on the peer" : "here")"
        case let .differentRepository(ours, theirs):
            return
                "the peer holds a different repository (\(theirs.short), this one is \(ours.short)); refusing to sync"
        case let .limitExceeded(what): return "the peer exceeded a limit: \(what)"
        case let .transport(why): return why
        case let .peerError(why): return "the peer stopped: \(why)"
        case let .noRandomness(why):
            return "no random bytes for the Bloom filter's salt (\(why)); the sync did not start"
        }
    }
}
