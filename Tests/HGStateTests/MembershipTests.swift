import HGCore
import HGGraph
import HGTestSupport
import Testing

@testable import HGState

/// What the audit of a history computes: validity from each operation's causal past, the
/// membership of the whole history, and the tree of the changes with effect.
struct MembershipAudit {
    let history: History
    let graph: Graph
    let validity: ValidityReport
    let outcome: MembershipOutcome
    let tree: FileTree

    func role(_ author: Int) -> Role? { outcome.role(of: history.peers[author]) }
    func isValid(_ op: Operation) -> Bool { !validity.invalid.contains(op.id) }
    func voided(_ op: Operation) -> VoidReason? { outcome.voided[op.id] }

    /// Whether a change (valid) has effect.
    func hasEffect(_ op: Operation) -> Bool {
        guard let node = graph.number(of: op.id), isValid(op) else { return false }
        return outcome.hasEffect(node: node, author: op.author, graph: graph)
    }

    /// The single version of `path` (nil if absent or conflicted).
    func text(_ path: String) throws -> ObjectID? {
        if case let .file(version) = tree.value(try RepoPath(path)) { return version.blob }
        return nil
    }
}

/// Audits `history` with its operations stored in `order` (default: creation order).
func audit(_ history: History, order: [Operation]? = nil) throws -> MembershipAudit {
    let ops = order ?? history.ops
    let graph = try history.graph(ops)
    let genesis = try #require(ops.first { $0.genesis != nil })
    let genesisNode = try #require(graph.number(of: genesis.id))
    let origin = try #require(MembershipOrigin(genesis: genesis, node: genesisNode))
    let validity = StructuralValidity.check(graph: graph, genesis: genesis.id, origin: origin) { node in
        history.byID[graph.nodes[node].id]?.membership
    }
    let outcome = try #require(validity.membership)
    let tree = FileTree.compute(graph: graph) { node in
        let s = graph.nodes[node]
        guard !validity.invalid.contains(s.id), outcome.hasEffect(node: node, author: s.author, graph: graph) else {
            return nil
        }
        return history.byID[s.id]?.change
    }
    return MembershipAudit(history: history, graph: graph, validity: validity, outcome: outcome, tree: tree)
}

private let A = 0
private let B = 1
private let C = 2
private let D = 3

