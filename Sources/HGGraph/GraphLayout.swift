import HGCore

/// The text lines drawn for one operation by `log --graph`: the line with the operation's
/// `*`, and the lines after it that draw its edges to its parents.
public struct GraphRows: Sendable, Equatable {
    /// The lanes on the operation's own line, e.g. `"| * "`.
    public let commitLine: String
    /// Lines drawn after the operation: its edges to its parents (`|\`, `|/`, crossings).
    public let after: [String]
    /// Lanes to repeat under the operation's text when it spans several lines (its own lane
    /// included while it has parents).
    public let continuation: String
}

/// Lays out the DAG in columns, like `git log --graph`.
///
/// Each lane waits for one operation, and no two lanes wait for the same one. An operation
/// takes the lane waiting for it (or a new one on the right). Below it, its edges are drawn
/// one move at a time, each move between two straight rows, so that every character touches
/// only the lines it belongs to:
///
/// - its first parent that no lane waits for continues in its lane; each further one opens a
///   lane just right of it (`|\`), the lanes to the right moving over (`\`);
/// - a parent another lane already waits for gets an edge into that lane: `\` or `/` to a
///   neighbouring lane, and past lanes in between by a line under them (`|\|_|_|` then `\`
///   into the lane), as git draws crossings;
/// - an operation whose parents all have lanes gives up its lane: the lanes to its right move
///   left (`/`), and a parent waiting just right of it merges into its line (`|/`);
/// - a root in the last lane is followed by a row without it when a new lane would take its
///   column next (git draws the two touching, as if connected).
public enum GraphLayout {
    public static func layout(graph: Graph, order: [Int]) -> [GraphRows] {
        var lanes: [Int] = []  // the node each lane waits for
        var rows: [GraphRows] = []
        rows.reserveCapacity(order.count)
        for (position, node) in order.enumerated() {
            let col: Int
            if let waiting = lanes.firstIndex(of: node) {
                col = waiting
            } else {
                col = lanes.count
                lanes.append(node)
            }
            let parents = graph.parents[node].map(Int.init).sorted { graph.ids[$0] < graph.ids[$1] }
            let commitLine = lanes.indices.map { $0 == col ? "* " : "| " }.joined()
            var continuation = lanes.indices.map { $0 != col || !parents.isEmpty ? "| " : "  " }.joined()
            while continuation.hasSuffix("  ") { continuation.removeLast(2) }
            var edges = Edges(lanes: lanes, col: col)
            edges.draw(parents: parents)
            // A root in the last lane leaves that column free for the next new lane: a row
            // between them says they are not connected.
            if parents.isEmpty && col == edges.lanes.count && position + 1 < order.count
                && !edges.lanes.contains(order[position + 1])
            {
                edges.separateRoot()
            }
            lanes = edges.lanes
            rows.append(GraphRows(commitLine: commitLine, after: edges.rows, continuation: continuation))
        }
        return rows
    }
}

/// The rows below one operation's line, drawn as its lanes change.
private struct Edges {
    /// The lanes; while the operation's own line still has edges to draw and no parent of its
    /// own in its column, that column holds `Edges.line`.
    var lanes: [Int]
    let col: Int
    var rows: [String] = []
    /// Whether the last row moved a line (a next move needs a straight row first: a move's
    /// characters meet only the straight rows around it).
    private var moved = false
    /// Whether the operation's line has ended (its column is drawn empty).
    private var lineEnded = false
    /// Whether the last row holds the line's last edge, a `/` into the lane on its left.
    private var leftEdgeEndsLine = false

    static let line = -1

    init(lanes: [Int], col: Int) {
        self.lanes = lanes
        self.col = col
    }

