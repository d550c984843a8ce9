/// The one rule for printing text that another replica chose: commit messages, paths, refusal
/// reasons and error texts from a peer (README, "Text from other replicas").
///
/// A member holds a valid key and can sign any message, so such text must never move the
/// cursor, retitle the window, end a line, or reorder what the terminal shows. Every scalar
/// that could is written as a visible escape instead:
///
/// - `\n`, `\r`, `\t` for those three; `\xNN` for the other C0 controls (U+0000–U+001F),
///   DEL (U+007F) and the C1 controls (U+0080–U+009F, which some terminals obey as ESC sequences);
/// - `\u{NNNN}` for the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
///   U+2066–U+2069: they reorder the rest of the line as displayed) and the line and paragraph
///   separators (U+2028, U+2029).
///
/// Everything else is printed as it is. Invalid UTF-8 never reaches this point: messages and
/// paths are checked on decoding, and bytes from the wire are decoded with replacement
/// characters (U+FFFD).
enum PeerText {
    /// Whether `scalar` is printed as an escape.
    static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1f, 0x7f...0x9f: return true
        case 0x061c, 0x200e, 0x200f, 0x2028...0x202e, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// `text` with every scalar of the rule written as an escape. `keeping` lists scalars left
    /// as they are (the line structure of our own output). With `quoting`, `\` and `'` are
    /// escaped too, so that the text inside single quotes reads back unambiguously (file names).
    static func escaped(_ text: String, keeping: Set<Unicode.Scalar> = [], quoting: Bool = false) -> String {
        guard needsWork(text, keeping: keeping, quoting: quoting) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if keeping.contains(scalar) {
                out.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\\" where quoting: out.append(contentsOf: "\\\\".unicodeScalars)
            case "'" where quoting: out.append(contentsOf: "\\'".unicodeScalars)
            default:
                guard mustEscape(scalar) else {
                    out.append(scalar)
                    continue
                }
                let hex = String(scalar.value, radix: 16)
                if scalar.value < 0x100 {
                    out.append(contentsOf: ("\\x" + (hex.count == 1 ? "0" : "") + hex).unicodeScalars)
                } else {
                    out.append(contentsOf: "\\u{\(hex)}".unicodeScalars)
                }
            }
        }
        return String(out)
    }

    /// A file name in single quotes, escaped reversibly: `'a\'b\x1b'`.
    static func quoted(_ name: String) -> String { "'" + escaped(name, quoting: true) + "'" }

    /// A path as listed by `status`, `show`, `checkout` and `commit`: as it is when nothing in
    /// it needs escaping and it holds no quote or backslash, otherwise quoted (as git quotes
    /// unusual names).
    static func path(_ name: String) -> String {
        needsWork(name, keeping: [], quoting: true) ? quoted(name) : name
    }

    /// The lines of a commit message: split at LF (a CR before it, a CRLF line ending, is
    /// dropped), each line escaped, so that no line can start a new record of the output.
    static func messageLines(_ message: String) -> [String] {
        // Most messages are one line with nothing to escape.
        if !needsWork(message, keeping: [], quoting: false) { return [message] }
        return message.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var scalars = String.UnicodeScalarView(line)
            if scalars.last == "\r" { scalars.removeLast() }
            return escaped(String(scalars))
        }
    }

    /// Whether `text` holds anything to escape. Plain ASCII (most output) is decided from
    /// the UTF-8 bytes alone, in place.
    private static func needsWork(_ text: String, keeping: Set<Unicode.Scalar>, quoting: Bool) -> Bool {
        var text = text
        text.makeContiguousUTF8()
        let ascii: Bool? =
            text.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
                for byte in bytes {
                    if byte >= 0x80 { return nil }
                    if byte < 0x20 || byte == 0x7f {
                        if keeping.contains(Unicode.Scalar(byte)) { continue }
                        return true
                    }
                    if quoting && (byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'")) { return true }
                }
                return false
            } ?? nil
        if let ascii { return ascii }
        return text.unicodeScalars.contains { scalar in
            if keeping.contains(scalar) { return false }
            return mustEscape(scalar) || (quoting && (scalar == "\\" || scalar == "'"))
        }
    }
}
