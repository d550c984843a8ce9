import Foundation
import HGCrypto
import Testing

/// The working tree's base (FORMAT.md 5.13) through the built binary: what arrives is never taken
/// for the user's own deletions or reversions, a commit never supersedes a write its author did
/// not see, and no file of the user's is overwritten or removed unnamed (issue 17 items 1 and 4).
@Suite struct WorkTreeBaseTests {
    /// `a` (founder) with `f.txt` and `g.txt` committed, and `b`, a clone admitted as a writer.
    private func pair(_ label: String) throws -> (dir: TempDir, a: URL, b: URL) {
        let dir = try TempDir(label)
        let a = dir.path("a")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try CLI.ok(["init", "-q"], in: a)
        try dir.write("a/f.txt", "f one\n")
        try dir.write("a/g.txt", "g one\n")
        try CLI.ok(["commit", "-q", "-m", "first"], in: a)
        try CLI.ok(["clone", "-q", "a", "b"], in: dir.url)
        let b = dir.path("b")
        try CLI.admit(b, by: a)
        try CLI.ok(["checkout", "-q"], in: a)
        return (dir, a, b)
    }

    /// Starts `sync` in `a` from `b` through a peer that lingers `peerLingers` seconds after the
    /// protocol ends (the window between storing and checking out, when the lock is free), and
    /// waits until what it received is stored: the running sync, and whether it got that far.
    private func syncStoringFromSlowPeer(into a: URL, from b: URL, peerLingers: Int) throws -> (Process, Bool) {
        let headsBefore = try CLI.ok(["heads"], in: a).stdout
        let sync = Process()
        sync.executableURL = URL(fileURLWithPath: CLI.binary)
        sync.arguments = ["sync", "-q", "--exec", "\(CLI.binary) serve \(b.path); sleep \(peerLingers)"]
        sync.currentDirectoryURL = a
        sync.standardOutput = FileHandle.nullDevice
        sync.standardError = FileHandle.nullDevice
        try sync.run()
        var stored = false
        for _ in 0..<(peerLingers * 80) where !stored {
            usleep(20_000)
            stored = try CLI.run(["heads"], in: a).stdout != headsBefore
        }
        return (sync, stored)
    }

