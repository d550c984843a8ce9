/// Reads back the topology a `git log --graph`-style drawing encodes: for each commit row (its
/// `*`), the commits its lines lead down to. Used to check `GraphLayout` against the DAG it
/// draws and against git's own drawing of the same DAG, whose characters differ in places
/// (git draws octopus merges as `*-.`, we open one lane per row), so that what is compared is
/// what a reader follows: which line goes where.
///
/// Geometry, in half-character units (x = 2 × column): a `|` in column c runs down the middle
/// (x = 2c+1); `/` from its top right (2c+2) to its bottom left (2c); `\` from top left (2c) to
/// bottom right (2c+2); a run of `_` (with the `|` it passes) lies along the bottom of its row;
/// a `*` owns its whole top and bottom edge (2c ... 2c+2), and `*-.` carries its bottom edge
/// right along its dashes to the bottom right of the `.` (git's octopus merges).
///
/// Lines join where their ends meet exactly; a diagonal's end that meets nothing exactly joins
/// the `|` half a column beside it (that is how `|\` and `|/` attach to lanes), and a `|` joins
/// a diagonal beginning half a column beside it when the `|` ends there or nothing else leads
/// into the diagonal; a diagonal that meets a `|` exactly between its end and the next diagonal
/// of its slant hops over it (git's crossing `/` `|` `/`). Exact meetings win over the
/// half-column rule, so that a line passing a lane by is never read as joining it.
struct GraphDrawingTopology {
    private enum Kind {
        case vertical
        case diagonal(slash: Bool)
    }
    private struct Segment {
        let row: Int
        let top: Int
        let bottom: Int
        let kind: Kind
        var isDiagonal: Bool {
            if case .diagonal = kind { return true }
            return false
        }
    }
    private struct Star {
        let row: Int
        let low: Int
        let high: Int
        let label: String
        /// The bottom right of a `*-.`'s `.`, if any.
        let dot: Int?
    }
    private struct Run {
        let row: Int
        let low: Int
        let high: Int
    }

    private var segments: [Segment] = []
    private var stars: [Star] = []
    private var runs: [Run] = []

    /// `lines`: each row's drawing, with the commit's label after it on commit rows (labels
    /// start with a letter, so the drawing ends where the first letter or digit is).
    init(_ lines: [String]) {
        for (row, line) in lines.enumerated() {
            let all = Array(line)
            let drawingEnd = all.firstIndex { !" |/\\_*-.".contains($0) } ?? all.count
            let chars = Array(all[..<drawingEnd])
            let label = String(all[drawingEnd...]).split(separator: " ").first.map(String.init) ?? ""
            var column = 0
            while column < chars.count {
                switch chars[column] {
                case "|":
                    segments.append(Segment(row: row, top: 2 * column + 1, bottom: 2 * column + 1, kind: .vertical))
                case "/":
                    segments.append(
                        Segment(row: row, top: 2 * column + 2, bottom: 2 * column, kind: .diagonal(slash: true)))
                case "\\":
                    segments.append(
                        Segment(row: row, top: 2 * column, bottom: 2 * column + 2, kind: .diagonal(slash: false)))
                case "*":
                    var end = column + 1
                    while end < chars.count && chars[end] == "-" { end += 1 }
                    let dot = end < chars.count && chars[end] == "." ? 2 * end + 2 : nil
                    stars.append(Star(row: row, low: 2 * column, high: 2 * column + 2, label: label, dot: dot))
                    if dot != nil { column = end }
                default: break
                }
                column += 1
            }
            // Runs: `_` with the `|` characters they pass, along the bottom of the row.
            var start: Int? = nil
            var hasUnderscore = false
            for c in 0...chars.count {
                if c < chars.count && (chars[c] == "_" || chars[c] == "|") {
                    if start == nil {
                        start = c
                        hasUnderscore = false
                    }
                    if chars[c] == "_" { hasUnderscore = true }
                } else if let s = start {
                    if hasUnderscore { runs.append(Run(row: row, low: 2 * s, high: 2 * c)) }
                    start = nil
                }
            }
        }
    }

