import Foundation
import HGAudit
import Testing

/// `VerifyCheck` is the closed set of problem categories docs/INVARIANTS.md lists: the same
/// names, in the same order, each under the same invariant.
@Suite struct VerifyCheckTests {
    @Test("the check names and their invariants are those of INVARIANTS.md's table")
    func namesMatchTheDocumentation() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/INVARIANTS.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex(of: "| check | invariant | reported |"))
        // The rows after the header and its rule, up to the first line that is not a row.
        let rows = lines[(header + 2)...].prefix { $0.hasPrefix("| `") }.map { row in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return (cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells[1])
        }
        #expect(rows.map(\.0) == VerifyCheck.allCases.map(\.rawValue))
        #expect(rows.map(\.1) == VerifyCheck.allCases.map(\.invariant.rawValue))
        #expect(Set(VerifyCheck.allCases.map(\.invariant)) == Set(Invariant.allCases))
    }
}
