import Foundation
import HGWorkTree
import Testing

/// Whether `path` is ignored by the rules in `text`.
private func ignored(_ text: String, _ path: String, directory: Bool = false) -> Bool {
    IgnoreRules(text: text).isIgnored(path, isDirectory: directory)
}

@Suite struct IgnoreRulesTests {

    // MARK: - Basics, comments, escapes, whitespace

    @Test func emptyRulesIgnoreNothing() {
        #expect(!IgnoreRules.empty.isIgnored("foo", isDirectory: false))
        #expect(!IgnoreRules.empty.isIgnored("a/b/c", isDirectory: true))
        #expect(!IgnoreRules(text: "").isIgnored("foo", isDirectory: false))
    }

    /// Patterns match scalars, as paths are bytes: an NFC pattern is not an NFD name (git compares
    /// bytes too), though Swift's String equality would call them equal.
    @Test func patternsCompareScalarsNotCanonicalEquivalence() {
        #expect(ignored("caf\u{E9}", "caf\u{E9}"))
        #expect(!ignored("caf\u{E9}", "cafe\u{301}"))
        #expect(!ignored("cafe\u{301}/", "caf\u{E9}", directory: true))
        #expect(!ignored("/caf\u{E9}/inner", "cafe\u{301}/inner"))
        #expect(ignored("caf?", "caf\u{E9}") && !ignored("caf?", "cafe\u{301}"))
    }

    @Test func blankLinesAndCommentsAreSkipped() {
        let rules = IgnoreRules(text: "\n\n# foo\n   \n#*.txt\nbar\n")
        #expect(!rules.isIgnored("foo", isDirectory: false))
        #expect(!rules.isIgnored("# foo", isDirectory: false))
        #expect(!rules.isIgnored("a.txt", isDirectory: false))
        #expect(rules.isIgnored("bar", isDirectory: false))
    }

    @Test func hashIsACommentOnlyAtTheStartOfALine() {
        #expect(ignored("foo#bar", "foo#bar"))
        #expect(ignored(" #x", " #x"))
        #expect(!ignored("#x", "#x"))
    }

    @Test func escapedHashMatchesLiterally() {
        #expect(ignored("\\#notes", "#notes"))
        #expect(ignored("\\#notes", "dir/#notes"))
        #expect(!ignored("\\#notes", "notes"))
    }

    @Test func escapedBangMatchesLiterallyAndDoesNotNegate() {
        let text = "*.txt\n\\!important.txt\n"
        #expect(ignored(text, "!important.txt"))
        #expect(ignored(text, "important.txt"))
        #expect(ignored("\\!bang", "!bang"))
        #expect(!ignored("\\!bang", "bang"))
    }

    @Test func trailingSpacesAreTrimmed() {
        #expect(ignored("foo   ", "foo"))
        #expect(!ignored("foo   ", "foo "))
        #expect(ignored("*.log \t", "a.log \t"))  // only spaces are trimmed, not tabs
        #expect(!ignored("*.log \t", "a.log"))
    }

    @Test func escapedTrailingSpaceIsKept() {
        #expect(ignored("foo\\ ", "foo "))
        #expect(!ignored("foo\\ ", "foo"))
        // "\ " keeps exactly one space; the unescaped ones after it are trimmed.
        #expect(ignored("foo\\    ", "foo "))
        #expect(!ignored("foo\\    ", "foo  "))
        #expect(ignored("a\\ \\ ", "a  "))
    }

    @Test func leadingSpacesAreSignificant() {
        #expect(ignored(" foo", " foo"))
        #expect(!ignored(" foo", "foo"))
    }

    @Test func crlfLineEndingsAndByteOrderMark() {
        let rules = IgnoreRules(text: "\u{FEFF}*.o\r\n# c\r\nbuild/\r\n")
        #expect(rules.isIgnored("main.o", isDirectory: false))
        #expect(rules.isIgnored("build", isDirectory: true))
        #expect(!rules.isIgnored("build", isDirectory: false))
    }

