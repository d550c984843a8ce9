import Foundation
import HGGraph
import HGStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Robustness of the on-disk repository against tampering, crashes, concurrent
/// writers and hostile inputs, exercised through the real `hg-bft` binary.
@Suite struct RobustnessTests {

    // MARK: - 1. Tampering

    @Test func flippedByteInEachObjectIsReportedWithoutModifyingAnything() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let objects = try RobustFixture.objectFiles(dir)
        // genesis + 3 changes + 3 blobs
        #expect(objects.count >= 7, "expected at least 7 objects, found \(objects.count)")
        for object in objects {
            let original = try RobustFixture.mutate(object.url) { bytes in
                bytes[bytes.count / 2] ^= 0xFF
            }
            let outcome = try RobustFixture.expectVerifyProblems(
                dir, mentioning: [String(object.hex.prefix(12)), object.relativePath],
                context: "flipped byte in \(object.hex)")
            if let json = outcome.json {
                #expect(
                    json.problems.contains { $0.object == object.hex },
                    "verify --json does not name \(object.hex): \(json.problems)")
            }
            let cat = try CLI.run(["cat-object", object.hex], in: dir.url)
            #expect(cat.status == 1, "cat-object of damaged \(object.hex): \(cat)")
            #expect(
                cat.stderr.contains("error:") && cat.stderr.contains(object.hex.prefix(12)),
                "cat-object error does not name \(object.hex): \(cat)")
            try original.write(to: object.url)
        }
        try RobustFixture.expectClean(dir)
    }

    @Test func flippedByteInEachIndexRecordIsReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let index = dir.path(".hgrepo/index/operations")
        let records = try RobustFixture.indexRecords(index)
        #expect(records.count == 4, "expected 4 index records (genesis + 3 commits), found \(records.count)")
        for (number, record) in records.enumerated() {
            let original = try RobustFixture.mutate(index) { bytes in
                bytes[record.payloadStart + record.payloadLength / 2] ^= 0xFF
            }
            try RobustFixture.expectVerifyProblems(
                dir, mentioning: ["index"], context: "index record \(number) damaged")
            try original.write(to: index)
        }
        try RobustFixture.expectClean(dir)
    }

    @Test func changedHexDigitInHeadsIsReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let heads = dir.path(".hgrepo/heads")
        let text = try dir.read(".hgrepo/heads")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3, "heads file: \(text)")
        let firstID = try #require(lines.dropFirst().first)
        try RobustFixture.mutate(heads) { bytes in
            let position = lines[0].utf8.count + 1 + firstID.utf8.count / 2
            bytes[position] = RobustFixture.otherHexDigit(bytes[position])
        }
        try RobustFixture.expectVerifyProblems(dir, mentioning: ["heads"], context: "heads digit changed")
    }

    @Test func changedPeerRefIsReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let refs = try FileManager.default.contentsOfDirectory(atPath: dir.path(".hgrepo/refs/peers").path)
            .filter { !$0.hasPrefix(".") }
        #expect(refs.count == 1, "peer refs: \(refs)")
        let name = try #require(refs.first)
        let ref = dir.path(".hgrepo/refs/peers/\(name)")
        try RobustFixture.mutate(ref) { bytes in
            // "<sequence> <64 hex>\n": change a digit in the middle of the id.
            let position = bytes.count - 1 - 32
            bytes[position] = RobustFixture.otherHexDigit(bytes[position])
        }
        try RobustFixture.expectVerifyProblems(dir, mentioning: ["refs/peers/\(name)"], context: "peer ref changed")

        // A ref claiming another sequence number for the right id is damage too.
        let text = try dir.read(".hgrepo/refs/peers/\(name)")
        let parts = text.split(separator: " ")
        let id = try #require(parts.last)
        try Data("7 \(id)".utf8).write(to: ref)
        try RobustFixture.expectVerifyProblems(
            dir, mentioning: ["refs/peers/\(name)"], context: "peer ref sequence changed")
    }

    /// A heads file or peer ref written at an earlier index length (behind it, after an
    /// interrupted command) may name older operations, but only operations of the repository:
    /// one naming an id the index does not hold, or (a ref) an operation of another author or
    /// sequence number, is damage. Behind files that name real older operations stay clean.
    @Test func behindHeadsAndPeerRefsNamingNoOperationAreReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let stranger = String(repeating: "ab", count: 32)
        let first = try #require(fixture.commits.first)
        let second = fixture.commits[1]
        let heads = dir.path(".hgrepo/heads")
        let originalHeads = try Data(contentsOf: heads)
        try RobustFixture.makeWritable(heads)

        try Data("hg-bft heads v1 16\n\(first)\n".utf8).write(to: heads)
        try RobustFixture.expectClean(dir)
        try Data("hg-bft heads v1 16\n\(stranger)\n".utf8).write(to: heads)
        try RobustFixture.expectVerifyProblems(
            dir, mentioning: ["[heads]", stranger], context: "stale heads naming no operation")
        try originalHeads.write(to: heads)

        let refs = try FileManager.default.contentsOfDirectory(atPath: dir.path(".hgrepo/refs/peers").path)
            .filter { !$0.hasPrefix(".") }
        let name = try #require(refs.first)
        let ref = dir.path(".hgrepo/refs/peers/\(name)")
        let originalRef = try Data(contentsOf: ref)
        try RobustFixture.makeWritable(ref)
        // The founder's genesis has sequence 1, so the second commit has 3.
        try Data("hg-bft ref v1 16\n3 \(second)\n".utf8).write(to: ref)
        try RobustFixture.expectClean(dir)
        for (content, what) in [
            ("3 \(stranger)", "an id not in the index"), ("2 \(second)", "another sequence number"),
        ] {
            try Data("hg-bft ref v1 16\n\(content)\n".utf8).write(to: ref)
            try RobustFixture.expectVerifyProblems(
                dir, mentioning: ["[refs]", "refs/peers/\(name)"], context: "behind ref naming \(what)")
        }
        try originalRef.write(to: ref)
        try RobustFixture.expectClean(dir)
    }

    @Test func editedGenesisFileFailsOrIsReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let genesis = dir.path(".hgrepo/genesis")
        let original = try RobustFixture.mutate(genesis) { bytes in
            bytes[10] = RobustFixture.otherHexDigit(bytes[10])
        }
        for variant in ["another valid id", "garbage"] {
            if variant == "garbage" { try Data("this is not an id\n".utf8).write(to: genesis) }
            let before = try dir.snapshotMeta()
            let result = try CLI.run(["verify"], in: dir.url)
            #expect(try dir.snapshotMeta() == before, "verify modified the repository (\(variant))")
            #expect(result.status == 1 || result.status == 3, "genesis \(variant): \(result)")
            #expect((result.stdout + result.stderr).contains("genesis"), "genesis \(variant) not mentioned: \(result)")
            if result.status == 1 {
                #expect(result.stderr.contains("error:"), "genesis \(variant): \(result)")
            } else {
                let json = try RobustFixture.verifyJSON(dir)
                #expect(
                    json?.clean == false && json?.problems.isEmpty == false,
                    "genesis \(variant): \(String(describing: json))")
            }
        }
        try original.write(to: genesis)
        try RobustFixture.expectClean(dir)
    }

    @Test func flippedByteInStateCacheIsReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        try RobustFixture.mutate(dir.path(".hgrepo/index/state")) { bytes in
            bytes[bytes.count / 2] ^= 0xFF
        }
        let outcome = try RobustFixture.expectVerifyProblems(dir, mentioning: ["state"], context: "state cache damaged")
        #expect(outcome.json?.problems.contains { $0.check == "state" } == true, "\(String(describing: outcome.json))")
    }

    @Test func graphFileIsUsedWhenSoundAndReportedAndIgnoredWhenDamaged() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let before = try RobustFixture.log(dir).map(\.id)
        // A sound graph file of the first three records (the repository is below the size at
        // which writers make one): readers read the fourth from the index, verify accepts it.
        let indexPath = dir.path(".hgrepo/index/operations").path
        let entries = try OperationIndex.read(indexPath).entries
        var end = OperationIndex.header.count
        for entry in entries.prefix(3) { end += OperationIndex.record(entry).count }
        let checksum = try #require(OperationIndex.checksum(endingAt: end, in: indexPath))
        let file = GraphFile(graph: try Graph(Array(entries.prefix(3))), stamp: end, lastRecordChecksum: checksum)
        try Data(file.encoded()).write(to: dir.path(".hgrepo/index/graph"))
        #expect(try RobustFixture.log(dir).map(\.id) == before)
        try RobustFixture.expectClean(dir)

        try RobustFixture.mutate(dir.path(".hgrepo/index/graph")) { bytes in
            bytes[bytes.count / 2] ^= 0xFF
        }
        #expect(try RobustFixture.log(dir).map(\.id) == before, "a damaged graph file is not used")
        let outcome = try RobustFixture.expectVerifyProblems(dir, mentioning: ["graph"], context: "graph file damaged")
        #expect(outcome.json?.problems.map(\.check) == ["graph"], "\(String(describing: outcome.json))")
        let reindex = try CLI.run(["reindex"], in: dir.url)
        #expect(reindex.status == 0, "reindex: \(reindex)")
        #expect(
            !FileManager.default.fileExists(atPath: dir.path(".hgrepo/index/graph").path),
            "reindex drops it; writers make one again once the index outgrows the slack")
        #expect(try RobustFixture.log(dir).map(\.id) == before)
        try RobustFixture.expectClean(dir)
    }

    @Test func validlyCompressedReplacementIsAHashMismatch() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let replacement = try RobustFixture.python(
            "import zlib,sys; sys.stdout.buffer.write(zlib.compress(b'\\x01\\x00forged content\\n', 9))")
        #expect(!replacement.isEmpty)
        for object in try RobustFixture.objectFiles(dir) {
            try RobustFixture.makeWritable(object.url)
            let original = try Data(contentsOf: object.url)
            try replacement.write(to: object.url)
            let outcome = try RobustFixture.expectVerifyProblems(
                dir, mentioning: [String(object.hex.prefix(12)), object.relativePath, "hashes to"],
                context: "replaced \(object.hex)")
            if let json = outcome.json {
                #expect(
                    json.problems.contains { $0.object == object.hex && $0.message.contains("hashes to") },
                    "no hash mismatch for \(object.hex): \(json.problems)")
            }
            let cat = try CLI.run(["cat-object", object.hex], in: dir.url)
            #expect(
                cat.status == 1 && cat.stderr.contains(object.hex.prefix(12)), "cat-object of replaced object: \(cat)")
            try original.write(to: object.url)
        }
        try RobustFixture.expectClean(dir)
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let blobs = try RobustFixture.objectFiles(dir).filter { try RobustFixture.objectType($0.hex, dir) == "blob" }
        #expect(blobs.count == 3, "blobs: \(blobs.map(\.hex))")
        let damaged = Array(blobs.prefix(2))
        try #require(damaged.count == 2)
        for object in damaged {
            try RobustFixture.mutate(object.url) { $0[$0.count / 2] ^= 0xFF }
        }
        try RobustFixture.mutate(dir.path(".hgrepo/index/state")) { $0[$0.count / 2] ^= 0xFF }
        let outcome = try RobustFixture.expectVerifyProblems(
            dir, mentioning: damaged.map { String($0.hex.prefix(12)) } + ["state"], context: "two objects and the state"
        )
        if let json = outcome.json {
            for object in damaged {
                #expect(
                    json.problems.contains { $0.object == object.hex }, "\(object.hex) missing from \(json.problems)")
            }
            #expect(json.problems.contains { $0.check == "state" }, "state missing from \(json.problems)")
            #expect(json.problems.count >= 3)
        }
    }

    // MARK: - 2. Reindex

    @Test func reindexRestoresDeletedIndex() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let before = try RobustFixture.log(dir).map(\.id)
        #expect(before.count == 4)
        try FileManager.default.removeItem(at: dir.path(".hgrepo/index/operations"))
        let reindex = try CLI.run(["reindex"], in: dir.url)
        #expect(reindex.status == 0, "reindex: \(reindex)")
        #expect(try RobustFixture.log(dir).map(\.id) == before)
        try RobustFixture.expectClean(dir)

        // Without the index, the heads or the refs: every valid operation object is used.
        try FileManager.default.removeItem(at: dir.path(".hgrepo/index/operations"))
        try FileManager.default.removeItem(at: dir.path(".hgrepo/heads"))
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path(".hgrepo/refs/peers").path) {
            try FileManager.default.removeItem(at: dir.path(".hgrepo/refs/peers/\(name)"))
        }
        let again = try CLI.run(["reindex"], in: dir.url)
        #expect(again.status == 0, "reindex without heads: \(again)")
        #expect(try RobustFixture.log(dir).map(\.id) == before)
        try RobustFixture.expectClean(dir)
    }

    // MARK: - 3. Decompression bomb

    @Test func decompressionBombIsRefused() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let bomb = try RobustFixture.python(
            "import zlib,sys; sys.stdout.buffer.write(zlib.compress(bytes(100 << 20), 9))")
        #expect(bomb.count > 1000 && bomb.count < 1 << 20, "bomb is \(bomb.count) bytes")
        let hex = "ab" + String(repeating: "0123456789abcdef", count: 4).prefix(62)
        try #require(hex.count == 64)
        let fan = dir.path(".hgrepo/objects/ab")
        try FileManager.default.createDirectory(at: fan, withIntermediateDirectories: true)
        try bomb.write(to: fan.appendingPathComponent(String(hex.dropFirst(2))))

        let cat = try CLI.run(["cat-object", hex], in: dir.url)
        #expect(cat.status == 1, "cat-object of a bomb: \(cat)")
        #expect(
            cat.stderr.contains("error:") && (cat.stderr.contains("limit") || cat.stderr.contains("corrupt")),
            "cat-object of a bomb: \(cat)")
        #expect(cat.stdout.isEmpty, "cat-object printed \(cat.stdout.utf8.count) bytes of a bomb")
        try RobustFixture.expectVerifyProblems(
            dir, mentioning: [String(hex.prefix(12)), "objects/ab/\(hex.dropFirst(2))", "limit"],
            context: "decompression bomb",
            json: false)  // each read of the bomb costs seconds in a debug build; one verify run is enough
    }

    // MARK: - 4. Truncated and empty objects

    @Test func truncatedAndEmptyObjectsAreReported() throws {
        let fixture = try RobustFixture.repoWithThreeCommits()
        let dir = fixture.dir
        let objects = try RobustFixture.objectFiles(dir)
        let blob = try #require(try objects.first { try RobustFixture.objectType($0.hex, dir) == "blob" })
        let head = try #require(objects.first { $0.hex == fixture.commits.last })
        try RobustFixture.mutate(blob.url) { $0.removeLast($0.count - $0.count / 2) }
        try RobustFixture.mutate(head.url) { $0.removeAll() }
        let outcome = try RobustFixture.expectVerifyProblems(
            dir,
            mentioning: [
                String(blob.hex.prefix(12)), blob.relativePath, String(head.hex.prefix(12)), head.relativePath,
            ],
            context: "truncated blob and empty operation")
        if let json = outcome.json {
            for object in [blob, head] {
                #expect(
                    json.problems.contains { $0.object == object.hex }, "\(object.hex) missing from \(json.problems)")
            }
        }
        for object in [blob, head] {
            let cat = try CLI.run(["cat-object", object.hex], in: dir.url)
            #expect(cat.status == 1 && cat.stderr.contains(object.hex.prefix(12)), "cat-object \(object.hex): \(cat)")
        }
    }

    // MARK: - 5. Concurrent writers and the lock

    @Test func concurrentCommitsAreSerialised() throws {
        for round in 1...5 {
            let dir = try TempDir("robust-concurrent")
            try CLI.ok(["init"], in: dir.url)
            let aFiles = (1...20).map { "a\($0)" }
            let bFiles = (1...20).map { "b\($0)" }
            for name in aFiles + bFiles { try dir.write(name, "\(name) round \(round)\n") }
            let a = try RobustFixture.Spawned(["commit", "--json", "-m", "A"] + aFiles, in: dir.url)
            let b = try RobustFixture.Spawned(["commit", "--json", "-m", "B"] + bFiles, in: dir.url)
            let results = [(a.finish(), Set(aFiles)), (b.finish(), Set(bFiles))]

            var committed: [(id: String, parents: [String], paths: Set<String>)] = []
            for (result, expected) in results {
                if result.exited && result.status == 0 {
                    let commit = try JSONDecoder().decode(RobustFixture.CommitOut.self, from: result.stdoutBytes)
                    #expect(
                        Set(commit.changes.map(\.path)) == expected, "round \(round): commit recorded \(commit.changes)"
                    )
                    committed.append((commit.id, commit.parents, Set(commit.changes.map(\.path))))
                } else {
                    #expect(
                        result.exited && result.status == 1 && result.stderr.contains(".hgrepo/lock"),
                        "round \(round): a concurrent commit failed without naming the lock: \(result)")
                }
            }
            #expect(!committed.isEmpty, "round \(round): neither commit succeeded")
            try RobustFixture.expectClean(dir)
            let log = try RobustFixture.log(dir)
            let logged = Set(log.map(\.id))
            for commit in committed {
                #expect(logged.contains(commit.id), "round \(round): \(commit.id) missing from log")
            }
            if committed.count == 2 {
                // The lock serialises them: the later one builds on the earlier one.
                let linked =
                    committed[0].parents.contains(committed[1].id) || committed[1].parents.contains(committed[0].id)
                #expect(linked, "round \(round): concurrent commits do not build on each other: \(committed)")
            }
            let status = try RobustFixture.status(dir)
            let uncommitted = Set(status.changes.filter { $0.status == "added" }.map(\.path))
            let inState = Set(aFiles + bFiles).subtracting(uncommitted)
            let union = committed.reduce(into: Set<String>()) { $0.formUnion($1.paths) }
            #expect(
                inState == union, "round \(round): state holds \(inState.sorted()), commits recorded \(union.sorted())")
            #expect(status.changes.allSatisfy { $0.status == "added" }, "round \(round): \(status.changes)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")))
    func heldLockMakesCommitFailAndChangeNothing() throws {
        let dir = try TempDir("robust-lock")
        try CLI.ok(["init"], in: dir.url)
        let repo = dir.url
        // Commands run from the parent directory with -C, as a user would.
        let parent = dir.url.deletingLastPathComponent()
        try dir.write("file.txt", "hello\n")
        let configText = try dir.read(".hgrepo/config")
        #expect(configText.contains("[core]"))
        try Data((configText + "\tlocktimeout = 0.5\n").utf8).write(to: dir.path(".hgrepo/config"))

        // Holds the lock and says so once it has it.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [".hgrepo/lock", "sh", "-c", "echo locked; exec sleep 3"]
        holder.currentDirectoryURL = repo
        let holderOut = Pipe()
        holder.standardOutput = holderOut
        try holder.run()
        let ready = holderOut.fileHandleForReading.availableData
        #expect(String(decoding: ready, as: UTF8.self).contains("locked"))

        let before = try dir.snapshotMeta()
        let result = try CLI.run(["-C", repo.path, "commit", "-m", "blocked"], in: parent)
        #expect(result.status == 1, "commit while the lock is held: \(result)")
        #expect(result.stderr.contains("error:") && result.stderr.contains(".hgrepo/lock"), "\(result)")
        #expect(try dir.snapshotMeta() == before, "a commit that could not take the lock changed the repository")
        holder.waitUntilExit()

        // Once the lock is free, the same commit goes through.
        try CLI.ok(["-C", repo.path, "commit", "-m", "unblocked"], in: parent)
        try RobustFixture.expectClean(dir)
    }

    // MARK: - 6. SIGKILL at random points

    @Test func sigkillDuringCommitNeverCorruptsTheRepository() throws {
        try killLoop(label: "0-15 ms") { UInt32.random(in: 0...15_000) }
    }

    /// A commit of the debug build takes tens of milliseconds, most of it before the
    /// lock is taken, so kills within 15 ms rarely land while files are written. This
    /// variant spreads the kills over the whole measured duration of a commit.
    @Test func sigkillSpreadOverAWholeCommitNeverCorruptsTheRepository() throws {
        let probe = try TempDir("robust-kill-probe")
        try CLI.ok(["init"], in: probe.url)
        var longest = 0.0
        for i in 0..<3 {
            try probe.write("file.txt", "probe \(i)\n")
            let start = Date()
            try CLI.ok(["commit", "-m", "probe \(i)", "--quiet"], in: probe.url)
            longest = max(longest, Date().timeIntervalSince(start))
        }
        let limit = UInt32(min(max(longest * 1.2, 0.015), 2.0) * 1_000_000)
        try killLoop(label: "0-\(limit / 1000) ms") { UInt32.random(in: 0...limit) }
    }

    /// Clones killed at points spread over a whole clone (session, receive, checkout, rename):
    /// each target is then either absent or a complete repository that verifies, with a clean
    /// working tree; and the next clone of the same name removes what the killed one left.
    @Test func sigkillDuringCloneLeavesNothingOrACompleteRepository() throws {
        let dir = try TempDir("robust-kill-clone")
        let source = dir.path("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try CLI.ok(["init"], in: source)
        for i in 0..<40 { try dir.write("source/d\(i % 5)/f\(i).txt", String(repeating: "line \(i)\n", count: 50)) }
        try CLI.ok(["commit", "-q", "-m", "files"], in: source)
        let start = Date()
        try CLI.ok(["clone", "-q", "source", "probe"], in: dir.url)
        let limit = UInt32(min(max(Date().timeIntervalSince(start) * 1.2, 0.02), 3.0) * 1_000_000)
        var complete = 0
        for i in 0..<12 {
            let name = "copy\(i)"
            let clone = try RobustFixture.Spawned(["clone", "-q", "source", name], in: dir.url)
            usleep(UInt32.random(in: 0...limit))
            kill(clone.pid, SIGKILL)
            let outcome = clone.finish()
            let target = dir.path(name)
            guard FileManager.default.fileExists(atPath: target.path) else { continue }
            complete += 1
            #expect(!outcome.exited || outcome.status == 0, "iteration \(i): \(outcome)")
            let verify = try CLI.run(["verify"], in: target)
            #expect(verify.status == 0, "iteration \(i): the clone's target is there but does not verify: \(verify)")
            let status = try CLI.run(["status", "--short"], in: target)
            #expect(status.status == 0 && status.stdout.isEmpty, "iteration \(i): \(status)")
        }
        // Every clone that was cut short can be made again, and then nothing hidden is left.
        for i in 0..<12 where !FileManager.default.fileExists(atPath: dir.path("copy\(i)").path) {
            try CLI.ok(["clone", "-q", "source", "copy\(i)"], in: dir.url)
            try CLI.ok(["verify"], in: dir.path("copy\(i)"))
        }
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "left behind: \(hidden) (\(complete) of 12 clones had finished)")
    }

    /// 30 commits, each sent SIGKILL after `delay()` microseconds; then the repository must
    /// verify, keep every commit that reported success, and accept a normal commit.
    private func killLoop(label: String, delay: () -> UInt32, sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        let dir = try TempDir("robust-kill")
        try CLI.ok(["init"], in: dir.url)
        var reported: [(iteration: Int, short: String)] = []
        var killed = 0
        for i in 0..<30 {
            try dir.write("file.txt", "iteration \(i)\n")
            try dir.write("dir/n\(i % 4).txt", "nested \(i)\n")
            let commit = try RobustFixture.Spawned(["commit", "-m", "iter\(i)", "--quiet"], in: dir.url)
            usleep(delay())
            kill(commit.pid, SIGKILL)
            let result = commit.finish()
            if result.exited {
                #expect(
                    result.status == 0,
                    "\(label), iteration \(i): commit failed on its own after earlier kills: \(result)",
                    sourceLocation: sourceLocation)
                if result.status == 0 {
                    let short = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    #expect(
                        short.count >= 8, "\(label), iteration \(i): --quiet printed '\(short)'",
                        sourceLocation: sourceLocation)
                    reported.append((i, short))
                }
            } else {
                killed += 1
                #expect(result.status == SIGKILL, "\(label), iteration \(i): \(result)", sourceLocation: sourceLocation)
            }
        }
        let verify = try CLI.run(["verify"], in: dir.url)
        #expect(
            verify.status == 0, "\(label): verify after \(killed) SIGKILLs: \(verify)", sourceLocation: sourceLocation)
        var ids = try RobustFixture.log(dir).map(\.id)
        for commit in reported {
            #expect(
                ids.contains { $0.hasPrefix(commit.short) },
                "\(label), iteration \(commit.iteration): \(commit.short) reported but not in the log",
                sourceLocation: sourceLocation)
        }

        try dir.write("file.txt", "final\n")
        let final = try CLI.ok(["commit", "-m", "final", "--quiet"], in: dir.url, sourceLocation: sourceLocation)
        try RobustFixture.expectClean(dir, sourceLocation: sourceLocation)
        let log = try RobustFixture.log(dir)
        ids = log.map(\.id)
        let finalShort = final.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            !finalShort.isEmpty && ids.first.map { $0.hasPrefix(finalShort) } == true,
            "\(label): final commit \(finalShort) is not the newest: \(ids.prefix(3))", sourceLocation: sourceLocation)
        #expect(Set(log.map(\.author)).count == 1, sourceLocation: sourceLocation)
        let sequences = log.reversed().map(\.sequence)
        #expect(
            Set(sequences).count == sequences.count, "\(label): duplicate sequence numbers: \(sequences)",
            sourceLocation: sourceLocation)
        #expect(
            zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 },
            "\(label): sequence numbers not increasing: \(sequences)", sourceLocation: sourceLocation)
    }

    // MARK: - 7. Oversized working file

    /// A file over the blob limit is skipped with a warning that names it and suggests
    /// .hgignore; status and commit go on with the rest, and the file stays where it is.
    @Test func fileOverTheBlobLimitIsSkippedWithAWarning() throws {
        let dir = try TempDir("robust-large")
        try CLI.ok(["init"], in: dir.url)
        try dir.write("small.txt", "small\n")
        let big = dir.path("big.bin")
        #expect(FileManager.default.createFile(atPath: big.path, contents: nil))
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: UInt64(64 << 20) + 1)
        try handle.close()
        let warning =
            "warning: skipped 'big.bin': larger than the 64 MiB limit for one file, so not recorded; "
            + "add it to .hgignore to leave it out without this warning"

        let status = try CLI.run(["status", "--short"], in: dir.url)
        #expect(status.status == 0, "status with a 64 MiB + 1 file: \(status)")
        #expect(status.stdout == "A small.txt\n", "\(status)")
        #expect(status.stderr == warning + "\n", "\(status)")

        let commit = try CLI.run(["commit", "--json", "-m", "small only"], in: dir.url)
        #expect(commit.status == 0, "commit with a 64 MiB + 1 file: \(commit)")
        #expect(commit.stderr == warning + "\n", "\(commit)")
        #expect(commit.stdout.contains("small.txt") && !commit.stdout.contains("big.bin"), "\(commit)")

        // Named alone, there is nothing to record; the repository is unchanged.
        let before = try dir.snapshotMeta()
        let named = try CLI.run(["commit", "-m", "too big", "big.bin"], in: dir.url)
        #expect(named.status == 1 && named.stderr.contains("nothing to commit"), "\(named)")
        #expect(try dir.snapshotMeta() == before, "a refused commit changed the repository")
        let size = try FileManager.default.attributesOfItem(atPath: big.path)[.size] as? Int
        #expect(size == (64 << 20) + 1, "the oversized file was changed")

        // Listed in .hgignore, it is left out quietly.
        try dir.write(".hgignore", "big.bin\n")
        let quiet = try CLI.run(["status", "--short"], in: dir.url)
        #expect(quiet.status == 0 && quiet.stdout == "A .hgignore\n" && quiet.stderr.isEmpty, "\(quiet)")
        try RobustFixture.expectClean(dir)
    }

    /// A file the repository records that grows over the limit is not skipped: left out of the
    /// listing, it would read as deleted and commit would delete it for everyone. status and
    /// commit refuse and name it; nothing is recorded and the file is untouched.
    @Test func recordedFileThatGrowsOverTheBlobLimitIsNeverCommittedAsDeleted() throws {
        let dir = try TempDir("robust-large-recorded")
        try CLI.ok(["init"], in: dir.url)
        try dir.write("f.bin", "small for now\n")
        try dir.write("other.txt", "other\n")
        try CLI.ok(["commit", "-m", "first"], in: dir.url)
        let handle = try FileHandle(forWritingTo: dir.path("f.bin"))
        try handle.truncate(atOffset: UInt64(64 << 20) + 1)
        try handle.close()
        try dir.write("other.txt", "changed\n")
        let before = try dir.snapshotMeta()
        for command in [["status", "--short"], ["commit", "-m", "would delete f.bin"]] {
            let result = try CLI.run(command, in: dir.url)
            #expect(result.status == 1, "\(command): \(result)")
            #expect(
                result.stderr.contains("f.bin' is larger than the 64 MiB limit for one file"), "\(command): \(result)")
            #expect(!result.stdout.contains("D f.bin"), "\(command): \(result)")
        }
        #expect(try dir.snapshotMeta() == before, "a refused commit changed the repository")
        let size = try FileManager.default.attributesOfItem(atPath: dir.path("f.bin").path)[.size] as? Int
        #expect(size == (64 << 20) + 1)
        try RobustFixture.expectClean(dir)
    }
}