    /// For each commit label, the labels its lines lead down to.
    func parents() -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for star in stars {
            var found = Set<String>()
            var seen = Set<Int>()
            var queue: [Int] = []
            // Below the star: anything its bottom edge (or its `.`) touches in the next row.
            let row = star.row + 1
            for other in stars where other.row == row && other.low < star.high && star.low < other.high {
                found.insert(other.label)
            }
            // git's `*-----.` hangs a diagonal from each point of its dashes.
            let reach = star.dot ?? star.high
            for (i, s) in segments.enumerated() where s.row == row {
                let touches = s.isDiagonal ? (star.low...reach).contains(s.top) : (star.low...star.high).contains(s.top)
                if touches { queue.append(i) }
            }
            while let i = queue.popLast() {
                guard seen.insert(i).inserted else { continue }
                let (targets, next) = below(segments[i])
                found.formUnion(targets)
                queue += next
            }
            result[star.label] = found
        }
        return result
    }

    /// Where a segment's bottom end leads: stars reached, and segments that go on.
    private func below(_ s: Segment) -> (Set<String>, [Int]) {
        let row = s.row + 1
        let x = s.bottom
        var targets = Set<String>()
        for star in stars where star.row == row && (star.low...star.high).contains(x) { targets.insert(star.label) }
        var next: [Int] = []
        switch s.kind {
        case .vertical:
            next = indices { $0.row == row && !$0.isDiagonal && $0.top == x }
            // A lane joins a diagonal beside it when the lane ends there (git: `|` then a `/`
            // passing), or when nothing else leads into the diagonal (a fork: `|` then `|\`).
            let ends = next.isEmpty && targets.isEmpty
            if targets.isEmpty {
                next += indices { $0.row == row && $0.isDiagonal && abs($0.top - x) == 1 }.filter {
                    ends || !hasExactAbove($0)
                }
            }
        case let .diagonal(slash):
            var exact = indices { $0.row == row && $0.isDiagonal && $0.top == x }
            exact += hops(from: s, slash: slash)
            for run in runs where run.row == s.row && (run.low...run.high).contains(x) {
                exact += indices { $0.row == row && $0.isDiagonal && (run.low...run.high).contains($0.top) }
            }
            next = exact
            if exact.isEmpty && targets.isEmpty {
                next = indices { $0.row == row && !$0.isDiagonal && abs($0.top - x) == 1 }
            }
        }
        return (targets, next)
    }

    /// The diagonal of the same slant one column on, past a `|` between them (a crossing).
    private func hops(from s: Segment, slash: Bool) -> [Int] {
        let row = s.row + 1
        let step = slash ? -2 : 2
        let lane = s.bottom + step / 2
        guard segments.contains(where: { $0.row == row && !$0.isDiagonal && $0.top == lane }) else { return [] }
        return indices {
            guard $0.row == row, case let .diagonal(otherSlash) = $0.kind else { return false }
            return otherSlash == slash && $0.top == s.bottom + step
        }
    }

    /// Whether a diagonal's top meets something exactly in the row above.
    private func hasExactAbove(_ index: Int) -> Bool {
        let d = segments[index]
        let row = d.row - 1
        if stars.contains(where: { $0.row == row && ($0.low...($0.dot ?? $0.high)).contains(d.top) }) { return true }
        if segments.contains(where: { $0.row == row && $0.isDiagonal && $0.bottom == d.top }) { return true }
        if runs.contains(where: { $0.row == row && ($0.low...$0.high).contains(d.top) }) { return true }
        return segments.contains { s in
            guard s.row == row, case let .diagonal(slash) = s.kind else { return false }
            return hops(from: s, slash: slash).contains(index)
        }
    }

    private func indices(where predicate: (Segment) -> Bool) -> [Int] {
        segments.indices.filter { predicate(segments[$0]) }
    }
}