    @Test func backslashEscapesAnySpecialCharacter() {
        #expect(ignored("a\\*b", "a*b"))
        #expect(!ignored("a\\*b", "axb"))
        #expect(ignored("\\?", "?"))
        #expect(!ignored("\\?", "x"))
        #expect(ignored("\\[ab]", "[ab]"))
        #expect(!ignored("\\[ab]", "a"))
        #expect(ignored("a\\\\b", "a\\b"))
    }

    @Test func unmatchableLinesAreDropped() {
        // A dangling backslash, an unterminated class, an unknown [:class:], a bare "!" or "/".
        let text = "foo\\\n[abc\n[[:nope:]]\n!\n/\n!/\nkeep\n"
        let rules = IgnoreRules(text: text)
        #expect(!rules.isIgnored("foo", isDirectory: false))
        #expect(!rules.isIgnored("foo\\", isDirectory: false))
        #expect(!rules.isIgnored("[abc", isDirectory: false))
        #expect(!rules.isIgnored("a", isDirectory: false))
        #expect(!rules.isIgnored("!", isDirectory: false))
        #expect(rules.isIgnored("keep", isDirectory: false))
    }

    // MARK: - Negation

    @Test func negationReincludesAnEarlierMatch() {
        let text = "*.log\n!keep.log\n"
        #expect(ignored(text, "debug.log"))
        #expect(!ignored(text, "keep.log"))
        #expect(!ignored(text, "sub/keep.log"))
    }

    @Test func lastMatchingRuleWins() {
        // Negation first, then a broader rule: the later rule wins.
        #expect(ignored("!keep.log\n*.log\n", "keep.log"))
        // Ignore, re-include, ignore again.
        let text = "*.log\n!*.log\nkeep*.log\n"
        #expect(!ignored(text, "a.log"))
        #expect(ignored(text, "keep1.log"))
        // A negation that matches nothing ignored is harmless.
        #expect(!ignored("!foo\n", "foo"))
    }

    @Test func negatedDirectoryPattern() {
        let text = "build*/\n!build-keep/\n"
        #expect(ignored(text, "build", directory: true))
        #expect(!ignored(text, "build-keep", directory: true))
        #expect(!ignored(text, "build-x", directory: false))
    }

    // MARK: - Directory-only patterns

    @Test func trailingSlashMatchesDirectoriesOnly() {
        let text = "build/\n"
        #expect(ignored(text, "build", directory: true))
        #expect(!ignored(text, "build", directory: false))
        #expect(ignored(text, "src/build", directory: true))
        #expect(!ignored(text, "src/build", directory: false))
        #expect(!ignored(text, "builds", directory: true))
    }

    @Test func trailingSlashWithMiddleSlashIsAnchored() {
        let text = "doc/frotz/\n"
        #expect(ignored(text, "doc/frotz", directory: true))
        #expect(!ignored(text, "doc/frotz", directory: false))
        #expect(!ignored(text, "a/doc/frotz", directory: true))
    }

    // MARK: - Anchoring

    @Test func patternWithoutSlashMatchesAtAnyLevel() {
        #expect(ignored("foo", "foo"))
        #expect(ignored("foo", "a/foo"))
        #expect(ignored("foo", "a/b/foo", directory: true))
        #expect(!ignored("foo", "foobar"))
        #expect(!ignored("foo", "a/foo.c"))
    }

    @Test func leadingSlashAnchorsToTheRoot() {
        #expect(ignored("/foo", "foo"))
        #expect(!ignored("/foo", "a/foo"))
        #expect(ignored("/*.c", "cat-file.c"))
        #expect(!ignored("/*.c", "mozilla-sha1/sha1.c"))
    }

    @Test func middleSlashAnchorsToTheRoot() {
        #expect(ignored("doc/frotz", "doc/frotz"))
        #expect(!ignored("doc/frotz", "a/doc/frotz"))
        #expect(ignored("a/b/c", "a/b/c"))
        #expect(!ignored("a/b/c", "x/a/b/c"))
    }

    @Test func slashPatternsApplyToTheFullPath() {
        // The decision is for the path itself, but the whole path is matched.
        #expect(ignored("docs/*.md", "docs/guide.md"))
        #expect(!ignored("docs/*.md", "guide.md"))
        #expect(!ignored("docs/*.md", "x/docs/guide.md"))
    }