@Suite("Membership: validity from the causal past and the effect rules (ACCESS-CONTROL.md)")
struct MembershipTests {
    @Test("the founder is the only member of a new repository, an admin of rank 1")
    func founderOnly() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: A)
        let a = try audit(h)
        #expect(a.outcome.members.count == 1)
        let founder = try #require(a.outcome.members[h.peers[A]])
        #expect(founder.role == .admin && founder.rank == 1 && founder.addedIn == g.id && founder.addedBy == nil)
        #expect(a.outcome.quorum == 1)
    }

    @Test("a writer's changes are valid after their add; a non-member's and a writer's membership change are not")
    func validityFromTheCausalPast() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let early = try h.change(by: B, parents: [g], [try write("x", "too early")])
        let add = try h.member(by: A, parents: [g], .add(h.peers[B], .writer))
        let concurrentWithAdd = try h.change(by: B, parents: [g], [try write("y", "not seen")], sequence: 2)
        let ok = try h.change(by: B, parents: [add], [try write("x", "b")])
        let writerAdds = try h.member(by: B, parents: [ok], .add(h.peers[C], .writer))
        let a = try audit(h)
        #expect(!a.isValid(early))
        #expect(!a.isValid(concurrentWithAdd), "the add must be in the causal past, not merely in the repository")
        #expect(a.isValid(add) && a.isValid(ok))
        #expect(!a.isValid(writerAdds))
        #expect(
            a.validity.issues.contains(
                .notAuthorised(
                    writerAdds.id,
                    reason: "its author \(h.peers[B].short) is a writer, and only admins change membership")))
        #expect(
            a.validity.issues.contains(
                .notAuthorised(early.id, reason: "its author \(h.peers[B].short) is not a member in its causal past")))
        #expect(a.role(B) == .writer && a.role(C) == nil)
        #expect(try a.text("x") == blobID("b"))
    }

    @Test("an operation by a member after their removal is invalid; a re-add after the removal restores them")
    func removalThenReAdd() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: A)
        let add = try h.member(by: A, parents: [g], .add(h.peers[B], .writer))
        let remove = try h.member(by: A, parents: [add], .remove(h.peers[B]))
        let after = try h.change(by: B, parents: [remove], [try write("x", "after")])
        let reAdd = try h.member(by: A, parents: [remove], .add(h.peers[B], .writer))
        let back = try h.change(by: B, parents: [reAdd], [try write("y", "back")])
        let a = try audit(h)
        #expect(!a.isValid(after))
        #expect(a.isValid(back) && a.hasEffect(back))
        #expect(a.role(B) == .writer)
        #expect(try a.text("y") == blobID("back"))
    }

    // MARK: - The talk's scenarios

    @Test("talk: a removed user concurrently adding a new user — the add, the new user and their writes have no effect")
    func removedUserAddsConcurrently() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let removeB = try h.member(by: A, parents: [addB], .remove(h.peers[B]))
        // B (or a thief with B's key) back-dates: its operations do not have the removal in their past.
        let addC = try h.member(by: B, parents: [addB], .add(h.peers[C], .writer))
        let cWrites = try h.change(by: C, parents: [addC], [try write("x", "sybil")])
        let a = try audit(h)
        #expect(
            a.isValid(addC) && a.isValid(cWrites), "valid from their causal past: they must be stored and delivered")
        #expect(a.voided(addC) == .concurrentWithRemoval(removeB.id))
        #expect(!a.hasEffect(cWrites))
        #expect(a.role(B) == nil && a.role(C) == nil)
        #expect(a.outcome.members.keys.sorted() == [h.peers[A]])
        #expect(try a.text("x") == nil)
    }

    @Test("operations of a member that causally precede their removal keep their effect")
    func precedingOperationsKeepEffect() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let bWrites = try h.change(by: B, parents: [addB], [try write("x", "kept")])
        let addC = try h.member(by: B, parents: [bWrites], .add(h.peers[C], .writer))
        let removeB = try h.member(by: A, parents: [addC], .remove(h.peers[B]))
        let concurrent = try h.change(by: B, parents: [addC], [try write("y", "dropped")])
        let a = try audit(h)
        #expect(a.hasEffect(bWrites))
        #expect(a.voided(addC) == nil)
        #expect(a.role(C) == .writer, "a member added before the removal stays")
        #expect(!a.hasEffect(concurrent))
        #expect(try a.text("x") == blobID("kept"))
        #expect(try a.text("y") == nil)
        _ = removeB
    }

    @Test("talk: two admins removing each other — the more senior one's removal stands")
    func mutualRemoval() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let aRemovesB = try h.member(by: A, parents: [addB], .remove(h.peers[B]))
        let bRemovesA = try h.member(by: B, parents: [addB], .remove(h.peers[A]))
        let a = try audit(h)
        #expect(a.role(A) == .admin)
        #expect(a.role(B) == nil)
        #expect(a.voided(aRemovesB) == nil)
        #expect(a.voided(bRemovesA) == .concurrentWithRemoval(aRemovesB.id))
        #expect(a.outcome.members[h.peers[A]]?.contested == true, "the member list marks the dispute")
    }

    @Test("mutual removal between equals (same rank): the member whose add has the smaller id is senior")
    func mutualRemovalTieBreak() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addC = try h.member(by: A, parents: [addB], .add(h.peers[C], .admin))
        let bRemovesC = try h.member(by: B, parents: [addC], .remove(h.peers[C]))
        let cRemovesB = try h.member(by: C, parents: [addC], .remove(h.peers[B]))
        let a = try audit(h)
        let bSenior = addB.id < addC.id
        #expect(a.role(B) == (bSenior ? .admin : nil))
        #expect(a.role(C) == (bSenior ? nil : .admin))
        #expect(a.voided(bSenior ? cRemovesB : bRemovesC) != nil)
        #expect(a.outcome.members[h.peers[bSenior ? B : C]]?.rank == 2)
    }

    @Test("a cycle of three concurrent removals: the most senior removal stands, the one against it is outranked")
    func cyclicRemoval() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addC = try h.member(by: B, parents: [addB], .add(h.peers[C], .admin))  // rank 3
        let aRemovesB = try h.member(by: A, parents: [addC], .remove(h.peers[B]))
        let bRemovesC = try h.member(by: B, parents: [addC], .remove(h.peers[C]))
        let cRemovesA = try h.member(by: C, parents: [addC], .remove(h.peers[A]))
        let a = try audit(h)
        #expect(a.role(A) == .admin)
        #expect(a.role(B) == nil)
        #expect(a.role(C) == .admin)
        #expect(a.voided(aRemovesB) == nil)
        #expect(a.voided(bRemovesC) == .concurrentWithRemoval(aRemovesB.id))
        #expect(a.voided(cRemovesA) == .outranked(by: aRemovesB.id))
    }

    @Test("talk: an attacker with the founder's stolen key removing the admins who remove it — the quorum wins")
    func stolenFounderKeyQuorum() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A, quorum: 2)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addC = try h.member(by: A, parents: [addB], .add(h.peers[C], .admin))
        let bRemovesA = try h.member(by: B, parents: [addC], .remove(h.peers[A]))
        let cRemovesA = try h.member(by: C, parents: [addC], .remove(h.peers[A]))
        let thiefRemovesB = try h.member(by: A, parents: [addC], .remove(h.peers[B]))
        let thiefRemovesC = try h.member(by: A, parents: [thiefRemovesB], .remove(h.peers[C]))
        let thiefWrites = try h.change(by: A, parents: [thiefRemovesC], [try write("x", "thief")])
        let a = try audit(h)
        #expect(a.role(A) == nil)
        #expect(a.role(B) == .admin && a.role(C) == .admin)
        #expect(a.voided(bRemovesA) == nil && a.voided(cRemovesA) == nil)
        #expect(a.voided(thiefRemovesB) != nil && a.voided(thiefRemovesC) != nil)
        #expect(!a.hasEffect(thiefWrites))
        #expect(try a.text("x") == nil)
    }

    @Test("below the quorum, seniority protects the founder: one admin cannot remove a founder who removes them back")
    func belowQuorumSeniorityWins() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A, quorum: 2)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let bRemovesA = try h.member(by: B, parents: [addB], .remove(h.peers[A]))
        let aRemovesB = try h.member(by: A, parents: [addB], .remove(h.peers[B]))
        let a = try audit(h)
        #expect(a.role(A) == .admin && a.role(B) == nil)
        #expect(a.voided(bRemovesA) != nil && a.voided(aRemovesB) == nil)
    }

    @Test("an undisputed removal of the founder by a junior admin takes effect")
    func undisputedRemovalOfTheFounder() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        _ = try h.member(by: B, parents: [addB], .remove(h.peers[A]))
        let aWrites = try h.change(by: A, parents: [addB], [try write("x", "concurrent")])
        let a = try audit(h)
        #expect(a.role(A) == nil && a.role(B) == .admin)
        #expect(!a.hasEffect(aWrites))
    }

    @Test("a removal beats a concurrent re-add by another admin")
    func removalBeatsConcurrentReAdd() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .writer))
        let addC = try h.member(by: A, parents: [addB], .add(h.peers[C], .admin))
        let remove = try h.member(by: A, parents: [addC], .remove(h.peers[B]))
        let reAdd = try h.member(by: C, parents: [addC], .add(h.peers[B], .admin))
        let a = try audit(h)
        #expect(a.role(B) == nil)
        #expect(a.voided(reAdd) == .concurrentWithRemoval(remove.id))
        #expect(a.role(C) == .admin, "the colluding admin's other standing is untouched")
    }

    @Test("a demotion voids the demoted admin's concurrent membership changes but not their writes")
    func demotion() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let demote = try h.member(by: A, parents: [addB], .setRole(h.peers[B], .writer))
        let bAddsC = try h.member(by: B, parents: [addB], .add(h.peers[C], .writer))
        let bWrites = try h.change(by: B, parents: [bAddsC], [try write("x", "b")])
        let a = try audit(h)
        #expect(a.role(B) == .writer)
        #expect(a.voided(bAddsC) == .concurrentWithRemoval(demote.id))
        #expect(a.role(C) == nil)
        #expect(a.hasEffect(bWrites))
        #expect(try a.text("x") == blobID("b"))
    }

    @Test("a demotion that loses its effect leaves its victim's later membership changes in effect")
    func voidedDemotionRestoresTheVictim() throws {
        // Found by the independent checker: an early pass had voided P's add for good, because it
        // judged P demoted before learning that the demotion itself had no effect.
        let h = try History(authors: 4)
        let g = try h.genesis(by: A)
        let addQ = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addP = try h.member(by: A, parents: [addQ], .add(h.peers[C], .admin))
        let demoteP = try h.member(by: B, parents: [addP], .setRole(h.peers[C], .writer))
        let removeQ = try h.member(by: A, parents: [addP], .remove(h.peers[B]))
        // P, having seen both, is an admin again (the demotion is concurrent with Q's removal).
        let pAddsX = try h.member(by: C, parents: [demoteP, removeQ], .add(h.peers[D], .writer))
        let a = try audit(h)
        #expect(a.isValid(pAddsX))
        #expect(a.voided(demoteP) == .concurrentWithRemoval(removeQ.id))
        #expect(a.role(C) == .admin)
        #expect(a.voided(pAddsX) == nil)
        #expect(a.role(D) == .writer)
    }

    // The last admin (ACCESS-CONTROL.md 3.7). `member` refuses to remove or demote the only
    // admin, but each of two admins may step down while the other is still one in their own
    // causal past: the function then leaves no admin, and nobody can change the group again.

    @Test("two admins demoting each other concurrently: the senior's demotion stands, one admin remains")
    func mutualDemotionKeepsAnAdmin() throws {
        let h = try History(authors: 2)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let aDemotesB = try h.member(by: A, parents: [addB], .setRole(h.peers[B], .writer))
        let bDemotesA = try h.member(by: B, parents: [addB], .setRole(h.peers[A], .writer))
        let a = try audit(h)
        #expect(a.role(A) == .admin)
        #expect(a.role(B) == .writer)
        #expect(a.voided(aDemotesB) == nil)
        #expect(a.voided(bDemotesA) == .concurrentWithRemoval(aDemotesB.id))
    }

    @Test("two admins each stepping down concurrently (demotion or removal of themselves): no admin remains")
    func concurrentStepDownsLeaveNoAdmin() throws {
        for (aLeaves, bLeaves) in [(false, false), (true, true), (true, false), (false, true)] {
            let h = try History(authors: 4)
            let g = try h.genesis(by: A)
            let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
            let addC = try h.member(by: A, parents: [addB], .add(h.peers[C], .writer))
            let aSteps = try h.member(
                by: A, parents: [addC], aLeaves ? .remove(h.peers[A]) : .setRole(h.peers[A], .writer))
            let bSteps = try h.member(
                by: B, parents: [addC], bLeaves ? .remove(h.peers[B]) : .setRole(h.peers[B], .writer))
            let a = try audit(h)
            let what = "A \(aLeaves ? "removes" : "demotes") itself, B \(bLeaves ? "removes" : "demotes") itself"
            #expect(a.voided(aSteps) == nil && a.voided(bSteps) == nil, "\(what): both apply")
            #expect(a.role(A) == (aLeaves ? nil : .writer), "\(what)")
            #expect(a.role(B) == (bLeaves ? nil : .writer), "\(what)")
            #expect(a.role(C) == .writer, "\(what)")
            #expect(!a.outcome.members.values.contains { $0.role == .admin }, "\(what): no admin")
            // A membership operation on top of everything is now invalid whoever signs it.
            let tooLate = try h.member(by: C, parents: [aSteps, bSteps], .add(h.peers[D], .writer))
            #expect(!(try audit(h)).isValid(tooLate), "\(what)")
        }
    }

    @Test("concurrent grants that disagree resolve to the lesser role")
    func concurrentRolesResolveToWriter() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addC = try h.member(by: A, parents: [addB], .add(h.peers[C], .writer))
        _ = try h.member(by: A, parents: [addC], .setRole(h.peers[C], .admin))
        _ = try h.member(by: B, parents: [addC], .setRole(h.peers[C], .writer))
        let a = try audit(h)
        #expect(a.role(C) == .writer)
        #expect(a.outcome.members[h.peers[C]]?.contested == true)
    }

    @Test("the admin quorum changes only when the current quorum of admins propose the same value")
    func quorumChange() throws {
        let h = try History(authors: 3)
        let g = try h.genesis(by: A, quorum: 2)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let one = try h.member(by: A, parents: [addB], .setQuorum(epoch: 0, quorum: 1))
        #expect(try audit(h).outcome.quorum == 2, "one admin alone cannot lower the quorum")
        let two = try h.member(by: B, parents: [addB], .setQuorum(epoch: 0, quorum: 1))
        let a = try audit(h)
        #expect(a.outcome.quorum == 1)
        #expect(a.outcome.quorumEpoch == 1)
        _ = (one, two)
    }

    @Test("seniority follows the shortest add chain from the founder")
    func ranks() throws {
        let h = try History(authors: 4)
        let g = try h.genesis(by: A)
        let addB = try h.member(by: A, parents: [g], .add(h.peers[B], .admin))
        let addC = try h.member(by: B, parents: [addB], .add(h.peers[C], .admin))
        let addD = try h.member(by: C, parents: [addC], .add(h.peers[D], .writer))
        let a = try audit(h)
        #expect(a.outcome.bySeniority.map(\.rank) == [1, 2, 3, 4])
        #expect(a.outcome.members[h.peers[D]]?.addedBy == h.peers[C])
        #expect(a.outcome.members[h.peers[D]]?.addedIn == addD.id)
    }

    // MARK: - Properties

    @Test(
        "validity, membership, effects and the tree are the same for every delivery order",
        arguments: Array(UInt64(1)...40))
    func deliveryOrderIndependence(seed: UInt64) throws {
        let h = try randomMembershipHistory(seed: seed)
        let reference = try audit(h)
        var rng = SeededRNG(seed: seed ^ 0xACCE55)
        for _ in 0..<6 {
            let order = randomTopologicalOrder(h.ops, using: &rng)
            let other = try audit(h, order: order)
            #expect(other.validity.invalid == reference.validity.invalid, "seed \(seed)")
            #expect(other.outcome.members == reference.outcome.members, "seed \(seed)")
            #expect(other.outcome.voided == reference.outcome.voided, "seed \(seed)")
            #expect(other.outcome.quorum == reference.outcome.quorum, "seed \(seed)")
            #expect(other.tree.fingerprint == reference.tree.fingerprint, "seed \(seed)")
        }
    }

    @Test("the random membership histories exercise every rule (so the property above is not vacuous)")
    func randomHistoriesCoverTheRules() throws {
        var voided = 0
        var outranked = 0
        var invalid = 0
        var ineffective = 0
        var removed = 0
        for seed in UInt64(1)...40 {
            let h = try randomMembershipHistory(seed: seed)
            let a = try audit(h)
            voided += a.outcome.voided.count
            outranked +=
                a.outcome.voided.values.filter { if case .outranked = $0 { return true } else { return false } }.count
            invalid += a.validity.invalid.count
            ineffective += h.ops.filter { $0.change != nil && a.isValid($0) && !a.hasEffect($0) }.count
            removed += a.outcome.removals.values.reduce(0) { $0 + $1.count }
        }
        #expect(
            voided > 0 && outranked > 0 && invalid > 0 && ineffective > 0 && removed > 0,
            "voided \(voided), outranked \(outranked), invalid \(invalid), ineffective \(ineffective), removed \(removed)"
        )
    }
}

