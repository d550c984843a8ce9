import ArgumentParser
import HGRepository

extension HGBFT {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one operation: header, parents and the paths it changes.",
            discussion: """
                <op> is a full id or an unambiguous prefix of at least 4 hex digits.

                Examples:
                  hg-bft show 3f2a9c1b
                  hg-bft show 3f2a9c1b --json
                """)

        @Argument(help: "The operation id or prefix.")
        var op: String

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let operation = try repository.operation(op)
            if output.json {
                try JSONOutput.print(OperationJSON(operation))
                return
            }
            for line in OperationText.lines(operation) { Terminal.out(line) }
        }
    }
}

/// The human-readable form of an operation, shared by `show` and `cat-object`.
enum OperationText {
    static func lines(_ op: Operation) -> [String] {
        var lines = ["op \(op.id.hex)"]
        lines.append("Kind:      \(op.payload.kindName)")
        lines.append("Author:    \(op.author.text)")
        lines.append("Sequence:  \(op.sequence)")
        lines.append("Date:      \(TimeFormat.utc(op.timestamp)) (claimed by the author)")
        for parent in op.parents { lines.append("Parent:    \(parent.hex)") }
        lines.append("Signature: \(Hex.encode(op.signature))")
        switch op.payload {
        case let .genesis(genesis):
            lines.append("")
            lines.append("    Repository created; the author is the founding admin.")
            lines.append("    Admin quorum: \(genesis.adminQuorum)")
        case let .change(change):
            lines.append("")
            for line in PeerText.messageLines(change.message) { lines.append("    \(line)") }
            lines.append("")
            for entry in change.entries {
                if let version = entry.version {
                    let mode = version.mode == .executable ? "exec" : "file"
                    lines.append("write \(mode) \(version.blob.short) \(PeerText.path(entry.path.string))")
                } else {
                    lines.append("delete                 \(PeerText.path(entry.path.string))")
                }
            }
        case let .membership(change):
            lines.append("")
            lines.append("    Membership: \(MembershipText.sentence(change))")
        case let .opaque(kind, body):
            lines.append("")
            lines.append(
                "    Extension kind 0x\(String(kind, radix: 16)), \(body.count) byte body (not interpreted by this version)"
            )
        }
        return lines
    }
}

struct OperationJSON: Encodable {
    struct Entry: Encodable {
        let path: String
        let action: String
        let blob: String?
        let mode: String?
    }
    let id: String
    let kind: String
    let author: String
    let sequence: UInt64
    let parents: [String]
    let time: String
    let timestampMs: UInt64
    let signature: String
    let message: String?
    let entries: [Entry]?
    let adminQuorum: Int?
    let membership: MembershipJSON?

    init(_ op: Operation) {
        id = op.id.hex
        kind = op.payload.kindName
        author = op.author.text
        sequence = op.sequence
        parents = op.parents.map(\.hex)
        time = TimeFormat.iso(op.timestamp)
        timestampMs = op.timestamp
        signature = Hex.encode(op.signature)
        message = op.change?.message
        entries = op.change?.entries.map { e in
            Entry(
                path: e.path.string, action: e.version == nil ? "delete" : "write", blob: e.version?.blob.hex,
                mode: e.version.map { $0.mode == .executable ? "executable" : "regular" })
        }
        adminQuorum = op.genesis?.adminQuorum
        membership = op.membership.map(MembershipJSON.init)
    }
}
