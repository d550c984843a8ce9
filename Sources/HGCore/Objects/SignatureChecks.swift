import Dispatch

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
public final class SignatureChecks: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = DispatchSemaphore(value: 1)
    private var results: [ObjectID: Bool] = [:]  // guarded by `lock`
    /// Every id submitted, so that submitting an operation again starts no second check.
    private var submitted = Set<ObjectID>()  // guarded by `lock`
    /// Operations per background task: enough to amortise the dispatch, few enough that the
    /// last batch of a session spreads over every core.
    static let piece = 16

    public init() {}

    /// Starts checking those of `operations` not submitted before, in the background, and
    /// returns at once.
    public func submit(_ operations: some Collection<Operation>) {
        lock.wait()
        let operations = operations.filter { submitted.insert($0.id).inserted }
        lock.signal()
        start(operations)
    }

    /// `submit` of the operations at `positions` of `operations`, copying out only those not
    /// submitted before (a receiver's batch has usually been submitted whole by its session).
    public func submit(_ operations: [Operation], positions: [Int]) {
        lock.wait()
        let unsubmitted = positions.filter { submitted.insert(operations[$0].id).inserted }
        lock.signal()
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
                lock.wait()
                for (id, valid) in checked { results[id] = valid }
                lock.signal()
            }
        }
    }

    /// Waits for every check submitted so far; then, for each operation checked, whether its
    /// signature is valid.
    public func verdicts() -> [ObjectID: Bool] {
        group.wait()
        lock.wait()
        defer { lock.signal() }
        return results
    }
}
