import Foundation
import HGCore
import HGSystem
import Testing

@testable import HGStore

@Suite("RepositoryLock")
struct RepositoryLockTests {
    @Test func secondLockTimesOutWhileTheFirstIsHeldAndSucceedsAfterRelease() throws {
        let dir = try TempDirectory("hglock")
        defer { dir.cleanup() }
        let path = dir.file("lock")
        var first: RepositoryLock? = try RepositoryLock(path: path, timeout: 0.2)
        #expect(first?.path == path)
        let started = Date()
        let error = storeError { () throws(StoreError) in _ = try RepositoryLock(path: path, timeout: 0.2) }
        let waited = Date().timeIntervalSince(started)
        withExtendedLifetime(first) {}
        guard case let .locked(lockPath, _)? = error else {
            Issue.record("expected locked, got \(String(describing: error))")
            return
        }
        #expect(lockPath == path)
        #expect(error.map(String.init(describing:))?.contains(path) == true)
        #expect(waited >= 0.15, "gave up after \(waited) s")
        #expect(waited < 5)
        first = nil
        let second = try RepositoryLock(path: path, timeout: 0.2)
        #expect(second.path == path)
        // And the second now blocks a third.
        let third = storeError { () throws(StoreError) in _ = try RepositoryLock(path: path, timeout: 0) }
        guard case .locked? = third else {
            Issue.record("expected locked, got \(String(describing: third))")
            return
        }
        withExtendedLifetime(second) {}
    }

    @Test func lockInAMissingDirectoryIsAnIOError() throws {
        let dir = try TempDirectory("hglock")
        defer { dir.cleanup() }
        let path = dir.file("missing/lock")
        guard
            case let .io(errorPath, _, code)? = storeError({ () throws(StoreError) in
                _ = try RepositoryLock(path: path, timeout: 0)
            })
        else {
            Issue.record("expected an io error")
            return
        }
        #expect(errorPath == path)
        #expect(code == ENOENT)
    }
}

