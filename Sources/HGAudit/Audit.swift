import HGCore
import HGGraph
import HGState
import HGStore
import HGSystem

/// What the audit reads of a repository beyond the files of its layout: the values and the
/// reads that the façade owns (the index length it stamps caches with, the working tree's base,
/// the identity key against the config). The audit never writes.
public struct AuditInputs {
    /// Where the repository's files are.
    public let layout: Layout
    /// The repository id: the genesis operation's id.
    public let genesis: ObjectID
    /// The object store, loose objects and packs.
    public let objects: ObjectStore
    /// The operation index's length in bytes now: the stamp every cache is checked against.
    public let indexLength: () -> Int
    /// Reads `.hgrepo/base`.
    public let readBase: () -> BaseReading
    /// What is wrong with the identity key (unreadable, or not the peer `core.peer` names), if anything.
    public let identityProblem: () -> String?

    /// Inputs for auditing the repository at `layout`.
    public init(
        layout: Layout, genesis: ObjectID, objects: ObjectStore, indexLength: @escaping () -> Int,
        readBase: @escaping () -> BaseReading, identityProblem: @escaping () -> String?
    ) {
        self.layout = layout
        self.genesis = genesis
        self.objects = objects
        self.indexLength = indexLength
        self.readBase = readBase
        self.identityProblem = identityProblem
    }
}

/// What reading the working tree's base (FORMAT.md 5.13) gave.
public enum BaseReading {
    /// There is no base file.
    case absent
    /// The base, decoded.
    case present(WorkTreeBase)
    /// The file is there but does not decode.
    case damaged(reason: String)
    /// The file could not be read.
    case unreadable(String)
}

/// Why the audit could not run to the end (as opposed to problems it found and reports).
public enum AuditError: Error, Sendable {
    /// The object store or the index could not be listed or read at all.
    case store(StoreError)
    /// The index records could not be made into a graph.
    case graph(Graph.GraphError)
    /// The signature checks ended without a result, so the audit cannot vouch for anything.
    case signatureChecksIncomplete
}

/// The history as the audit established it, handed to each family of checks that follows the
/// DAG checks (`HistoryCheck`).
public struct AuditedHistory {
    /// The repository audited.
    public let repository: AuditInputs
    /// The graph of the index records whose objects are usable, in index order.
    public let graph: Graph
    /// Whether the index ends in a torn record.
    public let tornIndex: Bool
    /// The membership the valid operations define (`nil` without a usable genesis).
    public let membership: MembershipOutcome?
    /// Whether node `n` of `graph` is valid and has effect.
    public let hasEffect: (Int) -> Bool
    /// The change node `n` of `graph` makes, if it is a change (only its entries are kept).
    public let change: (Int) -> Change?
}

/// A family of checks run on the audited history: it counts what it checked against invariants
/// (`VerifyReport.count`) and reports what breaks them (`VerifyReport.problem`).
///
/// A new family (snapshot attestations, key epochs) is a new type conforming to this protocol,
/// added to the list `Audit` runs (`Audit.standardChecks`, or the façade's own list): no other
/// family is edited. Its problems need their `VerifyCheck` names and, for a new invariant, an
/// `Invariant` case: both closed sets are docs/INVARIANTS.md's tables, and the compiler makes each
/// new check name say which invariant it breaks.
public protocol HistoryCheck: Sendable {
    /// Checks `history`, adding counts and problems to `report`.
    func audit(_ history: AuditedHistory, into report: inout VerifyReport)
}

/// `verify`: the audit of a whole repository against the invariants of docs/INVARIANTS.md.
///
/// In order: every object (read, inflated, hashed, decoded and its signature checked, on all
/// cores), the index against the objects, the DAG (genesis, parents, sequence numbers, blobs,
/// authority, equivocations), then each family of `historyChecks` on the graph that results.
/// Reports every problem found, not just the first.
public struct Audit {
    /// The repository audited.
    public let inputs: AuditInputs
    /// The families of checks run after the DAG checks, in order (their problems are reported
    /// in this order).
    public let historyChecks: [any HistoryCheck]

    /// The families every audit runs: today the files derived from the operations.
    public static let standardChecks: [any HistoryCheck] = [DerivedFilesAudit()]

    /// An audit of the repository `inputs` describes, running `historyChecks` after the DAG checks.
    public init(_ inputs: AuditInputs, historyChecks: [any HistoryCheck] = Audit.standardChecks) {
        self.inputs = inputs
        self.historyChecks = historyChecks
    }

