import Foundation
import HGCore
import HGTestSupport
import Testing

@testable import HGGraph

/// `log --graph` against `git log --graph` of the same DAG.
///
/// The characters differ by design in places (git draws an octopus merge as `*-.` and crossings
/// partly without `_`; we open one lane per row and draw every crossing under the lanes it
/// passes), so the drawings are compared by the topology they encode: `GraphDrawingTopology`
/// follows every line of a drawing from each `*` down to the commits it reaches. That reading
/// must give back the DAG's parents for git's drawing (which shows the reading is fair) and for
/// ours, in git's order of the commits and in our own.
@Suite("GraphLayout against git log --graph")
struct GraphLayoutGitTests {
    /// Hand-made shapes with three or more lanes.
    static let shapes: [(name: String, dag: [(String, [String])])] = [
        // N's second parent B has a lane already (M's): the edge must still be drawn.
        (
            "octopus, then a merge with a parent another lane waits for",
            [
                ("r", []), ("a", ["r"]), ("b", ["r"]), ("c", ["r"]), ("d", ["a"]), ("m", ["d", "b", "c"]),
                ("n", ["m", "b"]),
            ]
        ),
        // The lanes of a and c close while b's stays between them.
        (
            "lanes closing past a lane that stays",
            [("r", []), ("a", ["r"]), ("b", ["r"]), ("c", ["r"]), ("m", ["a", "c"]), ("n", ["m", "b"])]
        ),
        (
            "criss-cross merges",
            [
                ("r", []), ("a1", ["r"]), ("b1", ["r"]), ("m1", ["a1", "b1"]), ("m2", ["a1", "b1"]),
                ("a2", ["m1"]), ("b2", ["m2"]), ("m3", ["a2", "b2"]),
            ]
        ),
        (
            "a merge reaching back past two lanes",
            [("r", []), ("x", ["r"]), ("y", ["x"]), ("z", ["x"]), ("w", ["y"]), ("v", ["z", "w", "r"])]
        ),
        (
            "four branches merged one by one",
            [
                ("r", []), ("a", ["r"]), ("b", ["r"]), ("c", ["r"]), ("d", ["r"]), ("a2", ["a"]), ("b2", ["b"]),
                ("m1", ["a2", "c"]), ("m2", ["m1", "b2"]), ("m3", ["m2", "d"]),
            ]
        ),
        (
            "two roots and a five-parent merge",
            [
                ("r", []), ("s", []), ("a", ["r"]), ("b", ["s"]), ("c", ["r"]), ("d", ["s", "a"]),
                ("m", ["a", "b", "c", "d", "r"]),
            ]
        ),
    ]

    @Test(arguments: 0..<shapes.count)
    func handMadeShapesDrawTheirDAG(_ index: Int) throws {
        let shape = Self.shapes[index]
        try check(shape.dag, shape.name)
    }

    @Test(arguments: UInt64(1)...12)
    func randomDAGsDrawTheirDAG(_ seed: UInt64) throws {
        var random = SplitMix64(seed: seed &* 0x9E37_79B9)
        var dag: [(String, [String])] = [("n0", [])]
        for i in 1..<28 {
            let window = max(0, i - 7)..<i
            let count = [1, 1, 1, 2, 2, 3, 4][Int(random.next() % 7)]
            var parents = Set<Int>()
            for _ in 0..<count { parents.insert(window.lowerBound + Int(random.next() % UInt64(window.count))) }
            if random.next() % 13 == 0 { parents = [] }  // another root now and then
            dag.append(("n\(i)", parents.sorted().map { "n\($0)" }))
        }
        try check(dag, "seed \(seed)")
    }

    private func check(_ dag: [(String, [String])], _ name: String) throws {
        let expected = Dictionary(uniqueKeysWithValues: dag.map { ($0.0, Set($0.1)) })
        let git = try GitGraph.drawing(dag)
        // git draws a root and the next commit in its column with nothing between them, so its
        // drawing cannot say that a root has no parent: roots are left out of reading git's.
        let roots = Set(dag.filter { $0.1.isEmpty }.map(\.0))
        let gitTopology = GraphDrawingTopology(git).parents().filter { !roots.contains($0.key) }
        #expect(
            gitTopology == expected.filter { !roots.contains($0.key) },
            "\(name): git's drawing does not read back as the DAG: \(Self.differences(gitTopology, expected))\n\(git.joined(separator: "\n"))"
        )