    // MARK: - Wildcards

    @Test func starDoesNotCrossSlashes() {
        #expect(ignored("doc/*.txt", "doc/notes.txt"))
        #expect(!ignored("doc/*.txt", "doc/sub/notes.txt"))
        #expect(ignored("*.txt", "doc/sub/notes.txt"))
        #expect(ignored("a/*/c", "a/b/c"))
        #expect(!ignored("a/*/c", "a/b/x/c"))
        #expect(ignored("a/*/c", "a//c"))
        #expect(ignored("*", "anything", directory: true))
    }

    @Test func questionMarkMatchesOneCharacterExceptSlash() {
        #expect(ignored("temp?", "temp1"))
        #expect(!ignored("temp?", "temp"))
        #expect(!ignored("temp?", "temp12"))
        #expect(ignored("a?c", "abc"))
        #expect(!ignored("a/?/c", "a///c"))
        #expect(ignored("a/?/c", "a/b/c"))
    }

    @Test func characterClassesAndRanges() {
        #expect(ignored("[Tt]mp", "tmp"))
        #expect(ignored("[Tt]mp", "Tmp"))
        #expect(!ignored("[Tt]mp", "xmp"))
        #expect(ignored("log[0-9]", "log7"))
        #expect(!ignored("log[0-9]", "logx"))
        #expect(ignored("[a-cx-z_]", "y"))
        #expect(ignored("[a-cx-z_]", "_"))
        #expect(!ignored("[a-cx-z_]", "m"))
        #expect(ignored("[[:digit:]][[:upper:]]", "1A"))
        #expect(!ignored("[[:digit:]][[:upper:]]", "1a"))
        #expect(!ignored("[z-a]", "m"))  // an empty range matches nothing
    }

    @Test func negatedCharacterClasses() {
        #expect(ignored("*.sw[!a-o]", "x.swp"))
        #expect(!ignored("*.sw[!a-o]", "x.swa"))
        #expect(ignored("[^abc]x", "dx"))
        #expect(!ignored("[^abc]x", "bx"))
    }

    @Test func characterClassEdgeCases() {
        // "]" first is a member; "-" first or last is literal; "\" escapes inside a class.
        #expect(ignored("[]]", "]"))
        #expect(ignored("[!]]", "a"))
        #expect(!ignored("[!]]", "]"))
        #expect(ignored("[a-]", "-"))
        #expect(ignored("[-a]", "-"))
        #expect(ignored("[\\]a]", "]"))
        #expect(ignored("[\\!]", "!"))
        #expect(ignored("[[:x]", ":"))  // no ":]": an ordinary set of "[", ":", "x"
        // A class never matches the separator.
        #expect(!ignored("a[/]b", "a/b"))
    }

    @Test func matchingIsCaseSensitive() {
        #expect(!ignored("*.TXT", "a.txt"))
        #expect(!ignored("Makefile", "makefile"))
        #expect(ignored("Makefile", "Makefile"))
    }

    @Test func matchingWorksOnUnicodeScalars() {
        // "?" and a class consume one whole scalar, not one UTF-8 byte.
        #expect(ignored("caf?", "caf\u{E9}"))
        #expect(ignored("[\u{E9}]t[\u{E9}]", "\u{E9}t\u{E9}"))
        #expect(ignored("[\u{E0}-\u{FF}]", "\u{E9}"))
        #expect(ignored("*\u{E9}", "r\u{E9}sum\u{E9}"))
        // POSIX classes are ASCII-only; no Unicode normalization is applied.
        #expect(!ignored("[[:alpha:]]", "\u{E9}"))
        #expect(!ignored("caf\u{E9}", "cafe\u{301}"))
    }

    // MARK: - Double asterisks

    @Test func leadingDoubleStarMatchesInAllDirectories() {
        #expect(ignored("**/foo", "foo"))
        #expect(ignored("**/foo", "a/b/foo"))
        #expect(ignored("**/foo/bar", "foo/bar"))
        #expect(ignored("**/foo/bar", "x/y/foo/bar"))
        #expect(!ignored("**/foo/bar", "foo/x/bar"))
        #expect(!ignored("**/foo", "xfoo"))
    }