    private func exists(_ dir: TempDir, _ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: dir.path(relative).path)
    }

    private func statusJSON(_ root: URL) throws -> [String: Any] {
        let out = try CLI.ok(["status", "--json"], in: root).stdout
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
    }

    /// The reproduction of the serving side: B pushes an edit, a deletion and an addition into A
    /// by syncing; A, whose tree is behind, commits an unrelated file. A's commit records only
    /// that file, and B's changes survive everywhere.
    @Test func servingSideCommitRecordsOnlyWhatItsUserChanged() throws {
        let (dir, a, b) = try pair("base-serving")
        try dir.write("b/f.txt", "f from b\n")
        try FileManager.default.removeItem(at: dir.path("b/g.txt"))
        try dir.write("b/n.txt", "new from b\n")
        try CLI.ok(["commit", "-q", "-m", "b edits"], in: b)
        try CLI.ok(["sync", "-q", a.path], in: b)

        // A's tree is behind: status says what arrived, and calls none of it A's change.
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "> f.txt\n> g.txt\n> n.txt\n")
        let json = try statusJSON(a)
        #expect((json["changes"] as? [Any])?.isEmpty == true, "\(json)")
        let incoming = try #require(json["incoming"] as? [String: Any])
        #expect(incoming["operations"] as? Int == 1)
        #expect(incoming["paths"] as? [String] == ["f.txt", "g.txt", "n.txt"])
        #expect(try CLI.ok(["status"], in: a).stdout.contains("Behind: 1 operation arrived since your last checkout"))

        try dir.write("a/u.txt", "unrelated\n")
        let commit = try CLI.ok(["commit", "-m", "unrelated", "--json"], in: a).stdout
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(commit.utf8)) as? [String: Any])
        let changes = try #require(recorded["changes"] as? [[String: String]])
        #expect(changes == [["path": "u.txt", "status": "A"]], "\(commit)")

        try CLI.ok(["sync", "-q", a.path], in: b)
        #expect(try dir.read("b/f.txt") == "f from b\n")
        #expect(!exists(dir, "b/g.txt"))
        #expect(try dir.read("b/n.txt") == "new from b\n")
        #expect(try dir.read("b/u.txt") == "unrelated\n")
        try CLI.ok(["checkout", "-q"], in: a)
        #expect(try dir.read("a/f.txt") == "f from b\n")
        #expect(!exists(dir, "a/g.txt"))
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
        for root in [a, b] { try CLI.ok(["verify"], in: root) }
        #expect(try CLI.ok(["heads"], in: a).stdout == CLI.ok(["heads"], in: b).stdout)
    }

    /// A commit between a sync's store and its checkout (the lock is free while the peer process
    /// exits) records only what the user changed, never the received files as deleted.
    @Test func commitDuringASyncsCheckoutWindowLosesNothing() throws {
        let (dir, a, b) = try pair("base-race")
        for i in 0..<40 { try dir.write("b/many/file\(i).txt", "content \(i)\n") }
        try CLI.ok(["commit", "-q", "-m", "forty files"], in: b)

        // A pulls from B through a peer that takes two seconds to exit after the protocol ends;
        // once the operations are stored, A commits while the sync waits for its peer.
        let (sync, stored) = try syncStoringFromSlowPeer(into: a, from: b, peerLingers: 2)
        #expect(stored)
        try dir.write("a/mine.txt", "mine\n")
        let commit = try CLI.ok(["commit", "-m", "mine", "--json"], in: a).stdout
        sync.waitUntilExit()
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(commit.utf8)) as? [String: Any])
        #expect(recorded["changes"] as? [[String: String]] == [["path": "mine.txt", "status": "A"]], "\(commit)")

        try CLI.run(["checkout", "-q"], in: a)
        for i in 0..<40 { #expect(try dir.read("a/many/file\(i).txt") == "content \(i)\n") }
        try CLI.ok(["sync", "-q", a.path], in: b)
        for i in 0..<40 { #expect(try dir.read("b/many/file\(i).txt") == "content \(i)\n") }
        #expect(try dir.read("b/mine.txt") == "mine\n")
        try CLI.ok(["verify"], in: a)
    }

    /// A sync killed after it stored what arrived and before its checkout leaves a tree that is
    /// only behind: status says so and names nothing as deleted; checkout finishes the job.
    @Test func aSyncKilledBeforeItsCheckoutLeavesATreeThatIsOnlyBehind() throws {
        let (dir, a, b) = try pair("base-killed-sync")
        for i in 0..<20 { try dir.write("b/new/file\(i).txt", "content \(i)\n") }
        try CLI.ok(["commit", "-q", "-m", "twenty files"], in: b)
        let (sync, stored) = try syncStoringFromSlowPeer(into: a, from: b, peerLingers: 3)
        kill(sync.processIdentifier, SIGKILL)
        sync.waitUntilExit()
        #expect(stored)
        let short = try CLI.ok(["status", "--short"], in: a).stdout
        #expect(!short.contains("D ") && short.contains("> new/file0.txt"), "\(short)")
        #expect(try CLI.ok(["status"], in: a).stdout.contains("Behind: 1 operation arrived since your last checkout"))
        try CLI.ok(["checkout", "-q"], in: a)
        #expect(try dir.read("a/new/file19.txt") == "content 19\n")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
        try CLI.ok(["verify"], in: a)
    }

    /// `sync --no-checkout` stores and leaves the tree: exactly the state a sync killed between
    /// storing and its checkout leaves. Nothing there is offered as a deletion.
    @Test func syncWithoutCheckoutLeavesTheTreeBehindAndSaysSo() throws {
        let (dir, a, b) = try pair("base-no-checkout")
        try dir.write("a/f.txt", "f two\n")
        try dir.write("a/h.txt", "h\n")
        try CLI.ok(["commit", "-q", "-m", "a edits"], in: a)
        let before = try TempDir.snapshot(b).filter { !$0.key.hasPrefix("/.hgrepo") }
        let sync = try CLI.ok(["sync", "--no-checkout", a.path], in: b)
        #expect(sync.stdout.contains("the working tree is unchanged"), "\(sync)")
        #expect(try TempDir.snapshot(b).filter { !$0.key.hasPrefix("/.hgrepo") } == before)
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "> f.txt\n> h.txt\n")
        let nothing = try CLI.run(["commit", "-m", "nothing"], in: b)
        #expect(nothing.status == 1)
        #expect(nothing.stderr.contains("nothing to commit"), "\(nothing)")
        try CLI.ok(["checkout", "-q"], in: b)
        #expect(try dir.read("b/f.txt") == "f two\n")
        #expect(try dir.read("b/h.txt") == "h\n")
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "")
    }

    /// An uncommitted edit meeting a newer version stops the checkout whole; committed, it meets
    /// the newer version as a conflict, and both texts are in the file.
    @Test func anUncommittedEditMeetingANewerVersionBecomesAConflictNotALoss() throws {
        let (dir, a, b) = try pair("base-clash")
        try dir.write("a/f.txt", "f from a\n")
        try dir.write("a/other.txt", "other\n")
        try CLI.ok(["commit", "-q", "-m", "a edits f"], in: a)
        try dir.write("b/f.txt", "f edited in b\n")
        let sync = try CLI.run(["sync", a.path], in: b)
        #expect(sync.status == 0, "\(sync)")
        #expect(
            sync.stderr.contains("kept: 'f.txt' has uncommitted changes, and a newer version of it arrived"), "\(sync)")
        #expect(sync.stderr.contains("not checked out: nothing was written"), "\(sync)")
        #expect(try dir.read("b/f.txt") == "f edited in b\n")
        #expect(!exists(dir, "b/other.txt"))
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "M f.txt\n> f.txt\n> other.txt\n")
        let checkout = try CLI.run(["checkout"], in: b)
        #expect(checkout.status == 1)
        #expect(try dir.read("b/f.txt") == "f edited in b\n")

        try CLI.ok(["commit", "-q", "-m", "b edits f"], in: b)
        try CLI.ok(["checkout", "-q"], in: b)
        let merged = try dir.read("b/f.txt")
        #expect(
            merged.contains("f from a\n") && merged.contains("f edited in b\n") && merged.hasPrefix("<<<<<<< op "),
            "\(merged)")
        #expect(try dir.read("b/other.txt") == "other\n")
        try CLI.ok(["verify"], in: b)
    }

    /// An untracked file is the user's: `checkout --force` neither deletes it nor, where a peer adds
    /// the same path, overwrites it; commit does not record it over the peer's version unasked.
    @Test func untrackedFilesSurviveForceAndAreNamed() throws {
        let (dir, a, b) = try pair("base-untracked")
        try dir.write("b/notes.txt", "never committed\n")
        try CLI.run(["checkout", "--force"], in: b)
        #expect(try dir.read("b/notes.txt") == "never committed\n")

        try dir.write("a/notes.txt", "from a\n")
        try CLI.ok(["commit", "-q", "-m", "a adds notes"], in: a)
        let sync = try CLI.run(["sync", a.path], in: b)
        #expect(sync.status == 0, "\(sync)")
        #expect(
            sync.stderr.contains("kept: 'notes.txt' is not written: an untracked file of yours is in the way"),
            "\(sync)")
        let forced = try CLI.run(["checkout", "--force"], in: b)
        #expect(forced.status == 1)
        #expect(forced.stderr.contains("'notes.txt'"), "\(forced)")
        #expect(try dir.read("b/notes.txt") == "never committed\n")
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "A notes.txt\n> notes.txt\n")

        // A plain commit does not record it over A's version; naming it does.
        try dir.write("b/g.txt", "g from b\n")
        let commit = try CLI.run(["commit", "-m", "b edits g"], in: b)
        #expect(commit.status == 0, "\(commit)")
        #expect(commit.stderr.contains("warning: not committed 'notes.txt'"), "\(commit)")
        #expect(!commit.stdout.contains("notes.txt"), "\(commit)")
        // Moved aside, the way is clear and checkout writes A's version.
        try FileManager.default.moveItem(at: dir.path("b/notes.txt"), to: dir.path("b/notes.mine"))
        try CLI.ok(["checkout", "-q"], in: b)
        #expect(try dir.read("b/notes.txt") == "from a\n")
        #expect(try dir.read("b/notes.mine") == "never committed\n")
    }

    /// An ignored file and a symbolic link where a peer writes a file are named and left alone.
    @Test func ignoredFilesAndSymbolicLinksAreNeverReplaced() throws {
        let (dir, a, b) = try pair("base-ignored")
        try dir.write("b/.hgignore", "*.env\n")
        try dir.write("b/secret.env", "TOKEN=b's own\n")
        try dir.write("b/target.txt", "link target\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path("b/lnk").path, withDestinationPath: "target.txt")
        try dir.write("a/secret.env", "TOKEN=from a\n")
        try dir.write("a/lnk", "a file from a\n")
        try CLI.ok(["commit", "-q", "-m", "a adds secret.env and lnk"], in: a)

        let sync = try CLI.run(["sync", a.path], in: b)
        #expect(sync.status == 0, "\(sync)")
        #expect(
            sync.stderr.contains(
                "kept: 'secret.env' is not written: a file of yours (untracked or ignored) is in the way"),
            "\(sync)")
        #expect(sync.stderr.contains("kept: 'lnk' is not written: a symbolic link of yours is in the way"), "\(sync)")
        #expect(try dir.read("b/secret.env") == "TOKEN=b's own\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path("b/lnk").path) == "target.txt")
        let forced = try CLI.run(["checkout", "--force"], in: b)
        #expect(forced.status == 1)
        #expect(try dir.read("b/secret.env") == "TOKEN=b's own\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path("b/lnk").path) == "target.txt")
    }

    /// A tracked file the user replaced with a symbolic link is the user's link: a peer's deletion
    /// of the path does not remove it, even with --force.
    @Test func aLinkWhereATrackedFileWasSurvivesItsDeletion() throws {
        let (dir, a, b) = try pair("base-link-over-tracked")
        try FileManager.default.removeItem(at: dir.path("b/g.txt"))
        try FileManager.default.createSymbolicLink(atPath: dir.path("b/g.txt").path, withDestinationPath: "f.txt")
        try FileManager.default.removeItem(at: dir.path("a/g.txt"))
        try CLI.ok(["commit", "-q", "-m", "a deletes g"], in: a)
        try CLI.run(["sync", "-q", a.path], in: b)
        try CLI.run(["checkout", "--force"], in: b)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.path("b/g.txt").path) == "f.txt")
    }

    /// A tracked file that `.hgignore` comes to match stays tracked, as in git: it is not
    /// recorded as deleted, and its edits are recorded.
    @Test func ignoreRulesDoNotUntrackATrackedFile() throws {
        let dir = try TempDir("base-ignore-tracked")
        let a = dir.path("a")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try CLI.ok(["init", "-q"], in: a)
        try dir.write("a/build.log", "tracked\n")
        try CLI.ok(["commit", "-q", "-m", "log"], in: a)
        try dir.write("a/.hgignore", "*.log\n")
        let commit = try CLI.ok(["commit", "-m", "ignore logs", "--json"], in: a).stdout
        #expect(commit.contains("\".hgignore\"") && !commit.contains("build.log"), "\(commit)")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
        try dir.write("a/build.log", "edited\n")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "M build.log\n")
        try CLI.ok(["commit", "-q", "-m", "edit log"], in: a)
        try dir.write("a/other.log", "untracked and ignored\n")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
    }

    /// A temporary file a killed checkout left beside a file is never offered as a change, and
    /// the next checkout removes it; a name that only looks alike is the user's.
    @Test func checkoutTemporariesAreNeverOfferedAndAreCleanedUp() throws {
        let (dir, a, b) = try pair("base-temporaries")
        try dir.write("b/.hgbft-write-4242-7", "left by a killed checkout")
        try dir.write("b/sub/.hgbft-write-1-22", "left by a killed checkout")
        try dir.write("b/.hgbft-write-notes", "a file of the user's")
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "A .hgbft-write-notes\n")
        try dir.write("a/f.txt", "f two\n")
        try CLI.ok(["commit", "-q", "-m", "edit"], in: a)
        try CLI.ok(["sync", "-q", a.path], in: b)
        #expect(try dir.read("b/f.txt") == "f two\n")
        #expect(!exists(dir, "b/.hgbft-write-4242-7") && !exists(dir, "b/sub/.hgbft-write-1-22"))
        #expect(try dir.read("b/.hgbft-write-notes") == "a file of the user's")
        let names = try FileManager.default.subpathsOfDirectory(atPath: b.path).filter { !$0.hasPrefix(".hgrepo") }
        #expect(!names.contains { $0.contains(".hgbft-write-") && !$0.hasSuffix("notes") }, "\(names)")
    }

    /// A path the format allows but this file system cannot hold under a longer root is named, and
    /// every other path is still written.
    @Test func aPathTooLongForThisRootIsNamedAndTheRestWritten() throws {
        let (dir, a, _) = try pair("base-long")
        let component = String(repeating: "d", count: 250)
        let long = (0..<15).map { _ in component }.joined(separator: "/") + "/leaf.txt"
        try dir.write("a/" + long, "deep\n")
        try dir.write("a/short.txt", "short\n")
        try CLI.ok(["commit", "-q", "-m", "deep"], in: a)
        let deep = dir.path(String(repeating: "p", count: 200) + "/" + String(repeating: "q", count: 200))
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let clone = try CLI.run(["clone", a.path, "c"], in: deep)
        #expect(clone.status == 0, "\(clone)")
        #expect(clone.stderr.contains("the path is too long for this file system under this directory"), "\(clone)")
        #expect(!clone.stderr.contains("errno"), "\(clone)")
        let c = deep.appendingPathComponent("c")
        #expect(
            String(decoding: try Data(contentsOf: c.appendingPathComponent("short.txt")), as: UTF8.self) == "short\n")
        // Not offered as a deletion, and later syncs go on.
        let status = try CLI.ok(["status", "--short"], in: c).stdout
        #expect(!status.contains("D "), "\(status)")
        try CLI.ok(["sync", "-q"], in: c)
    }

    /// A failure after the commit point (here the work-tree cache cannot be replaced) does not report
    /// the commit as failed: it is recorded, and the command says so.
    @Test func aFailureAfterTheCommitPointSaysTheCommitIsRecorded() throws {
        let (dir, a, _) = try pair("base-after-commit")
        try? FileManager.default.removeItem(at: dir.path("a/.hgrepo/index/worktree"))
        try FileManager.default.createDirectory(
            at: dir.path("a/.hgrepo/index/worktree/blocker"), withIntermediateDirectories: true)
        try dir.write("a/f.txt", "f two\n")
        let commit = try CLI.run(["commit", "-m", "edit"], in: a)
        #expect(commit.status == 0, "\(commit)")
        #expect(commit.stderr.contains("is recorded, but updating the caches afterwards failed"), "\(commit)")
        let id = String(commit.stdout.dropFirst().prefix(12))
        try FileManager.default.removeItem(at: dir.path("a/.hgrepo/index/worktree"))
        #expect(try CLI.ok(["log", "--oneline"], in: a).stdout.contains(id))
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
        try CLI.ok(["verify"], in: a)
    }

    /// A first commit killed after its commit point leaves the base at the genesis (or, from an
    /// older init, no base at all) and no work-tree cache: the next commit follows the replica's
    /// own operation and records only the new edit (the SIGKILL tests found this by chance).
    @Test func aFirstCommitKilledAfterItsCommitPointIsFollowed() throws {
        for keepInitBase in [true, false] {
            let dir = try TempDir("base-first-commit")
            try CLI.ok(["init", "-q"], in: dir.url)
            let initBase = try Data(contentsOf: dir.path(".hgrepo/base"))
            for i in 0..<5 { try dir.write("f\(i).txt", "\(i)\n") }
            try CLI.ok(["commit", "-q", "-m", "first"], in: dir.url)
            // What a kill between the index append and the base write leaves behind.
            try FileManager.default.removeItem(at: dir.path(".hgrepo/index/worktree"))
            if keepInitBase {
                try initBase.write(to: dir.path(".hgrepo/base"))
            } else {
                try FileManager.default.removeItem(at: dir.path(".hgrepo/base"))
            }
            #expect(try CLI.ok(["status", "--short"], in: dir.url).stdout == "")
            try dir.write("f0.txt", "edited\n")
            let commit = try CLI.run(["commit", "-m", "second", "--json"], in: dir.url)
            #expect(commit.status == 0, "\(commit)")
            #expect(commit.stdout.contains("\"f0.txt\"") && !commit.stdout.contains("f1.txt"), "\(commit)")
            #expect(!commit.stderr.contains("not committed"), "\(commit)")
            try CLI.ok(["verify"], in: dir.url)
        }
    }

    /// A membership change is made on top of every head, also while the working tree is behind;
    /// the next commit follows it in sequence, and what it carries into the commit's causal past
    /// that the tree never received (B's edit of f.txt) is not overwritten by A's stale copy.
    @Test func aMembershipChangeWhileBehindLosesNothingAtTheNextCommit() throws {
        let (dir, a, b) = try pair("base-member")
        try dir.write("b/f.txt", "f from b\n")
        try CLI.ok(["commit", "-q", "-m", "b"], in: b)
        try CLI.ok(["sync", "-q", a.path], in: b)
        let id = try CLI.ok(["id"], in: b).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try CLI.ok(["member", "role", id, "admin"], in: a)
        try dir.write("a/f.txt", "f edited in a from the old version\n")
        try dir.write("a/g.txt", "g from a\n")
        let commit = try CLI.run(["commit", "-m", "a edits"], in: a)
        #expect(commit.status == 0, "\(commit)")
        #expect(commit.stdout.contains("M g.txt") && !commit.stdout.contains("f.txt"), "\(commit)")
        #expect(commit.stderr.contains("warning: not committed 'f.txt'"), "\(commit)")
        try CLI.ok(["sync", "-q", a.path], in: b)
        #expect(try dir.read("b/f.txt") == "f from b\n")
        #expect(try dir.read("b/g.txt") == "g from a\n")
        for root in [a, b] { try CLI.ok(["verify"], in: root) }
    }

    /// A damaged base file is named by commit and status, and checkout writes it again.
    @Test func aDamagedBaseIsNamedAndCheckoutRepairsIt() throws {
        let (dir, a, _) = try pair("base-damaged")
        try dir.write("a/.hgrepo/base", "garbage")
        try dir.write("a/f.txt", "edited\n")
        let commit = try CLI.run(["commit", "-m", "x"], in: a)
        #expect(commit.status == 1)
        #expect(commit.stderr.contains("(the working tree's base) is damaged"), "\(commit)")
        let verify = try CLI.run(["verify"], in: a)
        #expect(verify.status == 3, "\(verify)")
        #expect(verify.stdout.contains("[base]") || verify.stderr.contains("[base]"), "\(verify)")
        let checkout = try CLI.run(["checkout"], in: a)
        #expect(checkout.status == 1, "\(checkout)")
        #expect(try dir.read("a/f.txt") == "edited\n")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "M f.txt\n")
        try CLI.ok(["commit", "-q", "-m", "edit"], in: a)
        try CLI.ok(["verify"], in: a)
    }

    /// verify reports a well-formed base naming an operation the index does not hold.
    @Test func verifyReportsABaseNamingAStranger() throws {
        let (dir, a, _) = try pair("base-stranger")
        var bytes = Array("hg-bft base v1\n\n".utf8) + [1] + [UInt8](repeating: 0xab, count: 32) + [0, 0]
        bytes += Blake2b.hash256(bytes)
        try Data(bytes).write(to: dir.path("a/.hgrepo/base"))
        let verify = try CLI.run(["verify"], in: a)
        #expect(verify.status == 3, "\(verify)")
        #expect((verify.stdout + verify.stderr).contains("names " + String(repeating: "ab", count: 32)), "\(verify)")
    }
}
