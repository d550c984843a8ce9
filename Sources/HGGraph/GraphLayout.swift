import HGCore

/// The text lines drawn for one operation by `log --graph`: the line with the
/// operation's `*`, and connector lines that come after it.
public struct GraphRows: Sendable, Equatable {
    /// Lines drawn before the operation: lanes that waited for it closing in (`|/`).
    public let before: [String]
    /// The lanes on the operation's own line, e.g. `"| * "`.
    public let commitLine: String
    /// Lines drawn after the operation (merges and forks), e.g. `"|\\ "`.
    public let after: [String]
    /// Lanes to repeat under the operation's text when it spans several lines.
    public let continuation: String
}

/// Lays out the DAG in columns, like `git log --graph`.
///
/// Each lane waits for one operation. An operation takes the leftmost lane
/// waiting for it; other lanes waiting for it close into that one (`|/`); its
/// first parent continues in its lane and further parents open new lanes to
/// the right (`|\`).
public enum GraphLayout {
    public static func layout(graph: Graph, order: [Int]) -> [GraphRows] {
        var lanes: [Int?] = []  // node each lane waits for
        var rows: [GraphRows] = []
        rows.reserveCapacity(order.count)
        for node in order {
            var column = lanes.firstIndex(of: node)
            if column == nil {
                if let free = lanes.firstIndex(of: nil) { column = free; lanes[free] = node }
                else { lanes.append(node); column = lanes.count - 1 }
            }
            let col = column ?? 0
            let merging = lanes.indices.filter { $0 != col && lanes[$0] == node }
            var before: [String] = []
            // Close the other lanes that waited for this node, before its line: "|/".
            if !merging.isEmpty {
                var chars = [Character](repeating: " ", count: lanes.count * 2)
                for i in lanes.indices where lanes[i] != nil && !merging.contains(i) { chars[2 * i] = "|" }
                for m in merging where m > 0 { chars[2 * m - 1] = "/" }
                for m in merging { lanes[m] = nil }
                before.append(trimmed(String(chars)))
                while let last = lanes.last, last == nil { lanes.removeLast() }
            }
            var commitLine = ""
            for i in lanes.indices {
                commitLine += i == col ? "* " : (lanes[i] == nil ? "  " : "| ")
            }
            var after: [String] = []
            let parents = graph.parents[node].map(Int.init).sorted { graph.ids[$0] < graph.ids[$1] }
            if let first = parents.first {
                lanes[col] = first
                var opened: [Int] = []
                for p in parents.dropFirst() {
                    if lanes.contains(p) { continue }
                    if let free = lanes.indices.first(where: { lanes[$0] == nil && $0 > col }) {
                        lanes[free] = p
                        opened.append(free)
                    } else {
                        lanes.append(p)
                        opened.append(lanes.count - 1)
                    }
                }
                if !opened.isEmpty {
                    var line = ""
                    for i in lanes.indices {
                        if opened.contains(i) { line += "\\ " }
                        else { line += lanes[i] == nil ? "  " : "| " }
                    }
                    after.append(trimmed(line))
                }
            } else {
                lanes[col] = nil
            }
            while let last = lanes.last, last == nil { lanes.removeLast() }
            var continuation = ""
            for lane in lanes { continuation += lane == nil ? "  " : "| " }
            rows.append(GraphRows(before: before, commitLine: commitLine, after: after, continuation: continuation))
        }
        return rows
    }

    private static func trimmed(_ line: String) -> String {
        var s = line
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
