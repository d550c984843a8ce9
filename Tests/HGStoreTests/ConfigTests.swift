import HGCore
import Testing

@testable import HGStore

private func configError(_ text: String) -> (path: String, reason: String)? {
    let error = storeError { () throws(StoreError) in _ = try Config(text: text, path: "/repo/.hgrepo/config") }
    if case let .badFile(path, reason)? = error { return (path, reason) }
    return nil
}

@Suite("Config")
struct ConfigTests {
    static let sample = """
        # A comment
        ; another comment
        [core]
        \tpeer = hgabc
        \tName = Alice
        \tquoted = "  spaced value  "
        \tempty =
        \tequals = a=b
        [remote "origin"]
        \turl = https://example.org/repo
        [Remote "Other Name"]
        \turl = /srv/other

        [core]
          name   =   Bob
        """

    @Test func parsesSectionsSubsectionsCommentsAndQuotes() throws {
        let config = try Config(text: ConfigTests.sample, path: "config")
        #expect(config.value("core", "peer") == "hgabc")
        #expect(config.value("core", "quoted") == "  spaced value  ")
        #expect(config.value("core", "empty") == "")
        #expect(config.value("core", "equals") == "a=b")
        #expect(config.value("remote", "url", subsection: "origin") == "https://example.org/repo")
        // Section names are case-insensitive; subsection names are not.
        #expect(config.value("remote", "url", subsection: "Other Name") == "/srv/other")
        #expect(config.value("remote", "url", subsection: "other name") == nil)
        #expect(config.value("remote", "url") == nil, "a subsection's keys are not the section's")
        #expect(config.value("core", "missing") == nil)
        #expect(!config.entries.contains { $0.key.hasPrefix("#") || $0.key.hasPrefix(";") })
        #expect(config.entries.count == 8)
    }

    @Test func lastValueWinsAndKeysAreCaseInsensitive() throws {
        let config = try Config(text: ConfigTests.sample, path: "config")
        #expect(config.value("core", "name") == "Bob")
        #expect(config.value("CORE", "NAME") == "Bob")
        #expect(config.entries.filter { $0.key == "name" }.count == 2)
    }

    @Test func setReplacesEveryValue() throws {
        var config = try Config(text: ConfigTests.sample, path: "config")
        config.set("Core", "NAME", "Carol")
        #expect(config.value("core", "name") == "Carol")
        #expect(config.entries.filter { $0.section == "core" && $0.key == "name" }.map(\.value) == ["Carol"])
        config.set("remote", "url", "https://new.example", subsection: "origin")
        #expect(config.value("remote", "url", subsection: "origin") == "https://new.example")
        #expect(config.value("remote", "url", subsection: "Other Name") == "/srv/other")
        config.set("new", "key", "v")
        #expect(config.value("new", "key") == "v")
        var empty = Config()
        #expect(empty.entries.isEmpty)
        empty.set("core", "peer", "hgxyz")
        #expect(empty.text == "[core]\n\tpeer = hgxyz\n")
    }

    @Test func textParsesBackToTheSameValues() throws {
        let config = try Config(text: ConfigTests.sample, path: "config")
        let reparsed = try Config(text: config.text, path: "config")
        for key in ["peer", "name", "empty", "equals"] {
            #expect(reparsed.value("core", key) == config.value("core", key), "core.\(key)")
        }
        #expect(reparsed.value("remote", "url", subsection: "origin") == "https://example.org/repo")
        #expect(reparsed.value("remote", "url", subsection: "Other Name") == "/srv/other")
    }

    /// A value `set` (or parsed from quotes) must read back unchanged after the file is rewritten.
    @Test func textPreservesValuesThatNeedQuoting() throws {
        let parsed = try Config(text: ConfigTests.sample, path: "config")
        #expect(try Config(text: parsed.text, path: "config").value("core", "quoted") == "  spaced value  ")
        for value in ["  leading", "trailing  ", "\"quoted\""] {
            var config = Config()
            config.set("user", "name", value)
            let reparsed = try Config(text: config.text, path: "config")
            #expect(reparsed.value("user", "name") == value, "value \(value.debugDescription)")
        }
    }

    @Test func crlfLineEndingsParse() throws {
        let config = try Config(text: "[core]\r\n\tpeer = hgabc\r\n[remote \"origin\"]\r\nurl = x\r\n", path: "config")
        #expect(config.value("core", "peer") == "hgabc")
        #expect(config.value("remote", "url", subsection: "origin") == "x")
        #expect(configError("[core]\r\n\r\nnovalue\r\n")?.reason.contains("line 3") == true)
    }

    @Test func keyOutsideASectionReportsTheLine() throws {
        let error = try #require(configError("# header comment\n\nkey = value\n[core]\n"))
        #expect(error.path == "/repo/.hgrepo/config")
        #expect(error.reason.contains("line 3"))
        #expect(error.reason.contains("outside"))
    }

    @Test func unterminatedHeaderReportsTheLine() throws {
        let error = try #require(configError("[core]\n\tpeer = x\n[remote \"origin\"\n\turl = y\n"))
        #expect(error.reason.contains("line 3"))
        #expect(error.reason.contains("unterminated"))
    }

    @Test func lineWithoutEqualsReportsTheLine() throws {
        let error = try #require(configError("[core]\n\tpeer = x\n\n\tjustakey\n"))
        #expect(error.reason.contains("line 4"))
        #expect(error.reason.contains("key = value"))
    }

    @Test func otherMalformedLines() throws {
        #expect(configError("[]\n")?.reason.contains("line 1") == true)
        #expect(configError("[remote \"origin]\n")?.reason.contains("line 1") == true)
        #expect(configError("[ \"sub\"]\n")?.reason.contains("line 1") == true)
        #expect(configError("[core]\n = value\n")?.reason.contains("line 2") == true)
        #expect(configError("") == nil)
        #expect(configError("\n\n# only comments\n") == nil)
    }
}
