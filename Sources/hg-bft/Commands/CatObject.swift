import ArgumentParser
import HGRepository

extension HGBFT {
    struct CatObject: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cat-object",
            abstract: "Print a stored object, decoded (or its raw stored bytes).",
            discussion: """
                Blobs print their content; operations print their decoded fields. The object is checked \
                against its id first, so a damaged object is an error, not output.

                Examples:
                  hg-bft cat-object 3f2a9c1b
                  hg-bft cat-object --type 3f2a9c1b
                  hg-bft cat-object --raw 3f2a9c1b > object.zlib      # the zlib bytes as stored
                  hg-bft cat-object --encoding 3f2a9c1b | xxd         # the canonical encoding
                """)

        @Argument(help: "Object id or prefix.")
        var object: String

        @Flag(help: "Print the bytes stored on disk (zlib-compressed canonical encoding).")
        var raw = false

        @Flag(help: "Print the uncompressed canonical encoding.")
        var encoding = false

        @Flag(name: .customLong("type"), help: "Print only the object type.")
        var typeOnly = false

        @OptionGroup var output: JSONFlag

        func run() throws {
            let repository = try openRepository()
            if raw {
                Terminal.writeRaw(try repository.storedBytes(object))
                return
            }
            let (id, decoded) = try repository.object(object)
            if typeOnly {
                Terminal.out(decoded.type.description)
                return
            }
            switch decoded {
            case let .blob(blob):
                if encoding {
                    Terminal.writeRaw(blob.encoded)
                    return
                }
                if output.json {
                    try JSONOutput.print(BlobJSON(id: id.hex, size: blob.content.count))
                    return
                }
                Terminal.writeRaw(blob.content)
            case let .operation(op):
                if encoding {
                    Terminal.writeRaw(op.encoded)
                    return
                }
                if output.json {
                    try JSONOutput.print(OperationJSON(op))
                    return
                }
                for line in OperationText.lines(op) { Terminal.out(line) }
            }
        }
    }
}

struct BlobJSON: Encodable {
    let id: String
    let type = "blob"
    let size: Int
}
