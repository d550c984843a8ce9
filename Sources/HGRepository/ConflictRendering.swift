import HGCore

/// How a conflicted path is written into the working tree (FORMAT.md 4.2; README, "Conflicts").
///
/// When every live version is text (valid UTF-8 without NUL bytes), the file
/// holds all of them between markers, ordered by operation id:
///
///     <<<<<<< op 1a2b3c4d5e6f by hgabcdefghij
///     first version
///     ======= op 7d8e9f0a1b2c by hgklmnopqrst (deleted)
///     >>>>>>> end of conflict (2 versions)
///
/// A deleted version is a marker line ending in `(deleted)` with no content
/// after it. If any version is binary, the file holds the version of the
/// lowest operation id that is not a deletion, unchanged. Either way the
/// result depends only on the set of live writes, so every replica writes the
/// same bytes, and `status` lists the path as a conflict until a commit of it.
enum ConflictRendering {
    struct Version {
        let op: ObjectID
        let author: String
        /// `nil` for a deletion.
        let content: [UInt8]?
        let mode: FileMode?
    }

    static func render(_ versions: [Version]) -> (content: [UInt8], mode: FileMode) {
        let sorted = versions.sorted { $0.op < $1.op }
        let isText = sorted.allSatisfy { v in
            guard let c = v.content else { return true }
            return !c.contains(0) && String(validating: c, as: UTF8.self) != nil
        }
        if !isText, let first = sorted.first(where: { $0.content != nil }), let content = first.content {
            return (content, first.mode ?? .regular)
        }
        var out: [UInt8] = []
        for (index, v) in sorted.enumerated() {
            let marker = index == 0 ? "<<<<<<<" : "======="
            let suffix = v.content == nil ? " (deleted)" : ""
            out += Array("\(marker) op \(v.op.short) by \(v.author)\(suffix)\n".utf8)
            if let content = v.content {
                out += content
                if let last = content.last, last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
            }
        }
        out += Array(">>>>>>> end of conflict (\(sorted.count) versions)\n".utf8)
        return (out, .regular)
    }
}
