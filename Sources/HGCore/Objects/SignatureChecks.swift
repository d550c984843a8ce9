import Dispatch
import Synchronization

/// Ed25519 checks of operations, started as the operations arrive and run on background
/// threads (all cores), so that a receiver verifies while it is still reading.
///
/// Signature checks are most of the CPU a sync's receiver spends. A sync session submits each
/// batch as it is decoded; the store's validation later collects the verdicts, checking itself
/// only what was not submitted. Verdicts are keyed by operation id, which hashes the whole
/// encoding including the signature, so a verdict can only be reused for the exact bytes checked.
///
/// Abandoning a `SignatureChecks` (never calling `verdicts()`) is allowed: the submitted checks
/// finish in the background and their results are dropped.
public final class SignatureChecks: Sendable {
    private let group = DispatchGroup()
    private let state = Mutex(Checked())
    /// Operations per background task: enough to amortise the dispatch, few enough that the
    /// last batch of a session spreads over every core.
    static let piece = 16

    /// What the background checks share.
    private struct Checked {
        var results: [ObjectID: Bool] = [:]
        /// Every id submitted, so that submitting an operation again starts no second check.
        var submitted = Set<ObjectID>()
    }

    public init() {}

    /// Starts checking those of `operations` not submitted before, in the background, and
    /// returns at once.
    public func submit(_ operations: some Collection<Operation>) {
        let operations = state.withLock { state in operations.filter { state.submitted.insert($0.id).inserted } }
        start(operations)
    }

    /// `submit` of the operations at `positions` of `operations`, copying out only those not
    /// submitted before (a receiver's batch has usually been submitted whole by its session).
    public func submit(_ operations: [Operation], positions: [Int]) {
        let unsubmitted = state.withLock { state in
            positions.filter { state.submitted.insert(operations[$0].id).inserted }
        }
        start(unsubmitted.map { operations[$0] })
    }

    /// Checks `operations` in pieces on background threads.
    private func start(_ operations: [Operation]) {
        var start = 0
        while start < operations.count {
            let piece = Array(operations[start..<min(start + Self.piece, operations.count)])
            start += piece.count
            DispatchQueue.global().async(group: group) { [self] in
                let checked = piece.map { ($0.id, $0.hasValidSignature()) }
                state.withLock { state in
                    for (id, valid) in checked { state.results[id] = valid }
                }
            }
        }
    }

    /// Waits for every check submitted so far; then, for each operation checked, whether its
    /// signature is valid.
    public func verdicts() -> [ObjectID: Bool] {
        group.wait()
        return state.withLock { $0.results }
    }
}
