import ArgumentParser
import HGRepository

extension HGBFT {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Audit the whole history against the Byzantine Eventual Consistency invariants.",
            discussion: """
                Checks every object (decompression within its size limit, hash, strict decoding), every \
                signature, every parent and sequence number, that every operation's author held the needed \
                role in the membership of the operation's own causal past, that no write without effect \
                (a removed member's concurrent write) shows in the state, and that the index, heads, peer \
                refs and caches agree with the objects. Prints a table of the invariants of \
                docs/INVARIANTS.md (what was checked, how many violations), every problem with its object \
                and file, the equivocations found (two signed operations by one author with one sequence \
                number: kept, and shown as proof), a summary per author, the current members, the heads \
                and the state fingerprint.

                Exit status: 0 clean (equivocations alone do not make a history unclean: they are \
                recorded, not rejected); 3 violations found; 1 the repository could not be read.

                Examples:
                  hg-bft verify
                  hg-bft verify --json
                """)

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            let report = try repository.verify()
            if output.json {
                try JSONOutput.print(VerifyJSON(report))
            } else {
                render(report)
            }
            if !report.isClean { throw Exit(status: ExitStatus.problemsFound) }
        }

        private func render(_ report: VerifyReport) {
            for p in report.problems {
                // File names come from the disk and messages may quote an object's fields: one line each.
                var where_ = p.file.map { PeerText.escaped($0) } ?? ""
                if let object = p.object { where_ += where_.isEmpty ? object.short : " (\(object.short))" }
                Terminal.out("problem [\(p.check.rawValue)] \(where_): \(PeerText.escaped(p.message))")
            }
            for note in report.notes { Terminal.err("note: \(PeerText.escaped(note))") }
            Terminal.out(
                "checked \(report.objects) objects (\(report.operations) operations, \(report.blobs) blobs), \(report.signatures) signatures, \(report.authors) author(s)"
            )
            Terminal.out("")
            Terminal.out("invariant              checked  violations")
            for row in report.invariants {
                let name = row.invariant.rawValue.padded(to: 20)
                Terminal.out(
                    "\(name) \(String(row.checked).rightAligned(to: 9))  \(String(row.violations).rightAligned(to: 10))"
                )
            }
            Terminal.out("")
            if report.equivocations.isEmpty {
                Terminal.out("equivocations: none")
            } else {
                Terminal.out(
                    "equivocations: \(report.equivocations.count) (kept; each pair below is signed proof, export with 'hg-bft cat-object --raw <id>')"
                )
                for e in report.equivocations {
                    Terminal.out("  \(e.author.text) signed two operations with sequence \(e.sequence):")
                    for op in [e.first, e.second] {
                        Terminal.out("    \(op.id.hex)  signature \(Hex.encode(op.signature))")
                    }
                }
            }
            Terminal.out("")
            Terminal.out("authors:")
            for a in report.authorSummaries {
                let forks = a.forks == 0 ? "no forks" : "\(a.forks) fork(s)"
                Terminal.out(
                    "  \(a.author.text)  \(a.operations) operation(s), sequence \(a.firstSequence)-\(a.lastSequence), \(forks)"
                )
            }
            if let membership = report.membership {
                Terminal.out("")
                Terminal.out("members (admin quorum \(membership.quorum)):")
                for line in MemberTable.lines(membership) { Terminal.out("  " + line) }
                let voided = MemberTable.voidedLines(membership)
                if !voided.isEmpty {
                    Terminal.out("membership operations without effect:")
                    for line in voided { Terminal.out("  " + line) }
                }
            }
            Terminal.out("")
            Terminal.out("heads: \(report.heads.map(\.short).joined(separator: " "))")
            if let fingerprint = report.fingerprint { Terminal.out("state fingerprint: \(fingerprint.hex)") }
            Terminal.out(report.isClean ? "ok: no violations found" : "\(report.problems.count) violation(s) found")
        }
    }
}

struct VerifyJSON: Encodable {
    struct Problem: Encodable {
        let check: String
        let invariant: String
        let object: String?
        let file: String?
        let message: String
    }
    struct Row: Encodable {
        let invariant: String
        let checked: Int
        let violations: Int
    }
    struct Proof: Encodable {
        let author: String
        let sequence: UInt64
        /// Both operations' canonical encodings, hex: anyone can check ids and signatures.
        let operations: [String]
        let ids: [String]
    }
    struct Author: Encodable {
        let author: String
        let operations: Int
        let firstSequence: UInt64
        let lastSequence: UInt64
        let forks: Int
    }
    let clean: Bool
    let objects: Int
    let operations: Int
    let blobs: Int
    let signatures: Int
    let authors: Int
    let invariants: [Row]
    let problems: [Problem]
    let notes: [String]
    let equivocations: [Proof]
    let authorSummaries: [Author]
    let membership: MembershipOutcomeJSON?
    let heads: [String]
    let fingerprint: String?

    init(_ r: VerifyReport) {
        clean = r.isClean
        objects = r.objects
        operations = r.operations
        blobs = r.blobs
        signatures = r.signatures
        authors = r.authors
        invariants = r.invariants.map {
            Row(invariant: $0.invariant.rawValue, checked: $0.checked, violations: $0.violations)
        }
        problems = r.problems.map {
            Problem(
                check: $0.check.rawValue, invariant: $0.invariant.rawValue, object: $0.object?.hex, file: $0.file,
                message: $0.message)
        }
        notes = r.notes
        equivocations = r.equivocations.map {
            Proof(
                author: $0.author.text, sequence: $0.sequence,
                operations: [Hex.encode($0.first.encoded), Hex.encode($0.second.encoded)],
                ids: [$0.first.id.hex, $0.second.id.hex])
        }
        authorSummaries = r.authorSummaries.map {
            Author(
                author: $0.author.text, operations: $0.operations, firstSequence: $0.firstSequence,
                lastSequence: $0.lastSequence, forks: $0.forks)
        }
        membership = r.membership.map(MembershipOutcomeJSON.init)
        heads = r.heads.map(\.hex)
        fingerprint = r.fingerprint?.hex
    }
}
