import Foundation
import HGCore
import HGCrypto
import HGState
import HGStore
import Testing

/// `member` and the access-control side of `commit`, `sync` and `verify`, through the binary.
@Suite struct MembershipCommandTests {
    private func json(_ result: CLI.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any], "\(result)")
    }

    private func id(_ repo: URL) throws -> String {
        try CLI.ok(["id"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `dir/a` (founder, one commit) and its clone `dir/b`, not yet a member.
    private func pair(_ label: String) throws -> (TempDir, URL, URL) {
        let dir = try TempDir(label)
        try CLI.ok(["init", "a"], in: dir.url)
        let a = dir.path("a")
        try dir.write("a/notes.txt", "one\n")
        try CLI.ok(["commit", "-m", "first"], in: a)
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        return (dir, a, dir.path("b"))
    }

    private func members(_ repo: URL) throws -> [String: String] {
        let list = try json(try CLI.ok(["member", "list", "--json"], in: repo))
        let entries = try #require(list["members"] as? [[String: Any]])
        var out: [String: String] = [:]
        for entry in entries { out[entry["peer"] as? String ?? "?"] = entry["role"] as? String }
        return out
    }

    @Test func founderIsTheOnlyAdminOfANewRepository() throws {
        let dir = try TempDir("member-new")
        try CLI.ok(["init"], in: dir.url)
        let me = try id(dir.url)
        #expect(try members(dir.url) == [me: "admin"])
        let text = try CLI.ok(["member", "list"], in: dir.url).stdout
        #expect(
            text.hasPrefix(me) && text.contains("admin") && text.contains("rank 1") && text.contains("founder"),
            "\(text)")
        let list = try json(try CLI.ok(["member", "list", "--json"], in: dir.url))
        #expect(list["quorum"] as? Int == 2)
    }

    @Test func aNonMemberCannotCommitAndIsToldHowToGetAdded() throws {
        let (dir, _, b) = try pair("member-refused")
        defer { withExtendedLifetime(dir) {} }
        try Data("b\n".utf8).write(to: b.appendingPathComponent("b.txt"))
        let before = try TempDir.snapshot(b.appendingPathComponent(".hgrepo"))
        let result = try CLI.run(["commit", "-m", "b"], in: b)
        #expect(result.status == 1)
        let me = try id(b)
        #expect(
            result.stderr.contains("not a member") && result.stderr.contains("hg-bft member add \(me)"), "\(result)")
        #expect(
            try TempDir.snapshot(b.appendingPathComponent(".hgrepo")) == before,
            "a refused commit changed the repository")
    }

    @Test func addRoleRemoveAndTheirEffectOnCommits() throws {
        let (dir, a, b) = try pair("member-lifecycle")
        let bID = try id(b)
        let added = try json(try CLI.ok(["member", "add", bID, "--json"], in: a))
        #expect((added["change"] as? [String: Any])?["action"] as? String == "add")
        #expect((added["change"] as? [String: Any])?["role"] as? String == "writer")
        try CLI.ok(["sync", "-q"], in: b)
        try dir.write("b/b.txt", "from b\n")
        try CLI.ok(["commit", "-m", "b writes"], in: b)
        // A writer cannot change membership.
        let refused = try CLI.run(["member", "add", try id(a)], in: b)
        #expect(refused.status == 1 && refused.stderr.contains("writer"), "\(refused)")

        // Promote by prefix, then B (an admin now) may add members.
        try CLI.ok(["member", "role", String(bID.prefix(10)), "admin"], in: a)
        try CLI.ok(["sync", "-q"], in: b)
        #expect(try members(a)[bID] == "admin")

        try CLI.ok(["member", "remove", bID], in: a)
        #expect(try members(a)[bID] == nil)
        try CLI.ok(["sync", "-q"], in: b)
        try dir.write("b/c.txt", "after removal\n")
        let afterRemoval = try CLI.run(["commit", "-m", "too late"], in: b)
        #expect(afterRemoval.status == 1 && afterRemoval.stderr.contains("not a member"), "\(afterRemoval)")
        // What B wrote before the removal stays (A served the syncs: it checks the merged state out).
        try CLI.ok(["checkout"], in: a)
        #expect(try dir.read("a/b.txt") == "from b\n")
        #expect(try CLI.ok(["verify"], in: a).stdout.contains("ok: no violations found"))
    }

    @Test func membershipCommandsThatWouldChangeNothingAreRefusedAndChangeNothing() throws {
        let (dir, a, b) = try pair("member-noop")
        defer { withExtendedLifetime(dir) {} }
        let bID = try id(b)
        try CLI.ok(["member", "add", bID], in: a)
        let before = try TempDir.snapshot(a.appendingPathComponent(".hgrepo"))
        let cases: [([String], Int32, String)] = [
            (["member", "add", bID], 1, "already a member"),
            (["member", "add", bID, "--admin"], 1, "member role"),
            (["member", "role", bID, "writer"], 1, "already a writer"),
            (["member", "remove", "hg" + String(repeating: "a", count: 55)], 2, "not a peer id"),
            (["member", "add", "hgnotanid"], 2, "not a peer id"),
            (["member", "role", bID, "owner"], 2, "'admin' or 'writer'"),
            (["member", "quorum", "0"], 2, "between 1 and 255"),
            (["member", "remove", "zz"], 2, "not a peer id"),
        ]
        for (args, status, message) in cases {
            let result = try CLI.run(args, in: a)
            #expect(result.status == status, "\(args): \(result)")
            #expect(result.stderr.contains(message), "\(args): \(result)")
            #expect(
                try TempDir.snapshot(a.appendingPathComponent(".hgrepo")) == before, "\(args) changed the repository")
        }
    }

    /// ACCESS-CONTROL.md 3.7: the only admin removing or demoting themselves would leave nobody
    /// who can ever change the group again. Refused with exit status 1, and nothing changes; with
    /// a second admin, stepping down is allowed.
    @Test func theOnlyAdminCannotRemoveOrDemoteThemselves() throws {
        let (dir, a, b) = try pair("member-last-admin")
        defer { withExtendedLifetime(dir) {} }
        let me = try id(a)
        let bID = try id(b)
        try CLI.ok(["member", "add", bID], in: a)  // a writer: no help
        let before = try TempDir.snapshot(a.appendingPathComponent(".hgrepo"))
        let list = try CLI.ok(["member", "list"], in: a).stdout
        let heads = try CLI.ok(["heads"], in: a).stdout
        for (args, action) in [
            (["member", "remove", me], "removing yourself"),
            (["member", "remove", String(me.prefix(10))], "removing yourself"),
            (["member", "role", me, "writer"], "demoting yourself"),
        ] {
            let result = try CLI.run(args, in: a)
            #expect(result.status == 1, "\(args): \(result)")
            #expect(
                result.stderr.contains("you (\(String(me.prefix(12))))") && result.stderr.contains("the only admin")
                    && result.stderr.contains(action) && result.stderr.contains("hg-bft member role <peer-id> admin"),
                "\(args): \(result)")
            #expect(result.stdout.isEmpty, "\(args): \(result)")
            #expect(
                try TempDir.snapshot(a.appendingPathComponent(".hgrepo")) == before, "\(args) changed the repository")
            #expect(try CLI.ok(["member", "list"], in: a).stdout == list)
            #expect(try CLI.ok(["heads"], in: a).stdout == heads)
        }
        // With another admin, the founder may step down.
        try CLI.ok(["member", "role", bID, "admin"], in: a)
        try CLI.ok(["member", "role", me, "writer"], in: a)
        #expect(try members(a) == [me: "writer", bID: "admin"])
    }

    /// ACCESS-CONTROL.md 3.7: two admins each stepping down while the other is still an admin in
    /// their own view are both allowed, and both changes apply: no admin remains. `member list`
    /// says so, and a membership change says why nobody can make one.
    @Test func concurrentStepDownsLeaveNoAdminAndMemberSaysSo() throws {
        let (dir, a, b) = try pair("member-no-admin")
        defer { withExtendedLifetime(dir) {} }
        let aID = try id(a)
        let bID = try id(b)
        try CLI.admit(b, by: a, role: "admin")
        try CLI.ok(["member", "role", aID, "writer"], in: a)
        try CLI.ok(["member", "role", bID, "writer"], in: b)
        try CLI.ok(["sync", "-q"], in: b)  // both ways: A serves it
        for replica in [a, b] {
            #expect(try members(replica) == [aID: "writer", bID: "writer"])
            let list = try CLI.ok(["member", "list"], in: replica).stdout
            #expect(list.contains("no admin"), "\(list)")
            #expect(try json(try CLI.ok(["member", "list", "--json"], in: replica))["admins"] as? Int == 0)
            let refused = try CLI.run(["member", "role", aID, "admin"], in: replica)
            #expect(refused.status == 1 && refused.stderr.contains("no admin"), "\(refused)")
        }
        // Writers still commit.
        try dir.write("a/after.txt", "still writing\n")
        try CLI.ok(["commit", "-m", "after"], in: a)
    }

    @Test func quorumChangeNeedsTheCurrentQuorumOfAdmins() throws {
        let (dir, a, b) = try pair("member-quorum")
        defer { withExtendedLifetime(dir) {} }
        try CLI.ok(["member", "add", try id(b), "--admin"], in: a)
        try CLI.ok(["sync", "-q"], in: b)
        try CLI.ok(["member", "quorum", "3"], in: a)
        #expect(
            try json(try CLI.ok(["member", "list", "--json"], in: a))["quorum"] as? Int == 2,
            "one admin of two proposed")
        try CLI.ok(["sync", "-q"], in: b)
        try CLI.ok(["member", "quorum", "3"], in: b)
        #expect(try json(try CLI.ok(["member", "list", "--json"], in: b))["quorum"] as? Int == 3)
    }

    /// The talk's first scenario through the CLI: B, removed by A, concurrently adds C; C's
    /// writes never show anywhere, and C is told it is not a member once it learns.
    @Test func removedMemberConcurrentlyAddingANewMember() throws {
        let (dir, a, b) = try pair("member-talk")
        try CLI.admit(b, by: a, role: "admin")
        try CLI.ok(["clone", "b", "c"], in: dir.url)
        let c = dir.path("c")
        try CLI.ok(["member", "remove", try id(b)], in: a)  // A removes B …
        try CLI.ok(["member", "add", try id(c)], in: b)  // … while B, not knowing, adds C
        try CLI.ok(["sync", "-q"], in: c)
        try dir.write("c/sybil.txt", "from c\n")
        try CLI.ok(["commit", "-m", "c writes"], in: c)  // valid where C stands
        try CLI.ok(["sync", "-q", b.path], in: c)
        try CLI.ok(["sync", "-q", b.path], in: a)
        try CLI.ok(["sync", "-q", a.path], in: c)

        for repo in [a, b, c] {
            #expect(
                !FileManager.default.fileExists(atPath: repo.appendingPathComponent("sybil.txt").path),
                "\(repo.lastPathComponent) shows C's write")
            #expect(try members(repo).keys.sorted() == [try id(a)], "\(repo.lastPathComponent)")
        }
        let report = try json(try CLI.ok(["verify", "--json"], in: a))
        let membership = try #require(report["membership"] as? [String: Any])
        #expect((membership["withoutEffect"] as? [[String: Any]])?.count == 1)
        let fingerprints = try [a, b, c].map {
            try json(try CLI.ok(["verify", "--json"], in: $0))["fingerprint"] as? String
        }
        #expect(Set(fingerprints).count == 1)
        try dir.write("c/again.txt", "again\n")
        let refused = try CLI.run(["commit", "-m", "again"], in: c)
        #expect(refused.status == 1 && refused.stderr.contains("not a member"), "\(refused)")
    }

    // MARK: - verify catches each kind of access-control violation

    /// A repository where B's write is concurrent with B's removal (so has no effect), and the
    /// ids involved.
    private func removedWriterScenario(_ label: String) throws -> (TempDir, URL, bWrite: String) {
        let (dir, a, b) = try pair(label)
        try CLI.admit(b, by: a)
        try CLI.ok(["member", "remove", try id(b)], in: a)
        try dir.write("b/late.txt", "concurrent\n")
        let commit = try json(try CLI.ok(["commit", "-m", "concurrent with removal", "--json"], in: b))
        let bWrite = try #require(commit["id"] as? String)
        try CLI.ok(["sync", "-q", b.path], in: a)
        #expect(!FileManager.default.fileExists(atPath: a.appendingPathComponent("late.txt").path))
        return (dir, a, bWrite)
    }

    private func violations(_ repo: URL, _ invariant: String) throws -> (Int, [String: Any]) {
        let result = try CLI.run(["verify", "--json"], in: repo)
        #expect(result.status == 3, "\(result)")
        let report = try json(result)
        let rows = try #require(report["invariants"] as? [[String: Any]])
        let row = try #require(rows.first { $0["invariant"] as? String == invariant })
        return (row["violations"] as? Int ?? -1, report)
    }

    /// B commits; concurrently A removes B. When B syncs, its commit loses its effect and its
    /// file leaves the tree: sync names the commit, its message and who removed B, in words
    /// and in --json, and the commit itself is still in the history.
    @Test func syncNamesYourCommitThatAConcurrentRemovalVoided() throws {
        let (dir, a, b) = try pair("member-voided")
        try CLI.admit(b, by: a)
        let bID = try id(b)
        let aID = try id(a)
        try dir.write("b/mine.txt", "b's work\n")
        let commit = try json(try CLI.ok(["commit", "--json", "-m", "b's \u{1B}[2Jwork"], in: b))
        let commitID = try #require(commit["id"] as? String)
        try CLI.ok(["member", "remove", bID], in: a)
        let removal = try #require(
            try CLI.ok(["heads"], in: a).stdout.split(whereSeparator: \.isWhitespace).first.map(String.init))

        let result = try CLI.run(["sync", "--json", "origin"], in: b)
        #expect(result.status == 0, "\(result)")
        let summaries = try #require(try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [[String: Any]])
        let lost = try #require(summaries.first?["lostEffect"] as? [[String: Any]], "\(result)")
        #expect(lost.count == 1, "\(result)")
        #expect(lost.first?["operation"] as? String == commitID)
        #expect(lost.first?["author"] as? String == bID)
        #expect(lost.first?["message"] as? String == "b's \u{1B}[2Jwork")
        #expect(lost.first?["removal"] as? String == removal)
        #expect(lost.first?["removedBy"] as? String == aID)
        #expect(lost.first?["yours"] as? Bool == true)
        #expect(!FileManager.default.fileExists(atPath: b.appendingPathComponent("mine.txt").path))

        // A sync that brings nothing new names nothing; the commit is still in the history.
        try CLI.ok(["sync", "-q", "origin"], in: b)
        let again = try CLI.run(["sync", "origin"], in: b)
        #expect(again.status == 0 && !again.stderr.contains("no effect"), "\(again)")
        let log = try CLI.ok(["log", "--oneline"], in: b).stdout
        #expect(log.contains(String(commitID.prefix(12))), "the voided commit left the history: \(log)")
    }

    /// The same in the human output: one warning line, the message escaped.
    @Test func syncWarnsInWordsAboutYourVoidedCommit() throws {
        let (dir, a, b) = try pair("member-voided-text")
        try CLI.admit(b, by: a)
        let bID = try id(b)
        let aID = try id(a)
        try dir.write("b/mine.txt", "b's work\n")
        let commit = try json(try CLI.ok(["commit", "--json", "-m", "b's \u{1B}[2Jwork"], in: b))
        let commitID = try #require(commit["id"] as? String)
        try CLI.ok(["member", "remove", bID], in: a)
        let result = try CLI.run(["sync", "origin"], in: b)
        #expect(result.status == 0, "\(result)")
        let expected =
            "warning: your commit \(commitID.prefix(12)) 'b\\'s \\x1b[2Jwork' has no effect: "
            + "\(aID.prefix(12)) removed you concurrently; its changes are no longer in the tree"
        #expect(result.stderr.contains(expected), "\(result)")
        #expect(!result.stderr.contains("\u{1B}"), "\(result)")
    }

    /// A third replica C that held B's commit hears of B's concurrent removal from A: its sync
    /// names the commit as someone else's (a notice, not a warning), and the file leaves C's tree.
    @Test func syncNamesAnotherMembersCommitThatAConcurrentRemovalVoided() throws {
        let (dir, a, b) = try pair("member-voided-other")
        try CLI.ok(["clone", "a", "c"], in: dir.url)
        let c = dir.path("c")
        try CLI.admit(b, by: a)
        try CLI.admit(c, by: a)
        let bID = try id(b)
        let aID = try id(a)
        try dir.write("b/theirs.txt", "b's work\n")
        let commit = try json(try CLI.ok(["commit", "--json", "-m", "b's work"], in: b))
        let commitID = try #require(commit["id"] as? String)
        try CLI.ok(["sync", "-q", "../b"], in: c)
        #expect(try dir.read("c/theirs.txt") == "b's work\n")
        try CLI.ok(["member", "remove", bID], in: a)

        let result = try CLI.run(["sync", "origin"], in: c)
        #expect(result.status == 0, "\(result)")
        #expect(
            result.stderr.contains(
                "notice: commit \(commitID.prefix(12)) by \(bID.prefix(12)) 'b\\'s work' has no effect: "
                    + "\(aID.prefix(12)) removed \(bID.prefix(12)) concurrently; its changes are no longer in the tree"),
            "\(result)")
        #expect(!result.stderr.contains("warning: your"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: c.appendingPathComponent("theirs.txt").path))
    }

    @Test func verifyCatchesAStateCacheShowingAWriteWithoutEffect() throws {
        let (dir, a, bWrite) = try removedWriterScenario("verify-removed-write")
        defer { withExtendedLifetime(dir) {} }
        let layout = Layout(root: a.path)
        let stamp = Int(try FileManager.default.attributesOfItem(atPath: layout.operationIndex)[.size] as? UInt64 ?? 0)
        let cached = try #require(
            StateCache.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: layout.stateCache)))))
        var paths = cached.tree.paths
        let blob = Blob(content: Array("concurrent\n".utf8)).id
        paths[try RepoPath("late.txt")] = [
            LiveWrite(op: try #require(ObjectID(hex: bWrite)), version: FileVersion(blob: blob, mode: .regular))
        ]
        let tampered = FileTree(paths: paths)
        try Data(StateCache.encode(tampered, stamp: stamp)).write(to: URL(fileURLWithPath: layout.stateCache))
        let (count, report) = try violations(a, "removed-writes-void")
        #expect(count == 1, "\(report)")
        let problems = try #require(report["problems"] as? [[String: Any]])
        #expect(
            problems.contains {
                $0["invariant"] as? String == "removed-writes-void" && $0["object"] as? String == bWrite
            })
    }

    @Test func verifyCatchesAMembersCacheThatDisagreesWithTheOperations() throws {
        let (dir, a, _) = try removedWriterScenario("verify-members")
        defer { withExtendedLifetime(dir) {} }
        let layout = Layout(root: a.path)
        let stamp = Int(try FileManager.default.attributesOfItem(atPath: layout.operationIndex)[.size] as? UInt64 ?? 0)
        let intruder = try #require(
            PeerID(publicKey: try Ed25519.KeyPair(seed: [UInt8](repeating: 0x77, count: 32)).publicKey))
        let me = try #require(PeerID(text: try id(a)))
        try Data(MembersCache.encode([me: .admin, intruder: .admin], stamp: stamp)).write(
            to: URL(fileURLWithPath: layout.membersCache))
        // The cache is what commit trusts: verify must flag it before anyone relies on it.
        let (count, report) = try violations(a, "membership")
        #expect(count == 1, "\(report)")
    }

    @Test func verifyCatchesAnOperationByANonMemberInTheIndex() throws {
        let dir = try TempDir("verify-unauthorised")
        try CLI.ok(["init"], in: dir.url)
        try dir.write("a.txt", "a\n")
        try CLI.ok(["commit", "-m", "a"], in: dir.url)
        let head = try #require(
            ObjectID(hex: try CLI.ok(["heads"], in: dir.url).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Bypass receive: store an operation by a key nobody added, as a damaged or hostile tool might.
        let stranger = try Ed25519.KeyPair(seed: [UInt8](repeating: 0x31, count: 32))
        let op = try HGCore.Operation.create(
            signer: stranger, sequence: 1, parents: [head], timestamp: 1_700_000_000_000,
            payload: .change(
                Change(
                    message: "intruder",
                    entries: [
                        ChangeEntry(path: try RepoPath("a.txt"), version: nil)
                    ])))
        let layout = Layout(root: dir.url.path)
        let objects = try ObjectStore(layout: layout)
        _ = try objects.write(op.encoded)
        let length = Int(try FileManager.default.attributesOfItem(atPath: layout.operationIndex)[.size] as? UInt64 ?? 0)
        try OperationIndex.append(layout.operationIndex, [OperationSummary(op)], validLength: length)
        let (count, report) = try violations(dir.url, "authorised-authors")
        #expect(count == 1, "\(report)")
        let text = try CLI.run(["verify"], in: dir.url)
        #expect(
            text.stdout.contains("problem [authority]") && text.stdout.contains("not a member in its causal past"),
            "\(text)")
    }
}
