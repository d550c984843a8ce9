import ArgumentParser
import HGRepository

extension HGBFT {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log",
            abstract: "Show the history, newest first.",
            discussion: """
                Operations are ordered children before parents; among concurrent ones, the newest claimed \
                time first (times are advisory: authors set them). Reads only the index, never the objects.

                Examples:
                  hg-bft log
                  hg-bft log --graph --oneline
                  hg-bft log -n 5 --json
                """)

        @Option(name: .short, help: "Show at most N operations.")
        var n: Int?

        @Flag(help: "Draw the DAG beside the history, like git log --graph.")
        var graph = false

        @Flag(help: "One line per operation: short id, author, message.")
        var oneline = false

        @OptionGroup var output: JSONFlag

        func validate() throws {
            if let n, n < 0 { throw ValidationError("-n must not be negative") }
        }

        func run() throws {
            let repository = try openRepository()
            let report = try repository.log(limit: n, graph: graph && !output.json)
            if output.json {
                try JSONOutput.print(report.entries.map(LogJSON.init))
                return
            }
            var out = OutputBuffer()
            var authors = AuthorNames()
            for (index, entry) in report.entries.enumerated() {
                let rows = report.graphRows?[index]
                let lines =
                    oneline
                    ? [onelineText(entry, &authors)]
                    : fullText(entry, &authors, last: index == report.entries.count - 1)
                for (lineNumber, line) in lines.enumerated() {
                    if let rows {
                        out.line(trimRight((lineNumber == 0 ? rows.commitLine : rows.continuation) + line))
                    } else {
                        out.line(line)
                    }
                }
                for extra in rows?.after ?? [] { out.line(extra) }
            }
            out.flush()
        }

        /// Peer id texts, computed once per author (each costs a hash and a base32 encoding).
        struct AuthorNames {
            private var cache: [PeerID: String] = [:]
            mutating func full(_ peer: PeerID) -> String {
                if let known = cache[peer] { return known }
                let text = peer.text
                cache[peer] = text
                return text
            }
            mutating func short(_ peer: PeerID) -> String { String(full(peer).prefix(PeerID.shortLength)) }
        }

        private func describe(_ entry: LogEntry) -> String {
            let s = entry.summary
            switch s.kind {
            case Payload.Kind.genesis: return "(genesis: repository created)"
            case Payload.Kind.membership: return "(membership: \(entry.membership?.description ?? "unreadable"))"
            case Payload.Kind.change: return PeerText.messageLines(s.message).first ?? ""
            default: return "(extension operation 0x\(String(s.kind, radix: 16)))"
            }
        }

        private func onelineText(_ entry: LogEntry, _ authors: inout AuthorNames) -> String {
            "\(entry.summary.id.short) \(authors.short(entry.summary.author)) \(describe(entry))"
        }

        private func fullText(_ entry: LogEntry, _ authors: inout AuthorNames, last: Bool) -> [String] {
            let s = entry.summary
            var lines = ["op \(s.id.hex)\(entry.isHead ? " (head)" : "")"]
            if s.parents.count > 1 { lines.append("Parents: \(s.parents.map(\.short).joined(separator: " "))") }
            lines.append("Author: \(authors.full(s.author)) #\(s.sequence)")
            lines.append("Date:   \(TimeFormat.utc(s.timestamp))")
            lines.append("")
            if s.kind == Payload.Kind.change {
                // Each line escaped and indented, so none can pass for an "op" header of its own.
                for line in PeerText.messageLines(s.message) { lines.append("    \(line)") }
            } else {
                lines.append("    \(describe(entry))")
            }
            if !last { lines.append("") }
            return lines
        }

        private func trimRight(_ s: String) -> String {
            var t = s
            while t.hasSuffix(" ") { t.removeLast() }
            return t
        }
    }
}

struct LogJSON: Encodable {
    let id: String
    let author: String
    let sequence: UInt64
    let parents: [String]
    let time: String
    let timestampMs: UInt64
    let kind: String
    let message: String
    let paths: Int
    let head: Bool
    let membership: MembershipJSON?

    init(_ entry: LogEntry) {
        let s = entry.summary
        id = s.id.hex
        author = s.author.text
        sequence = s.sequence
        parents = s.parents.map(\.hex)
        time = TimeFormat.iso(s.timestamp)
        timestampMs = s.timestamp
        kind = Payload.name(ofKind: s.kind)
        message = s.message
        paths = s.entryCount
        head = entry.isHead
        membership = entry.membership.map(MembershipJSON.init)
    }
}
