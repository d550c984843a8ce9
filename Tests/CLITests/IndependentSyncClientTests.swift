import Foundation
import Testing

/// Cross-checks `hg-bft serve` against `contrib/tools/hgbft_sync_client.py`, an independent
/// Python client of the sync protocol written from docs/PROTOCOL.md and docs/FORMAT.md alone.
/// The client clones a repository over the protocol (as a replica with no repository yet),
/// validates every object it received and computes the state fingerprint itself; if it ever
/// disagrees with `hg-bft verify`, either the code or the protocol document is wrong.
///
/// Needs `python3` with the `cryptography` package (as the independent checker does).
@Suite("Independent sync client (docs/PROTOCOL.md)")
struct IndependentSyncClientTests {
    @Test("the client clones a repository through `hg-bft serve` and agrees with verify on heads and fingerprint")
    func clientClonesThroughServe() throws {
        let base = try TempDir("indep-sync")
        let repo = base.path("a")
        let other = base.path("b")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try SyncClient.buildRepository(repo: repo, other: other, base: base.url)

        let verify = try CLI.ok(["verify"], in: repo)
        let toolFingerprint = SyncClient.value(after: "state fingerprint: ", in: verify.stdout)
        #expect(toolFingerprint?.count == 64, "verify printed no fingerprint: \(verify)")
        let shortHeads =
            SyncClient.value(after: "heads: ", in: verify.stdout)?
            .split(separator: " ").map(String.init) ?? []
        let heads = try CLI.ok(["heads"], in: repo)
        let toolHeads = heads.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        #expect(toolHeads.count == 2, "the repository should have two concurrent heads: \(heads)")

        let command = "\(SyncClient.quote(CLI.binary)) serve \(SyncClient.quote(repo.path))"
        let client = try SyncClient.python([SyncClient.script.path, "--exec", command])
        #expect(client.status == 0, "the client failed: \(client)")
        let clientFingerprint = SyncClient.value(after: "state fingerprint: ", in: client.stdout)
        #expect(clientFingerprint != nil, "the client printed no fingerprint: \(client)")
        #expect(clientFingerprint == toolFingerprint, "fingerprints differ:\n\(verify)\n\(client)")
        let clientHeads = client.stdout.split(separator: "\n").filter { $0.hasPrefix("heads ") }
            .map { String($0.dropFirst("heads ".count)) }
        #expect(clientHeads == toolHeads, "heads differ:\n\(heads)\n\(client)")
        #expect(clientHeads.map { String($0.prefix(12)) } == shortHeads, "verify's heads differ:\n\(verify)\n\(client)")
        let operations = SyncClient.value(after: "operations ", in: client.stdout)
        #expect(
            verify.stdout.contains("(\(operations ?? "?") operations,"),
            "operation counts differ:\n\(verify)\n\(client)")
        // The batch shrinks under zlib, so serve sent it as COMPRESSED OBJECTS, which the client inflated itself.
        let batches = SyncClient.value(after: "batches ", in: client.stdout) ?? ""
        #expect(
            batches.hasSuffix("compressed") && !batches.hasSuffix(" 0 compressed"),
            "serve sent no COMPRESSED OBJECTS: \(batches)\n\(client)")

        // The session left the served repository intact.
        let after = try CLI.ok(["verify"], in: repo)
        #expect(SyncClient.value(after: "state fingerprint: ", in: after.stdout) == toolFingerprint)
    }

    @Test(
        "the client accepts membership operations (kind 0x03), applies rule 6 and agrees with verify on the state from changes with effect"
    )
    func clientClonesMembershipHistory() throws {
        let base = try TempDir("indep-sync-members")
        let repo = try Checker.buildMembershipRepository(in: base)
        let a = repo.founder
        let verify = try CLI.ok(["verify"], in: a)
        let toolFingerprint = SyncClient.value(after: "state fingerprint: ", in: verify.stdout)
        #expect(toolFingerprint?.count == 64, "verify printed no fingerprint: \(verify)")
        let heads = try CLI.ok(["heads"], in: a).stdout.split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let list = try Checker.memberList(in: a)

        let command = "\(SyncClient.quote(CLI.binary)) serve \(SyncClient.quote(a.path))"
        let client = try SyncClient.python([SyncClient.script.path, "--exec", command])
        #expect(client.status == 0, "the client failed: \(client)")
        #expect(
            SyncClient.value(after: "state fingerprint: ", in: client.stdout) == toolFingerprint,
            "fingerprints differ:\n\(verify)\n\(client)")
        let clientHeads = client.stdout.split(separator: "\n").filter { $0.hasPrefix("heads ") }
            .map { String($0.dropFirst("heads ".count)) }
        #expect(clientHeads == heads, "heads differ:\n\(heads)\n\(client)")
        var clientRoles: [String: String] = [:]
        for line in client.stdout.split(separator: "\n") where line.hasPrefix("member ") {
            let words = line.split(separator: " ").map(String.init)
            if words.count >= 3 { clientRoles[words[1]] = words[2] }
        }
        #expect(clientRoles == list.members.mapValues(\.role), "members differ:\n\(list.members)\n\(client)")
    }

    @Test("the client decodes and re-encodes every frame of the protocol vectors byte-identically")
    func clientReadsProtocolVectors() throws {
        let vectors = SyncClient.packageRoot.appendingPathComponent("Tests/HGSyncTests/Vectors/protocol-examples.txt")
        let result = try SyncClient.python([SyncClient.script.path, "--vectors", vectors.path])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("0 failures"), "\(result)")
        #expect(!result.stdout.contains("FAIL"), "\(result)")
    }
}

