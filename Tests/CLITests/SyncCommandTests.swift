import Foundation
import HGTestSupport
import Testing

/// `sync`, `clone` and `remote` through the built binary, between replicas in temp dirs.
@Suite struct SyncCommandTests {
    /// A repository at `dir/name` with one committed file.
    private func repository(
        _ dir: TempDir, _ name: String, file: String = "notes.txt", text: String = "one\n"
    ) throws -> URL {
        let root = dir.path(name)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try CLI.ok(["init"], in: root)
        try Data(text.utf8).write(to: root.appendingPathComponent(file))
        try CLI.ok(["commit", "-m", "first"], in: root)
        return root
    }

    private func heads(_ root: URL) throws -> String { try CLI.ok(["heads"], in: root).stdout }

    /// A repository `a` with one committed file, and `b`, a clone of it that `a` admitted as a writer.
    private func writerClone(_ label: String) throws -> (dir: TempDir, a: URL, b: URL) {
        let dir = try TempDir(label)
        let a = try repository(dir, "a")
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        let b = dir.path("b")
        try CLI.admit(b, by: a)
        return (dir, a, b)
    }

    @Test func syncLeavesUncommittedFilesAloneAndNamesThem() throws {
        let dir = try TempDir("sync-kept")
        let a = try repository(dir, "a")
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        let b = dir.path("b")
        try CLI.admit(b, by: a)
        // A changes the file and commits; B edits the same file without committing.
        try Data("from a\n".utf8).write(to: a.appendingPathComponent("notes.txt"))
        try CLI.ok(["commit", "-m", "a edits"], in: a)
        try Data("uncommitted in b\n".utf8).write(to: b.appendingPathComponent("notes.txt"))
        let result = try CLI.run(["sync"], in: b)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("kept: 'notes.txt'"), "\(result)")
        #expect(try dir.read("b/notes.txt") == "uncommitted in b\n")
        #expect(try heads(a) == heads(b))
        // Nothing was checked out: status shows the local edit against what B's tree was brought
        // to, and A's version apart, as incoming; committing makes the two meet as a conflict.
        #expect(try CLI.ok(["status", "--short"], in: b).stdout == "M notes.txt\n> notes.txt\n")
        try CLI.ok(["commit", "-q", "-m", "b edits"], in: b)
        try CLI.ok(["checkout", "-q"], in: b)
        let merged = try dir.read("b/notes.txt")
        #expect(merged.contains("from a\n") && merged.contains("uncommitted in b\n"), "\(merged)")
    }

    /// A commits a file `x` while B commits `x/y`: both stay in the merged state. Sync succeeds,
    /// B's working tree has the directory and A's file beside it, and status explains it.
    @Test func fileAndDirectoryOfOneNameSyncAndTheFileGoesBeside() throws {
        let (dir, a, b) = try writerClone("sync-collision")
        try dir.write("a/x", "content-x\n")
        let commit = try CLI.ok(["commit", "-m", "file x"], in: a).stdout
        let short = String(commit.dropFirst().prefix(12))  // "[<12 hex>] file x"
        try dir.write("b/x/y", "content-xy\n")
        try dir.write("b/notes.txt", "two\n")
        try CLI.ok(["commit", "-m", "file x/y"], in: b)

        let result = try CLI.run(["sync"], in: b)
        #expect(result.status == 0, "\(result)")
        #expect(
            result.stderr.contains(
                "collision: 'x' is both a file and a directory in the merged state; the file is written as 'x~\(short)'"
            ),
            "\(result)")
        #expect(try dir.read("b/x/y") == "content-xy\n")
        #expect(try dir.read("b/x~\(short)") == "content-x\n")
        #expect(try heads(a) == heads(b))

        let status = try CLI.ok(["status"], in: b).stdout
        #expect(status.contains("\tdeleted:    x\n\tnew file:   x~\(short)\n"), "\(status)")
        #expect(status.contains("\tx -> x~\(short)\n"), "\(status)")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(CLI.ok(["status", "--json"], in: b).stdout.utf8))
                as? [String: Any])
        let collisions = try #require(json["collisions"] as? [[String: Any]])
        #expect(collisions.count == 1)
        #expect(collisions.first?["path"] as? String == "x")
        #expect(collisions.first?["aside"] as? String == "x~\(short)")

        // A's side: its own file x gives way to the directory (it is unchanged, so nothing is lost).
        let checkout = try CLI.run(["checkout"], in: a)
        #expect(checkout.status == 0, "\(checkout)")
        #expect(try dir.read("a/x/y") == "content-xy\n")
        #expect(try dir.read("a/x~\(short)") == "content-x\n")
        #expect(try dir.read("a/notes.txt") == "two\n")

        // Committing both records the rename; the other side converges on it.
        try CLI.ok(["commit", "-m", "keep both"], in: b)
        try CLI.ok(["sync", "-q"], in: b)
        try CLI.ok(["checkout"], in: a)
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")
        for root in [a, b] { try CLI.ok(["verify"], in: root) }
    }

    /// NFC `café` (a file) and NFD `café/inner` are different byte paths (FORMAT.md 2.9): a
    /// pathspec names one and not the other, and they commit, sync and check out as two paths,
    /// with no file/directory collision (String comparison saw one name and moved the file).
    @Test func namesThatDifferOnlyInNormalisationAreDifferentPaths() throws {
        let (dir, a, b) = try writerClone("sync-nfc-nfd")
        let nfc = "caf\u{E9}"
        let nfdInner = "cafe\u{301}/inner"
        try rawWrite(b.path + "/" + nfc, "file\n")
        try rawWrite(b.path + "/" + nfdInner, "inner\n")
        func bytes(_ lines: String) -> [[UInt8]] { lines.split(separator: "\n").map { Array($0.utf8) } }

        // Listed in byte order: 'e' (0x65) then U+0301 sorts before U+00E9 (0xc3 0xa9).
        #expect(
            bytes(try CLI.ok(["status", "--short"], in: b).stdout) == [
                Array("A \(nfdInner)".utf8), Array("A \(nfc)".utf8),
            ])
        // The NFC pathspec names the file only.
        let first = try CLI.ok(["commit", "--json", "-m", "the file", nfc], in: b)
        let changes =
            (try JSONSerialization.jsonObject(with: first.stdoutBytes) as? [String: Any])?["changes"]
            as? [[String: Any]] ?? []
        #expect(changes.compactMap { ($0["path"] as? String).map { Array($0.utf8) } } == [Array(nfc.utf8)], "\(first)")
        #expect(bytes(try CLI.ok(["status", "--short"], in: b).stdout) == [Array("A \(nfdInner)".utf8)])
        try CLI.ok(["commit", "-m", "the directory"], in: b)

        let sync = try CLI.run(["sync", b.path], in: a)
        #expect(sync.status == 0, "\(sync)")
        #expect(!sync.stderr.contains("collision"), "\(sync)")
        #expect(rawRead(a.path + "/" + nfc) == Array("file\n".utf8))
        #expect(rawRead(a.path + "/" + nfdInner) == Array("inner\n".utf8))
        let names = try FileManager.default.contentsOfDirectory(atPath: a.path)
        #expect(!names.contains { $0.contains("~") }, "a copy was written beside a path: \(names)")
        #expect(try CLI.ok(["status", "--short"], in: a).stdout == "")

        // With both in the state, the NFC pathspec still selects the file alone: the deletion
        // of the NFD directory's file is left for later.
        try rawWrite(b.path + "/" + nfc, "file 2\n")
        #expect(unlink(b.path + "/" + nfdInner) == 0)
        let second = try CLI.ok(["commit", "--json", "-m", "the file again", nfc], in: b)
        let changed =
            (try JSONSerialization.jsonObject(with: second.stdoutBytes) as? [String: Any])?["changes"]
            as? [[String: Any]] ?? []
        #expect(changed.compactMap { ($0["path"] as? String).map { Array($0.utf8) } } == [Array(nfc.utf8)], "\(second)")
        #expect(bytes(try CLI.ok(["status", "--short"], in: b).stdout) == [Array("D \(nfdInner)".utf8)])
        for root in [a, b] { try CLI.ok(["verify"], in: root) }
        _ = dir
    }

    /// A serving replica whose identity key is damaged fails before the session, instead of
    /// announcing itself as the all-zero peer; the other side fails naming it and keeps its
    /// repository as it was.
    @Test func aDamagedIdentityKeyStopsTheSyncBeforeItStarts() throws {
        let (dir, a, b) = try writerClone("sync-bad-key")
        try Data("short".utf8).write(to: dir.path("b/.hgrepo/keys/identity"))
        let before = try TempDir.snapshot(a)
        let result = try CLI.run(["sync", b.path], in: a)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("keys/identity' is damaged"), "\(result)")
        #expect(try TempDir.snapshot(a) == before)
    }

    @Test func syncIsTwoWayAndWritesTheMergedTree() throws {
        let (dir, a, b) = try writerClone("sync-two-way")
        try Data("a only\n".utf8).write(to: a.appendingPathComponent("a.txt"))
        try CLI.ok(["commit", "-m", "a"], in: a)
        try Data("b only\n".utf8).write(to: b.appendingPathComponent("b.txt"))
        try CLI.ok(["commit", "-m", "b"], in: b)
        let result = try CLI.ok(["sync", "--json"], in: b)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(summary.first?["operationsSent"] as? Int == 1)
        #expect(summary.first?["operationsReceived"] as? Int == 1)
        // One round trip, unless B's Bloom filter falsely claims A's new operation (about 1 % with
        // random salts): then exactly one NEED round fetches it, with its blob (PROTOCOL.md §3).
        let trips = summary.first?["roundTrips"] as? Int ?? 0
        #expect(trips == 1 || trips == 2, "\(trips) round trips")
        #expect(try dir.read("b/a.txt") == "a only\n")
        #expect(try heads(a) == heads(b))
        // A's working tree catches up with its own checkout.
        try CLI.ok(["checkout"], in: a)
        #expect(try dir.read("a/b.txt") == "b only\n")
        for root in [a, b] { try CLI.ok(["verify"], in: root) }
    }

    @Test func differentRepositoriesRefuseToSync() throws {
        let dir = try TempDir("sync-foreign")
        let a = try repository(dir, "a")
        _ = try repository(dir, "c")
        let before = try TempDir.snapshot(a.appendingPathComponent(".hgrepo"))
        let result = try CLI.run(["sync", "../c"], in: a)
        #expect(result.status == 1)
        #expect(result.stderr.contains("different repository"), "\(result)")
        #expect(try TempDir.snapshot(a.appendingPathComponent(".hgrepo")) == before)
    }

    @Test func remotesCanBeAddedListedAndRemoved() throws {
        let dir = try TempDir("sync-remotes")
        let a = try repository(dir, "a")
        _ = try repository(dir, "other")
        try CLI.ok(["remote", "add", "peer", "../other"], in: a)
        try CLI.ok(["remote", "add", "far", "ssh://alice@example.org:2222/srv/notes"], in: a)
        let list = try CLI.ok(["remote", "list"], in: a).stdout
        #expect(list.contains("peer\t\(dir.path("other").standardizedFileURL.path)"), "\(list)")
        #expect(list.contains("far\tssh://alice@example.org:2222/srv/notes"))
        try CLI.ok(["remote", "remove", "peer"], in: a)
        #expect(!(try CLI.ok(["remote", "list"], in: a).stdout.contains("peer")))
        let missing = try CLI.run(["remote", "remove", "peer"], in: a)
        #expect(missing.status == 1 && missing.stderr.contains("no remote named 'peer'"))
        let bad = try CLI.run(["remote", "add", "bad name", "../other"], in: a)
        #expect(bad.status == 2)
    }

    @Test func syncWithoutRemotesSaysWhatToDo() throws {
        let dir = try TempDir("sync-none")
        let a = try repository(dir, "a")
        let result = try CLI.run(["sync"], in: a)
        #expect(result.status == 1)
        #expect(result.stderr.contains("hg-bft remote add"), "\(result)")
    }

    /// With no argument, sync tries every configured remote even after one fails, reports
    /// each failure by name, and exits 1 after the last.
    @Test func syncWithNoArgumentTriesEveryRemoteAndReportsEachFailure() throws {
        let dir = try TempDir("sync-every")
        let a = try repository(dir, "a")
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        try CLI.ok(["clone", "a", "c"], in: dir.url)
        let b = dir.path("b")
        try Data("from a\n".utf8).write(to: a.appendingPathComponent("notes.txt"))
        try CLI.ok(["commit", "-m", "a edits"], in: a)
        // b's remotes, in config order: a missing one, then a, then another missing one.
        try CLI.ok(["remote", "remove", "origin"], in: b)
        try CLI.ok(["remote", "add", "gone", "../nowhere"], in: b)
        try CLI.ok(["remote", "add", "origin", "../a"], in: b)
        try CLI.ok(["remote", "add", "gone-too", "../nowhere-either"], in: b)
        try CLI.ok(["remote", "add", "me", "."], in: b)
        let result = try CLI.run(["sync"], in: b)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.contains("synced with origin"), "the remote after a failing one was not tried: \(result)")
        #expect(result.stderr.contains("error: gone: ") && result.stderr.contains("error: gone-too: "), "\(result)")
        #expect(result.stderr.contains("error: me: 'me' is this repository itself"), "\(result)")
        #expect(result.stderr.contains("error: 3 of 4 remotes could not be synced"), "\(result)")
        // --json has one entry per remote, in order: an error for each that failed.
        let json = try CLI.run(["sync", "--json"], in: b)
        #expect(json.status == 1, "\(json)")
        let entries = try #require(
            try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [[String: Any]], "\(json)")
        #expect(entries.map { $0["remote"] as? String } == ["gone", "origin", "gone-too", "me"], "\(json)")
        #expect(entries.map { $0["error"] != nil } == [true, false, true, true], "\(json)")
        #expect(
            (entries.first?["error"] as? String)?.contains("the peer for gone exited with status 1") == true, "\(json)")
        #expect(try dir.read("b/notes.txt") == "from a\n")
        #expect(try heads(a) == heads(b))
    }

    /// A --exec peer that sends nothing is ended at --timeout together with what it started
    /// (`sh -c` forks the command; ending the shell alone left it running), and the
    /// repository is unchanged.
    @Test func execPeerThatTimesOutIsEndedWithEverythingItStarted() throws {
        let dir = try TempDir("sync-exec-timeout")
        let a = try repository(dir, "a")
        let pidFile = dir.path("pids")
        let before = try TempDir.snapshot(a.appendingPathComponent(".hgrepo"))
        // The background process closes every descriptor it inherited, so that it cannot keep
        // this test's pipes open: left running, it would be found running below.
        let sleeper = "import os, time; os.closerange(3, 65536); time.sleep(300)"
        let command =
            "echo $$ > '\(pidFile.path)'; python3 -c '\(sleeper)' </dev/null >/dev/null 2>&1 & "
            + "echo $! >> '\(pidFile.path)'; wait"
        let result = try CLI.run(["sync", "--timeout", "1", "--exec", command], in: a)
        let pids = try String(contentsOf: pidFile, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        defer { for pid in pids { kill(pid, SIGKILL) } }
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr == "error: the peer sent nothing for 1.0 s during the greeting\n", "\(result)")
        #expect(pids.count == 2)
        // Signals are delivered before sync exits; allow the kernel a moment to finish them off.
        for pid in pids {
            var alive = processIsRunning(pid)
            for _ in 0..<200 where alive {
                usleep(25_000)
                alive = processIsRunning(pid)
            }
            #expect(!alive, "process \(pid) of the --exec command is still running after sync exited")
        }
        #expect(try TempDir.snapshot(a.appendingPathComponent(".hgrepo")) == before)
    }

    /// A repository cannot sync with itself, by whichever path leads there; nothing changes.
    @Test(arguments: [".", "../a", "link", "./sub/.."])
    func syncWithItselfIsRefused(_ address: String) throws {
        let dir = try TempDir("sync-itself")
        let a = try repository(dir, "a")
        try FileManager.default.createDirectory(at: a.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: a.appendingPathComponent("link").path, withDestinationPath: a.path)
        let before = try TempDir.snapshot(a.appendingPathComponent(".hgrepo"))
        let result = try CLI.run(["sync", address], in: a)
        #expect(result.status == 1, "\(result)")
        #expect(
            result.stderr
                == "error: '\(address)' is this repository itself (\(a.standardizedFileURL.path)); sync with another replica\n",
            "\(result)")
        #expect(try TempDir.snapshot(a.appendingPathComponent(".hgrepo")) == before)
        // As a configured remote too.
        try CLI.ok(["remote", "add", "me", "."], in: a)
        let named = try CLI.run(["sync", "me"], in: a)
        #expect(named.status == 1 && named.stderr.contains("'me' is this repository itself"), "\(named)")
    }

    @Test func serveWithAndWithoutOptionsAgreesOnErrorsAndHelp() throws {
        let dir = try TempDir("serve-args")
        // `serve <path>`, what sync starts, skips ArgumentParser; with options it does not.
        let plain = try CLI.run(["serve", "nowhere"], in: dir.url)
        let withOptions = try CLI.run(["serve", "--timeout", "5", "nowhere"], in: dir.url)
        #expect(plain.status == 1 && plain.stderr.contains("not an hg-bft repository"), "\(plain)")
        #expect(withOptions.status == plain.status && withOptions.stderr == plain.stderr, "\(withOptions)")
        #expect(plain.stdout.isEmpty, "serve writes nothing but frames on stdout")
        let help = try CLI.run(["serve", "--help"], in: dir.url)
        #expect(help.status == 0 && help.stdout.contains("--max-receive"), "\(help)")
        let missing = try CLI.run(["serve"], in: dir.url)
        #expect(missing.status == 2, "\(missing)")
    }

    @Test func cloneIntoAnExistingRepositoryFailsAndChangesNothing() throws {
        let dir = try TempDir("clone-exists")
        _ = try repository(dir, "a")
        let b = try repository(dir, "b")
        let before = try TempDir.snapshot(b.appendingPathComponent(".hgrepo"))
        let result = try CLI.run(["clone", "a", "b"], in: dir.url)
        #expect(result.status == 1 && result.stderr.contains("already exists"), "\(result)")
        #expect(try TempDir.snapshot(b.appendingPathComponent(".hgrepo")) == before)
    }

    @Test func cloneOfAMissingPathLeavesNothingBehind() throws {
        let dir = try TempDir("clone-missing")
        let result = try CLI.run(["clone", "nowhere", "copy"], in: dir.url)
        #expect(result.status == 1)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.url.path).isEmpty,
            "a failed clone left something behind")
    }

    /// As git does, clone refuses a target that exists and is not an empty directory (a file of
    /// the user's, or a directory with anything in it) and changes nothing; an empty one is used.
    @Test func cloneIntoANonEmptyDirectoryOrAFileIsRefused() throws {
        let dir = try TempDir("clone-nonempty")
        _ = try repository(dir, "a")
        try dir.write("busy/mine.txt", "mine\n")
        try dir.write("plain", "a file\n")
        for target in ["busy", "plain"] {
            let result = try CLI.run(["clone", "a", target], in: dir.url)
            #expect(result.status == 1, "\(result)")
            #expect(
                result.stderr == "error: destination '\(dir.path(target).standardizedFileURL.path)' already exists "
                    + "and is not an empty directory; clone into a new one\n", "\(result)")
        }
        #expect(try dir.read("busy/mine.txt") == "mine\n" && dir.read("plain") == "a file\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("busy").path) == ["mine.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() == ["a", "busy", "plain"])
        try FileManager.default.createDirectory(at: dir.path("empty"), withIntermediateDirectories: false)
        try CLI.ok(["clone", "a", "empty"], in: dir.url)
        #expect(try dir.read("empty/notes.txt") == "one\n")
        try CLI.ok(["verify"], in: dir.path("empty"))
    }

    /// A target the system cannot name is refused before anything is fetched, with the errno
    /// in words and by name; nothing is left behind.
    @Test func cloneIntoANameTooLongSaysSoInWords() throws {
        let dir = try TempDir("clone-long")
        _ = try repository(dir, "a")
        let name = String(repeating: "n", count: 300)
        let result = try CLI.run(["clone", "a", name], in: dir.url)
        #expect(result.status == 1, "\(result)")
        #expect(
            result.stderr
                == "error: stat '\(dir.path(name).standardizedFileURL.path)': File name too long (ENAMETOOLONG)\n",
            "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["a"])
    }

    /// What a killed clone left (a hidden sibling whose process is gone) is removed, and named,
    /// by the next clone of the same name; one whose clone is still running is left alone.
    @Test func cloneRemovesWhatAKilledCloneOfTheSameNameLeft() throws {
        let dir = try TempDir("clone-leftover")
        _ = try repository(dir, "a")
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = ".b.hgbft-clone-\(finished.processIdentifier)-1a2b"
        let running = ".b.hgbft-clone-\(getpid())-3c4d"
        for name in [dead, running] { try dir.write(name + "/.hgrepo/objects/x", "partial\n") }
        let result = try CLI.run(["clone", "a", "b"], in: dir.url)
        #expect(result.status == 0, "\(result)")
        #expect(
            result.stderr == "removed '\(dir.path(dead).standardizedFileURL.path)', left by an interrupted clone\n",
            "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() == [running, "a", "b"])
        try CLI.ok(["verify"], in: dir.path("b"))
    }
}

/// Whether `pid` is a process that has not exited (a zombie has), from /proc/<pid>/stat.
private func processIsRunning(_ pid: Int32) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return false }
    return text[text.index(after: close)...].split(separator: " ").first != "Z"
}