/// A random history with membership churn: the founder adds five members (some admins),
/// then six replicas make concurrent changes, adds, removals and role changes, merging each
/// other's knowledge now and then. Some operations end up invalid (their author was removed
/// in their causal past), some without effect; all of that is what the properties exercise.
func randomMembershipHistory(seed: UInt64) throws -> History {
    var rng = SeededRNG(seed: seed)
    let authors = 6
    let h = try History(authors: authors)
    let genesis = try h.genesis(by: 0, quorum: Int.random(in: 1...2, using: &rng))
    var tip = genesis
    for k in 1..<authors {
        tip = try h.member(by: 0, parents: [tip], .add(h.peers[k], k <= 3 ? .admin : .writer))
    }
    var known = [Set<ObjectID>](repeating: Set(h.ops.map(\.id)), count: authors)
    var frontier = [Set<ObjectID>](repeating: [tip.id], count: authors)
    for _ in 0..<Int.random(in: 25...45, using: &rng) {
        let a = Int.random(in: 0..<authors, using: &rng)
        if Int.random(in: 0..<10, using: &rng) < 3 {
            let b = Int.random(in: 0..<authors, using: &rng)
            known[a].formUnion(known[b])
            var named = Set<ObjectID>()
            for id in known[a] { named.formUnion(h.byID[id]?.parents ?? []) }
            frontier[a] = known[a].subtracting(named)
        }
        let parents = frontier[a].sorted().compactMap { h.byID[$0] }
        let target = h.peers[Int.random(in: 0..<authors, using: &rng)]
        let op: Operation
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...4: op = try h.change(by: a, parents: parents, try randomEntries(using: &rng))
        case 5, 6: op = try h.member(by: a, parents: parents, .remove(target))
        case 7: op = try h.member(by: a, parents: parents, .add(target, Bool.random(using: &rng) ? .admin : .writer))
        case 8:
            op = try h.member(by: a, parents: parents, .setRole(target, Bool.random(using: &rng) ? .admin : .writer))
        default:
            op = try h.member(by: a, parents: parents, .setQuorum(epoch: 0, quorum: Int.random(in: 1...3, using: &rng)))
        }
        known[a].insert(op.id)
        frontier[a] = [op.id]
    }
    return h
}