// MARK: - Helpers

/// Helpers private to these tests (namespaced so they never clash with other test files).
enum RobustFixture {
    struct Repo {
        let dir: TempDir
        /// Full ids of the three commits, oldest first.
        let commits: [String]
    }

    struct ObjectFile {
        let hex: String
        let url: URL
        /// Relative to the repository root, as verify prints it.
        let relativePath: String
    }

    struct VerifyOut: Decodable {
        struct Problem: Decodable {
            let check: String
            let object: String?
            let file: String?
            let message: String
        }
        let clean: Bool
        let problems: [Problem]
        let notes: [String]
    }

    struct LogOut: Decodable {
        let id: String
        let author: String
        let sequence: UInt64
        let kind: String
        let message: String
    }

    struct CommitOut: Decodable {
        struct Change: Decodable {
            let path: String
            let status: String
        }
        let id: String
        let parents: [String]
        let changes: [Change]
    }

    struct StatusOut: Decodable {
        struct Change: Decodable {
            let path: String
            let status: String
        }
        let changes: [Change]
    }

    struct IndexRecord {
        let start: Int
        let payloadStart: Int
        let payloadLength: Int
    }

    /// A repository with three commits, each adding one file.
    static func repoWithThreeCommits() throws -> Repo {
        let dir = try TempDir("robust")
        try CLI.ok(["init"], in: dir.url)
        var commits: [String] = []
        for i in 1...3 {
            try dir.write("file\(i).txt", "content of file \(i)\n")
            let result = try CLI.ok(["commit", "--json", "-m", "commit \(i)"], in: dir.url)
            commits.append(try JSONDecoder().decode(CommitOut.self, from: result.stdoutBytes).id)
        }
        try expectClean(dir)
        return Repo(dir: dir, commits: commits)
    }