    mutating func draw(parents: [Int]) {
        let fresh = parents.filter { !lanes.contains($0) }
        let existing = parents.filter { lanes.contains($0) }
        lanes[col] = fresh.first ?? Edges.line
        // A parent waiting just right of a line with no parent of its own merges into it below.
        let mergesIn = fresh.isEmpty && col + 1 < lanes.count && existing.contains(lanes[col + 1])
        let connections = existing.filter { !(mergesIn && $0 == lanes[col + 1]) }
        // Edges into waiting lanes first: lanes opened before them would be crossed too.
        for (i, parent) in connections.enumerated() {
            guard let target = lanes.firstIndex(of: parent) else { continue }
            let last = i == connections.count - 1
            connect(to: target, lineContinues: !(fresh.isEmpty && !mergesIn && last))
        }
        // Opened in reverse, each just right of the operation's lane, so they end in order.
        for parent in fresh.dropFirst().reversed() { open(parent) }
        if fresh.isEmpty { closeLine(keeping: mergesIn) }
    }

    /// One row that opens a lane for `parent` just right of the operation's lane.
    private mutating func open(_ parent: Int) {
        separate()
        var row = blank(lanes.count + 1)
        for i in 0...col { row[2 * i] = "|" }
        row[2 * col + 1] = "\\"
        for i in lanes.indices where i > col { row[2 * i + 1] = "\\" }
        lanes.insert(parent, at: col + 1)
        emit(row)
    }

    /// An edge from the operation's line to the lane at `target`, which waits for a parent.
    private mutating func connect(to target: Int, lineContinues: Bool) {
        separate()
        var first = straightRow()
        var second = straightRow()
        if !lineContinues {
            first[2 * col] = " "
            second[2 * col] = " "
        }
        if target == col + 1 || target == col - 1 {
            first[target > col ? 2 * col + 1 : 2 * col - 1] = target > col ? "\\" : "/"
            emit(first)
            leftEdgeEndsLine = target < col && !lineContinues
        } else if target > col {
            // Under the lanes in between, then into the target from its left.
            first[2 * col + 1] = "\\"
            for c in stride(from: 2 * col + 3, through: 2 * target - 1, by: 2) { first[c] = "_" }
            second[2 * target - 1] = "\\"
            emit(first)
            emit(second)
        } else {
            first[2 * col - 1] = "/"
            for c in stride(from: 2 * target + 1, through: 2 * col - 3, by: 2) { first[c] = "_" }
            second[2 * target + 1] = "/"
            emit(first)
            emit(second)
        }
        if !lineContinues { lineEnded = true }
    }

    /// Gives up the operation's column: the lanes to its right move left, and with `keeping`
    /// the operation's line runs on into the lane that comes over (its parent).
    private mutating func closeLine(keeping: Bool) {
        if !keeping { lineEnded = true }
        if col + 1 < lanes.count {
            var row = blank(lanes.count)
            // The line's last edge, `/` into the lane on its left, shares its row: `|/ /`.
            if leftEdgeEndsLine, let last = rows.popLast() {
                for (i, c) in last.enumerated() where i < 2 * col { row[i] = c }
            } else {
                separate()
                for i in 0..<col { row[2 * i] = "|" }
                if keeping { row[2 * col] = "|" }
            }
            for i in lanes.indices where i > col { row[2 * i - 1] = "/" }
            emit(row)
        }
        lanes.remove(at: col)
    }

    /// A straight row under a root, whose column the next operation takes.
    mutating func separateRoot() {
        var row = blank(lanes.count + 1)
        for i in lanes.indices { row[2 * i] = "|" }
        rows.append(trimmed(row))
    }

    /// A straight row before a move, when the last row moved.
    private mutating func separate() {
        if moved {
            rows.append(trimmed(straightRow()))
            moved = false
        }
    }

    private func straightRow() -> [Character] {
        var row = blank(lanes.count)
        for i in lanes.indices where !(i == col && lineEnded) { row[2 * i] = "|" }
        return row
    }

    private func blank(_ lanes: Int) -> [Character] { [Character](repeating: " ", count: 2 * lanes + 2) }

    private mutating func emit(_ row: [Character]) {
        rows.append(trimmed(row))
        moved = true
    }

    private func trimmed(_ row: [Character]) -> String {
        var s = String(row)
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
