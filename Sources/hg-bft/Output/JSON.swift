import FoundationEssentials

/// Prints an `Encodable` value as pretty, key-sorted JSON on stdout.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Terminal.out(String(decoding: data, as: UTF8.self))
    }
}
