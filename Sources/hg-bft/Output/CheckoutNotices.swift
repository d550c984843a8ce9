import HGRepository

/// What a checkout reports besides the files it wrote and removed, one line each, for stderr:
/// the same words after `checkout`, `sync` and `clone`.
enum CheckoutNotices {
    /// Paths left as they were (uncommitted changes, or something in the way), and files that
    /// collide with a directory of the merged state.
    static func lines(_ result: CheckoutResult) -> [String] {
        leftAlone(result) + collisions(result)
    }

    /// The paths whose merged version was not written, and why.
    static func leftAlone(_ result: CheckoutResult) -> [String] {
        var lines: [String] = []
        let clashes = Set(result.clashes)
        for path in result.kept where !clashes.contains(path) {
            lines.append(
                "kept: \(Terminal.quote(path.string)) has uncommitted changes (the merged version was not written)")
        }
        for path in result.clashes {
            lines.append(
                "kept: \(Terminal.quote(path.string)) has uncommitted changes, and a newer version of it arrived")
        }
        if !result.checkedOut {
            lines.append(
                "not checked out: nothing was written; commit your changes first (they then meet the newer "
                    + "versions as conflicts), then run 'hg-bft checkout' (or 'hg-bft checkout --force' to discard them)"
            )
        }
        for (path, reason) in result.blocked.sorted(by: { $0.key < $1.key }) {
            lines.append("kept: \(Terminal.quote(path.string)) is not written: \(reason)")
        }
        return lines
    }

    /// The files written beside a directory of the same name.
    static func collisions(_ result: CheckoutResult) -> [String] {
        result.collisions.map { collision in
            let start =
                "collision: \(Terminal.quote(collision.path.string)) is both a file and a directory in the merged state; "
            if let aside = collision.aside {
                return start + "the file is written as \(Terminal.quote(aside.string))"
            }
            return start + "no name beside it is free, so the file is only in the history"
        }
    }
}
