import Testing

@testable import HGCore

/// A valid path of exactly `length` bytes: components of 255 `a`s (or fewer) joined by `/`.
private func pathOfLength(_ length: Int) -> [UInt8] {
    var out: [UInt8] = []
    while out.count < length {
        if !out.isEmpty { out.append(UInt8(ascii: "/")) }
        let left = length - out.count
        // Never leave a single byte for a final component after a slash: take
        // one less here so the last component has at least 2 bytes.
        let take = left <= 255 ? left : (left - 255 < 2 ? 253 : 255)
        out += [UInt8](repeating: UInt8(ascii: "a"), count: take)
    }
    return out
}

private func pathError(_ bytes: [UInt8]) -> DecodeError? {
    decodeError { () throws(DecodeError) in _ = try RepoPath(bytes: bytes) }
}

@Suite("RepoPath")
struct RepoPathTests {
    @Test(
        "valid paths are accepted and keep their bytes",
        arguments: [
            "a", "a/b.txt", "dir/sub/file", "README", ".gitignore", "a/.hidden", "...", "..a", "a..", ".hgrepox",
            "x.hgrepo", ".hgrep", "with space", "dash-and_underscore", "café/naïve.txt", "日本語/ファイル.md", "emoji/🎉",
            "a~b", "back\\slash", "colon:name", "~",
        ])
    func accepts(path: String) throws {
        let repoPath = try RepoPath(path)
        #expect(repoPath.bytes == Array(path.utf8))
        #expect(repoPath.string == path)
        #expect(repoPath.description == path)
        #expect(try RepoPath(bytes: Array(path.utf8)) == repoPath)
        #expect(repoPath.components == path.split(separator: "/").map(String.init))
    }