enum SyncClient {
    /// The package root, found from this file's path (Tests/CLITests/<file>).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let script: URL = packageRoot.appendingPathComponent("contrib/tools/hgbft_sync_client.py")

    static func python(_ args: [String]) throws -> CLI.Result {
        try CLI.runProgram(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + args, in: packageRoot)
    }

    /// One word for `/bin/sh -c`, single-quoted.
    static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The rest of the first line that starts with `prefix`.
    static func value(after prefix: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    private static func write(_ url: URL, _ text: String) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Two authors: adds, modifications, deletions, an executable file, a merge, then two
    /// concurrent heads writing one path differently (a conflict) in `repo`.
    static func buildRepository(repo: URL, other: URL, base: URL) throws {
        try CLI.ok(["init"], in: repo)
        try write(repo.appendingPathComponent("a.txt"), "alpha\n")
        try write(repo.appendingPathComponent("b.txt"), "beta\n")
        try write(repo.appendingPathComponent("dir/run.sh"), "#!/bin/sh\necho hi\n")
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o755],
            ofItemAtPath: repo.appendingPathComponent("dir/run.sh").path)
        try CLI.ok(["commit", "-m", "first"], in: repo)
        try write(repo.appendingPathComponent("a.txt"), "alpha 2\n")
        try FileManager.default.removeItem(at: repo.appendingPathComponent("b.txt"))
        try write(repo.appendingPathComponent("empty"), "")
        try CLI.ok(["commit", "-m", "second"], in: repo)

        try CLI.ok(["clone", repo.path, other.path], in: base)
        try CLI.admit(other, by: repo)
        try write(other.appendingPathComponent("c.txt"), "from the clone\n")
        try CLI.ok(["commit", "-m", "clone side"], in: other)
        try write(repo.appendingPathComponent("dir/run.sh"), "#!/bin/sh\necho changed\n")
        try CLI.ok(["commit", "-m", "origin side"], in: repo)
        try CLI.ok(["sync", other.path], in: repo)
        try write(repo.appendingPathComponent("d.txt"), "merge\n")
        try CLI.ok(["commit", "-m", "merge"], in: repo)  // two parents
        try CLI.ok(["sync", other.path], in: repo)

        try write(repo.appendingPathComponent("a.txt"), "origin wins?\n")
        try CLI.ok(["commit", "-m", "conflict origin"], in: repo)
        try write(other.appendingPathComponent("a.txt"), "clone wins?\n")
        try CLI.ok(["commit", "-m", "conflict clone"], in: other)
        try CLI.ok(["sync", other.path], in: repo)
    }
}
