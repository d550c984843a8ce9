import Foundation
import HGCore
import HGGraph
import HGStore
import Testing

/// Cross-checks the repositories `hg-bft` writes against `contrib/tools/hgbft_check.py`, an
/// independent Python reader and verifier written from docs/FORMAT.md alone. If the two ever
/// disagree, either the code or the format document is wrong.
///
/// The checker needs `python3` with the `cryptography` package, which `make test` installs when
/// missing; without them these tests fail rather than pass unchecked.
@Suite("Independent checker (docs/FORMAT.md)")
struct IndependentCheckerTests {
    @Test("python3 with the cryptography package is available to run the checker")
    func checkerCanRun() {
        #expect(Checker.isAvailable, "install it with: python3 -m pip install cryptography")
    }

    @Test("the checker accepts a repository built by hg-bft and prints the same fingerprint and heads")
    func checkerAgreesWithVerify() throws {
        let dir = try TempDir("indep-ok")
        try Checker.buildRepository(in: dir)

        let verify = try CLI.ok(["verify"], in: dir.url)
        let toolFingerprint = Checker.value(after: "state fingerprint: ", in: verify.stdout)
        #expect(toolFingerprint?.count == 64, "verify printed no fingerprint: \(verify)")

        let check = try Checker.run([dir.url.path])
        #expect(check.status == 0, "checker rejected a clean repository: \(check)")
        #expect(check.stdout.contains("clean: no problems found"), "\(check)")
        let checkerFingerprint = Checker.value(after: "state fingerprint: ", in: check.stdout)
        #expect(checkerFingerprint != nil, "checker printed no fingerprint: \(check)")
        #expect(checkerFingerprint == toolFingerprint, "fingerprints differ:\n\(verify)\n\(check)")

        let heads = try CLI.ok(["heads"], in: dir.url)
        let toolHeads = heads.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let checkerHeads = check.stdout.split(separator: "\n")
            .filter { $0.hasPrefix("head ") }
            .map { String($0.dropFirst("head ".count)) }
        #expect(!toolHeads.isEmpty)
        #expect(checkerHeads == toolHeads, "heads differ:\n\(heads)\n\(check)")
    }

    @Test(
        "the checker computes the membership (ACCESS-CONTROL.md 4) and the state from changes with effect as hg-bft does"
    )
    func checkerAgreesOnMembership() throws {
        let base = try TempDir("indep-members")
        let repo = try Checker.buildMembershipRepository(in: base)
        let a = repo.founder

        // The scenario went as ACCESS-CONTROL.md says it must (from hg-bft's own view).
        let list = try Checker.memberList(in: a)
        let roles = list.members.mapValues(\.role)
        #expect(roles[repo.peer("a")] == "admin", "\(list)")
        #expect(roles[repo.peer("w")] == "writer", "\(list)")
        #expect(roles[repo.peer("d")] == nil, "the removed writer is still a member: \(list)")
        #expect(roles[repo.survivor] == "writer", "the surviving admin was demoted: \(list)")
        #expect(roles[repo.loser] == nil, "the outranked admin is still a member: \(list)")
        #expect(!list.withoutEffect.isEmpty, "the loser's concurrent removal must be without effect: \(list)")

        let verify = try CLI.ok(["verify"], in: a)
        let toolFingerprint = Checker.value(after: "state fingerprint: ", in: verify.stdout)
        #expect(toolFingerprint?.count == 64, "verify printed no fingerprint: \(verify)")
        let heads = try CLI.ok(["heads"], in: a).stdout.split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }

