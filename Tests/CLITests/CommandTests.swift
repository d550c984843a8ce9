import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// End-to-end tests of every `hg-bft` command: each test runs the built binary
// in its own temporary directory and checks exit status, output and files.

// MARK: - Helpers (file-private, so they never clash with other CLI test files)

private struct HelperFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Whether `text` is exactly `count` lowercase hex digits.
private func isHex(_ text: String, count: Int) -> Bool {
    text.utf8.count == count && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}

/// Whether `text` looks like a peer id: "hg" and 55 lowercase base32 characters.
private func isPeerID(_ text: String) -> Bool {
    text.utf8.count == 57 && text.hasPrefix("hg")
        && text.utf8.dropFirst(2).allSatisfy { (97...122).contains($0) || (50...55).contains($0) }
}

/// The non-empty lines of `text`.
private func lines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

/// Parses a command's stdout as a JSON object.
private func jsonObject(_ result: CLI.Result) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: result.stdoutBytes)
    guard let object = value as? [String: Any] else { throw HelperFailure("not a JSON object: \(result.stdout)") }
    return object
}

/// Parses a command's stdout as a JSON array of objects.
private func jsonArray(_ result: CLI.Result) throws -> [[String: Any]] {
    let value = try JSONSerialization.jsonObject(with: result.stdoutBytes)
    guard let array = value as? [[String: Any]] else {
        throw HelperFailure("not a JSON array of objects: \(result.stdout)")
    }
    return array
}

private func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }

/// Runs `init --json` in `dir` and returns the repository and peer ids.
@discardableResult
private func initRepository(
    _ dir: TempDir, sourceLocation: SourceLocation = #_sourceLocation
) throws -> (repository: String, peer: String) {
    let result = try CLI.ok(["init", "--json"], in: dir.url, sourceLocation: sourceLocation)
    let object = try jsonObject(result)
    let repository = try #require(object["repository"] as? String, sourceLocation: sourceLocation)
    let peer = try #require(object["peer"] as? String, sourceLocation: sourceLocation)
    return (repository, peer)
}

/// Runs `commit --json -m message pathspecs…` (must succeed) and returns the parsed result.
@discardableResult
private func commit(
    _ dir: TempDir, _ message: String, _ pathspecs: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> [String: Any] {
    let result = try CLI.ok(
        ["commit", "--json", "-m", message] + pathspecs, in: dir.url, sourceLocation: sourceLocation)
    return try jsonObject(result)
}

/// The `status --short` lines.
private func shortStatus(_ dir: TempDir, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
    lines(try CLI.ok(["status", "--short"], in: dir.url, sourceLocation: sourceLocation).stdout)
}

/// The paths changed by an operation, from `show --json`, mapped to their action.
private func entries(
    _ dir: TempDir, _ op: String, sourceLocation: SourceLocation = #_sourceLocation
) throws -> [String: [String: Any]] {
    let object = try jsonObject(try CLI.ok(["show", "--json", op], in: dir.url, sourceLocation: sourceLocation))
    let list = try #require(object["entries"] as? [[String: Any]], sourceLocation: sourceLocation)
    var result: [String: [String: Any]] = [:]
    for entry in list {
        let path = try #require(entry["path"] as? String, sourceLocation: sourceLocation)
        result[path] = entry
    }
    return result
}

/// The single current head.
private func head(_ dir: TempDir, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let heads = lines(try CLI.ok(["heads"], in: dir.url, sourceLocation: sourceLocation).stdout)
    try #require(heads.count == 1, "expected one head, got \(heads)", sourceLocation: sourceLocation)
    return heads[0]
}

/// Every object id stored in `.hgrepo/objects` (two-digit fan-out directories).
private func storedObjectIDs(_ dir: TempDir) throws -> [String] {
    let objects = dir.path(".hgrepo/objects")
    var ids: [String] = []
    for fan in try FileManager.default.contentsOfDirectory(atPath: objects.path) where fan.utf8.count == 2 {
        for rest in try FileManager.default.contentsOfDirectory(atPath: objects.appendingPathComponent(fan).path) {
            let id = fan + rest
            if isHex(id, count: 64) { ids.append(id) }
        }
    }
    return ids
}

/// The shortest prefix of `id` (at least 4 digits) that no other stored object shares.
private func uniquePrefix(of id: String, in dir: TempDir) throws -> String {
    let others = try storedObjectIDs(dir).filter { $0 != id }
    for length in 4...64 {
        let prefix = String(id.prefix(length))
        if !others.contains(where: { $0.hasPrefix(prefix) }) { return prefix }
    }
    return id
}

private func permissions(_ url: URL) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
    guard let mode = int(attributes[.posixPermissions]) else { throw HelperFailure("no permissions for \(url.path)") }
    return mode & 0o7777
}

private func setPermissions(_ url: URL, _ mode: Int) throws {
    try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: url.path)
}

/// Checks a failed command: the exit status, an `error:` first line on stderr
/// (the only line when `oneLine`), and that stderr mentions every needle.
private func expectFailure(
    _ result: CLI.Result, status: Int32 = 1, oneLine: Bool = true, mentioning needles: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(result.status == status, "\(result)", sourceLocation: sourceLocation)
    let errLines = lines(result.stderr)
    if oneLine {
        #expect(
            errLines.count == 1 && errLines.first?.hasPrefix("error: ") == true,
            "expected exactly one 'error: ' line on stderr: \(result)", sourceLocation: sourceLocation)
    } else {
        #expect(
            errLines.contains { $0.hasPrefix("error: ") }, "expected an 'error: ' line on stderr: \(result)",
            sourceLocation: sourceLocation)
    }
    for needle in needles {
        #expect(
            result.stderr.contains(needle), "stderr should mention '\(needle)': \(result)",
            sourceLocation: sourceLocation)
    }
}

/// The bytes of a path below `dir`, given as raw bytes (for names that are not UTF-8), NUL-terminated.
private func rawPath(_ dir: TempDir, _ name: [UInt8]) -> [UInt8] {
    Array(dir.url.path.utf8) + [UInt8(ascii: "/")] + name + [0]
}