    /// Every loose object file, sorted by id.
    static func objectFiles(_ dir: TempDir) throws -> [ObjectFile] {
        let fm = FileManager.default
        let root = dir.path(".hgrepo/objects")
        var result: [ObjectFile] = []
        for fan in try fm.contentsOfDirectory(atPath: root.path).sorted() where fan.count == 2 {
            for name in try fm.contentsOfDirectory(atPath: root.appendingPathComponent(fan).path).sorted()
            where !name.hasPrefix(".") {
                result.append(
                    ObjectFile(
                        hex: fan + name, url: root.appendingPathComponent(fan).appendingPathComponent(name),
                        relativePath: ".hgrepo/objects/\(fan)/\(name)"))
            }
        }
        return result
    }

    /// `cat-object --type`.
    static func objectType(_ hex: String, _ dir: TempDir) throws -> String {
        try CLI.ok(["cat-object", "--type", hex], in: dir.url).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The records of an index file.
    static func indexRecords(_ url: URL) throws -> [IndexRecord] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var records: [IndexRecord] = []
        var offset = 16
        while offset + 8 <= bytes.count {
            let length =
                Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3])
                << 24
            records.append(IndexRecord(start: offset, payloadStart: offset + 4, payloadLength: length))
            offset += length + 8
        }
        #expect(offset == bytes.count, "index does not end on a record boundary")
        return records
    }

    static func makeWritable(_ url: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
    }

    /// Makes `url` writable, changes its bytes and returns the original content.
    @discardableResult
    static func mutate(_ url: URL, _ body: (inout [UInt8]) -> Void) throws -> Data {
        try makeWritable(url)
        let original = try Data(contentsOf: url)
        var bytes = [UInt8](original)
        body(&bytes)
        try Data(bytes).write(to: url)
        return original
    }

    /// A lowercase hex digit different from `digit`.
    static func otherHexDigit(_ digit: UInt8) -> UInt8 {
        digit == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
    }

    /// Runs a python3 one-liner and returns its standard output.
    static func python(_ code: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", code]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 failed")
        return data
    }

    static func verifyJSON(_ dir: TempDir) throws -> VerifyOut? {
        let result = try CLI.run(["verify", "--json"], in: dir.url)
        return try? JSONDecoder().decode(VerifyOut.self, from: result.stdoutBytes)
    }

    static func log(_ dir: TempDir) throws -> [LogOut] {
        let result = try CLI.ok(["log", "--json"], in: dir.url)
        return try JSONDecoder().decode([LogOut].self, from: result.stdoutBytes)
    }

    static func status(_ dir: TempDir) throws -> StatusOut {
        let result = try CLI.ok(["status", "--json"], in: dir.url)
        return try JSONDecoder().decode(StatusOut.self, from: result.stdoutBytes)
    }

    /// `verify` exits 0.
    static func expectClean(_ dir: TempDir, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CLI.run(["verify"], in: dir.url)
        #expect(result.status == 0, "verify is not clean: \(result)", sourceLocation: sourceLocation)
    }

    /// `verify` leaves every file alone, exits 3 and mentions each needle; `verify --json` says
    /// clean=false with at least one problem (unless `checkJSON` is false, to save a slow run).
    @discardableResult
    static func expectVerifyProblems(
        _ dir: TempDir, mentioning needles: [String], context: String, json checkJSON: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (text: String, json: VerifyOut?) {
        let before = try dir.snapshotMeta()
        let result = try CLI.run(["verify"], in: dir.url)
        #expect(
            try dir.snapshotMeta() == before, "\(context): verify modified the repository",
            sourceLocation: sourceLocation)
        #expect(result.status == 3, "\(context): verify should exit 3: \(result)", sourceLocation: sourceLocation)
        let text = result.stdout + result.stderr
        for needle in needles {
            #expect(
                text.contains(needle), "\(context): verify output does not mention '\(needle)': \(result)",
                sourceLocation: sourceLocation)
        }
        guard checkJSON else { return (text, nil) }
        let jsonResult = try CLI.run(["verify", "--json"], in: dir.url)
        #expect(
            jsonResult.status == 3, "\(context): verify --json should exit 3: \(jsonResult)",
            sourceLocation: sourceLocation)
        let json = try? JSONDecoder().decode(VerifyOut.self, from: jsonResult.stdoutBytes)
        #expect(
            json != nil, "\(context): verify --json printed no report: \(jsonResult)", sourceLocation: sourceLocation)
        if let json {
            #expect(
                !json.clean && !json.problems.isEmpty, "\(context): \(json.problems)", sourceLocation: sourceLocation)
        }
        return (text, json)
    }

    /// A started `hg-bft` process whose output is collected when it ends.
    final class Spawned {
        struct Outcome: CustomStringConvertible {
            /// Whether it exited normally (rather than by a signal).
            let exited: Bool
            let status: Int32
            let stdout: String
            let stderr: String
            let stdoutBytes: Data
            var description: String {
                "\(exited ? "exit" : "signal") \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"
            }
        }

        private let process = Process()
        private let out = Pipe()
        private let err = Pipe()

        init(_ args: [String], in cwd: URL) throws {
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = args
            process.currentDirectoryURL = cwd
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var pid: pid_t { process.processIdentifier }

        /// Waits for the end and collects the output (small: --quiet or --json).
        func finish() -> Outcome {
            let errHandle = err.fileHandleForReading
            let group = DispatchGroup()
            nonisolated(unsafe) var errData = Data()
            group.enter()
            DispatchQueue.global().async {
                errData = errHandle.readDataToEndOfFile()
                group.leave()
            }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            return Outcome(
                exited: process.terminationReason == .exit, status: process.terminationStatus,
                stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                stdoutBytes: outData)
        }
    }
}