@Suite("FileSystem")
struct FileSystemTests {
    @Test func writeAtomicallyReplacesContentAndLeavesNoTemporary() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        let path = dir.file("file")
        try FileSystem.writeAtomically(path, Array("first".utf8))
        #expect(try fileBytes(path) == Array("first".utf8))
        #expect(try permissions(path) & 0o600 == 0o600)
        try FileSystem.writeAtomically(path, Array("second, longer".utf8), durable: false)
        #expect(try fileBytes(path) == Array("second, longer".utf8))
        try FileSystem.writeAtomically(path, [])
        #expect(try fileBytes(path).isEmpty)
        #expect(try FileSystem.list(dir.path) == ["file"])
        #expect(try FileSystem.read(path, limit: 10).isEmpty)
        try FileSystem.writeAtomically(dir.file("secret"), [1, 2, 3], mode: 0o600)
        #expect(try permissions(dir.file("secret")) == 0o600)
        #expect(try FileSystem.list(dir.path).sorted() == ["file", "secret"])
    }

    @Test func aMappedFileHoldsTheBytesItHadWhenMappedAndRefusesWhatReadRefuses() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        let path = dir.file("mapped")
        let content = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try FileSystem.writeAtomically(path, content)
        let mapped = try MappedFile(path, limit: 10_000)
        #expect(mapped.withBytes { Array($0) } == content)
        // Replaced by a rename, as every file hg-bft maps is: the mapping keeps the old bytes.
        try FileSystem.writeAtomically(path, Array("new".utf8))
        #expect(mapped.withBytes { Array($0) } == content)
        #expect(try #require(try MappedFile.ifExists(path, limit: 3)).withBytes { Array($0) } == Array("new".utf8))

        try FileSystem.writeAtomically(dir.file("empty"), [])
        #expect(try MappedFile(dir.file("empty"), limit: 0).withBytes { $0.isEmpty })
        #expect(try MappedFile.ifExists(dir.file("missing"), limit: 10) == nil)
        #expect(
            storeError { () throws(StoreError) in _ = try MappedFile(dir.file("missing"), limit: 10) }
                == .io(path: dir.file("missing"), operation: "open", errno: ENOENT))
        #expect(
            storeError { () throws(StoreError) in _ = try MappedFile(path, limit: 2) }
                == .fileTooLarge(path: path, limit: 2))
        #expect(
            storeError { () throws(StoreError) in _ = try MappedFile(dir.path, limit: 10) }
                == .badFile(path: dir.path, reason: "not a regular file"))
    }

    @Test func aStagedFileReplacesThePathOnlyWhenCommittedAndCanBeDropped() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        let path = dir.file("graph")
        try FileSystem.writeAtomically(path, Array("old".utf8))
        let staged = try FileSystem.stage(path, Array("new".utf8))
        #expect(FileSystem.isTemporaryName(String(staged.split(separator: "/").last ?? "")))
        #expect(try fileBytes(path) == Array("old".utf8), "staging left the file as it was")
        try FileSystem.commit(staged, to: path)
        #expect(try fileBytes(path) == Array("new".utf8))
        #expect(try FileSystem.list(dir.path) == ["graph"])

        let dropped = try FileSystem.stage(path, Array("never".utf8))
        try FileSystem.remove(dropped)
        #expect(try fileBytes(path) == Array("new".utf8) && FileSystem.list(dir.path) == ["graph"])
        // Committing into a missing directory fails and takes the staged file away.
        let orphan = try FileSystem.stage(path, Array("lost".utf8))
        #expect(throws: StoreError.self) { try FileSystem.commit(orphan, to: dir.file("no/such/graph")) }
        #expect(try FileSystem.list(dir.path) == ["graph"])
    }

    @Test func aDerivedFileIsExchangedAndItsOldVersionDeletedInTheBackground() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        let path = dir.file("state")
        // No file yet: it is created.
        try FileSystem.writeDerived(path, Array("first".utf8))
        #expect(try fileBytes(path) == Array("first".utf8))
        // Replaced: readers find the new content at once; the old one goes, under its
        // temporary name, by the time the deletions are waited for.
        let before = try #require(FileSystem.status(path)).st_ino
        try FileSystem.writeDerived(path, Array("second".utf8))
        #expect(try fileBytes(path) == Array("second".utf8))
        #expect(try #require(FileSystem.status(path)).st_ino != before, "a new file, not the old one rewritten")
        DeferredRemovals.waitForAll()
        #expect(try FileSystem.list(dir.path) == ["state"])

        // A staged file committed with the old one freed later, as the graph file is.
        let staged = try FileSystem.stage(path, Array("third".utf8))
        try FileSystem.commit(staged, to: path, freeingOldLater: true)
        #expect(try fileBytes(path) == Array("third".utf8))
        DeferredRemovals.waitForAll()
        #expect(try FileSystem.list(dir.path) == ["state"])
    }

    @Test func aDerivedFileNeverReplacesADirectoryOrALink() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        // Something that is not a regular file where the file goes is not exchanged away (which
        // would hide it under a temporary name to be deleted): the write fails, as a rename does,
        // and everything is as it was.
        let directory = dir.file("heads")
        try FileSystem.makeDirectory(directory)
        try FileSystem.writeAtomically(directory + "/inside", [7])
        #expect(throws: StoreError.self) { try FileSystem.writeDerived(directory, [1, 2]) }
        DeferredRemovals.waitForAll()
        #expect(try FileSystem.list(dir.path) == ["heads"])
        #expect(try fileBytes(directory + "/inside") == [7])

        // A symbolic link is replaced by the file (as a rename replaces it); its target is untouched.
        try FileSystem.writeAtomically(dir.file("target"), Array("keep".utf8))
        #expect(symlink(dir.file("target"), dir.file("members")) == 0)
        try FileSystem.writeDerived(dir.file("members"), Array("new".utf8))
        DeferredRemovals.waitForAll()
        #expect(try fileBytes(dir.file("target")) == Array("keep".utf8))
        #expect(try fileBytes(dir.file("members")) == Array("new".utf8))
        #expect(try FileSystem.list(dir.path).sorted() == ["heads", "members", "target"])
    }

    @Test func writeAtomicallyIntoAMissingDirectoryFailsCleanly() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        #expect(throws: StoreError.self) { try FileSystem.writeAtomically(dir.file("no/such/file"), [1]) }
        #expect(try FileSystem.list(dir.path).isEmpty)
    }

    @Test func temporaryNamesAreRecognised() {
        let temp = FileSystem.temporaryName(for: "/a/b/heads")
        #expect(temp.hasPrefix("/a/b/.heads.tmp-"))
        #expect(FileSystem.isTemporaryName(String(temp.split(separator: "/").last ?? "")))
        #expect(!FileSystem.isTemporaryName("heads"))
    }

    @Test func readChecksTheLimitAndKind() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        let path = dir.file("f")
        try FileSystem.writeAtomically(path, [UInt8](repeating: 7, count: 100))
        #expect(try FileSystem.read(path, limit: 100).count == 100)
        #expect(
            storeError { () throws(StoreError) in _ = try FileSystem.read(path, limit: 99) }
                == .fileTooLarge(path: path, limit: 99))
        guard case .badFile? = storeError({ () throws(StoreError) in _ = try FileSystem.read(dir.path, limit: 99) })
        else {
            Issue.record("reading a directory should be badFile")
            return
        }
        #expect(try FileSystem.readIfExists(dir.file("missing"), limit: 10) == nil)
    }

    @Test func readFromAnOffsetAndARange() throws {
        let dir = try TempDirectory()
        defer { dir.cleanup() }
        let path = dir.file("f")
        let bytes = (0..<100).map { UInt8($0) }
        try setFileBytes(path, bytes)
        #expect(try FileSystem.read(path, from: 60, limit: 40) == Array(bytes[60...]))
        #expect(try FileSystem.read(path, from: 100, limit: 0).isEmpty, "at the end")
        #expect(try FileSystem.read(path, from: 150, limit: 0).isEmpty, "past the end")
        #expect(throws: StoreError.self) { try FileSystem.read(path, from: 59, limit: 40) }
        #expect(try FileSystem.readIfExists(dir.file("missing"), from: 5, limit: 10) == nil)
        #expect(FileSystem.read(path, at: 0, count: 24) == Array(bytes[..<24]))
        #expect(FileSystem.read(path, at: 96, count: 4) == Array(bytes[96...]))
        #expect(FileSystem.read(path, at: 90, count: 500) == Array(bytes[90...]), "a shorter file gives all it has")
        #expect(FileSystem.read(path, at: 200, count: 4) == [], "nothing past the end")
        #expect(FileSystem.read(path, at: -1, count: 4) == nil)
        #expect(FileSystem.read(dir.file("missing"), at: 0, count: 24) == nil)
    }

    @Test func absoluteNormalises() {
        #expect(FileSystem.absolute("/x/a/./b/../c") == "/x/a/c")
        #expect(FileSystem.absolute("a/./b/../c") == FileSystem.absolute(FileSystem.currentDirectory() + "/a/c"))
        #expect(FileSystem.absolute("a/./b/../c").hasSuffix("/a/c"))
        #expect(FileSystem.absolute("a/./b/../c").hasPrefix("/"))
        #expect(!FileSystem.absolute("a/./b/../c").contains("/./"))
        #expect(!FileSystem.absolute("a/./b/../c").contains(".."))
        #expect(FileSystem.absolute("//x//y/") == "/x/y")
        #expect(FileSystem.absolute("/..") == "/")
        #expect(FileSystem.absolute("/") == "/")
        #expect(FileSystem.absolute("/a/b/../../..") == "/")
    }

    @Test func parentOfPaths() {
        #expect(FileSystem.parent(of: "/a/b") == "/a")
        #expect(FileSystem.parent(of: "/a") == "/")
        #expect(FileSystem.parent(of: "a") == ".")
        #expect(FileSystem.parent(of: "a/b") == "a")
    }

    @Test func makeDirectoriesAndRemove() throws {
        let dir = try TempDirectory("hgfs")
        defer { dir.cleanup() }
        try FileSystem.makeDirectories(dir.file("a/b/c"))
        try FileSystem.makeDirectories(dir.file("a/b/c"))
        #expect(FileSystem.isDirectory(dir.file("a/b/c")))
        try FileSystem.writeAtomically(dir.file("a/b/c/f"), [1])
        #expect(FileSystem.exists(dir.file("a/b/c/f")))
        try FileSystem.remove(dir.file("a/b/c/f"))
        try FileSystem.remove(dir.file("a/b/c/f"))
        #expect(!FileSystem.exists(dir.file("a/b/c/f")))
    }
}