/// Creates a file whose name is arbitrary bytes.
private func createRawFile(_ dir: TempDir, name: [UInt8], content: String) throws {
    let path = rawPath(dir, name)
    let fd = path.withUnsafeBufferPointer { buffer -> Int32 in
        buffer.withMemoryRebound(to: CChar.self) { chars -> Int32 in
            guard let base = chars.baseAddress else { return -1 }
            return open(base, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
    }
    guard fd >= 0 else { throw HelperFailure("cannot create raw file, errno \(errno)") }
    defer { close(fd) }
    let bytes = Array(content.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw HelperFailure("short write, errno \(errno)") }
}

/// Nested directories of 200-byte names below `root`, made with `mkdirat` one level at a
/// time, until the full path of the last is longer than `limit` bytes: `lstat` of that one
/// fails with ENAMETOOLONG. FileManager cannot remove them, so `remove` does, deepest first.
private struct DeepDirectories {
    let root: String
    let names: [String]
    /// The path, relative to `root`, of the first directory whose full path is too long.
    var unreachable: String { names.joined(separator: "/") }

    init(below root: String, beyond limit: Int) throws {
        self.root = root
        var names: [String] = []
        var fd = open(root, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw HelperFailure("cannot open \(root)") }
        defer { close(fd) }
        var length = root.utf8.count
        while length < limit {
            let name = String(
                repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(names.count % 26))), count: 200)
            guard mkdirat(fd, name, 0o755) == 0 else { throw HelperFailure("mkdirat at depth \(names.count) failed") }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            guard next >= 0 else { throw HelperFailure("openat at depth \(names.count) failed") }
            close(fd)
            fd = next
            names.append(name)
            length += 1 + name.utf8.count
        }
        self.names = names
    }

    func remove() {
        for depth in stride(from: names.count - 1, through: 0, by: -1) {
            var fd = open(root, O_RDONLY | O_DIRECTORY)
            for name in names[..<depth] {
                let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
                close(fd)
                fd = next
            }
            _ = unlinkat(fd, names[depth], AT_REMOVEDIR)
            close(fd)
        }
    }
}

/// Removes a file whose name is arbitrary bytes (FileManager may not manage to).
private func removeRawFile(_ dir: TempDir, name: [UInt8]) {
    let path = rawPath(dir, name)
    path.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) { chars in
            if let base = chars.baseAddress { _ = unlink(base) }
        }
    }
}

private let allSubcommands = [
    "init", "commit", "status", "log", "show", "checkout", "heads", "id", "verify", "cat-object", "reindex",
]

// MARK: - Tests

@Suite("hg-bft commands")
struct CommandTests {

    // MARK: init

    @Test func initPrintsIdsAndCreatesPrivateKey() throws {
        let dir = try TempDir()
        let result = try CLI.ok(["init"], in: dir.url)
        let out = lines(result.stdout)
        let repoLine = try #require(out.first { $0.hasPrefix("repository ") }, "\(result)")
        let peerLine = try #require(out.first { $0.hasPrefix("peer ") }, "\(result)")
        let repository = String(repoLine.dropFirst("repository ".count)).trimmingCharacters(in: .whitespaces)
        let peer = String(peerLine.dropFirst("peer ".count)).trimmingCharacters(in: .whitespaces)
        #expect(isHex(repository, count: 64), "repository id: \(repository)")
        #expect(peer.hasPrefix("hg"))
        #expect(peer.count == 57, "peer id: \(peer)")
        #expect(isPeerID(peer), "peer id: \(peer)")

        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: dir.path(".hgrepo").path, isDirectory: &isDirectory)
        #expect(exists && isDirectory.boolValue)
        let key = dir.path(".hgrepo/keys/identity")
        #expect(FileManager.default.fileExists(atPath: key.path))
        #expect(try permissions(key) == 0o600)
        #expect(try permissions(dir.path(".hgrepo/keys")) & 0o077 == 0, "keys directory must be private")