        let check = try Checker.run([a.path])
        #expect(check.status == 0, "checker rejected the repository: \(check)")
        #expect(check.stdout.contains("clean: no problems found"), "\(check)")
        #expect(
            Checker.value(after: "state fingerprint: ", in: check.stdout) == toolFingerprint,
            "fingerprints differ:\n\(verify)\n\(check)")
        let checkerHeads = check.stdout.split(separator: "\n").filter { $0.hasPrefix("head ") }
            .map { String($0.dropFirst("head ".count)) }
        #expect(checkerHeads == heads, "heads differ:\n\(heads)\n\(check)")

        // Members, roles, ranks, the add that gives each rank, and 'contested' (section 4, step 4).
        let checkerMembers = Checker.members(in: check.stdout)
        #expect(
            checkerMembers == list.members,
            "members differ:\nhg-bft: \(list.members)\nchecker: \(checkerMembers)\n\(check)")
        #expect(
            Checker.value(after: "admin quorum: ", in: check.stdout)?.hasPrefix("\(list.quorum) ") == true, "\(check)")
        let checkerVoid = Set(
            check.stdout.split(separator: "\n").filter { $0.hasPrefix("without effect ") }
                .map { String($0.split(separator: " ")[2]) })
        #expect(
            checkerVoid == Set(list.withoutEffect),
            "membership operations without effect differ:\nhg-bft: \(list.withoutEffect)\n\(check)")
        // The removed writer's concurrent commit has no effect (and is the only change without one).
        let voidChanges = check.stdout.split(separator: "\n").filter { $0.hasPrefix("change without effect ") }
        #expect(voidChanges.count == 1 && voidChanges.first?.hasSuffix(" by \(repo.peer("d"))") == true, "\(check)")

        // The same through the state: the removed writer's file never appears; the others do.
        try CLI.ok(["checkout"], in: a)
        let fm = FileManager.default
        #expect(
            !fm.fileExists(atPath: a.appendingPathComponent("removed.txt").path),
            "a write without effect is in the state")
        #expect(fm.fileExists(atPath: a.appendingPathComponent("writer.txt").path))
        #expect(fm.fileExists(atPath: a.appendingPathComponent("demoted.txt").path), "a demoted admin still writes")

        // Every replica that synced everything agrees with the checker too.
        try CLI.ok(["sync", "-q", a.path], in: repo.replica("d"))
        let removed = try Checker.run([repo.replica("d").path])
        #expect(removed.status == 0, "\(removed)")
        #expect(Checker.value(after: "state fingerprint: ", in: removed.stdout) == toolFingerprint, "\(removed)")
        #expect(Checker.members(in: removed.stdout) == list.members, "\(removed)")
    }

    @Test("the checker reads packs (5.5.1) written by hg-bft-bench populate")
    func checkerReadsPacks() throws {
        let dir = try TempDir("indep-pack")
        try CLI.ok(["init"], in: dir.url)
        let populate = try Checker.process(Checker.bench, ["populate", dir.url.path, "25", "6"], in: dir.url)
        try #require(populate.status == 0, "\(populate)")
        let packs = try FileManager.default.contentsOfDirectory(atPath: dir.path(".hgrepo/objects/pack").path)
        #expect(packs.contains { $0.hasSuffix(".idx") }, "populate wrote no pack: \(packs)")

        let verify = try CLI.ok(["verify"], in: dir.url)
        let check = try Checker.run([dir.url.path])
        #expect(check.status == 0, "\(check)")
        let toolFingerprint = Checker.value(after: "state fingerprint: ", in: verify.stdout)
        #expect(toolFingerprint != nil)
        #expect(Checker.value(after: "state fingerprint: ", in: check.stdout) == toolFingerprint, "\(verify)\n\(check)")
    }

    @Test("the checker reads the graph file (5.9.2) hg-bft writes, and reports one damaged or lying")
    func checkerReadsTheGraphFile() throws {
        let dir = try TempDir("indep-graph")
        try CLI.ok(["init"], in: dir.url)
        // Enough operations for the index to outgrow the graph file's slack, so hg-bft writes one.
        let populate = try Checker.process(Checker.bench, ["populate", dir.url.path, "700", "6"], in: dir.url)
        try #require(populate.status == 0, "\(populate)")
        let graph = dir.path(".hgrepo/index/graph")
        try #require(FileManager.default.fileExists(atPath: graph.path), "hg-bft wrote no graph file")
        let check = try Checker.run([dir.url.path])
        #expect(check.status == 0, "\(check)")
        #expect(check.stdout.contains("graph file: 701 operations, agreeing with the index"), "\(check)")

        let original = try Data(contentsOf: graph)
        var damaged = [UInt8](original)
        damaged[damaged.count / 2] ^= 0x10
        try Data(damaged).write(to: graph)
        let broken = try Checker.run([dir.url.path])
        #expect(
            broken.status == 1 && broken.stdout.contains("problem: .hgrepo/index/graph: unusable: CRC-32"), "\(broken)")
        #expect(try CLI.run(["verify"], in: dir.url).status != 0)

        // Well-formed, but one message differs from the index: both readers of the format say so.
        let indexPath = dir.path(".hgrepo/index/operations").path
        var entries = try OperationIndex.read(indexPath).entries
        let s = entries[5]
        entries[5] = OperationSummary(
            id: s.id, author: s.author, sequence: s.sequence, timestamp: s.timestamp, kind: s.kind,
            parents: s.parents, entryCount: s.entryCount, message: "not what was signed")
        let file = try #require(GraphFile.decode([UInt8](original)))
        let lying = GraphFile(graph: try Graph(entries), stamp: file.stamp, lastRecordChecksum: file.lastRecordChecksum)
        try Data(lying.encoded()).write(to: graph)
        let lied = try Checker.run([dir.url.path])
        #expect(lied.status == 1 && lied.stdout.contains("operation 5 differs from index record 6"), "\(lied)")
        let verify = try CLI.run(["verify"], in: dir.url)
        #expect(verify.status != 0 && verify.stdout.contains("operation 5 differs"), "\(verify)")
    }

    @Test("the checker's --vectors mode reproduces every worked example of FORMAT.md section 6")
    func vectorsMatch() throws {
        let vectors = Checker.packageRoot.appendingPathComponent("Tests/HGCoreTests/Vectors/format-examples.txt")
        let result = try Checker.run(["--vectors", vectors.path])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains(", 0 failed"), "\(result)")
    }

    enum Tamper: String, CaseIterable, CustomTestStringConvertible {
        case objectByte, indexPayload, indexChecksum, indexCutBeforeHeadsStamp, headsLine, headsStampLeadingZero,
            refTip, refMissing, stateChecksum, membersChecksum, worktreeChecksum, identityMode, baseChecksum
        var testDescription: String { rawValue }
    }

    @Test("the checker reports a tampered repository", arguments: Tamper.allCases)
    func tamperIsReported(_ tamper: Tamper) throws {
        let dir = try TempDir("indep-tamper")
        try Checker.buildRepository(in: dir)
        let clean = try Checker.run([dir.url.path])
        try #require(clean.status == 0, "checker rejected the repository before tampering: \(clean)")

        let meta = dir.path(".hgrepo")
        switch tamper {
        case .objectByte:
            let object = try #require(try Checker.firstObject(in: meta.appendingPathComponent("objects")))
            try Checker.flip(object, at: 5)
        case .indexPayload:
            // Inside the first record's payload (header 16 + length 4): the record's CRC fails.
            try Checker.flip(meta.appendingPathComponent("index/operations"), at: 30)
        case .indexChecksum:
            // The last byte of the last record's CRC-32 (which covers its length field and payload).
            try Checker.flip(meta.appendingPathComponent("index/operations"), at: -1)
        case .indexCutBeforeHeadsStamp:
            // 5.7: a torn tail that starts before the heads stamp is damage, not an interrupted append.
            try Checker.truncate(meta.appendingPathComponent("index/operations"), by: 3)
        case .headsLine:
            // The last byte before the final newline is a hex digit of a head; '0' <-> '1' etc.
            try Checker.flip(meta.appendingPathComponent("heads"), at: -2)
        case .headsStampLeadingZero:
            // 5.7: N has no leading zeros, so the file does not parse.
            try Checker.editFirstLine(meta.appendingPathComponent("heads")) { line in
                line.replacingOccurrences(of: "v1 ", with: "v1 0")
            }
        case .refTip:
            // A current ref (5.8) must agree with the index: change a hex digit of its tip.
            try Checker.flip(try Checker.onlyRef(in: meta), at: -2)
        case .refMissing:
            // The current heads file vouches for every peer ref (5.7).
            try FileManager.default.removeItem(at: try Checker.onlyRef(in: meta))
        case .stateChecksum:
            try Checker.flip(meta.appendingPathComponent("index/state"), at: -1)
        case .membersChecksum:
            try Checker.flip(meta.appendingPathComponent("index/members"), at: -1)
        case .worktreeChecksum:
            try Checker.flip(meta.appendingPathComponent("index/worktree"), at: -1)
        case .identityMode:
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o644],
                ofItemAtPath: meta.appendingPathComponent("keys/identity").path)
        case .baseChecksum:
            // 5.13: the base is not derived; a damaged one is reported, never guessed.
            try Checker.flip(meta.appendingPathComponent("base"), at: -1)
        }

        let result = try Checker.run([dir.url.path])
        #expect(result.status == 1, "checker missed tampering (\(tamper.rawValue)): \(result)")
        #expect(result.stdout.contains("problem: "), "\(result)")
        let verify = try CLI.run(["verify"], in: dir.url)
        #expect(verify.status != 0, "hg-bft verify missed tampering (\(tamper.rawValue)): \(verify)")
    }

    enum Recoverable: String, CaseIterable, CustomTestStringConvertible {
        case tornTail, refBehind, stateCacheMissing, membersCacheMissing, worktreeCacheMissing, baseMissing
        var testDescription: String { rawValue }
    }

    @Test(
        "states FORMAT.md says readers recover from are not problems, and change no result",
        arguments: Recoverable.allCases)
    func recoverableIsClean(_ state: Recoverable) throws {
        let dir = try TempDir("indep-recover")
        try Checker.buildRepository(in: dir)
        let before = try CLI.ok(["verify"], in: dir.url)
        let fingerprint = try #require(Checker.value(after: "state fingerprint: ", in: before.stdout))

        let meta = dir.path(".hgrepo")
        switch state {
        case .tornTail:
            // 5.6: an interrupted append: a length field announcing a record that never arrived.
            try Checker.append(meta.appendingPathComponent("index/operations"), Data([0x40, 0x00, 0x00, 0x00, 0x01]))
        case .refBehind:
            // 5.8: a ref with a smaller N may be behind; it is not a problem.
            try Checker.editFirstLine(try Checker.onlyRef(in: meta)) { _ in "hg-bft ref v1 16" }
        case .stateCacheMissing:
            try FileManager.default.removeItem(at: meta.appendingPathComponent("index/state"))
        case .membersCacheMissing:
            try FileManager.default.removeItem(at: meta.appendingPathComponent("index/members"))
        case .worktreeCacheMissing:
            try FileManager.default.removeItem(at: meta.appendingPathComponent("index/worktree"))
        case .baseMissing:
            // 5.13: a repository from before the base file; its working tree is taken as current.
            try FileManager.default.removeItem(at: meta.appendingPathComponent("base"))
        }

        let check = try Checker.run([dir.url.path])
        #expect(check.status == 0, "checker reported a recoverable state (\(state.rawValue)): \(check)")
        #expect(Checker.value(after: "state fingerprint: ", in: check.stdout) == fingerprint, "\(check)")
        let verify = try CLI.run(["verify"], in: dir.url)
        #expect(verify.status == 0, "hg-bft verify reported a recoverable state (\(state.rawValue)): \(verify)")
        #expect(Checker.value(after: "state fingerprint: ", in: verify.stdout) == fingerprint, "\(verify)")
    }

    @Test("the checker reads a working-tree base with an unsynced path (5.13) as hg-bft writes it")
    func checkerReadsTheBase() throws {
        let dir = try TempDir("indep-base")
        let a = dir.path("a")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try CLI.ok(["init", "-q"], in: a)
        try dir.write("a/f.txt", "f\n")
        try CLI.ok(["commit", "-q", "-m", "f"], in: a)
        try CLI.ok(["clone", "-q", "a", "b"], in: dir.url)
        let b = dir.path("b")
        try dir.write("a/g.txt", "g from a\n")
        try dir.write("a/f.txt", "f two\n")
        try CLI.ok(["commit", "-q", "-m", "g"], in: a)
        try dir.write("b/g.txt", "untracked in b\n")
        let sync = try CLI.run(["sync", "-q", a.path], in: b)
        #expect(sync.status == 0, "\(sync)")
        let check = try Checker.run([b.path])
        #expect(check.status == 0, "\(check)")
        #expect(check.stdout.contains("working tree base: 1 head(s), 1 unsynced path(s)"), "\(check)")
        try CLI.ok(["verify"], in: b)
    }

    @Test("usage errors exit 2")
    func usageErrors() throws {
        #expect(try Checker.run([]).status == 2)
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString)")
        #expect(try Checker.run([missing.path]).status == 2)
    }
}

