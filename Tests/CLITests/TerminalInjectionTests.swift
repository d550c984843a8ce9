import Foundation
import Testing

/// Text another replica chose reaches this replica's terminal only escaped (README, "Text from
/// other replicas"): a member who signs a message or names a path full of control characters
/// must not clear the screen, retitle the window, reorder a line or print fake history.
///
/// Everything here is genuinely peer-supplied: replica `b` (an admitted writer) commits it, and
/// replica `a` receives it through a real sync and then runs its commands on it.
@Suite struct TerminalInjectionTests {
    /// Bytes of a commit message: ESC sequences (clear screen, OSC window title ended by BEL),
    /// a CR and a forged `op` header on a line of its own, DEL, C1 controls both as UTF-8
    /// (U+0085, U+009B) and as raw bytes (0x9b, which is not UTF-8 on its own), invalid UTF-8
    /// (0xff), a bidi override and isolate, a line separator, a tab and a CRLF line ending.
    static let messageBytes: [UInt8] =
        Array("innocent\u{1B}[2J\u{1B}]0;pwned\u{07} title\rop ".utf8)
        + Array(String(repeating: "0", count: 64).utf8) + Array(" (head)\nAuthor: forged\u{7F}\u{85}\u{9B}31mred".utf8)
        + [0x9b, 0x33, 0x31, 0x6d, 0xff] + Array(" gpj.\u{202E}exe\u{2066}\u{2028}next\ttab\r\nop fake".utf8)

    /// A path with a bidi override (valid in the format), a quote and a backslash.
    static let evilPath = "evil\u{202E}txt.exe"
    static let quotedPath = "it's\\here.txt"