        // The repository id is the genesis; `id` agrees with init.
        #expect(try dir.read(".hgrepo/genesis") == repository + "\n")
        #expect(try CLI.ok(["id"], in: dir.url).stdout == peer + "\n")
        #expect(try CLI.ok(["id", "--repository"], in: dir.url).stdout == repository + "\n")
    }

    @Test func initTwiceFailsAndChangesNothing() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let before = try dir.snapshotMeta()
        let again = try CLI.run(["init"], in: dir.url)
        expectFailure(again, mentioning: ["already"])
        #expect(again.stdout.isEmpty, "\(again)")
        let againJSON = try CLI.run(["init", "--json"], in: dir.url)
        expectFailure(againJSON)
        #expect(try dir.snapshotMeta() == before)
    }

    @Test func initCreatesNestedDirectories() throws {
        let dir = try TempDir()
        let result = try CLI.ok(["init", "sub/dir"], in: dir.url)
        #expect(result.stdout.contains("sub/dir/.hgrepo"), "\(result)")
        #expect(FileManager.default.fileExists(atPath: dir.path("sub/dir/.hgrepo/genesis").path))
        #expect(!FileManager.default.fileExists(atPath: dir.path(".hgrepo").path))
        #expect(try permissions(dir.path("sub/dir/.hgrepo/keys/identity")) == 0o600)
        // The nested repository works from inside.
        try dir.write("sub/dir/file.txt", "hello\n")
        let status = try CLI.ok(["-C", "sub/dir", "status", "--short"], in: dir.url)
        #expect(lines(status.stdout) == ["A file.txt"])
    }

    @Test func initQuietPrintsNothingAndStillCreatesTheRepository() throws {
        let dir = try TempDir()
        let result = try CLI.ok(["init", "-q", "repo"], in: dir.url)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty, "\(result)")
        #expect(FileManager.default.fileExists(atPath: dir.path("repo/.hgrepo/genesis").path))
        #expect(try permissions(dir.path("repo/.hgrepo/keys/identity")) == 0o600)
        #expect(
            isPeerID(try CLI.ok(["id"], in: dir.path("repo")).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func initJSON() throws {
        let dir = try TempDir()
        let result = try CLI.ok(["init", "--json"], in: dir.url)
        let object = try jsonObject(result)
        let repository = try #require(object["repository"] as? String)
        let peer = try #require(object["peer"] as? String)
        #expect(isHex(repository, count: 64))
        #expect(isPeerID(peer))
        #expect(try CLI.ok(["id", "--repository"], in: dir.url).stdout == repository + "\n")
    }

    // MARK: commit

    @Test func commitRecordsAddedModifiedAndDeletedFiles() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "one\n")
        try dir.write("b.txt", "two\n")
        #expect(try shortStatus(dir) == ["A a.txt", "A b.txt"])
        let first = try commit(dir, "first")
        #expect(try shortStatus(dir).isEmpty)
        #expect(try CLI.ok(["status"], in: dir.url).stdout.contains("nothing to commit"))

        try dir.write("a.txt", "one, edited\n")
        try FileManager.default.removeItem(at: dir.path("b.txt"))
        try dir.write("c/d.txt", "three\n")
        #expect(try shortStatus(dir) == ["M a.txt", "D b.txt", "A c/d.txt"])
        let second = try commit(dir, "second")
        #expect(try shortStatus(dir).isEmpty)

        let changes = try #require(second["changes"] as? [[String: Any]])
        let byPath = Dictionary(
            uniqueKeysWithValues: changes.compactMap { c -> (String, String)? in
                guard let p = c["path"] as? String, let s = c["status"] as? String else { return nil }
                return (p, s)
            })
        #expect(byPath == ["a.txt": "M", "b.txt": "D", "c/d.txt": "A"])
        let parents = try #require(second["parents"] as? [String])
        #expect(parents == [try #require(first["id"] as? String)])

        let recorded = try entries(dir, try #require(second["id"] as? String))
        #expect(Set(recorded.keys) == ["a.txt", "b.txt", "c/d.txt"])
        #expect(recorded["b.txt"]?["action"] as? String == "delete")
        #expect(recorded["a.txt"]?["action"] as? String == "write")
        // The blob holds the committed content.
        let blob = try #require(recorded["a.txt"]?["blob"] as? String)
        #expect(try CLI.ok(["cat-object", blob], in: dir.url).stdoutBytes == Data("one, edited\n".utf8))
    }

    @Test func commitDefaultOutput() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let result = try CLI.ok(["commit", "-m", "subject line\n\nbody"], in: dir.url)
        let out = lines(result.stdout)
        let short = String(try head(dir).prefix(12))
        #expect(out.first == "[\(short)] subject line", "\(result)")
        #expect(result.stdout.contains("1 file changed (sequence 2)"), "\(result)")
        #expect(out.contains(" A a.txt"), "\(result)")
    }

    @Test(arguments: ["", " ", "   \t  ", "\n", " \r\n\t "])
    func commitRejectsEmptyMessage(_ message: String) throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let before = try dir.snapshotMeta()
        let result = try CLI.run(["commit", "-m", message], in: dir.url)
        expectFailure(result, mentioning: ["message"])
        #expect(try dir.snapshotMeta() == before)
        #expect(try shortStatus(dir) == ["A a.txt"])
    }

    /// Vertical tab and form feed are ASCII whitespace too (C `isspace`, which git uses to strip messages).
    @Test(arguments: ["\u{0B}", "\u{0C}", " \u{0B}\u{0C}\n"])
    func commitRejectsMessageOfOtherASCIIWhitespace(_ message: String) throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let before = try dir.snapshotMeta()
        let result = try CLI.run(["commit", "-m", message], in: dir.url)
        expectFailure(result, mentioning: ["message"])
        #expect(try dir.snapshotMeta() == before)
    }

    @Test func commitWithNothingToCommitFails() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let fresh = try dir.snapshotMeta()
        let onFresh = try CLI.run(["commit", "-m", "nothing"], in: dir.url)
        expectFailure(onFresh, mentioning: ["nothing to commit"])
        #expect(try dir.snapshotMeta() == fresh)

        try dir.write("a.txt", "a\n")
        try commit(dir, "first")
        let before = try dir.snapshotMeta()
        let again = try CLI.run(["commit", "-m", "again"], in: dir.url)
        expectFailure(again, mentioning: ["nothing to commit"])
        #expect(again.stdout.isEmpty)
        #expect(try dir.snapshotMeta() == before)
    }

    @Test func commitPathspecRestrictsToDirectoryAndFile() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("docs/a.md", "a\n")
        try dir.write("docs/deep/b.md", "b\n")
        try dir.write("top.txt", "top\n")
        try dir.write("other/x.txt", "x\n")

        let docs = try commit(dir, "docs only", ["docs"])
        let docChanges = try #require(docs["changes"] as? [[String: Any]])
        #expect(Set(docChanges.compactMap { $0["path"] as? String }) == ["docs/a.md", "docs/deep/b.md"])
        #expect(try shortStatus(dir) == ["A other/x.txt", "A top.txt"])

        let top = try commit(dir, "one file", ["top.txt"])
        let topChanges = try #require(top["changes"] as? [[String: Any]])
        #expect(topChanges.compactMap { $0["path"] as? String } == ["top.txt"])
        #expect(try shortStatus(dir) == ["A other/x.txt"])

        // A deleted file can be named as a pathspec.
        try FileManager.default.removeItem(at: dir.path("top.txt"))
        try dir.write("docs/a.md", "a2\n")
        let deletion = try commit(dir, "delete top", ["top.txt"])
        let deletionChanges = try #require(deletion["changes"] as? [[String: Any]])
        #expect(deletionChanges.compactMap { $0["status"] as? String } == ["D"])
        #expect(try shortStatus(dir) == ["M docs/a.md", "A other/x.txt"])
    }

    @Test(arguments: ["../elsewhere", "/", ".hgrepo", ".hgrepo/config"])
    func commitPathspecOutsideRepositoryFails(_ spec: String) throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let before = try dir.snapshotMeta()
        let result = try CLI.run(["commit", "-m", "outside", spec], in: dir.url)
        expectFailure(result, mentioning: ["outside the repository"])
        #expect(try dir.snapshotMeta() == before)
        #expect(try shortStatus(dir) == ["A a.txt"])
    }

    @Test func commitPathspecMatchingNothingFails() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let before = try dir.snapshotMeta()
        let result = try CLI.run(["commit", "-m", "nothing here", "no-such-file.txt"], in: dir.url)
        expectFailure(result, mentioning: ["no-such-file.txt", "did not match"])
        #expect(try dir.snapshotMeta() == before)
        // Together with a pathspec that does match, it still fails and records nothing.
        let mixed = try CLI.run(["commit", "-m", "mixed", "a.txt", "missing-dir"], in: dir.url)
        expectFailure(mixed, mentioning: ["missing-dir"])
        #expect(try dir.snapshotMeta() == before)
    }

    @Test func commitHonoursHgignore() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write(".hgignore", "# build products\n*.log\nbuild/\n!keep.log\n")
        try dir.write("a.log", "noise\n")
        try dir.write("sub/b.log", "noise\n")
        try dir.write("keep.log", "keep me\n")
        try dir.write("build/out.o", "binary\n")
        try dir.write("sub/build/x.o", "binary\n")
        try dir.write("src/main.swift", "print(1)\n")
        try dir.write("building.txt", "not a build dir\n")

        let expected = [".hgignore", "building.txt", "keep.log", "src/main.swift"]
        #expect(try shortStatus(dir) == expected.map { "A " + $0 })
        let result = try commit(dir, "with ignores")
        let recorded = try entries(dir, try #require(result["id"] as? String))
        #expect(recorded.keys.sorted() == expected)
        #expect(try shortStatus(dir).isEmpty)

        // Editing an ignored file is not a change.
        try dir.write("a.log", "more noise\n")
        let nothing = try CLI.run(["commit", "-m", "ignored edit"], in: dir.url)
        expectFailure(nothing, mentioning: ["nothing to commit"])
    }

    @Test func executableBitChangeIsAModification() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("run.sh", "#!/bin/sh\necho hi\n")
        try setPermissions(dir.path("run.sh"), 0o644)
        try commit(dir, "script")
        try setPermissions(dir.path("run.sh"), 0o755)
        #expect(try shortStatus(dir) == ["M run.sh"])
        let result = try commit(dir, "make executable")
        let recorded = try entries(dir, try #require(result["id"] as? String))
        #expect(recorded["run.sh"]?["mode"] as? String == "executable")
        #expect(try shortStatus(dir).isEmpty)

        try setPermissions(dir.path("run.sh"), 0o644)
        #expect(try shortStatus(dir) == ["M run.sh"])
        let back = try commit(dir, "not executable")
        #expect(try entries(dir, try #require(back["id"] as? String))["run.sh"]?["mode"] as? String == "regular")
    }

    @Test func commitQuietPrintsOnlyShortId() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let result = try CLI.ok(["commit", "--quiet", "-m", "quiet"], in: dir.url)
        let out = lines(result.stdout)
        #expect(out.count == 1, "\(result)")
        let short = try #require(out.first)
        #expect(isHex(short, count: 12), "\(result)")
        #expect(result.stdout == short + "\n")
        #expect(try head(dir).hasPrefix(short))

        try dir.write("b.txt", "b\n")
        let shortFlag = try CLI.ok(["commit", "-q", "-m", "quiet again"], in: dir.url)
        #expect(isHex(shortFlag.stdout.trimmingCharacters(in: .newlines), count: 12), "\(shortFlag)")
    }

    @Test func commitJSON() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let object = try jsonObject(try CLI.ok(["commit", "--json", "-m", "json"], in: dir.url))
        let id = try #require(object["id"] as? String)
        #expect(isHex(id, count: 64))
        #expect(int(object["sequence"]) == 2)
        #expect(object["parents"] as? [String] == [ids.repository])
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.count == 1)
        #expect(changes.first?["path"] as? String == "a.txt")
        #expect(changes.first?["status"] as? String == "A")
        #expect(try head(dir) == id)
    }

    @Test func commitInSubdirectoryWithDashC() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("sub/inner.txt", "inner\n")
        try dir.write("sub/deeper/x.txt", "x\n")
        try dir.write("outer.txt", "outer\n")

        // "." is the subdirectory, not the root.
        let here = try CLI.ok(["-C", "sub", "commit", "--json", "-m", "sub only", "."], in: dir.url)
        let changes = try #require(try jsonObject(here)["changes"] as? [[String: Any]])
        #expect(Set(changes.compactMap { $0["path"] as? String }) == ["sub/inner.txt", "sub/deeper/x.txt"])
        #expect(try shortStatus(dir) == ["A outer.txt"])

        // A relative pathspec is relative to the -C directory.
        try dir.write("sub/inner.txt", "inner 2\n")
        try dir.write("sub/deeper/x.txt", "x 2\n")
        let file = try CLI.ok(["-C", "sub", "commit", "--json", "-m", "one file", "deeper/x.txt"], in: dir.url)
        let fileChanges = try #require(try jsonObject(file)["changes"] as? [[String: Any]])
        #expect(fileChanges.compactMap { $0["path"] as? String } == ["sub/deeper/x.txt"])

        // Without a pathspec, the whole tree is committed, as from the root.
        try CLI.ok(["-C", "sub/deeper", "commit", "-m", "everything"], in: dir.url)
        #expect(try shortStatus(dir).isEmpty)
    }

    /// -C names why it cannot change directory, with the errno's text and name.
    @Test func dashCIntoAFileSaysWhy() throws {
        let dir = try TempDir()
        try dir.write("plain", "not a directory\n")
        let result = try CLI.run(["-C", "plain", "status"], in: dir.url)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr == "error: cannot change to 'plain': Not a directory (ENOTDIR)\n", "\(result)")
        #expect(try dir.read("plain") == "not a directory\n")
    }

    @Test func commandsOutsideARepositoryFail() throws {
        let dir = try TempDir()
        try dir.write("a.txt", "a\n")
        for args in [["commit", "-m", "x"], ["status"], ["log"], ["heads"], ["verify"], ["checkout"]] {
            let result = try CLI.run(args, in: dir.url)
            expectFailure(result, mentioning: ["hg-bft init"])
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path(".hgrepo").path))
        let badDirectory = try CLI.run(["-C", "no-such-dir", "status"], in: dir.url)
        expectFailure(badDirectory, mentioning: ["no-such-dir"])
    }

    // MARK: sequence numbers and log

    @Test func sequenceNumbersIncrease() throws {
        let dir = try TempDir()
        try initRepository(dir)
        var sequences: [Int] = []
        for n in 1...3 {
            try dir.write("f\(n).txt", "\(n)\n")
            let result = try commit(dir, "commit \(n)")
            let id = try #require(result["id"] as? String)
            let shown = try jsonObject(try CLI.ok(["show", "--json", id], in: dir.url))
            sequences.append(try #require(int(shown["sequence"])))
            #expect(int(result["sequence"]) == int(shown["sequence"]))
        }
        #expect(sequences == [2, 3, 4])
    }

    @Test func logOfFreshRepositoryShowsGenesis() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        let text = try CLI.ok(["log"], in: dir.url)
        #expect(text.stdout.contains("op \(ids.repository)"), "\(text)")
        #expect(text.stdout.contains("genesis"), "\(text)")
        #expect(text.stdout.contains(ids.peer), "\(text)")
        let array = try jsonArray(try CLI.ok(["log", "--json"], in: dir.url))
        #expect(array.count == 1)
        #expect(array.first?["kind"] as? String == "genesis")
        #expect(array.first?["id"] as? String == ids.repository)
        #expect(int(array.first?["sequence"]) == 1)
    }

    @Test func logOrderAndFormats() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        var commitIDs: [String] = []
        for message in ["one", "two", "three"] {
            try dir.write("\(message).txt", message)
            commitIDs.append(try #require(try commit(dir, message)["id"] as? String))
        }

        let array = try jsonArray(try CLI.ok(["log", "--json"], in: dir.url))
        #expect(array.count == 4)
        #expect(array.compactMap { $0["id"] as? String } == commitIDs.reversed() + [ids.repository])
        #expect(array.prefix(3).compactMap { $0["message"] as? String } == ["three", "two", "one"])
        #expect(array.last?["kind"] as? String == "genesis")
        #expect(array.prefix(3).allSatisfy { $0["kind"] as? String == "change" })
        #expect(array.first?["head"] as? Bool == true)
        #expect(array.dropFirst().allSatisfy { $0["head"] as? Bool == false })

        let limited = try jsonArray(try CLI.ok(["log", "-n", "1", "--json"], in: dir.url))
        #expect(limited.count == 1)
        #expect(limited.first?["message"] as? String == "three")
        let limitedText = try CLI.ok(["log", "-n", "1"], in: dir.url)
        #expect(lines(limitedText.stdout).filter { $0.hasPrefix("op ") }.count == 1, "\(limitedText)")
        // Message lines are indented by four spaces; a peer id may itself contain "two".
        #expect(
            lines(limitedText.stdout).contains("    three") && !lines(limitedText.stdout).contains("    two"),
            "\(limitedText)")

        let text = try CLI.ok(["log"], in: dir.url)
        let opLines = lines(text.stdout).filter { $0.hasPrefix("op ") }
        #expect(opLines.count == 4)
        #expect(opLines.first?.hasPrefix("op \(commitIDs[2])") == true)
        #expect(opLines.last?.hasPrefix("op \(ids.repository)") == true)

        let oneline = lines(try CLI.ok(["log", "--oneline"], in: dir.url).stdout)
        #expect(oneline.count == 4, "\(oneline)")
        #expect(oneline.first?.hasPrefix(String(commitIDs[2].prefix(12)) + " ") == true, "\(oneline)")
        #expect(oneline.first?.hasSuffix("three") == true, "\(oneline)")
        #expect(oneline.last?.hasPrefix(String(ids.repository.prefix(12))) == true, "\(oneline)")
        #expect(oneline.allSatisfy { isHex(String($0.prefix(12)), count: 12) }, "\(oneline)")

        let graph = try CLI.ok(["log", "--graph"], in: dir.url)
        let graphLines = graph.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(graphLines.first?.hasPrefix("* op \(commitIDs[2])") == true, "\(graph)")
        #expect(graphLines.filter { $0.hasPrefix("* ") }.count == 4, "\(graph)")
        #expect(!graphLines.contains { $0.hasPrefix("op ") }, "every op line carries a graph marker: \(graph)")

        let graphOneline = lines(try CLI.ok(["log", "--graph", "--oneline"], in: dir.url).stdout)
        #expect(graphOneline.count == 4)
        #expect(graphOneline.allSatisfy { $0.hasPrefix("* ") }, "\(graphOneline)")
    }

    @Test func logRejectsNegativeCount() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let result = try CLI.run(["log", "-n", "-1"], in: dir.url)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.hasPrefix("error: "), "\(result)")
    }

    // MARK: show and cat-object

    @Test func showAcceptsFullIdsAndPrefixes() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        try dir.write("a.txt", "a\n")
        try setPermissions(dir.path("a.txt"), 0o644)
        let id = try #require(try commit(dir, "show me\n\nwith a body")["id"] as? String)

        let full = try CLI.ok(["show", id], in: dir.url)
        let out = lines(full.stdout)
        #expect(out.first == "op \(id)", "\(full)")
        #expect(out.contains("Kind:      change"), "\(full)")
        #expect(out.contains("Sequence:  2"), "\(full)")
        #expect(out.contains("Parent:    \(ids.repository)"), "\(full)")
        #expect(out.contains("Author:    \(ids.peer)"), "\(full)")
        #expect(out.contains("    show me") && out.contains("    with a body"), "\(full)")
        #expect(out.contains { $0.hasPrefix("write file ") && $0.hasSuffix(" a.txt") }, "\(full)")

        let prefix = try uniquePrefix(of: id, in: dir)
        #expect(prefix.count >= 4)
        #expect(try CLI.ok(["show", prefix], in: dir.url).stdout == full.stdout)
        #expect(try CLI.ok(["show", id.uppercased()], in: dir.url).stdout == full.stdout)

        let json = try jsonObject(try CLI.ok(["show", "--json", prefix], in: dir.url))
        #expect(json["id"] as? String == id)
        #expect(json["kind"] as? String == "change")
        #expect(json["message"] as? String == "show me\n\nwith a body")

        let genesis = try jsonObject(try CLI.ok(["show", "--json", ids.repository], in: dir.url))
        #expect(genesis["kind"] as? String == "genesis")
        #expect((genesis["parents"] as? [String])?.isEmpty == true)
        #expect(int(genesis["adminQuorum"]) == 2)  // the default
    }

    @Test func showAndCatObjectRejectBadIds() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let id = try #require(try commit(dir, "first")["id"] as? String)
        let before = try dir.snapshotMeta()
        let bad = [
            String(id.prefix(3)), "zzzz", "not-hex-at-all", "g" + String(id.dropFirst().prefix(8)),
            String(repeating: "0", count: 64), String(repeating: "0", count: 65), "",
        ]
        for command in ["show", "cat-object"] {
            for text in bad {
                let result = try CLI.run([command, text], in: dir.url)
                expectFailure(result)
                #expect(result.stdout.isEmpty, "\(command) \(text): \(result)")
            }
        }
        #expect(try dir.snapshotMeta() == before)
    }

    @Test func showOfABlobFails() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("a.txt", "a\n")
        let id = try #require(try commit(dir, "first")["id"] as? String)
        let blob = try #require(try entries(dir, id)["a.txt"]?["blob"] as? String)
        let result = try CLI.run(["show", blob], in: dir.url)
        expectFailure(result, mentioning: ["not an operation"])
        let prefixed = try CLI.run(["show", try uniquePrefix(of: blob, in: dir)], in: dir.url)
        expectFailure(prefixed, mentioning: ["not an operation"])
    }

    @Test func catObjectPrintsBlobsExactly() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let content = Data([0x00, 0x01, 0xFF, 0xFE, 0x0D, 0x0A, 0x41, 0x00, 0x80, 0x7F, 0x0A, 0x0A])
        try content.write(to: dir.path("binary.bin"))
        try dir.write("text.txt", "no trailing newline")
        try Data().write(to: dir.path("empty"))
        let id = try #require(try commit(dir, "blobs")["id"] as? String)
        let recorded = try entries(dir, id)

        let binaryBlob = try #require(recorded["binary.bin"]?["blob"] as? String)
        #expect(try CLI.ok(["cat-object", binaryBlob], in: dir.url).stdoutBytes == content)
        let prefix = try uniquePrefix(of: binaryBlob, in: dir)
        #expect(try CLI.ok(["cat-object", prefix], in: dir.url).stdoutBytes == content)

        let textBlob = try #require(recorded["text.txt"]?["blob"] as? String)
        #expect(try CLI.ok(["cat-object", textBlob], in: dir.url).stdoutBytes == Data("no trailing newline".utf8))

        let emptyBlob = try #require(recorded["empty"]?["blob"] as? String)
        #expect(try CLI.ok(["cat-object", emptyBlob], in: dir.url).stdoutBytes.isEmpty)

        let blobJSON = try jsonObject(try CLI.ok(["cat-object", "--json", binaryBlob], in: dir.url))
        #expect(blobJSON["type"] as? String == "blob")
        #expect(int(blobJSON["size"]) == content.count)
        #expect(blobJSON["id"] as? String == binaryBlob)
    }

    @Test func catObjectTypeRawAndEncoding() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        try dir.write("a.txt", "some content that compresses, some content that compresses\n")
        let op = try #require(try commit(dir, "first")["id"] as? String)
        let blob = try #require(try entries(dir, op)["a.txt"]?["blob"] as? String)

        #expect(try CLI.ok(["cat-object", "--type", op], in: dir.url).stdout == "operation\n")
        #expect(try CLI.ok(["cat-object", "--type", ids.repository], in: dir.url).stdout == "operation\n")
        #expect(try CLI.ok(["cat-object", "--type", blob], in: dir.url).stdout == "blob\n")

        for id in [op, blob] {
            let raw = try CLI.ok(["cat-object", "--raw", id], in: dir.url).stdoutBytes
            let encoding = try CLI.ok(["cat-object", "--encoding", id], in: dir.url).stdoutBytes
            #expect(!raw.isEmpty)
            #expect(!encoding.isEmpty)
            #expect(raw != encoding)
            // A zlib stream: deflate method, and the header checksum (CMF·256 + FLG) divisible by 31.
            let bytes = [UInt8](raw)
            try #require(bytes.count >= 2)
            #expect(bytes[0] & 0x0F == 8, "zlib CM must be deflate")
            #expect((Int(bytes[0]) * 256 + Int(bytes[1])) % 31 == 0, "zlib header checksum")
            // The raw bytes are exactly the stored file.
            let stored = try Data(contentsOf: dir.path(".hgrepo/objects/\(id.prefix(2))/\(id.dropFirst(2))"))
            #expect(raw == stored)
        }

        let opEncoding = [UInt8](try CLI.ok(["cat-object", "--encoding", op], in: dir.url).stdoutBytes)
        #expect(Array(opEncoding.prefix(2)) == [0x02, 0x01])
        let genesisEncoding = [UInt8](
            try CLI.ok(["cat-object", "--encoding", ids.repository], in: dir.url).stdoutBytes)
        #expect(Array(genesisEncoding.prefix(2)) == [0x02, 0x01])
        let blobEncoding = [UInt8](try CLI.ok(["cat-object", "--encoding", blob], in: dir.url).stdoutBytes)
        #expect(Array(blobEncoding.prefix(2)) == [0x01, 0x01])
        #expect(
            blobEncoding.suffix(Array("some content that compresses, some content that compresses\n".utf8).count)
                == ArraySlice(Array("some content that compresses, some content that compresses\n".utf8)))

        // Decoded operation: same text as show.
        #expect(try CLI.ok(["cat-object", op], in: dir.url).stdout == CLI.ok(["show", op], in: dir.url).stdout)
    }

    // MARK: checkout

    @Test func checkoutKeepsUncommittedDeletionUnlessForced() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("keep.txt", "committed content\n")
        try dir.write("tool.sh", "#!/bin/sh\n")
        try setPermissions(dir.path("tool.sh"), 0o755)
        try commit(dir, "first")
        try FileManager.default.removeItem(at: dir.path("keep.txt"))
        try FileManager.default.removeItem(at: dir.path("tool.sh"))

        let kept = try CLI.run(["checkout"], in: dir.url)
        #expect(kept.status == 1, "\(kept)")
        #expect(kept.stderr.contains("keep.txt") && kept.stderr.contains("tool.sh"), "\(kept)")
        #expect(lines(kept.stderr).contains { $0.hasPrefix("error: ") }, "\(kept)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("keep.txt").path))
        #expect(!FileManager.default.fileExists(atPath: dir.path("tool.sh").path))
        #expect(try shortStatus(dir) == ["D keep.txt", "D tool.sh"])

        let forced = try CLI.ok(["checkout", "--force"], in: dir.url)
        #expect(forced.stdout.contains("keep.txt") && forced.stdout.contains("tool.sh"), "\(forced)")
        #expect(try dir.read("keep.txt") == "committed content\n")
        #expect(try dir.read("tool.sh") == "#!/bin/sh\n")
        #expect(try permissions(dir.path("tool.sh")) & 0o100 != 0, "executable mode restored")
        #expect(try permissions(dir.path("keep.txt")) & 0o111 == 0, "regular mode restored")
        #expect(try shortStatus(dir).isEmpty)
    }

    @Test func checkoutKeepsModifiedFileUnlessForced() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("notes.txt", "committed\n")
        try dir.write("other.txt", "other\n")
        try commit(dir, "first")
        try dir.write("notes.txt", "local edit\n")

        let kept = try CLI.run(["checkout"], in: dir.url)
        #expect(kept.status == 1, "\(kept)")
        #expect(kept.stderr.contains("notes.txt"), "\(kept)")
        #expect(!kept.stderr.contains("other.txt"), "\(kept)")
        #expect(try dir.read("notes.txt") == "local edit\n")

        // Quiet: only the error and the path it is about, on stderr; nothing on stdout.
        let quiet = try CLI.run(["checkout", "-q"], in: dir.url)
        #expect(quiet.status == 1 && quiet.stdout.isEmpty, "\(quiet)")
        #expect(quiet.stderr.contains("kept: 'notes.txt'") && quiet.stderr.contains("error: 1 file(s)"), "\(quiet)")
        #expect(try dir.read("notes.txt") == "local edit\n")

        let forced = try CLI.ok(["checkout", "-q", "-f", "notes.txt"], in: dir.url)
        #expect(forced.stdout.isEmpty && forced.stderr.isEmpty, "\(forced)")
        #expect(try dir.read("notes.txt") == "committed\n")
        #expect(try shortStatus(dir).isEmpty)
    }

    @Test func checkoutOnCleanTreeAlreadyMatches() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let fresh = try CLI.ok(["checkout"], in: dir.url)
        #expect(fresh.stdout.contains("already matches"), "\(fresh)")
        try dir.write("a.txt", "a\n")
        try commit(dir, "first")
        let clean = try CLI.ok(["checkout"], in: dir.url)
        #expect(clean.stdout.contains("already matches"), "\(clean)")
        #expect(clean.stderr.isEmpty, "\(clean)")
        let json = try jsonObject(try CLI.ok(["checkout", "--json"], in: dir.url))
        #expect((json["written"] as? [String])?.isEmpty == true)
        #expect((json["kept"] as? [String])?.isEmpty == true)
    }

    // MARK: heads, id, verify

    @Test func headsAndIds() throws {
        let dir = try TempDir()
        let ids = try initRepository(dir)
        #expect(try CLI.ok(["heads"], in: dir.url).stdout == ids.repository + "\n")
        var last = ""
        for n in 1...2 {
            try dir.write("f\(n)", "\(n)")
            last = try #require(try commit(dir, "c\(n)")["id"] as? String)
        }
        let heads = try CLI.ok(["heads"], in: dir.url)
        let headLines = lines(heads.stdout)
        #expect(headLines.count == 1)
        #expect(headLines.allSatisfy { isHex($0, count: 64) })
        #expect(headLines == [last])
        #expect(try CLI.ok(["heads", "--json"], in: dir.url).stdout.contains(last))

        let peer = try CLI.ok(["id"], in: dir.url).stdout
        #expect(peer == ids.peer + "\n")
        #expect(isPeerID(peer.trimmingCharacters(in: .newlines)))

        let repository = try CLI.ok(["id", "--repository"], in: dir.url).stdout.trimmingCharacters(in: .newlines)
        let log = try jsonArray(try CLI.ok(["log", "--json"], in: dir.url))
        let genesis = try #require(log.first { $0["kind"] as? String == "genesis" })
        #expect(repository == genesis["id"] as? String)
        #expect(repository == ids.repository)

        let idJSON = try jsonObject(try CLI.ok(["id", "--json"], in: dir.url))
        #expect(idJSON["peer"] as? String == ids.peer)
        #expect(idJSON["repository"] as? String == ids.repository)
    }

    @Test func verifyCleanRepository() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let fresh = try CLI.ok(["verify"], in: dir.url)
        #expect(fresh.stdout.contains("ok: no violations found"), "\(fresh)")
        try dir.write("a.txt", "a\n")
        try commit(dir, "first")
        try dir.write("a.txt", "b\n")
        try commit(dir, "second")
        let result = try CLI.ok(["verify"], in: dir.url)
        #expect(lines(result.stdout).last == "ok: no violations found", "\(result)")
        let json = try jsonObject(try CLI.ok(["verify", "--json"], in: dir.url))
        #expect(json["clean"] as? Bool == true)
        #expect((json["problems"] as? [Any])?.isEmpty == true)
        #expect(int(json["operations"]) == 3)
        #expect(int(json["blobs"]) == 2)
    }

    // MARK: help, version, usage errors

    @Test func rootHelpListsEverySubcommand() throws {
        let dir = try TempDir()
        for args in [["--help"], ["help"], ["-h"]] {
            let result = try CLI.ok(args, in: dir.url)
            let listed = Set(
                lines(result.stdout).compactMap { line -> String? in
                    guard line.hasPrefix("  ") else { return nil }
                    return line.split(separator: " ").first.map(String.init)
                })
            for name in allSubcommands {
                #expect(listed.contains(name), "'\(args.joined(separator: " "))' does not list \(name): \(result)")
            }
        }
    }

    @Test(arguments: allSubcommands)
    func subcommandHelpHasExamples(_ name: String) throws {
        let dir = try TempDir()
        let result = try CLI.ok([name, "--help"], in: dir.url)
        #expect(result.stdout.contains("Examples"), "\(name) --help has no Examples section: \(result)")
        #expect(result.stdout.contains("USAGE: hg-bft \(name)"), "\(result)")
        let viaHelp = try CLI.ok(["help", name], in: dir.url)
        #expect(viaHelp.stdout.contains("hg-bft \(name)"), "\(viaHelp)")
    }

    @Test func versionFlag() throws {
        let dir = try TempDir()
        let result = try CLI.ok(["--version"], in: dir.url)
        #expect(result.stdout.hasPrefix("hg-bft "), "\(result)")
        #expect(result.stdout.contains { $0.isNumber }, "\(result)")
        #expect(lines(result.stdout).count == 1)
    }

    @Test(arguments: [
        ["frobnicate"], ["log", "--frobnicate"], ["commit"], ["show"], ["commit", "-m"], ["--frob"],
        ["heads", "extra"], ["-C"],
    ])
    func usageErrorsExitTwo(_ args: [String]) throws {
        let dir = try TempDir()
        try initRepository(dir)
        let before = try dir.snapshotMeta()
        let result = try CLI.run(args, in: dir.url)
        expectFailure(result, status: 2, oneLine: false)
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(try dir.snapshotMeta() == before)
    }

    // MARK: key permissions

    @Test func tooOpenIdentityKeyIsRefusedWithoutLeakingTheSeed() throws {
        let dir = try TempDir()
        var outputs: [CLI.Result] = []
        outputs.append(try CLI.ok(["init"], in: dir.url))
        let keyFile = dir.path(".hgrepo/keys/identity")
        let keyText = try dir.read(".hgrepo/keys/identity")
        let seedLine = try #require(lines(keyText).first { $0.hasPrefix("seed ") })
        let seed = String(seedLine.dropFirst("seed ".count))
        try #require(isHex(seed, count: 64))

        try dir.write("a.txt", "a\n")
        outputs.append(try CLI.ok(["commit", "-m", "first"], in: dir.url))
        try dir.write("b.txt", "b\n")
        try setPermissions(keyFile, 0o644)
        let before = try dir.snapshotMeta()

        let refused = try CLI.run(["commit", "-m", "second"], in: dir.url)
        outputs.append(refused)
        expectFailure(refused, mentioning: ["too open", "chmod 600"])
        #expect(try dir.snapshotMeta() == before)

        for mode in [0o640, 0o604, 0o660, 0o666] {
            try setPermissions(keyFile, mode)
            let again = try CLI.run(["commit", "-m", "second"], in: dir.url)
            outputs.append(again)
            expectFailure(again, mentioning: ["too open", "chmod 600"])
        }
        try setPermissions(keyFile, 0o644)
        let id = try CLI.run(["id"], in: dir.url)
        outputs.append(id)
        expectFailure(id, mentioning: ["too open"])
        #expect(try dir.snapshotMeta() == before)
        // Other commands, whatever they do without the key, never print it.
        for args in [
            ["status"], ["log"], ["verify"], ["heads"], ["cat-object", "--type", try head(dir)], ["id", "--json"],
            ["show", try head(dir)], ["checkout"],
        ] {
            outputs.append(try CLI.run(args, in: dir.url))
        }

        try setPermissions(keyFile, 0o600)
        outputs.append(try CLI.ok(["commit", "-m", "second"], in: dir.url))
        outputs.append(try CLI.ok(["verify"], in: dir.url))

        for result in outputs {
            for text in [result.stdout, result.stderr] {
                #expect(!text.lowercased().contains(seed.lowercased()), "the identity seed leaked: \(result)")
                #expect(!text.contains(keyText), "the identity file leaked: \(result)")
            }
        }
    }

    // MARK: file names that cannot be recorded

    @Test func controlCharacterFileNameIsSkippedWithWarning() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("bad\nname", "bad\n")
        try dir.write("tab\there", "bad\n")
        try dir.write("good.txt", "good\n")

        let result = try CLI.run(["commit", "--json", "-m", "good only"], in: dir.url)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("warning:"), "commit should warn about the skipped names: \(result)")
        #expect(result.stderr.contains("bad"), "\(result)")
        #expect(result.stderr.contains("tab"), "\(result)")
        let object = try jsonObject(result)
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.compactMap { $0["path"] as? String } == ["good.txt"])
        let id = try #require(object["id"] as? String)
        #expect(try entries(dir, id).keys.sorted() == ["good.txt"])

        // Still skipped afterwards: nothing else to commit, and status warns too.
        let status = try CLI.ok(["status", "--short"], in: dir.url)
        #expect(status.stdout.isEmpty, "\(status)")
        #expect(status.stderr.contains("warning:"), "\(status)")
        expectFailure(
            try CLI.run(["commit", "-m", "again"], in: dir.url), oneLine: false, mentioning: ["nothing to commit"])
    }

    /// A warning is one line: a control character in a file name is escaped, not written raw to the terminal.
    @Test func skippedFileNameWarningEscapesControlCharacters() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("bad\nname", "bad\n")
        try dir.write("esc\u{1B}[31mred", "bad\n")
        let status = try CLI.ok(["status", "--short"], in: dir.url)
        let errLines = lines(status.stderr)
        #expect(errLines.count == 2, "one warning line per skipped file: \(status)")
        #expect(errLines.allSatisfy { $0.hasPrefix("warning: ") }, "\(status)")
        #expect(!status.stderr.contains("\u{1B}"), "raw escape character written to stderr: \(status)")
    }

    /// An entry whose full path is over PATH_MAX under this root cannot even be looked at:
    /// status and commit name it with the system's reason, in words and by its errno name,
    /// instead of leaving it out silently (or saying "errno 36").
    @Test func entryBeyondPathMaxIsNamedWithItsErrno() throws {
        let dir = try TempDir()
        try initRepository(dir)
        try dir.write("good.txt", "good\n")
        let deep = try DeepDirectories(below: dir.url.path, beyond: Int(PATH_MAX))
        defer { deep.remove() }

        let status = try CLI.run(["status", "--short"], in: dir.url)
        #expect(status.status == 0, "\(status)")
        #expect(lines(status.stdout) == ["A good.txt"], "\(status)")
        #expect(
            status.stderr == "warning: skipped '\(deep.unreachable)': File name too long (ENAMETOOLONG)\n", "\(status)")

        let commit = try CLI.run(["commit", "--json", "-m", "good only"], in: dir.url)
        #expect(commit.status == 0, "\(commit)")
        #expect(
            commit.stderr.contains("File name too long (ENAMETOOLONG)") && !commit.stderr.contains("errno"), "\(commit)"
        )
        let id = try #require(try jsonObject(commit)["id"] as? String)
        #expect(try entries(dir, id).keys.sorted() == ["good.txt"])
    }

    @Test func nonUTF8FileNameIsSkippedWithWarning() throws {
        let dir = try TempDir()
        try initRepository(dir)
        let badName: [UInt8] = [0xFF, 0xFE, 0x2E, 0x74, 0x78, 0x74]  // "\xff\xfe.txt"
        try createRawFile(dir, name: badName, content: "not utf-8\n")
        defer { removeRawFile(dir, name: badName) }
        try dir.write("good.txt", "good\n")

        let status = try CLI.ok(["status", "--short"], in: dir.url)
        #expect(lines(status.stdout) == ["A good.txt"], "\(status)")
        #expect(status.stderr.contains("warning:"), "status should warn about the non-UTF-8 name: \(status)")

        let result = try CLI.run(["commit", "--json", "-m", "good only"], in: dir.url)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("warning:"), "commit should warn about the non-UTF-8 name: \(result)")
        let object = try jsonObject(result)
        let id = try #require(object["id"] as? String)
        #expect(try entries(dir, id).keys.sorted() == ["good.txt"])
        #expect(try shortStatus(dir).isEmpty)
        #expect(try CLI.ok(["verify"], in: dir.url).stdout.contains("ok: no violations found"))
    }
}
