import FoundationEssentials

/// Prints an `Encodable` value as pretty, key-sorted JSON on stdout.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Terminal.out(escapingInStrings(String(decoding: data, as: UTF8.self)))
    }

    /// The encoder escapes C0 controls in strings but leaves DEL, the C1 controls and the
    /// bidirectional controls raw (PeerText.mustEscape). Outside strings JSON is ASCII without
    /// controls but the layout's newlines, so each of those scalars is inside a string and is
    /// written as `\uNNNN`: a parser reads back the same text, a terminal shows it inert.
    static func escapingInStrings(_ json: String) -> String {
        // Plain ASCII (most output) is decided from the UTF-8 bytes alone.
        guard json.utf8.contains(where: { $0 >= 0x7f }),
            json.unicodeScalars.contains(where: { $0.value >= 0x7f && PeerText.mustEscape($0) })
        else { return json }
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            guard scalar.value >= 0x7f, PeerText.mustEscape(scalar) else {
                out.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16)
            out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
        }
        return String(out)
    }
}