        let (graph, number) = try Self.graph(dag)
        let gitOrder = git.compactMap { line -> Int? in
            guard line.contains("*") else { return nil }
            return line.split(separator: " ").last.flatMap { number[String($0)] }
        }
        #expect(gitOrder.count == dag.count, "\(name): git drew \(gitOrder.count) commits")
        for (orderName, order) in [("git's order", gitOrder), ("newest first", graph.newestFirst())] {
            let ours = Self.render(graph, order: order, labels: dag.map(\.0))
            let topology = GraphDrawingTopology(ours).parents()
            #expect(
                topology == expected,
                """
                \(name), \(orderName): the drawing does not read back as the DAG: \(Self.differences(topology, expected))
                ours:
                \(ours.joined(separator: "\n"))
                git:
                \(git.joined(separator: "\n"))
                """)
        }
    }

    /// The commits whose edges as drawn differ from the DAG's, e.g. `m: drawn [a], parents [a, b]`.
    static func differences(_ drawn: [String: Set<String>], _ expected: [String: Set<String>]) -> String {
        expected.keys.sorted().compactMap { label in
            drawn[label] == expected[label]
                ? nil
                : "\(label): drawn \((drawn[label] ?? []).sorted()), parents \((expected[label] ?? []).sorted())"
        }.joined(separator: "; ")
    }

    /// The DAG as a `Graph` (made-up ids and one author: the layout reads only the edges).
    static func graph(_ dag: [(String, [String])]) throws -> (Graph, [String: Int]) {
        let author = try #require(PeerID(publicKey: [UInt8](repeating: 7, count: 32)))
        var ids: [String: ObjectID] = [:]
        var number: [String: Int] = [:]
        var summaries: [OperationSummary] = []
        for (i, (label, parents)) in dag.enumerated() {
            let id = ObjectID(hashing: Array(label.utf8))
            ids[label] = id
            number[label] = i
            let parentIDs = try parents.map { try #require(ids[$0]) }.sorted()
            summaries.append(
                OperationSummary(
                    id: id, author: author, sequence: UInt64(i + 1), timestamp: UInt64(1_000 * i),
                    kind: Payload.Kind.change, parents: parentIDs, entryCount: 0, message: label))
        }
        return (try Graph(summaries), number)
    }

    /// What `log --graph --oneline` prints, with each operation's label as its text.
    static func render(_ graph: Graph, order: [Int], labels: [String]) -> [String] {
        var lines: [String] = []
        for (row, node) in zip(GraphLayout.layout(graph: graph, order: order), order) {
            lines.append(row.commitLine + labels[node])
            lines += row.after
        }
        return lines
    }
}

/// Builds a DAG in a throwaway git repository (`git commit-tree`, one empty tree, increasing
/// dates) and returns `git log --graph --format=%s` of all its heads.
enum GitGraph {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func drawing(_ dag: [(String, [String])]) throws -> [String] {
        let dir = URL(fileURLWithPath: try makeTemporaryDirectory("hgbft-graph"), isDirectory: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try run(["init", "-q"], in: dir)
        let tree = try run(["mktree"], in: dir).trimmingCharacters(in: .whitespacesAndNewlines)
        var ids: [String: String] = [:]
        var hasChild = Set<String>()
        for (i, (label, parents)) in dag.enumerated() {
            var args = ["commit-tree", tree, "-m", label]
            for parent in parents {
                guard let id = ids[parent] else {
                    throw Failure(description: "parent \(parent) of \(label) comes later")
                }
                args += ["-p", id]
                hasChild.insert(parent)
            }
            let date = "@\(1_700_000_000 + 60 * i) +0000"
            ids[label] = try run(args, in: dir, environment: ["GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let heads = dag.map(\.0).filter { !hasChild.contains($0) }.compactMap { ids[$0] }
        let text = try run(["log", "--graph", "--format=%s"] + heads, in: dir)
        return text.split(separator: "\n").map { line in
            var s = String(line)
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
    }

    @discardableResult
    private static func run(_ args: [String], in dir: URL, environment: [String: String] = [:]) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let git = path.split(separator: ":").map { "\($0)/git" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let git else { throw Failure(description: "git not found: run `make test-deps` (it installs git)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: git)
        process.arguments = args
        process.currentDirectoryURL = dir
        var env = [
            "HOME": dir.path, "GIT_CONFIG_NOSYSTEM": "1", "PATH": path,
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        ]
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "git \(args.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
