/// A git-config-style text file: `[section]` or `[section "subsection"]`
/// headers, `key = value` lines, `#` and `;` comments. Keys are
/// case-insensitive; values are trimmed; double quotes around a value are removed.
///
/// Every entry is kept when the file is rewritten, grouped by section in
/// first-seen order; comments and blank lines are not kept. Values that would
/// not read back the same (leading or trailing white space, quotes,
/// backslashes, `#` or `;`, line breaks) are written in double quotes with
/// `\"`, `\\`, `\n` and `\t` escapes, which the parser undoes.
public struct Config: Sendable, Equatable {
    /// One `key = value` line with its section.
    public struct Entry: Sendable, Equatable {
        public var section: String
        public var subsection: String?
        public var key: String
        public var value: String
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Parses config text; a malformed line throws with its line number.
    public init(text: String, path: String) throws(StoreError) {
        var section: String?
        var subsection: String?
        // "\r\n" is a single Character in Swift, so split on both forms of line end.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (number, rawLine) in lines.enumerated() {
            let line = String(rawLine).trimmingASCIIWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw .badFile(path: path, reason: "line \(number + 1): unterminated section header")
                }
                let inner = line.dropFirst().dropLast().trimmingASCIIWhitespaceSubstring()
                if let quote = inner.firstIndex(of: "\"") {
                    let name = inner[..<quote].trimmingASCIIWhitespaceSubstring()
                    let rest = inner[inner.index(after: quote)...]
                    guard rest.hasSuffix("\""), !name.isEmpty else {
                        throw .badFile(path: path, reason: "line \(number + 1): bad subsection")
                    }
                    section = name.lowercased()
                    subsection = String(rest.dropLast())
                } else {
                    guard !inner.isEmpty else {
                        throw .badFile(path: path, reason: "line \(number + 1): empty section name")
                    }
                    section = inner.lowercased()
                    subsection = nil
                }
                continue
            }
            guard let currentSection = section else {
                throw .badFile(path: path, reason: "line \(number + 1): key outside any section")
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .badFile(path: path, reason: "line \(number + 1): expected 'key = value'")
            }
            let key = line[..<equals].trimmingASCIIWhitespaceSubstring().lowercased()
            var value = line[line.index(after: equals)...].trimmingASCIIWhitespaceSubstring()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                guard let unescaped = Config.unescape(String(value.dropFirst().dropLast())) else {
                    throw .badFile(path: path, reason: "line \(number + 1): bad escape in quoted value")
                }
                value = unescaped
            }
            guard !key.isEmpty else { throw .badFile(path: path, reason: "line \(number + 1): empty key") }
            entries.append(Entry(section: currentSection, subsection: subsection, key: key, value: value))
        }
    }

    /// The last value of `section.key` (git's rule: the last one wins).
    public func value(_ section: String, _ key: String, subsection: String? = nil) -> String? {
        entries.last {
            $0.section == section.lowercased() && $0.subsection == subsection && $0.key == key.lowercased()
        }?.value
    }

    /// Sets `section.key`, replacing every existing value.
    public mutating func set(_ section: String, _ key: String, _ value: String, subsection: String? = nil) {
        let s = section.lowercased()
        let k = key.lowercased()
        entries.removeAll { $0.section == s && $0.subsection == subsection && $0.key == k }
        entries.append(Entry(section: s, subsection: subsection, key: k, value: value))
    }

    /// Removes every entry of `[section "subsection"]`.
    public mutating func removeSubsection(_ section: String, _ subsection: String) {
        entries.removeAll { $0.section == section.lowercased() && $0.subsection == subsection }
    }

    /// The file text, grouped by section in first-seen order.
    public var text: String {
        var order: [String] = []
        var grouped: [String: [Entry]] = [:]
        for e in entries {
            let header = e.subsection.map { "[\(e.section) \"\($0)\"]" } ?? "[\(e.section)]"
            if grouped[header] == nil { order.append(header) }
            grouped[header, default: []].append(e)
        }
        var out = ""
        for header in order {
            out += header + "\n"
            for e in grouped[header] ?? [] { out += "\t\(e.key) = \(Config.quoteIfNeeded(e.value))\n" }
        }
        return out
    }
}

extension Config {
    static func quoteIfNeeded(_ value: String) -> String {
        let risky =
            value.isEmpty == false
            && (value.trimmingASCIIWhitespace() != value
                || value.contains { "\"\\#;\n\r\t".contains($0) || $0 == "\r\n" })
        guard risky else { return value }
        var out = "\""
        for c in value.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    static func unescape(_ quoted: String) -> String? {
        var out = ""
        var escaping = false
        for c in quoted.unicodeScalars {
            if escaping {
                switch c {
                case "\"": out += "\""
                case "\\": out += "\\"
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                default: return nil
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.unicodeScalars.append(c)
            }
        }
        return escaping ? nil : out
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespaceSubstring() -> String {
        String(self).trimmingASCIIWhitespace()
    }
}
