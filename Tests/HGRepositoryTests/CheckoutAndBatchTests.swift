import Foundation
import HGCore
import HGCrypto
import HGRepository
import HGState
import HGStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Checkout safety and batch commits")
struct CheckoutAndBatchTests {
    @Test("checkout keeps an uncommitted edit that a received operation would overwrite; force overwrites it")
    func checkoutKeepsUncommittedEdits() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            let peer = try Peer(seed: 9)
            try writeFile(root, "notes.txt", "base\n")
            try writeFile(root, "gone.txt", "to be deleted there\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let theirs = try peer.change(
                sequence: 1, parents: [base.id],
                files: [("notes.txt", Array("their new text\n".utf8)), ("gone.txt", nil)])

            // Uncommitted edits here (different sizes from before, so no stamp could hide them).
            let localNotes = Array("my uncommitted edit, longer than before\n".utf8)
            let localGone = Array("edited locally before the deletion arrived\n".utf8)
            try writeFile(root, "notes.txt", localNotes)
            try writeFile(root, "gone.txt", localGone)
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
            #expect(try repo.heads() == [theirs.op.id])

            let notes = try repoPath("notes.txt")
            let gone = try repoPath("gone.txt")
            let kept = try repo.checkout()
            #expect(kept.kept == [gone, notes])
            #expect(kept.written.isEmpty)
            #expect(kept.removed.isEmpty)
            #expect(kept.conflicts.isEmpty)
            #expect(readFile(root, "notes.txt") == localNotes)
            #expect(readFile(root, "gone.txt") == localGone)
            // A second try changes nothing either.
            #expect(try repo.checkout().kept == [gone, notes])
            #expect(readFile(root, "notes.txt") == localNotes)