    /// Swift's `String` equality is canonical equivalence; paths are bytes (FORMAT.md 2.9).
    @Test("NFC and NFD spellings of a name are different paths: equality, hashing and order are bytewise")
    func canonicallyEquivalentSpellingsAreDifferentPaths() throws {
        let nfc = try RepoPath("caf\u{E9}")
        let nfd = try RepoPath("cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}", "String equality is canonical equivalence (the reason for this test)")
        #expect(nfc != nfd)
        #expect(Set([nfc, nfd, try RepoPath("caf\u{E9}")]).count == 2)
        // 0x65 ('e', then U+0301) sorts before 0xc3 (the first byte of U+00E9).
        #expect(nfd < nfc && !(nfc < nfd))
        #expect(
            [nfc, nfd, try RepoPath("cafe"), try RepoPath("cafz")].sorted() == [
                try RepoPath("cafe"), nfd, try RepoPath("cafz"), nfc,
            ])
        #expect(try RepoPath("cafe\u{301}/inner").isInside(nfd) && !(try RepoPath("cafe\u{301}/inner").isInside(nfc)))
    }

    /// `/` followed by a combining mark is one `Character`: splitting the `String` would not split there.
    @Test("components split at the byte '/', also before a combining mark")
    func componentsSplitAtTheSlashByte() throws {
        #expect(try RepoPath("a/\u{301}b/c").components == ["a", "\u{301}b", "c"])
        #expect(
            try RepoPath("caf\u{E9}/\u{20DD}").components.map { Array($0.utf8) } == [
                Array("caf\u{E9}".utf8), Array("\u{20DD}".utf8),
            ])
    }

    @Test(
        "structurally invalid paths are rejected",
        arguments: [
            "", "/", "/a", "a/", "a//b", "//", ".", "..", "a/.", "a/..", "./a", "../a", "a/../b", "a/./b",
            ".hgrepo", ".hgrepo/x", "x/.hgrepo", "x/.hgrepo/y",
        ])
    func rejectsStructure(path: String) {
        let error = pathError(Array(path.utf8))
        #expect(error?.isInvalidPath == true, "\(path): \(String(describing: error))")
    }

    @Test(
        "control characters, DEL and NUL are rejected",
        arguments: [
            "a\nb", "a\tb", "\r", "a\u{7f}", "\u{1b}[31m", "a\u{0}b", "\u{0}", "x/\u{1f}",
        ])
    func rejectsControl(path: String) {
        #expect(pathError(Array(path.utf8)) == .invalidPath("control character"))
    }

    @Test("every byte below 0x20 and 0x7f is rejected; the rest of ASCII but '/' is allowed")
    func asciiTable() {
        for byte in UInt8(0)...0x7f {
            let error = pathError([UInt8(ascii: "a"), byte, UInt8(ascii: "b")])
            if byte < 0x20 || byte == 0x7f {
                #expect(error == .invalidPath("control character"), "byte \(byte)")
            } else {
                #expect(error == nil, "byte \(byte)")
            }
        }
    }

    @Test(
        "invalid UTF-8 is rejected",
        arguments: [
            [UInt8(0xff)], [0x61, 0x80], [0x61, 0xc3], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80],
            [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x61, 0x2f, 0xfe],
        ])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(pathError(bytes) == .invalidUTF8(field: "path"))
    }

    @Test("components are limited to 255 bytes")
    func componentLength() {
        let a255 = [UInt8](repeating: UInt8(ascii: "a"), count: 255)
        #expect(pathError(a255) == nil)
        #expect(pathError(Array("d/".utf8) + a255 + Array("/f".utf8)) == nil)
        #expect(pathError(a255 + [UInt8(ascii: "a")])?.isInvalidPath == true)
        #expect(pathError(Array("d/".utf8) + a255 + Array("a/f".utf8))?.isInvalidPath == true)
        #expect(pathError(Array("d/".utf8) + a255 + [UInt8(ascii: "a")])?.isInvalidPath == true)
        // The limit counts bytes, not characters: 128 two-byte characters are 256 bytes.
        let twoByte = Array(String(repeating: "é", count: 128).utf8)
        #expect(twoByte.count == 256)
        #expect(pathError(twoByte)?.isInvalidPath == true)
        #expect(pathError(Array(twoByte.dropLast(2))) == nil)
    }

    @Test("paths are limited to 4096 bytes")
    func pathLength() {
        let atLimit = pathOfLength(4096)
        #expect(atLimit.count == 4096)
        #expect(pathError(atLimit) == nil)
        let over = pathOfLength(4097)
        #expect(over.count == 4097)
        #expect(pathError(over)?.isInvalidPath == true)
        #expect(pathError(pathOfLength(100_000))?.isInvalidPath == true)
    }

    @Test("isInside: equal paths and paths below a directory, not mere string prefixes")
    func isInside() throws {
        let a = try RepoPath("a")
        let ab = try RepoPath("a/b")
        let abc = try RepoPath("a/b/c")
        let aTxt = try RepoPath("a.txt")
        let aa = try RepoPath("aa")
        let b = try RepoPath("b")
        #expect(a.isInside(a))
        #expect(ab.isInside(a))
        #expect(abc.isInside(a))
        #expect(abc.isInside(ab))
        #expect(!a.isInside(ab))
        #expect(!ab.isInside(abc))
        #expect(!aTxt.isInside(a))
        #expect(!aa.isInside(a))
        #expect(!b.isInside(a))
        #expect(!a.isInside(b))
        #expect(try !RepoPath("a/bc").isInside(ab))
        #expect(try RepoPath("a/b/c.txt").isInside(ab))
    }

    @Test("ordering is bytewise")
    func ordering() throws {
        let sorted = try ["A", "Z", "a", "a/b", "a0", "ab", "b", "z", "é"].map { try RepoPath($0) }
        for i in sorted.indices {
            for j in sorted.indices {
                #expect((sorted[i] < sorted[j]) == (i < j), "\(sorted[i]) vs \(sorted[j])")
            }
        }
        // "a/b" < "a0" because '/' (0x2f) < '0' (0x30), and "a/b" > "a" as a longer string.
        #expect(try RepoPath("a/b") < RepoPath("a0"))
    }
}
