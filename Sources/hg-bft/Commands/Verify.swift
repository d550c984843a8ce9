import ArgumentParser
import HGRepository

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit every object, signature, sequence number and index entry.",
        discussion: """
        Checks that every object decompresses within its size limit, hashes to its id and decodes \
        strictly; that every operation's signature verifies; that every parent is present and every \
        author's sequence numbers follow the rule; and that the index, heads, peer refs and state \
        cache agree with the objects. Every problem is listed with its object and file.

        Exit status: 0 clean, 3 problems found, 1 the repository could not be read.

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
            for p in report.problems {
                var where_ = p.file ?? ""
                if let object = p.object { where_ += where_.isEmpty ? object.short : " (\(object.short))" }
                Terminal.out("problem [\(p.check)] \(where_): \(p.message)")
            }
            for note in report.notes { Terminal.err("note: \(note)") }
            for (a, b) in report.equivocations {
                Terminal.out("equivocation: \(a.short) and \(b.short) share an author and sequence number")
            }
            Terminal.out("checked \(report.objects) objects (\(report.operations) operations, \(report.blobs) blobs), \(report.signatures) signatures, \(report.authors) author(s)")
            Terminal.out("heads: \(report.heads.map(\.short).joined(separator: " "))")
            if let fingerprint = report.fingerprint { Terminal.out("state fingerprint: \(fingerprint.hex)") }
            Terminal.out(report.isClean ? "ok: no problems found" : "\(report.problems.count) problem(s) found")
        }
        if !report.isClean { throw Exit(status: ExitStatus.problemsFound) }
    }
}

struct VerifyJSON: Encodable {
    struct Problem: Encodable {
        let check: String
        let object: String?
        let file: String?
        let message: String
    }
    let clean: Bool
    let objects: Int
    let operations: Int
    let blobs: Int
    let signatures: Int
    let authors: Int
    let problems: [Problem]
    let notes: [String]
    let equivocations: [[String]]
    let heads: [String]
    let fingerprint: String?

    init(_ r: VerifyReport) {
        clean = r.isClean
        objects = r.objects
        operations = r.operations
        blobs = r.blobs
        signatures = r.signatures
        authors = r.authors
        problems = r.problems.map { Problem(check: $0.check, object: $0.object?.hex, file: $0.file, message: $0.message) }
        notes = r.notes
        equivocations = r.equivocations.map { [$0.0.hex, $0.1.hex] }
        heads = r.heads.map(\.hex)
        fingerprint = r.fingerprint?.hex
    }
}