/// Runs `python3 contrib/tools/hgbft_check.py` and builds the repositories it checks.
enum Checker {
    /// The package root, found from this file's path (Tests/CLITests/<file>).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let script: URL = packageRoot.appendingPathComponent("contrib/tools/hgbft_check.py")

    /// Whether `python3` with the `cryptography` package can run the checker here.
    static let isAvailable: Bool = {
        guard FileManager.default.fileExists(atPath: script.path) else { return false }
        guard let result = try? python(["-c", "import cryptography.hazmat.primitives.asymmetric.ed25519"]) else {
            return false
        }
        return result.status == 0
    }()

    static func run(_ args: [String]) throws -> CLI.Result {
        try python([script.path] + args)
    }

    /// The benchmark driver built beside `hg-bft`; its `populate` writes objects in packs.
    static let bench: URL = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent()
        .appendingPathComponent("hg-bft-bench")

    static func python(_ args: [String]) throws -> CLI.Result {
        try process(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + args, in: packageRoot)
    }

    static func process(_ executable: URL, _ args: [String], in cwd: URL) throws -> CLI.Result {
        try CLI.runProgram(executable, args, in: cwd)
    }

    /// The rest of the first line that starts with `prefix`.
    static func value(after prefix: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// A repository with several commits: adds, modifications, deletions, an executable file
    /// (and its mode change), a subdirectory, a non-ASCII name and an empty file.
    static func buildRepository(in dir: TempDir) throws {
        try CLI.ok(["init"], in: dir.url)
        try dir.write("README.md", "hello\n")
        try dir.write("docs/guide.txt", "guide\n")
        try dir.write("docs/deep/notes.md", "notes\n")
        try dir.write("docs/résumé ü.txt", "non-ascii name\n")
        try dir.write("run.sh", "#!/bin/sh\necho hi\n")
        try setMode(0o755, dir.path("run.sh"))
        try CLI.ok(["commit", "-m", "first"], in: dir.url)

        try dir.write("README.md", "hello\nworld\n")
        try FileManager.default.removeItem(at: dir.path("docs/guide.txt"))
        try dir.write("new.txt", "new\n")
        try CLI.ok(["commit", "-m", "modify, delete, add"], in: dir.url)

        try setMode(0o644, dir.path("run.sh"))
        try dir.write("empty", "")
        try CLI.ok(["commit", "-m", "mode change and an empty file"], in: dir.url)

        try dir.write("docs/guide.txt", "guide, again\n")
        try FileManager.default.removeItem(at: dir.path("docs/deep"))
        try CLI.ok(["commit", "-m", "recreate a deleted path, remove a directory"], in: dir.url)
    }

    /// One member as `hg-bft member list --json` and the checker's `member` lines show it.
    struct Member: Equatable, CustomStringConvertible {
        var role: String
        var rank: Int
        var addedIn: String
        var contested: Bool
        var description: String { "\(role) rank \(rank) in \(addedIn.prefix(12))\(contested ? " contested" : "")" }
    }

    /// The replicas of `buildMembershipRepository`, by name, and who won the mutual removal.
    struct MembershipRepository {
        let base: TempDir
        let ids: [String: String]
        let survivor: String
        let loser: String
        var founder: URL { replica("a") }
        func replica(_ name: String) -> URL { base.path(name) }
        func peer(_ name: String) -> String { ids[name] ?? "?" }
    }

    /// Several members, built with the real CLI: the founder `a`, admins `b` and `c`, writers `w`
    /// and `d`. `w` commits; `a` removes `d` while `d` commits without having synced the removal
    /// (then syncs: that write has no effect); `b` and `c` remove each other concurrently
    /// (seniority decides); `a` demotes the survivor, who then commits as a writer. Ends with `a`
    /// holding every operation.
    static func buildMembershipRepository(in base: TempDir) throws -> MembershipRepository {
        let names = ["a", "b", "c", "d", "w"]
        let a = base.path("a")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try CLI.ok(["init"], in: a)
        try Data("founded\n".utf8).write(to: a.appendingPathComponent("README.md"))
        try CLI.ok(["commit", "-m", "founder's first commit"], in: a)
        for name in names.dropFirst() {
            try CLI.ok(["clone", a.path, base.path(name).path], in: base.url)
        }
        var ids: [String: String] = [:]
        for name in names {
            ids[name] = try CLI.ok(["id"], in: base.path(name)).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try CLI.admit(base.path("b"), by: a, role: "admin")
        try CLI.admit(base.path("c"), by: a, role: "admin")
        try CLI.admit(base.path("w"), by: a)
        try CLI.admit(base.path("d"), by: a)
        for name in names.dropFirst() { try CLI.ok(["sync", "-q", a.path], in: base.path(name)) }

        // A writer's commits.
        let w = base.path("w")
        try Data("one\n".utf8).write(to: w.appendingPathComponent("writer.txt"))
        try CLI.ok(["commit", "-m", "writer 1"], in: w)
        try Data("one\ntwo\n".utf8).write(to: w.appendingPathComponent("writer.txt"))
        try CLI.ok(["commit", "-m", "writer 2"], in: w)
        try CLI.ok(["sync", "-q", a.path], in: w)

        // A removal, and a concurrent write by the removed member (made before it learnt of it).
        let d = base.path("d")
        try CLI.ok(["member", "remove", ids["d"]!], in: a)
        try Data("written after my removal, without knowing\n".utf8).write(to: d.appendingPathComponent("removed.txt"))
        try CLI.ok(["commit", "-m", "removed member's concurrent write"], in: d)
        try CLI.ok(["sync", "-q", a.path], in: d)
        try Data("again\n".utf8).write(to: d.appendingPathComponent("again.txt"))
        let refused = try CLI.run(["commit", "-m", "after learning of the removal"], in: d)
        #expect(refused.status != 0, "a removed member committed after syncing its removal: \(refused)")
        try FileManager.default.removeItem(at: d.appendingPathComponent("again.txt"))

        // Two admins remove each other concurrently.
        let b = base.path("b")
        let c = base.path("c")
        try CLI.ok(["sync", "-q", a.path], in: b)
        try CLI.ok(["sync", "-q", a.path], in: c)
        try CLI.ok(["member", "remove", ids["c"]!], in: b)
        try CLI.ok(["member", "remove", ids["b"]!], in: c)
        try CLI.ok(["sync", "-q", a.path], in: b)
        try CLI.ok(["sync", "-q", a.path], in: c)
        try CLI.ok(["sync", "-q", a.path], in: b)
        let afterRemovals = try memberList(in: a)
        let bStays = afterRemovals.members[ids["b"]!] != nil
        let cStays = afterRemovals.members[ids["c"]!] != nil
        try #require(bStays != cStays, "exactly one of two mutually removing admins must stay: \(afterRemovals)")
        let survivorName = bStays ? "b" : "c"
        let survivor = base.path(survivorName)

        // A demotion; the demoted admin is still a writer.
        try CLI.ok(["member", "role", ids[survivorName]!, "writer"], in: a)
        try CLI.ok(["sync", "-q", a.path], in: survivor)
        try Data("demoted, still writing\n".utf8).write(to: survivor.appendingPathComponent("demoted.txt"))
        try CLI.ok(["commit", "-m", "a demoted admin's write"], in: survivor)
        try CLI.ok(["sync", "-q", a.path], in: survivor)
        return MembershipRepository(
            base: base, ids: ids, survivor: ids[survivorName]!,
            loser: ids[bStays ? "c" : "b"]!)
    }

    /// `hg-bft member list --json`: members by peer id, the quorum, the operations without effect.
    static func memberList(in dir: URL) throws -> (members: [String: Member], quorum: Int, withoutEffect: [String]) {
        let result = try CLI.ok(["member", "list", "--json"], in: dir)
        let json = try #require(
            try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any], "\(result)")
        var members: [String: Member] = [:]
        for entry in json["members"] as? [[String: Any]] ?? [] {
            guard let peer = entry["peer"] as? String else { continue }
            members[peer] = Member(
                role: entry["role"] as? String ?? "?", rank: entry["rank"] as? Int ?? -1,
                addedIn: entry["addedIn"] as? String ?? "?",
                contested: entry["contested"] as? Bool ?? false)
        }
        let void = (json["withoutEffect"] as? [[String: Any]] ?? []).compactMap { $0["operation"] as? String }
        return (members, json["quorum"] as? Int ?? -1, void)
    }