    /// `b` commits the message and paths; `a` syncs them in. Returns the replicas and the
    /// message as stored (invalid UTF-8 in an argument arrives as U+FFFD, as Swift decodes it).
    private func peerSuppliedHistory(_ label: String) throws -> (dir: TempDir, a: URL, b: URL, message: String) {
        let dir = try TempDir(label)
        let a = dir.path("a")
        try CLI.ok(["init", "a"], in: dir.url)
        try dir.write("a/plain.txt", "plain\n")
        try CLI.ok(["commit", "-m", "plain"], in: a)
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        let b = dir.path("b")
        try CLI.admit(b, by: a)
        try dir.write("b/\(Self.evilPath)", "evil\n")
        try dir.write("b/\(Self.quotedPath)", "quoted\n")
        // Through sh, so that the argument carries the raw bytes (Foundation would re-encode them).
        try Data(Self.messageBytes).write(to: dir.path("message"))
        let commit = try CLI.runProgram(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "exec \"$0\" commit -m \"$(cat \"$1\")\"", CLI.binary, dir.path("message").path], in: b)
        #expect(commit.status == 0, "\(commit)")
        try CLI.ok(["sync", b.path], in: a)
        return (dir, a, b, String(decoding: Self.messageBytes, as: UTF8.self))
    }

    @Test func peerTextIsEscapedInEveryCommandsOutput() throws {
        let (dir, a, _, message) = try peerSuppliedHistory("inject")
        _ = dir
        let entries =
            try JSONSerialization.jsonObject(with: try CLI.ok(["log", "--json"], in: a).stdoutBytes) as? [[String: Any]]
            ?? []
        let evil = try #require(
            entries.first { ($0["message"] as? String)?.hasPrefix("innocent") == true },
            "the peer's operation is not in a's log")
        let id = try #require(evil["id"] as? String)
        // JSON carries the text exactly (a parser reads back what was signed), and inert.
        #expect(evil["message"] as? String == message, "log --json changed the message")

        // Outputs with the message and paths in them, each checked byte by byte.
        try FileManager.default.removeItem(at: a.appendingPathComponent(Self.evilPath))
        var outputs: [(String, CLI.Result)] = []
        for args in [
            ["log"], ["log", "--oneline"], ["log", "--graph"], ["log", "--graph", "--oneline"], ["log", "--json"],
            ["show", id], ["show", "--json", id], ["cat-object", id], ["cat-object", "--json", id],
            ["status"], ["status", "--short"], ["status", "--json"], ["heads"], ["verify"], ["verify", "--json"],
            ["checkout"], ["checkout", "--force"],
        ] {
            outputs.append((args.joined(separator: " "), try CLI.run(args, in: a)))
        }
        for (command, result) in outputs {
            #expect(result.status == 0 || command == "checkout", "\(command): \(result)")
            expectInert(result.stdoutBytes, "stdout of \(command)")
            expectInert(result.stderrBytes, "stderr of \(command)")
        }
        let output = Dictionary(outputs, uniquingKeysWith: { first, _ in first })

        // Escaped, not dropped: the reader sees what the peer sent.
        let log = try #require(output["log"]).stdout
        #expect(log.contains("innocent\\x1b[2J\\x1b]0;pwned\\x07 title\\rop 000"), "\(log)")
        #expect(
            log.contains("\\x7f\\x85\\x9b31mred\u{FFFD}31m\u{FFFD} gpj.\\u{202e}exe\\u{2066}\\u{2028}next\\ttab"),
            "\(log)")
        // No line of the message can pass for a record: the only "op" headers are the operations'.
        let headers = log.split(separator: "\n").filter { $0.hasPrefix("op ") }
        #expect(headers.count == entries.count, "forged op headers in log:\n\(log)")
        #expect(
            log.contains("\n    op fake\n") || log.hasSuffix("\n    op fake"),
            "the message's last line is not indented: \(log)")
        let oneline = try #require(output["log --oneline"]).stdout
        #expect(
            oneline.split(separator: "\n").count == entries.count,
            "log --oneline is not one line per operation:\n\(oneline)")
        #expect(oneline.contains("innocent\\x1b[2J"), "\(oneline)")
        #expect(!oneline.contains("Author: forged"), "--oneline shows more than the first line: \(oneline)")
        let show = try #require(output["show \(id)"]).stdout
        #expect(show.split(separator: "\n").filter { $0.hasPrefix("op ") }.count == 1, "\(show)")
        #expect(show.contains("'evil\\u{202e}txt.exe'"), "show does not quote the path: \(show)")
        #expect(show.contains("'it\\'s\\\\here.txt'"), "show does not quote the path: \(show)")
        let status = try #require(output["status --short"]).stdout
        #expect(status.contains("D 'evil\\u{202e}txt.exe'"), "\(status)")
        let forced = try #require(output["checkout --force"]).stdout
        #expect(forced.contains("wrote    'evil\\u{202e}txt.exe'"), "\(forced)")
        let showJSON =
            try JSONSerialization.jsonObject(with: try #require(output["show --json \(id)"]).stdoutBytes)
            as? [String: Any]
        #expect(showJSON?["message"] as? String == message, "show --json changed the message")
        let paths = (showJSON?["entries"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(paths.sorted() == [Self.evilPath, Self.quotedPath].sorted(), "show --json changed the paths: \(paths)")
    }

    /// The sync that brings the text in prints nothing raw either, on either side.
    @Test func syncingPeerTextPrintsItEscaped() throws {
        let (dir, a, b, _) = try peerSuppliedHistory("inject-sync")
        try dir.write("b/second.txt", "second\n")
        try CLI.ok(["commit", "-m", "second\u{1B}]0;title\u{07}"], in: b)
        try FileManager.default.removeItem(at: a.appendingPathComponent(Self.evilPath))
        for (where_, args) in [(a, ["sync", b.path]), (a, ["sync", "--json", b.path]), (b, ["sync", a.path])] {
            let result = try CLI.run(args, in: where_)
            expectInert(result.stdoutBytes, "stdout of \(args)")
            expectInert(result.stderrBytes, "stderr of \(args)")
        }
    }

    /// What the peer's side writes to stderr (a remote hg-bft or anything `--exec` runs, which
    /// reaches ours through ssh or the pipe) is the peer's text too: relayed escaped, line by line.
    @Test func thePeerProcessStderrIsRelayedEscaped() throws {
        let dir = try TempDir("inject-stderr")
        try CLI.ok(["init", "a"], in: dir.url)
        try CLI.ok(["clone", "a", "b"], in: dir.url)
        let noise = "printf 'remote says \\033]0;pwned\\007\\033[2J\\233x\\377 \\342\\200\\256gpj\\rforged\\n' >&2"
        let command = "\(noise); exec '\(CLI.binary)' serve '\(dir.path("a").path)'"
        let result = try CLI.run(["sync", "--exec", command], in: dir.path("b"))
        #expect(result.status == 0, "\(result)")
        expectInert(result.stderrBytes, "stderr of sync --exec")
        let stderr = String(decoding: result.stderrBytes, as: UTF8.self)
        #expect(
            stderr.contains("remote says \\x1b]0;pwned\\x07\\x1b[2J\u{FFFD}x\u{FFFD} \\u{202e}gpj\\rforged"),
            "\(result)")
    }

    /// verify's problem lines name files it found on disk, which anyone with access to the
    /// directory may have named: escaped too (and exact in JSON).
    @Test func verifyProblemLinesEscapeTheFileNamesTheyQuote() throws {
        let dir = try TempDir("inject-verify")
        try CLI.ok(["init", "a"], in: dir.url)
        let name = "evil\u{1B}[2J\u{7}name\u{202E}"
        try Data("x".utf8).write(to: dir.path("a/.hgrepo/objects").appendingPathComponent(name))
        let result = try CLI.run(["verify"], in: dir.path("a"))
        #expect(result.status == 3, "\(result)")
        expectInert(result.stdoutBytes, "stdout of verify")
        expectInert(result.stderrBytes, "stderr of verify")
        #expect(
            result.stdout.contains("problem [objects] .hgrepo/objects/evil\\x1b[2J\\x07name\\u{202e}: "), "\(result)")
        let json = try CLI.run(["verify", "--json"], in: dir.path("a"))
        expectInert(json.stdoutBytes, "stdout of verify --json")
        let problems =
            (try JSONSerialization.jsonObject(with: json.stdoutBytes) as? [String: Any])?["problems"]
            as? [[String: Any]] ?? []
        #expect(
            problems.contains {
                ($0["file"] as? String).map { Array($0.utf8) } == Array(".hgrepo/objects/\(name)".utf8)
            }, "\(json)")
    }
}

/// Fails unless `bytes` is valid UTF-8 with no control character but newline and tab, no C1
/// control and no bidirectional control or line separator: nothing a terminal would obey.
func expectInert(_ bytes: Data, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let text = String(data: bytes, encoding: .utf8) else {
        Issue.record("\(what) is not valid UTF-8", sourceLocation: sourceLocation)
        return
    }
    let bad = text.unicodeScalars.filter { scalar in
        switch scalar.value {
        case 0x0a, 0x09: return false
        case 0x00...0x1f, 0x7f...0x9f, 0x061c, 0x200e, 0x200f, 0x2028...0x202e, 0x2066...0x2069: return true
        default: return false
        }
    }
    #expect(
        bad.isEmpty, "\(what) holds raw control characters \(bad.map { String($0.value, radix: 16) }):\n\(text)",
        sourceLocation: sourceLocation)
}
