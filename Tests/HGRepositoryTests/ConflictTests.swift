import Foundation
import HGCore
import HGCrypto
import HGRepository
import HGState
import HGStore
import Testing

@Suite("Conflicts from concurrent operations")
struct ConflictTests {
    @Test("concurrent text writes: status, checkout and the exact marker format")
    func concurrentTextWrites() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs".utf8))
            let received = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            #expect(received.added == [s.theirs.op.id])
            #expect(received.known == 0)

            let path = try repoPath("notes.txt")
            // Before checkout the working tree is at its base: nothing is the user's change, and
            // the conflicted path is incoming.
            let status = try s.repo.status()
            #expect(status.changes.isEmpty)
            #expect(status.incoming.paths == [path])
            #expect(status.incoming.operations == 1)
            #expect(try s.repo.state().conflicts == [path])

            let result = try s.repo.checkout()
            #expect(result.conflicts == [path])
            #expect(result.written == [path])
            #expect(result.kept.isEmpty)

            // The exact bytes, spelled out: versions in operation-id order, a newline added to
            // "theirs", which lacks one.
            let mineBlock = "op \(s.mine.id.short) by \(s.me.short)\nmine\n"
            let theirsBlock = "op \(s.theirs.op.id.short) by \(s.peer.id.short)\ntheirs\n"
            let ordered = s.mine.id < s.theirs.op.id ? (mineBlock, theirsBlock) : (theirsBlock, mineBlock)
            let expected = "<<<<<<< " + ordered.0 + "======= " + ordered.1 + ">>>>>>> end of conflict (2 versions)\n"
            let written = try #require(readFile(s.root, "notes.txt"))
            #expect(String(decoding: written, as: UTF8.self) == expected)
            #expect(written == Array(expected.utf8))
            #expect(
                written
                    == documentedConflictText([
                        (s.mine.id, s.me, Array("mine\n".utf8)), (s.theirs.op.id, s.peer.id, Array("theirs".utf8)),
                    ]))
            // Short forms as README shows them: 12 hex digits, 12 characters of the peer id.
            #expect(s.mine.id.short.count == 12)
            #expect(s.peer.id.short.count == 12 && s.peer.id.short.hasPrefix("hg"))

            // Checking out the rendering is not an edit: still conflicted, not edited, and a
            // second checkout leaves the file alone.
            #expect(try s.repo.status().changes.first?.status == .conflicted(versions: 2, edited: false))
            let again = try s.repo.checkout()
            #expect(again.written.isEmpty)
            #expect(again.kept.isEmpty)
            #expect(again.conflicts == [path])
            #expect(readFile(s.root, "notes.txt") == written)
        }
    }

    @Test("two repositories with the same operations, received in different orders, render identically")
    func determinism() throws {
        try withTemporaryDirectory { dir in
            let (repoA, rootA) = try makeRepository(in: dir, name: "a")
            try writeFile(rootA, "notes.txt", "base\n")
            try writeFile(rootA, "other.txt", "other\n")
            let base = try repoA.commit(message: "base", timestamp: 1_700_000_100_000)

            // A second replica of the same repository: a copy taken now (once the old versions
            // of replaced files are deleted, as the command-line tool waits for before it exits).
            let rootA2 = dir + "/a2"
            Repository.waitForDeferredRemovals()
            try FileManager.default.copyItem(atPath: rootA, toPath: rootA2)
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600],
                ofItemAtPath: rootA2 + "/.hgrepo/keys/identity")
            let repoA2 = try Repository.discover(from: rootA2)
            #expect(repoA2.genesis == repoA.genesis)

            let peerB = try Peer(seed: 9)
            let peerC = try Peer(seed: 7)
            let opB = try peerB.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("from b".utf8))])
            let opC = try peerC.change(
                sequence: 1, parents: [base.id],
                files: [("notes.txt", Array("from c\n".utf8)), ("other.txt", nil)])
            try writeFile(rootA, "notes.txt", "from a\n")
            try writeFile(rootA, "other.txt", "other, edited by a\n")
            let mine = try repoA.commit(message: "mine", timestamp: 1_700_000_200_000)
            let mineOp = try repoA.operation(mine.id.hex)
            let mineBlobs = [Blob(content: Array("from a\n".utf8)), Blob(content: Array("other, edited by a\n".utf8))]

            _ = try repoA.receive(operations: [opB.op], blobs: opB.blobs)
            _ = try repoA.receive(operations: [opC.op], blobs: opC.blobs)

            _ = try repoA2.receive(operations: [opC.op], blobs: opC.blobs)
            _ = try repoA2.receive(operations: [mineOp], blobs: mineBlobs)
            _ = try repoA2.receive(operations: [opB.op], blobs: opB.blobs)

            let checkoutA = try repoA.checkout()
            let checkoutA2 = try repoA2.checkout()
            let notes = try repoPath("notes.txt")
            let other = try repoPath("other.txt")
            #expect(checkoutA.conflicts == [notes, other])
            #expect(checkoutA2.conflicts == [notes, other])

            let bytesA = try #require(readFile(rootA, "notes.txt"))
            let bytesA2 = try #require(readFile(rootA2, "notes.txt"))
            #expect(bytesA == bytesA2)
            #expect(String(decoding: bytesA, as: UTF8.self).hasSuffix(">>>>>>> end of conflict (3 versions)\n"))
            let me = try repoA.peerID()
            #expect(
                bytesA
                    == documentedConflictText([
                        (mine.id, me, Array("from a\n".utf8)),
                        (opB.op.id, peerB.id, Array("from b".utf8)),
                        (opC.op.id, peerC.id, Array("from c\n".utf8)),
                    ]))
            #expect(readFile(rootA, "other.txt") == readFile(rootA2, "other.txt"))
            #expect(
                readFile(rootA, "other.txt")
                    == documentedConflictText([
                        (mine.id, me, Array("other, edited by a\n".utf8)), (opC.op.id, peerC.id, nil),
                    ]))

            let reportA = try repoA.verify()
            let reportA2 = try repoA2.verify()
            #expect(reportA.isClean, "\(reportA.problems)")
            #expect(reportA2.isClean, "\(reportA2.problems)")
            #expect(reportA.fingerprint != nil)
            #expect(reportA.fingerprint == reportA2.fingerprint)
            #expect(Set(reportA.heads) == Set(reportA2.heads))
            #expect(Set(try repoA.heads()) == Set([mine.id, opB.op.id, opC.op.id]))
            #expect(try repoA.state() == repoA2.state())
        }
    }

    @Test("modify (here) against delete (there) is a conflict with a (deleted) marker")
    func modifyVersusDelete() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: nil)
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            let path = try repoPath("notes.txt")
            #expect(try s.repo.status().incoming.paths == [path])
            let result = try s.repo.checkout()
            #expect(try s.repo.status().changes.first?.status == .conflicted(versions: 2, edited: false))
            #expect(result.conflicts == [path])
            let written = try #require(readFile(s.root, "notes.txt"))
            let text = String(decoding: written, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let deletedMarker =
                (s.theirs.op.id < s.mine.id ? "<<<<<<<" : "=======")
                + " op \(s.theirs.op.id.short) by \(s.peer.id.short) (deleted)"
            #expect(lines.contains(deletedMarker), "\(text)")
            #expect(
                written
                    == documentedConflictText([
                        (s.mine.id, s.me, Array("mine\n".utf8)), (s.theirs.op.id, s.peer.id, nil),
                    ]))
        }
    }

    @Test("delete (here) against modify (there) is a conflict with a (deleted) marker")
    func deleteVersusModify() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: nil, theirs: Array("theirs\n".utf8))
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            let path = try repoPath("notes.txt")
            let before = try s.repo.status()
            #expect(before.changes.isEmpty)
            #expect(before.incoming.paths == [path])
            let result = try s.repo.checkout()
            #expect(result.conflicts == [path])
            #expect(result.kept.isEmpty)
            let written = try #require(readFile(s.root, "notes.txt"))
            let text = String(decoding: written, as: UTF8.self)
            #expect(text.contains("op \(s.mine.id.short) by \(s.me.short) (deleted)\n"), "\(text)")
            #expect(
                written
                    == documentedConflictText([
                        (s.mine.id, s.me, nil), (s.theirs.op.id, s.peer.id, Array("theirs\n".utf8)),
                    ]))
            #expect(try s.repo.status().changes.first?.status == .conflicted(versions: 2, edited: false))
        }
    }

    @Test("binary versions: the working file is the lowest operation id's version, byte for byte")
    func binaryVersions() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            let peer = try Peer(seed: 9)
            try writeFile(root, "image.bin", "base\n")
            try writeFile(root, "mixed.dat", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let mineImage: [UInt8] = [0x89, 0x50, 0x00, 0x0d, 0x0a, 0xff]
            let theirImage: [UInt8] = [0x00, 0x01, 0x02, 0x03]
            let mineMixed = Array("plain text here\n".utf8)
            let theirMixed: [UInt8] = [0x41, 0x00, 0x42]
            let theirs = try peer.change(
                sequence: 1, parents: [base.id],
                files: [("image.bin", theirImage), ("mixed.dat", theirMixed)])
            try writeFile(root, "image.bin", mineImage)
            try writeFile(root, "mixed.dat", mineMixed)
            let mine = try repo.commit(message: "mine", timestamp: 1_700_000_200_000)
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)

            #expect(try repo.status().incoming.paths.count == 2)
            let result = try repo.checkout()
            #expect(try repo.status().conflicts.count == 2)
            #expect(result.conflicts == [try repoPath("image.bin"), try repoPath("mixed.dat")])
            let mineFirst = mine.id < theirs.op.id
            #expect(readFile(root, "image.bin") == (mineFirst ? mineImage : theirImage))
            // One binary version makes the whole path binary, even if the lowest version is text.
            #expect(readFile(root, "mixed.dat") == (mineFirst ? mineMixed : theirMixed))
            #expect(try repo.status().conflicts.allSatisfy { $0.status == .conflicted(versions: 2, edited: false) })
        }
    }

    @Test("identical concurrent writes (same content and mode) do not conflict")
    func identicalWrites() throws {
        try withTemporaryDirectory { dir in
            let same = Array("same words\n".utf8)
            let s = try concurrentWrites(in: dir, mine: same, theirs: same)
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            let path = try repoPath("notes.txt")
            #expect(try s.repo.state().value(path) == .file(FileVersion(blob: Blob.id(of: same), mode: .regular)))
            #expect(try s.repo.state().conflicts.isEmpty)
            #expect(try s.repo.status().changes.isEmpty)
            let result = try s.repo.checkout()
            #expect(result.conflicts.isEmpty)
            #expect(result.written.isEmpty)
            #expect(readFile(s.root, "notes.txt") == same)
            #expect(try s.repo.verify().isClean)
        }
    }

    @Test("same content with a different mode is a conflict")
    func sameContentDifferentMode() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            let peer = try Peer(seed: 9)
            let same = Array("#!/bin/sh\necho hi\n".utf8)
            try writeFile(root, "run.sh", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let theirs = try peer.change(
                sequence: 1, parents: [base.id], files: [("run.sh", same)], mode: FileMode.executable)
            try writeFile(root, "run.sh", same)
            _ = try repo.commit(message: "mine", timestamp: 1_700_000_200_000)
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
            #expect(try repo.state().conflicts == [try repoPath("run.sh")])
        }
    }

    /// FORMAT.md 4.2 through checkout: a text conflict is a regular file whatever the versions'
    /// modes; invalid UTF-8 without any NUL byte (Latin-1 here) makes the path binary, and the
    /// lowest id's version is written with its own mode.
    @Test("conflicted files on disk: text conflicts are not executable, invalid UTF-8 is binary")
    func conflictedFileModes() throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            let peer = try Peer(seed: 9)
            try writeFile(root, "run.sh", "base\n")
            try writeFile(root, "latin.txt", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            let latin: [UInt8] = [0x63, 0x61, 0x66, 0xE9, 0x0A]  // "café" in Latin-1
            let theirs = try peer.change(
                sequence: 1, parents: [base.id],
                files: [("run.sh", Array("echo theirs\n".utf8)), ("latin.txt", latin)],
                mode: .executable)
            try writeFile(root, "run.sh", "echo mine\n")
            try writeFile(root, "latin.txt", "mine\n")
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/run.sh")
            let mine = try repo.commit(message: "mine", timestamp: 1_700_000_200_000)
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)
            #expect(try repo.checkout().conflicts.count == 2)
            func executable(_ path: String) throws -> Bool {
                let mode =
                    try FileManager.default.attributesOfItem(atPath: root + "/" + path)[.posixPermissions] as? Int ?? 0
                return mode & 0o111 != 0
            }
            let me = try repo.peerID()
            #expect(
                readFile(root, "run.sh")
                    == documentedConflictText([
                        (mine.id, me, Array("echo mine\n".utf8)), (theirs.op.id, peer.id, Array("echo theirs\n".utf8)),
                    ]))
            #expect(try !executable("run.sh"), "a text conflict is a regular file")
            let mineFirst = mine.id < theirs.op.id
            #expect(readFile(root, "latin.txt") == (mineFirst ? Array("mine\n".utf8) : latin))
            #expect(try executable("latin.txt") == !mineFirst, "a binary conflict keeps the written version's mode")
        }
    }

    @Test("resolving by editing the conflicted file and committing")
    func resolveByEditing() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            _ = try s.repo.checkout()
            let path = try repoPath("notes.txt")
            let resolved = Array("mine and theirs, merged by hand\n".utf8)
            try writeFile(s.root, "notes.txt", resolved)
            #expect(try s.repo.status().changes.first?.status == .conflicted(versions: 2, edited: true))

            let commit = try s.repo.commit(message: "resolve", timestamp: 1_700_000_300_000)
            #expect(commit.changes.map(\.path) == [path])
            #expect(commit.parents == [s.mine.id, s.theirs.op.id].sorted())
            #expect(try s.repo.heads() == [commit.id])
            #expect(try s.repo.status().changes.isEmpty)
            let tree = try s.repo.state()
            #expect(tree.conflicts.isEmpty)
            #expect(tree.paths[path]?.count == 1)
            #expect(tree.value(path) == .file(FileVersion(blob: Blob.id(of: resolved), mode: .regular)))
            #expect(try s.repo.checkout().conflicts.isEmpty)
            #expect(readFile(s.root, "notes.txt") == resolved)
            #expect(try s.repo.verify().isClean)
        }
    }

    @Test("resolving by naming the unedited conflicted file as a pathspec")
    func resolveByPathspec() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            _ = try s.repo.checkout()
            let path = try repoPath("notes.txt")
            let rendered = try #require(readFile(s.root, "notes.txt"))
            #expect(try s.repo.status().changes.first?.status == .conflicted(versions: 2, edited: false))

            let commit = try s.repo.commit(
                message: "keep both", pathspecs: ["notes.txt"], cwd: s.root,
                timestamp: 1_700_000_300_000)
            #expect(commit.changes.map(\.path) == [path])
            #expect(try s.repo.status().changes.isEmpty)
            let tree = try s.repo.state()
            #expect(tree.conflicts.isEmpty)
            #expect(tree.paths[path]?.count == 1)
            #expect(tree.value(path) == .file(FileVersion(blob: Blob.id(of: rendered), mode: .regular)))
            #expect(readFile(s.root, "notes.txt") == rendered)
            #expect(try s.repo.heads() == [commit.id])
        }
    }

    @Test("an unedited conflicted file is not recorded by a plain commit of other changes")
    func uneditedConflictNotRecorded() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            _ = try s.repo.checkout()
            let path = try repoPath("notes.txt")
            let rendered = try #require(readFile(s.root, "notes.txt"))

            // Nothing but the unedited conflict: nothing to commit.
            #expect(throws: RepositoryError.self) { try s.repo.commit(message: "nothing") }

            try writeFile(s.root, "unrelated.txt", "unrelated\n")
            let commit = try s.repo.commit(message: "other work", timestamp: 1_700_000_300_000)
            #expect(commit.changes.map(\.path) == [try repoPath("unrelated.txt")])
            #expect(commit.changes.first?.status == .added)
            let tree = try s.repo.state()
            #expect(tree.conflicts == [path])
            let status = try s.repo.status()
            #expect(status.changes.map(\.path) == [path])
            #expect(status.changes.first?.status == .conflicted(versions: 2, edited: false))
            #expect(readFile(s.root, "notes.txt") == rendered)
            #expect(try s.repo.verify().isClean)
        }
    }

    @Test("binary against a deletion: the working file is the binary version, whatever the id order")
    func binaryVersusDeletion() throws {
        try withTemporaryDirectory { dir in
            let binary: [UInt8] = [0x00, 0xde, 0xad, 0xbe, 0xef, 0x00]
            // Both directions: deleted here and written there, and the other way round.
            let here = try concurrentWrites(in: dir + "/1", path: "blob.bin", mine: nil, theirs: binary)
            _ = try here.repo.receive(operations: [here.theirs.op], blobs: here.theirs.blobs)
            #expect(try here.repo.checkout().conflicts == [try repoPath("blob.bin")])
            #expect(readFile(here.root, "blob.bin") == binary)

            let there = try concurrentWrites(in: dir + "/2", path: "blob.bin", mine: binary, theirs: nil)
            _ = try there.repo.receive(operations: [there.theirs.op], blobs: there.theirs.blobs)
            #expect(try there.repo.checkout().conflicts == [try repoPath("blob.bin")])
            #expect(readFile(there.root, "blob.bin") == binary)
        }
    }
}