    @Test func trailingDoubleStarMatchesEverythingInside() {
        #expect(ignored("abc/**", "abc/x"))
        #expect(ignored("abc/**", "abc/x/y", directory: true))
        #expect(!ignored("abc/**", "abc", directory: true))
        #expect(!ignored("abc/**", "x/abc/y"))
        #expect(ignored("**", "anything/at/all"))
    }

    @Test func middleDoubleStarMatchesZeroOrMoreDirectories() {
        #expect(ignored("a/**/b", "a/b"))
        #expect(ignored("a/**/b", "a/x/b"))
        #expect(ignored("a/**/b", "a/x/y/b"))
        #expect(!ignored("a/**/b", "a/xb"))
        #expect(!ignored("a/**/b", "x/a/b"))
        #expect(ignored("a/**/**/b", "a/b"))
        #expect(ignored("a/**/*.c", "a/x/y/z.c"))
    }

    @Test func otherConsecutiveAsterisksAreSingleStars() {
        #expect(ignored("foo**bar", "fooxbar"))
        #expect(ignored("a/b**c", "a/bxc"))
        #expect(!ignored("a/b**c", "a/bx/c"))
        #expect(ignored("**foo", "xfoo"))
        #expect(!ignored("a/**foo", "a/x/foo"))
        #expect(ignored("a/***/b", "a/x/y/b"))
    }

    // MARK: - Repository metadata and path handling

    @Test func hgrepoIsAlwaysIgnored() {
        let rules = IgnoreRules(text: "!.hgrepo\n!.hgrepo/\n!**\n")
        #expect(rules.isIgnored(".hgrepo", isDirectory: true))
        #expect(rules.isIgnored(".hgrepo/objects/ab", isDirectory: false))
        #expect(IgnoreRules.empty.isIgnored(".hgrepo", isDirectory: true))
        #expect(!IgnoreRules.empty.isIgnored(".hgrepository", isDirectory: true))
        #expect(!IgnoreRules.empty.isIgnored("x.hgrepo", isDirectory: true))
    }

    @Test func strayEndSlashesAreTolerated() {
        #expect(ignored("/foo/", "/foo/", directory: true))
        #expect(!IgnoreRules(text: "*").isIgnored("", isDirectory: true))
    }

    // MARK: - Cost

    @Test func pathologicalPatternsFinish() {
        let longA = String(repeating: "a", count: 20_000)
        #expect(!ignored("*a*a*a*a*a*a*b", longA))
        #expect(ignored("*a*a*a*a*a*a*b", longA + "b"))
        #expect(!ignored("[a]*[a]*?*a*a*a*a*a*a*a*a*a*a*a*c", longA))

        let deep = Array(repeating: "a", count: 2_000).joined(separator: "/")
        #expect(!ignored("**/a/**/a/**/a/**/a/**/a/**/b", deep))
        #expect(ignored("**/a/**/a/**/a/**/a/**/a/**/a", deep))
        #expect(!ignored("a/**/*a*a*a*a*/**/*a*a*a*a*/**/b", deep + "/" + longA))
    }

    // MARK: - Cross-check against git

    static let gitAvailable: Bool =
        (try? runGit(["--version"], in: FileManager.default.temporaryDirectory))?
        .status == 0