    var layout: Layout { inputs.layout }
    var genesis: ObjectID { inputs.genesis }
    var objects: ObjectStore { inputs.objects }

    /// Runs the whole audit. `progress` is told when the object checks are done.
    public func run(progress: ((String, Int, Int) -> Void)? = nil) throws(AuditError) -> VerifyReport {
        var report = VerifyReport()
        let root = layout.root
        func problem(_ check: VerifyCheck, _ object: ObjectID?, _ file: String?, _ message: String) {
            report.problem(check, object, file, message, root: root)
        }

        // 1. Every object file: decompress under the limit, hash, decode strictly, check signatures.
        let (looseIDs, strays) = try reading { () throws(StoreError) in try objects.enumerate() }
        for stray in strays {
            problem(.objects, nil, stray, "file in the object store that is not named by an object id")
        }
        let (packs, packFailures) = try reading { () throws(StoreError) in try objects.openPacks(checked: true) }
        for (path, error) in packFailures { problem(.pack, nil, path, error.description) }
        for pack in packs {
            do { try pack.verifyTrailer() } catch { problem(.pack, nil, pack.packPath, error.description) }
        }
        if FileSystem.isDirectory(objects.packDirectory) {
            let names = Set(try reading { () throws(StoreError) in try FileSystem.list(objects.packDirectory) })
            for name in names where !FileSystem.isTemporaryName(name) {
                let isPair =
                    (name.hasSuffix(".pack") && names.contains(String(name.dropLast(5)) + ".idx"))
                    || (name.hasSuffix(".idx") && names.contains(String(name.dropLast(4)) + ".pack"))
                if !isPair {
                    problem(.pack, nil, objects.packDirectory + "/" + name, "pack file without its pair (.pack/.idx)")
                }
            }
        }
        // One table of ids over the loose list and the packs' own indexes, one copy of those
        // indexes shared by every reader, and of each operation only what the later checks read:
        // memory grows with the number of operations, not with the size of the history.
        let table = ObjectTable(loose: looseIDs, packs: packs)
        report.objects = table.count
        let pass = ObjectPass(table: table, layout: layout, packs: packs)
        let store = try? ObjectStore(layout: layout, packs: packs)
        func location(_ id: ObjectID) -> String { (store ?? objects).location(of: id) }

        // 2–4. The signatures take most of the time: they are checked on the worker threads
        // while this one audits the index, the DAG and the derived files as if every signature
        // were good, and that audit is done again without the operations whose signature fails.
        let checks = pass.startSignatureChecks()
        let optimistic: Result<VerifyReport, AuditError>
        do { optimistic = .success(try auditHistory(pass, excluding: [], store: store)) } catch {
            optimistic = .failure(error)
        }
        // `wait` is nil only if the checks never produced a result: the audit cannot vouch then.
        guard let demotions = checks.wait() else { throw .signatureChecksIncomplete }

        var decoded = 0
        for slot in 0..<table.slotCount {
            switch pass.statuses[slot] {
            case .blob?: report.blobs += 1
            case .operation?: decoded += 1
            default: break
            }
        }
        report.operations = decoded - demotions.count
        report.signatures = decoded
        // Problems in the order of the objects, as one pass would have found them (an object
        // either failed to read or was an operation, never both).
        let failures = pass.failures
        var f = 0
        var d = 0
        while f < failures.count || d < demotions.count {
            if d == demotions.count || (f < failures.count && failures[f].slot < demotions[d].slot) {
                let id = table.id(at: failures[f].slot)
                problem(.object, id, location(id), failures[f].message)
                f += 1
                continue
            }
            switch demotions[d].demotion {
            case let .badSignature(id, author):
                problem(.signature, id, location(id), "signature by \(author.short) does not verify")
            case let .failed(id, message):
                report.signatures -= 1
                problem(.object, id, location(id), message)
            }
            d += 1
        }
        progress?("Checking objects", table.count, table.count)

        if demotions.isEmpty {
            report.absorb(try optimistic.get())
        } else {
            report.absorb(try auditHistory(pass, excluding: Set(demotions.map(\.slot)), store: store))
        }
        report.count(.objectIntegrity, report.objects)
        report.count(.signatures, report.signatures)
        return report
    }
}

/// Runs a read of the store, as a failure of the whole audit when it throws.
func reading<T>(_ body: () throws(StoreError) -> T) throws(AuditError) -> T {
    do {
        return try body()
    } catch {
        throw .store(error)
    }
}