            let forced = try repo.checkout(force: true)
            #expect(forced.written == [notes])
            #expect(forced.removed == [gone])
            #expect(forced.kept.isEmpty)
            #expect(readFile(root, "notes.txt") == Array("their new text\n".utf8))
            #expect(readFile(root, "gone.txt") == nil)
            #expect(try repo.status().changes.isEmpty)
        }
    }

    @Test("checkout updates unedited files that a received operation changed")
    func checkoutUpdatesCleanFiles() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try receivedChange(
                in: dir,
                files: [
                    ("notes.txt", Array("newer\n".utf8)),
                    ("dir/new.txt", Array("new\n".utf8)),
                ])
            // Before checkout the working tree lags behind the state: what arrived is incoming,
            // not a change of the user's.
            let before = try repo.status()
            #expect(before.changes.isEmpty)
            #expect(before.incoming.paths == [try repoPath("dir/new.txt"), try repoPath("notes.txt")])
            let result = try repo.checkout()
            #expect(result.written == [try repoPath("dir/new.txt"), try repoPath("notes.txt")])
            #expect(result.kept.isEmpty)
            #expect(readFile(root, "notes.txt") == Array("newer\n".utf8))
            #expect(readFile(root, "dir/new.txt") == Array("new\n".utf8))
            #expect(try repo.status().changes.isEmpty)
        }
    }

    @Test(
        "checkout writes many files in batches; one that cannot be written is named, and the rest are written and recorded as clean"
    )
    func checkoutWritesBatchesAroundABlockedFile() throws {
        try withTemporaryDirectory { dir in
            // More files than one batch of writes holds, and a file "zz" where a local directory is.
            var files: [(String, [UInt8]?)] = (0..<300).map { i in
                (String(format: "d%d/f%03d.txt", i % 7, i), Array("file \(i)\n".utf8))
            }
            files.append(("zz", Array("a file where a directory is\n".utf8)))
            let (repo, root) = try receivedChange(in: dir, files: files)
            try FileManager.default.createDirectory(atPath: root + "/zz", withIntermediateDirectories: true)
            try writeFile(root, "zz/mine.txt", "untracked, in the way\n")

            let result = try repo.checkout()
            #expect(result.blocked == [try repoPath("zz"): "a directory is in the way"])
            // The untracked file is the user's, and nothing arrives at its path: not even named.
            #expect(result.kept.isEmpty)
            #expect(result.unsynced == [try repoPath("zz")])
            #expect(result.written.count == 300)
            for i in 0..<300 {
                #expect(readFile(root, String(format: "d%d/f%03d.txt", i % 7, i)) == Array("file \(i)\n".utf8))
            }
            #expect(readFile(root, "zz/mine.txt") == Array("untracked, in the way\n".utf8))
            // Every file written is known as written by hg-bft, not taken for a local edit: only
            // the blocked path and the untracked file show up.
            let changed = Set(try repo.status().changes.map(\.path.string))
            #expect(changed.allSatisfy { $0.hasPrefix("zz") })
            #expect(!changed.isEmpty)
            // Once the directory is moved away, checkout finishes the job.
            try FileManager.default.removeItem(atPath: root + "/zz")
            let finished = try repo.checkout()
            #expect(finished.written == [try repoPath("zz")])
            #expect(try repo.status().changes.isEmpty)
        }
    }

    @Test(
        "one operation naming both a file and a path under it: the directory is written and the file beside it, every time"
    )
    func checkoutOfAFileAndAPathUnderItIsDeterministic() throws {
        // Nothing in the format forbids it, so a peer can send it; neither the threads nor the
        // replica decide what lands (PathCollisions).
        for round in 0..<3 {
            try withTemporaryDirectory { dir in
                let (repo, root) = try receivedChange(
                    in: dir,
                    files: [
                        ("a", Array("a file\n".utf8)),
                        ("a/b", Array("under a file\n".utf8)),
                        ("c.txt", Array("c\n".utf8)),
                    ])
                let op = try #require(try repo.heads().first)
                let aside = try repoPath("a~" + op.short)
                let result = try repo.checkout()
                #expect(result.collisions == [PathCollision(path: try repoPath("a"), aside: aside)], "round \(round)")
                #expect(result.blocked.isEmpty && result.kept.isEmpty)
                #expect(readFile(root, "a/b") == Array("under a file\n".utf8))
                #expect(readFile(root, aside.string) == Array("a file\n".utf8))
                #expect(readFile(root, "c.txt") == Array("c\n".utf8))
                #expect(readFile(root, "notes.txt") == Array("base\n".utf8))
            }
        }
    }

    @Test("checkout keeps an uncommitted edit of a file that became conflicted")
    func checkoutKeepsEditOfConflictedFile() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            let local = Array("still typing, not committed\n".utf8)
            try writeFile(s.root, "notes.txt", local)
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            // The edit meets a newer version: nothing is checked out, and status shows the edit
            // against the base and the conflict as incoming.
            let result = try s.repo.checkout()
            #expect(result.kept == [try repoPath("notes.txt")])
            #expect(result.clashes == [try repoPath("notes.txt")])
            #expect(!result.checkedOut)
            #expect(readFile(s.root, "notes.txt") == local)
            #expect(try s.repo.status().changes.first?.status == .modified)
            #expect(try s.repo.status().incoming.paths == [try repoPath("notes.txt")])
            let forced = try s.repo.checkout(force: true)
            #expect(forced.written == [try repoPath("notes.txt")])
            #expect(
                readFile(s.root, "notes.txt")
                    == documentedConflictText([
                        (s.mine.id, s.me, Array("mine\n".utf8)), (s.theirs.op.id, s.peer.id, Array("theirs\n".utf8)),
                    ]))
        }
    }

    @Test("commitBatch of 500 changes: log, verify, and one pack")
    func batchOf500() throws {
        try withTemporaryDirectory { dir in
            let (repo, _) = try makeRepository(in: dir, writers: [])
            var changes: [BatchChange] = []
            for i in 0..<500 {
                var files: [(path: RepoPath, content: [UInt8]?)] = [
                    (try repoPath("files/\(i).txt"), Array("file \(i)\n".utf8))
                ]
                if i % 10 == 0 { files.append((try repoPath("shared.txt"), Array("version \(i)\n".utf8))) }
                if i == 250 { files.append((try repoPath("files/0.txt"), nil)) }
                changes.append(BatchChange(message: "change \(i)", files: files))
            }
            let ids = try repo.commitBatch(changes, timestamp: 1_700_000_000_000)
            #expect(ids.count == 500)
            #expect(Set(ids).count == 500)
            let last = try #require(ids.last)
            #expect(try repo.heads() == [last])

            let log = try repo.log(limit: 10)
            #expect(log.total == 501)
            #expect(log.entries.count == 10)
            #expect(log.entries.first?.summary.id == last)
            #expect(log.entries.first?.isHead == true)
            #expect(log.entries.dropFirst().allSatisfy { !$0.isHead })
            #expect(log.entries.map(\.summary.message) == (490..<500).reversed().map { "change \($0)" })
            #expect(log.entries.map(\.summary.sequence) == (492...501).reversed().map { UInt64($0) })
            #expect(try repo.log(limit: 0).entries.isEmpty)
            #expect(try repo.log().entries.count == 501)

            let report = try repo.verify()
            #expect(report.isClean, "\(report.problems)")
            #expect(report.operations == 501)
            #expect(report.heads == [last])

            let packDirectory = repo.layout.objects + "/pack"
            let names = try FileManager.default.contentsOfDirectory(atPath: packDirectory)
            #expect(names.filter { $0.hasSuffix(".idx") }.count == 1, "\(names)")
            #expect(names.filter { $0.hasSuffix(".pack") }.count == 1, "\(names)")
            // The batch's operations are in the pack, not loose.
            #expect(ids.allSatisfy { !FileManager.default.fileExists(atPath: repo.layout.objectPath($0.hex)) })

            let tree = try repo.state()
            #expect(tree.conflicts.isEmpty)
            #expect(tree.visiblePaths.count == 500)  // 499 files left, plus shared.txt
            #expect(tree.value(try repoPath("files/0.txt")) == .absent)
            #expect(
                tree.value(try repoPath("shared.txt"))
                    == .file(FileVersion(blob: Blob.id(of: Array("version 490\n".utf8)), mode: .regular)))
            let shown = try repo.operation(last.hex)
            #expect(shown.change?.message == "change 499")

            // The batch is the whole history the working tree now sees.
            let checkout = try repo.checkout()
            #expect(checkout.written.count == 500)
            #expect(try repo.status().changes.isEmpty)
        }
    }

    @Test("an edit made within the tick of the cache write stays visible after a later command rewrites the cache")
    func racyEditSurvivesCacheRewrite() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            let path = root + "/notes.txt"
            try writeFile(root, "notes.txt", "aaaa\n")
            _ = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            var before = stat()
            try #require(stat(path, &before) == 0)

            // Simulate what a coarse file-system clock does on its own: hg-bft wrote the cache in the
            // same tick as it recorded notes.txt, and an edit of the same size landed in that tick too.
            var times = [before.st_mtim, before.st_mtim]
            try #require(utimensat(AT_FDCWD, repo.layout.worktreeCache, &times, 0) == 0)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            handle.write(Data("bbbb\n".utf8))
            handle.closeFile()
            try #require(utimensat(AT_FDCWD, path, &times, 0) == 0)
            var after = stat()
            try #require(stat(path, &after) == 0)
            try #require(after.st_ino == before.st_ino && after.st_size == before.st_size)

            // The entry is racy, so the edit is seen.
            #expect(try repo.status().changes.map(\.status) == [.modified])
            // A command that rewrites the cache (checkout keeps the edit) must not make it clean.
            let checkout = try repo.checkout()
            #expect(checkout.kept == [try repoPath("notes.txt")])
            #expect(try repo.status().changes.map(\.status) == [.modified], "the uncommitted edit became invisible")
            #expect(readFile(root, "notes.txt") == Array("bbbb\n".utf8))
            let commit = try? repo.commit(message: "the edit", timestamp: 1_700_000_200_000)
            #expect(commit?.changes.map(\.path) == [try repoPath("notes.txt")], "commit did not record the edit")
        }
    }
}

/// A repository whose one commit wrote "notes.txt" ("base\n"), after receiving a peer's change on
/// top of it that writes `files`; its working tree is not updated yet.
private func receivedChange(in dir: String, files: [(String, [UInt8]?)]) throws -> (repo: Repository, root: String) {
    let (repo, root) = try makeRepository(in: dir)
    let peer = try Peer(seed: 9)
    try writeFile(root, "notes.txt", "base\n")
    let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
    let theirs = try peer.change(sequence: 1, parents: [base.id], files: files)
    _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
    return (repo, root)
}