    @Test(.enabled(if: IgnoreRulesTests.gitAvailable, "git is not installed"))
    func agreesWithGitCheckIgnore() throws {
        // Written as separate lines so that the significant trailing spaces stay visible.
        let ignoreText = [
            "# build outputs",
            "*.o",
            "!keep.o",
            "build/",
            "/rootonly.txt",
            "docs/*.md",
            "!docs/README.md",
            "**/logs",
            "cache/**",
            "!cache/important",
            "a/**/z",
            "temp?",
            "[Tt]mp[0-9]",
            "*.sw[!a-o]",
            "\\#hash",
            "\\!bang",
            "trailing\\ ",
            "spaced   ",
            "nested/deep/*.txt",
            "*~",
            "out*/",
            "!out/",
            "[[:upper:]]*.bak",
            "**/gen/**/*.c",
            "x[]y]z",
            "",
        ].joined(separator: "\n")
        // (path, isDirectory)
        let entries: [(String, Bool)] = [
            ("main.o", false), ("keep.o", false), ("src", true), ("src/main.o", false),
            ("src/keep.o", false), ("build", true), ("src/build", true), ("lib", true),
            ("lib/build", false), ("rootonly.txt", false), ("lib/rootonly.txt", false),
            ("docs", true), ("docs/guide.md", false), ("docs/README.md", false),
            ("docs/sub", true), ("docs/sub/guide.md", false), ("logs", true), ("src/logs", true),
            ("src/logs2", false), ("cache", true), ("cache/a.txt", false), ("cache/deep", true),
            ("cache/important", false), ("a", true), ("a/z", false), ("a/b", true), ("a/b/z", false),
            ("a/b/c", true), ("a/b/c/z", true), ("a/b/zz", false), ("temp1", false),
            ("temp12", false), ("tmp3", false), ("Tmp4", false), ("tmpx", false), ("x.swp", false),
            ("x.swa", false), ("#hash", false), ("!bang", false), ("trailing ", false),
            ("trailing", false), ("spaced", false), ("spaced ", false), ("nested", true),
            ("nested/deep", true), ("nested/deep/x.txt", false), ("nested/deep/more", true),
            ("nested/deep/more/y.txt", false), ("nested/x.txt", false), ("notes~", false),
            ("out", true), ("out/file", false), ("outer", true), ("Readme.bak", false),
            ("readme.bak", false), ("gen", true), ("gen/x.c", false), ("src/gen", true),
            ("src/gen/deep", true), ("src/gen/deep/y.c", false), ("src/gen/y.h", false),
            ("x]yz", false), ("xyz", false), ("x]z", false),
        ]

        let fileManager = FileManager.default
        let root = fileManager.temporaryDirectory
            .appendingPathComponent("hg-ignore-crosscheck-\(UUID().uuidString)")
        try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: root) }

        let initResult = try runGit(["init", "-q", "."], in: root)
        try #require(initResult.status == 0)
        try Data(ignoreText.utf8).write(to: root.appendingPathComponent(".gitignore"))
        for (path, isDirectory) in entries {
            let url = root.appendingPathComponent(path)
            if isDirectory {
                try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
            } else {
                try fileManager.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data().write(to: url)
            }
        }

        let input = entries.map { $0.0 + "\0" }.joined()
        let result = try runGit(["check-ignore", "--no-index", "-z", "--stdin"], in: root, input: input)
        // 0: some paths ignored, 1: none ignored, anything else: an error.
        try #require(result.status == 0 || result.status == 1)
        let gitIgnored = Set(result.output.split(separator: "\0").map(String.init))

        let rules = IgnoreRules(text: ignoreText)
        let directories = Set(entries.filter { $0.1 }.map { $0.0 })
        var ignoredCount = 0
        for (path, isDirectory) in entries {
            // git reports a path inside an ignored directory as ignored; our callers never descend
            // into one. Emulate that top-down walk so that both answers are about the same thing.
            let components = path.split(separator: "/").map(String.init)
            var ours = false
            for depth in 1...components.count {
                let prefix = components[0..<depth].joined(separator: "/")
                let prefixIsDirectory = depth < components.count ? true : isDirectory
                #expect(depth == components.count || directories.contains(prefix))
                if rules.isIgnored(prefix, isDirectory: prefixIsDirectory) {
                    ours = true
                    break
                }
            }
            if ours { ignoredCount += 1 }
            #expect(ours == gitIgnored.contains(path), "path \(path.debugDescription)")
        }
        // Sanity: the fixture exercises both outcomes.
        #expect(ignoredCount > 10)
        #expect(ignoredCount < entries.count - 10)
    }
}

/// Runs git in `directory`, isolated from the user's and system's configuration.
private func runGit(
    _ arguments: [String], in directory: URL, input: String = ""
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git"] + arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
    environment["HOME"] = directory.path
    environment["XDG_CONFIG_HOME"] = directory.path
    environment["GIT_CONFIG_NOSYSTEM"] = "1"
    environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
    process.environment = environment
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