    /// The checker's `member <peer-id> <role> rank <n> added-in <id> [contested]` lines.
    static func members(in output: String) -> [String: Member] {
        var members: [String: Member] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("member ") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 7, words[3] == "rank", words[5] == "added-in" else { continue }
            members[words[1]] = Member(
                role: words[2], rank: Int(words[4]) ?? -1, addedIn: words[6],
                contested: words.count > 7 && words[7] == "contested")
        }
        return members
    }

    static func setMode(_ mode: Int, _ url: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    /// The first loose object file (sorted), skipping temporary files.
    static func firstObject(in objects: URL) throws -> URL? {
        let fm = FileManager.default
        for fan in try fm.contentsOfDirectory(atPath: objects.path).sorted() where fan.count == 2 {
            let dir = objects.appendingPathComponent(fan)
            for name in try fm.contentsOfDirectory(atPath: dir.path).sorted() where !name.hasPrefix(".") {
                return dir.appendingPathComponent(name)
            }
        }
        return nil
    }

    /// The repository's only peer ref (a repository built by one author has one).
    static func onlyRef(in meta: URL) throws -> URL {
        let dir = meta.appendingPathComponent("refs/peers")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }
        try #require(names.count == 1, "expected one peer ref, found \(names)")
        return dir.appendingPathComponent(names[0])
    }

    /// Rewrites the first line of a text file (keeping the rest and the newline).
    static func editFirstLine(_ url: URL, _ edit: (String) -> String) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        let newline = try #require(text.firstIndex(of: "\n"), "\(url.lastPathComponent) has no newline")
        try (edit(String(text[..<newline])) + text[newline...]).write(to: url, atomically: false, encoding: .utf8)
    }

    /// Removes the last `count` bytes of a file.
    static func truncate(_ url: URL, by count: Int) throws {
        let data = try Data(contentsOf: url)
        try #require(data.count >= count)
        try data.prefix(data.count - count).write(to: url)
    }

    /// Appends bytes to a file.
    static func append(_ url: URL, _ bytes: Data) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: bytes)
    }

    /// Flips the low bit of one byte (a negative offset counts from the end), keeping the
    /// file's permissions (objects are read-only).
    static func flip(_ url: URL, at offset: Int) throws {
        let fm = FileManager.default
        let mode = try fm.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int ?? 0o644
        try setMode(0o644, url)
        var data = try Data(contentsOf: url)
        let index = offset < 0 ? data.count + offset : offset
        try #require(index >= 0 && index < data.count, "offset \(offset) outside \(url.lastPathComponent)")
        data[index] ^= 0x01
        try data.write(to: url)
        try setMode(mode, url)
    }
}
