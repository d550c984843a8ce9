import Foundation
import HGCore
import HGState
import HGTestSupport
import Testing

@testable import HGRepository

/// A merged state can hold `x` as a file and `x/y` under it (concurrent writes); checkout keeps
/// the directory, writes the file beside it, and never stops at one path it cannot write.
@Suite("File/directory collisions and blocked paths in checkout")
struct PathCollisionTests {
    /// A commits `x` while a peer, from the same base, writes `x/y` and changes `zz.txt`; the
    /// peer's operation has been received, nothing checked out yet.
    private struct Collision {
        let repo: Repository
        let root: String
        let mine: CommitResult
        let aside: RepoPath
    }

    private func collision(in dir: String) throws -> Collision {
        let (repo, root) = try makeRepository(in: dir)
        try writeFile(root, "base.txt", "base\n")
        try writeFile(root, "zz.txt", "zz\n")
        let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
        let peer = try Peer(seed: 9)
        let theirs = try peer.change(
            sequence: 1, parents: [base.id],
            files: [("x/y", Array("content-xy\n".utf8)), ("zz.txt", Array("zz from peer\n".utf8))])
        try writeFile(root, "x", "content-x\n")
        let mine = try repo.commit(message: "file x", timestamp: 1_700_000_200_000)
        _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
        return Collision(repo: repo, root: root, mine: mine, aside: try RepoPath("x~" + mine.id.short))
    }

