import HGCore
import Testing

@testable import HGRepository

/// `ConflictRendering` against FORMAT.md 4.2, rule by rule: which versions are text, the marker
/// lines, the added final newline, the mode, and the binary rule when the lowest id is a deletion.
@Suite("Conflict rendering (FORMAT.md 4.2)")
struct ConflictRenderingTests {
    /// Operation ids with a known order: `id(1) < id(2) < …`.
    private func id(_ n: UInt8) -> ObjectID {
        ObjectID(hex: String(n, radix: 16).leftPadded(to: 2) + String(repeating: "0", count: 62))
            ?? ObjectID(raw: .zero)
    }

    private func version(
        _ n: UInt8, _ content: [UInt8]?, mode: FileMode = .regular,
        author: String = "hgabcdefghij"
    ) -> ConflictRendering.Version {
        .init(op: id(n), author: author, content: content, mode: content == nil ? nil : mode)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("text: markers by operation id with 12 hex digits and the author label, a newline added only where missing")
    func textLayout() {
        let rendered = ConflictRendering.render([
            version(3, Array("no newline".utf8), author: "hgthirdauthr"),
            version(1, Array("ends in LF\n".utf8), author: "hgfirstauthr"),
            version(4, Array("ends in CR\r".utf8)),
            version(2, nil, author: "hgdeleterabc"),
            version(5, []),
            version(6, Array("CRLF\r\n".utf8)),
        ])
        let short = { (n: UInt8) in String(n, radix: 16).leftPadded(to: 2) + String(repeating: "0", count: 10) }
        #expect(
            text(rendered.content) == """
                <<<<<<< op \(short(1)) by hgfirstauthr
                ends in LF
                ======= op \(short(2)) by hgdeleterabc (deleted)
                ======= op \(short(3)) by hgthirdauthr
                no newline
                ======= op \(short(4)) by hgabcdefghij
                ends in CR\r
                ======= op \(short(5)) by hgabcdefghij
                ======= op \(short(6)) by hgabcdefghij
                CRLF\r
                >>>>>>> end of conflict (6 versions)

                """)
        #expect(rendered.mode == .regular)
    }

    @Test("text: the file is regular even when every version is executable")
    func textModeIsRegular() {
        let rendered = ConflictRendering.render([
            version(1, Array("a\n".utf8), mode: .executable),
            version(2, Array("b\n".utf8), mode: .executable),
        ])
        #expect(rendered.mode == .regular)
        #expect(rendered.content.starts(with: Array("<<<<<<< ".utf8)))
    }

    /// Valid UTF-8 is RFC 3629's: a byte-order mark and the largest code point are text;
    /// a NUL byte, an overlong form, a surrogate, a code point above U+10FFFF, a truncated
    /// sequence and a lone continuation byte are not.
    @Test("what counts as text: valid UTF-8 without a NUL byte")
    func textClassification() {
        let other = version(1, Array("plain\n".utf8))
        let texts: [[UInt8]] = [[0xEF, 0xBB, 0xBF, 0x61], [0xF4, 0x8F, 0xBF, 0xBF], Array("café ✓\n".utf8), []]
        for content in texts {
            #expect(
                ConflictRendering.render([other, version(2, content)]).content.starts(with: Array("<<<<<<<".utf8)),
                "\(content) is text")
        }
        let binaries: [[UInt8]] = [
            [0x61, 0x00, 0x62], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0x63, 0x61, 0x66, 0xE9], [0xE2, 0x9C], [0x80],
        ]
        for content in binaries {
            // The lowest id is the text version: it is written alone, unmarked.
            #expect(
                ConflictRendering.render([other, version(2, content)]).content == Array("plain\n".utf8),
                "\(content) is binary")
        }
    }

    @Test("binary: the lowest id that is not a deletion is written as it is, with its mode")
    func binaryPicksTheLowestWrite() {
        let binary: [UInt8] = [0x00, 0x01, 0x02]
        // The lowest id is a deletion: the next version is written, here a text one, unmarked.
        var rendered = ConflictRendering.render([
            version(1, nil), version(3, binary),
            version(2, Array("text\n".utf8), mode: .executable),
        ])
        #expect(rendered.content == Array("text\n".utf8))
        #expect(rendered.mode == .executable)
        // A deletion against one binary version: that version.
        rendered = ConflictRendering.render([version(1, nil), version(2, binary, mode: .executable)])
        #expect(rendered.content == binary)
        #expect(rendered.mode == .executable)
        rendered = ConflictRendering.render([version(2, nil), version(1, binary)])
        #expect(rendered.content == binary)
        #expect(rendered.mode == .regular)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
