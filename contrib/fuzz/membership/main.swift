// Fuzz target `membership`: the membership function of docs/ACCESS-CONTROL.md and validity from
// the causal past (FORMAT.md 3, rule 6), on histories a Byzantine peer could make.
//
// The input is a program that builds a DAG. Byte 0 picks the genesis quorum (1–3); then each
// 3-byte instruction (author, action, argument) appends one operation by one of 6 authors:
// a change, or a membership change (add as admin or writer, remove, set role, set quorum) picked
// by the low 3 bits of `action`, whose target is `(action >> 3) % 6`; the operation's parents are
// chosen among the last 7 operations by bits 0–6 of `argument` (never none), and bit 7 makes an
// add or role change grant admin (or a quorum change name epoch 1). Sequence numbers follow the rule, so only authority can
// make an operation invalid. Operations are not signed: the function reads ids and ancestry.
//
// Oracles, beyond "no trap and no AddressSanitizer report":
//  - the decision is independent of delivery order: the same operations stored in a second
//    topological order (the newest ready operation first, instead of the oldest) give the same
//    invalid set, members, roles, ranks, voided operations and reasons, quorum, and the same
//    effect for every change;
//  - every member's role rests on a grant with effect, and no operation is both applied and void.
import HGCore
import HGCrypto
import HGGraph
import HGState

let authors: [PeerID] = (0..<6).map { k in PeerID(key: Bytes32(bytes: [UInt8](repeating: UInt8(k + 1), count: 32)) ?? .zero) }

/// One operation of the program: what it does and which earlier ones (by index) are its parents.
struct Step {
    let author: Int
    let change: MembershipChange?
    let parents: [Int]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: min(size, 1 + 3 * 60)))
    let quorum = Int(bytes[0] % 3) + 1
    var steps: [Step] = []
    var i = 1
    while i + 2 < bytes.count {
        let author = Int(bytes[i] % 6), action = bytes[i + 1], argument = bytes[i + 2]
        i += 3
        // action: the low 3 bits pick the kind, the rest the target; argument: bits 0–6 pick
        // parents among the last 7 operations, bit 7 means admin (or quorum epoch 1).
        let target = authors[Int(action >> 3) % 6]
        let high = argument & 0x80 != 0
        let change: MembershipChange?
        switch action & 0x07 {
        case 0, 1: change = nil
        case 2: change = .add(target, high ? .admin : .writer)
        case 3: change = .remove(target)
        case 4: change = .setRole(target, high ? .admin : .writer)
        case 5: change = .setQuorum(epoch: high ? 1 : 0, quorum: Int(action >> 3) % 3 + 1)
        default: change = .add(target, .admin)
        }
        let count = steps.count + 1
        var parents = (0..<7).filter { argument & (1 << $0) != 0 }.map { count - 1 - $0 }.filter { $0 >= 0 }
        if parents.isEmpty { parents = [count - 1] }
        steps.append(Step(author: author, change: change, parents: Array(Set(parents)).sorted()))
    }
    let (first, firstOrder) = run(steps, quorum: quorum, newestFirst: false)
    let (second, _) = run(steps, quorum: quorum, newestFirst: true)
    precondition(first == second, "the outcome depends on the delivery order: \(firstOrder)")
    return 0
}

/// What must not depend on the order: by operation id and peer, never by node number.
struct Digest: Equatable {
    var invalid: Set<ObjectID> = []
    var members: [PeerID: MemberInfo] = [:]
    var voided: [ObjectID: VoidReason] = [:]
    var quorum = 0
    var effective: Set<ObjectID> = []
}

/// Builds the DAG of `steps` in one topological order and audits it.
func run(_ steps: [Step], quorum: Int, newestFirst: Bool) -> (Digest, [Int]) {
    // Ids and sequence numbers, independent of the order.
    let genesisID = ObjectID(raw: Bytes32(bytes: Blake2b.hash256([0xFF, UInt8(quorum)])) ?? .zero)
    var ids = [genesisID]
    var highest: [[PeerID: UInt64]] = [[authors[0]: 1]]
    var summaries = [OperationSummary(id: genesisID, author: authors[0], sequence: 1, timestamp: 0,
                                      kind: Payload.Kind.genesis, parents: [], entryCount: 0, message: "")]
    for (n, step) in steps.enumerated() {
        let author = authors[step.author]
        var high: [PeerID: UInt64] = [:]
        for p in step.parents { high.merge(highest[p]) { max($0, $1) } }
        let sequence = (high[author] ?? 0) + 1
        high[author] = sequence
        highest.append(high)
        let id = ObjectID(raw: Bytes32(bytes: Blake2b.hash256([UInt8(n & 0xFF), UInt8(n >> 8), 0x5A])) ?? .zero)
        ids.append(id)
        summaries.append(OperationSummary(id: id, author: author, sequence: sequence, timestamp: UInt64(n),
                                          kind: step.change == nil ? Payload.Kind.change : Payload.Kind.membership,
                                          parents: step.parents.map { ids[$0] }.sorted(), entryCount: 1, message: ""))
    }
    // Kahn's algorithm, taking the oldest or the newest ready operation.
    var waiting = [0] + steps.map { Set($0.parents).count }
    var children = [[Int]](repeating: [], count: steps.count + 1)
    for (n, step) in steps.enumerated() { for p in Set(step.parents) { children[p].append(n + 1) } }
    var ready = [0]
    var order: [Int] = []
    while !ready.isEmpty {
        let pick = newestFirst ? ready.indices.max { ready[$0] < ready[$1] } ?? 0 : ready.indices.min { ready[$0] < ready[$1] } ?? 0
        let n = ready.remove(at: pick)
        order.append(n)
        for c in children[n] {
            waiting[c] -= 1
            if waiting[c] == 0 { ready.append(c) }
        }
    }
    guard let graph = try? Graph(order.map { summaries[$0] }) else { preconditionFailure("the program built a bad DAG") }
    let origin = MembershipOrigin(node: 0, id: genesisID, founder: authors[0], timestamp: 0, quorum: quorum)
    let validity = StructuralValidity.check(graph: graph, genesis: genesisID, origin: origin) { node in
        let n = order[node]
        return n == 0 ? nil : steps[n - 1].change
    }
    guard let outcome = validity.membership else { preconditionFailure("no membership outcome") }
    var digest = Digest(invalid: validity.invalid, members: outcome.members, voided: outcome.voided, quorum: outcome.quorum)
    for node in 0..<graph.count where graph.nodes[node].kind == Payload.Kind.change {
        let s = graph.nodes[node]
        if !validity.invalid.contains(s.id) && outcome.hasEffect(node: node, author: s.author, graph: graph) {
            digest.effective.insert(s.id)
        }
    }
    for (peer, member) in outcome.members {
        precondition(member.rank >= 1, "member \(peer.short) without a rank")
    }
    return (digest, order)
}