    @Test("the directory wins, the file is written beside it, and every other path is written")
    func directoryWinsFileGoesBeside() throws {
        try withTemporaryDirectory { dir in
            let c = try collision(in: dir)
            let x = try repoPath("x")
            #expect(try c.repo.state().value(x) != .absent, "both stay in the state")

            let result = try c.repo.checkout()
            #expect(result.collisions == [PathCollision(path: x, aside: c.aside)])
            #expect(result.blocked.isEmpty && result.kept.isEmpty)
            #expect(Set(result.written) == [try repoPath("x/y"), c.aside, try repoPath("zz.txt")])
            #expect(readFile(c.root, "x/y") == Array("content-xy\n".utf8))
            #expect(readFile(c.root, c.aside.string) == Array("content-x\n".utf8))
            #expect(readFile(c.root, "zz.txt") == Array("zz from peer\n".utf8))

            // Status says what a commit would record, and names the collision.
            let status = try c.repo.status()
            #expect(status.changes.map(\.path) == [x, c.aside])
            #expect(status.changes.map(\.status) == [.deleted, .added])
            #expect(status.collisions == result.collisions)

            // Checking out again changes nothing.
            let again = try c.repo.checkout()
            #expect(again.written.isEmpty && again.removed.isEmpty && again.kept.isEmpty)
            #expect(again.collisions == result.collisions)
            #expect(readFile(c.root, c.aside.string) == Array("content-x\n".utf8))

            // Committing everything turns the collision into a rename.
            _ = try c.repo.commit(message: "keep both", timestamp: 1_700_000_300_000)
            let state = try c.repo.state()
            #expect(state.value(x) == .absent)
            #expect(
                state.value(c.aside)
                    == .file(FileVersion(blob: Blob(content: Array("content-x\n".utf8)).id, mode: .regular)))
            #expect(try c.repo.status().changes.isEmpty)
            #expect(try c.repo.status().collisions.isEmpty)
            let settled = try c.repo.checkout()
            #expect(settled.written.isEmpty && settled.removed.isEmpty && settled.collisions.isEmpty)
        }
    }

    @Test("when the directory's files go, the file comes back under its name and its copy is left to the user")
    func fileComesBackCopyStays() throws {
        try withTemporaryDirectory { dir in
            let c = try collision(in: dir)
            _ = try c.repo.checkout()
            try FileManager.default.removeItem(atPath: c.root + "/x/y")
            // "x/" names the directory only: the file x, absent here, is not recorded as deleted.
            let commit = try c.repo.commit(
                message: "drop x/y", pathspecs: ["x/"], cwd: c.root, timestamp: 1_700_000_300_000)
            #expect(commit.changes.map(\.path) == [try repoPath("x/y")])
            #expect(try c.repo.status().collisions.isEmpty)

            // The empty directory left at x gives way to the file; the copy is not removed.
            let result = try c.repo.checkout()
            #expect(result.written == [try repoPath("x")])
            #expect(result.removed.isEmpty)
            #expect(result.kept.isEmpty)
            #expect(readFile(c.root, "x") == Array("content-x\n".utf8))
            #expect(readFile(c.root, c.aside.string) == Array("content-x\n".utf8))
        }
    }

    @Test("something in the working tree in the way is named and left as it is; the rest is written")
    func blockedPathsAreNamedAndTheRestWritten() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            try writeFile(root, "base.txt", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let peer = try Peer(seed: 9)
            let theirs = try peer.change(
                sequence: 1, parents: [base.id],
                files: [
                    ("d/e", Array("d/e from peer\n".utf8)), ("f", Array("f from peer\n".utf8)),
                    ("g", Array("g from peer\n".utf8)), ("zz.txt", Array("zz from peer\n".utf8)),
                ])
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
            // Uncommitted: a file where the state needs a directory, a directory holding a file
            // where the state has a file, and an empty directory where the state has a file.
            try writeFile(root, "d", "my d\n")
            try writeFile(root, "f/keep.txt", "my keep\n")
            try FileManager.default.createDirectory(atPath: root + "/g", withIntermediateDirectories: false)

            let result = try repo.checkout()
            #expect(
                result.blocked == [
                    try repoPath("d/e"): "'d' is a file, not a directory",
                    try repoPath("f"): "a directory is in the way",
                ])
            // The user's own files, where nothing arrives, are not even named; the paths they block are.
            #expect(result.kept.isEmpty)
            #expect(Set(result.written) == [try repoPath("g"), try repoPath("zz.txt")])
            #expect(result.leftAlone == [try repoPath("d/e"), try repoPath("f")])
            #expect(result.unsynced == [try repoPath("d/e"), try repoPath("f")])
            #expect(readFile(root, "d") == Array("my d\n".utf8))
            #expect(readFile(root, "f/keep.txt") == Array("my keep\n".utf8))
            #expect(readFile(root, "g") == Array("g from peer\n".utf8))
            #expect(readFile(root, "zz.txt") == Array("zz from peer\n".utf8))

            // Once the way is clear, the next checkout writes them.
            try FileManager.default.removeItem(atPath: root + "/d")
            try FileManager.default.removeItem(atPath: root + "/f")
            let clear = try repo.checkout()
            #expect(clear.blocked.isEmpty && clear.kept.isEmpty)
            #expect(readFile(root, "d/e") == Array("d/e from peer\n".utf8))
            #expect(readFile(root, "f") == Array("f from peer\n".utf8))
        }
    }

    /// NFC `café` (a file) and NFD `café/inner` are different byte paths: no collision, both
    /// written where they belong (String comparison called them one name and moved the file).
    @Test("NFC and NFD spellings of a name are different paths: a file and a directory that do not collide")
    func canonicallyEquivalentNamesDoNotCollide() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            try writeFile(root, "base.txt", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let nfc = "caf\u{E9}"
            let nfdInner = "cafe\u{301}/inner"
            // And two directories whose names differ the same way.
            let nfcDir = "d\u{E9}j\u{E0}/x"
            let nfdDir = "de\u{301}ja\u{300}/y"
            let peer = try Peer(seed: 9)
            let theirs = try peer.change(
                sequence: 1, parents: [base.id],
                files: [
                    (nfc, Array("file\n".utf8)), (nfdInner, Array("inner\n".utf8)),
                    (nfcDir, Array("x\n".utf8)), (nfdDir, Array("y\n".utf8)),
                ])
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)

            let result = try repo.checkout()
            #expect(result.collisions.isEmpty, "\(result.collisions)")
            #expect(result.blocked.isEmpty && result.kept.isEmpty)
            #expect(Set(result.written) == Set(try [nfc, nfdInner, nfcDir, nfdDir].map(repoPath)))
            #expect(rawRead(root + "/" + nfc) == Array("file\n".utf8))
            #expect(rawRead(root + "/" + nfdInner) == Array("inner\n".utf8))
            #expect(rawRead(root + "/" + nfcDir) == Array("x\n".utf8))
            #expect(rawRead(root + "/" + nfdDir) == Array("y\n".utf8))
            #expect(rawRead(root + "/" + nfc + "~" + theirs.op.id.short) == nil, "a copy beside it was written")
            let status = try repo.status()
            #expect(status.changes.isEmpty && status.collisions.isEmpty, "\(status.changes) \(status.collisions)")
        }
    }

    @Test("the copy's name: the lowest operation that writes the file; none when taken or too long")
    func asideNames() throws {
        let low = try #require(ObjectID(hex: String(repeating: "11", count: 32)))
        let high = try #require(ObjectID(hex: String(repeating: "ee", count: 32)))
        let version = FileVersion(blob: Blob(content: Array("v".utf8)).id, mode: .regular)
        let other = FileVersion(blob: Blob(content: Array("w".utf8)).id, mode: .regular)
        let long = String(repeating: "l", count: 250)
        func live(_ writes: (ObjectID, FileVersion?)...) -> [LiveWrite] {
            writes.map { LiveWrite(op: $0.0, version: $0.1) }.sorted()
        }
        let tree = FileTree(paths: [
            // A conflict of a deletion (lowest op) and a write: the copy is named after the write.
            try repoPath("c"): live((low, nil), (high, version)),
            try repoPath("c/1"): live((low, version)),
            // Nested: n and n/m both collide.
            try repoPath("n"): live((low, version)),
            try repoPath("n/m"): live((high, other)),
            try repoPath("n/m/k"): live((low, version)),
            // The name beside t is a file of the state already.
            try repoPath("t"): live((low, version)),
            try repoPath("t/1"): live((low, version)),
            try repoPath("t~" + low.short): live((high, version)),
            // A name one component too long.
            try repoPath(long): live((low, version)),
            try repoPath(long + "/1"): live((low, version)),
            // All deleted: not present, so no collision with what lies under it.
            try repoPath("gone"): live((low, nil)),
            try repoPath("gone/1"): live((low, version)),
        ])
        let collisions = PathCollisions(state: tree)
        #expect(
            collisions.list(matching: { _ in true }) == [
                PathCollision(path: try repoPath("c"), aside: try repoPath("c~" + high.short)),
                PathCollision(path: try repoPath(long), aside: nil),
                PathCollision(path: try repoPath("n"), aside: try repoPath("n~" + low.short)),
                PathCollision(path: try repoPath("n/m"), aside: try repoPath("n/m~" + high.short)),
                PathCollision(path: try repoPath("t"), aside: nil),
            ])
        #expect(
            collisions.original == [
                try repoPath("c~" + high.short): try repoPath("c"),
                try repoPath("n~" + low.short): try repoPath("n"),
                try repoPath("n/m~" + high.short): try repoPath("n/m"),
            ])
        #expect(
            collisions.list(matching: { $0.string.hasPrefix("n") }).map(\.path) == [
                try repoPath("n"), try repoPath("n/m"),
            ])
    }
}
