import Foundation
import HGCore
import HGGraph
import HGRepository
import HGStore
import Testing

/// `count` changes, each writing one of 50 files.
private func changes(_ count: Int, from start: Int = 0) throws -> [BatchChange] {
    try (start..<(start + count)).map { i in
        BatchChange(message: "change \(i)", files: [(try repoPath("d/\(i % 50).txt"), Array("version \(i)\n".utf8))])
    }
}

private func indexLength(_ repo: Repository) throws -> Int {
    try Data(contentsOf: URL(fileURLWithPath: repo.layout.operationIndex)).count
}

/// The graph file's stamp, or `nil` if there is no readable one.
private func graphFileStamp(_ repo: Repository) -> Int? {
    (try? Data(contentsOf: URL(fileURLWithPath: repo.layout.graphFile))).flatMap {
        GraphFile.decode([UInt8]($0))?.stamp
    }
}

/// The graph a reader builds in a fresh process, and the graph of the index records.
private func graphs(_ repo: Repository) throws -> (read: Graph, index: Graph) {
    let fresh = try Repository.open(exactly: repo.layout.root)
    return (try fresh.loadGraph(), try Graph(try OperationIndex.read(repo.layout.operationIndex).entries))
}

private func expectSameNodes(_ a: Graph, _ b: Graph, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    #expect(Array(a.nodes) == Array(b.nodes), sourceLocation: sourceLocation)
    #expect(a.heads == b.heads, sourceLocation: sourceLocation)
}

@Suite("Graph file in a repository")
struct GraphFileRepositoryTests {
    @Test func writersKeepTheGraphFileWithinItsSlackAndReadersReadTheRecordsAfterIt() throws {
        try withTemporaryDirectory { dir in
            let (repo, _) = try makeRepository(in: dir, writers: [])
            #expect(graphFileStamp(repo) == nil, "a new repository's index is smaller than the slack")
            _ = try repo.commitBatch(try changes(800), timestamp: 1_700_000_000_000)
            let length = try indexLength(repo)
            #expect(length > 64 << 10)
            #expect(graphFileStamp(repo) == length)
            var (read, index) = try graphs(repo)
            expectSameNodes(read, index)

            // A few more: the file stays as it was, and readers add the records after it.
            _ = try repo.commitBatch(try changes(3, from: 800), timestamp: 1_700_000_100_000)
            #expect(graphFileStamp(repo) == length)
            (read, index) = try graphs(repo)
            #expect(read.count == 804)
            expectSameNodes(read, index)
            #expect(try repo.verify().isClean)

            // Past the slack (64 KiB here), the next writer rewrites it.
            _ = try repo.commitBatch(try changes(700, from: 803), timestamp: 1_700_000_200_000)
            #expect(graphFileStamp(repo) == (try indexLength(repo)))
            (read, index) = try graphs(repo)
            expectSameNodes(read, index)
        }
    }

    @Test func aReceiverStagesTheGraphFileBeforeItsSignatureChecksEndAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            let (repo, _) = try makeRepository(in: dir)
            let peer = try Peer(seed: testPeerSeeds[0])
            // 900 changes by a writer, one after another: more than the slack of index records.
            var operations: [HGCore.Operation] = []
            var blobs: [Blob] = []
            var parent = try #require(try repo.heads().first)
            for n in 0..<900 {
                let made = try peer.change(
                    sequence: UInt64(n + 1), parents: [parent], files: [("d/\(n % 50).txt", Array("v\(n)\n".utf8))])
                operations.append(made.op)
                blobs += made.blobs
                parent = made.op.id
            }
            let stampBefore = graphFileStamp(repo)

            // A bad signature far down the batch: the file staged while the checks ran goes away
            // with everything else.
            var forged = operations
            var bytes = forged[600].encoded
            bytes[bytes.count - 1] ^= 0x01
            forged[600] = try HGCore.Operation.decode(bytes)
            let before = try snapshotMeta(repo)
            #expect(throws: RepositoryError.self) { try repo.receive(operations: forged, blobs: blobs) }
            #expect(try snapshotMeta(repo) == before, "a refused batch left a file behind or changed one")

            // The valid batch: the staged file is renamed into place, describing the new index.
            let result = try repo.receive(operations: operations, blobs: blobs)
            #expect(result.added.count == 900)
            let length = try indexLength(repo)
            #expect(graphFileStamp(repo) == length && stampBefore != length)
            Repository.waitForDeferredRemovals()
            let names = try FileManager.default.contentsOfDirectory(
                atPath: FileSystem.parent(of: repo.layout.graphFile))
            #expect(!names.contains { FileSystem.isTemporaryName($0) }, "temporary files left: \(names)")
            let (read, index) = try graphs(repo)
            expectSameNodes(read, index)
            #expect(try Repository.open(exactly: repo.layout.root).verify().isClean)
        }
    }

    @Test func aDamagedGraphFileIsIgnoredReportedByVerifyAndRebuiltByReindex() throws {
        try withTemporaryDirectory { dir in
            let (repo, _) = try makeRepository(in: dir, writers: [])
            _ = try repo.commitBatch(try changes(800), timestamp: 1_700_000_000_000)
            let indexBefore = try Data(contentsOf: URL(fileURLWithPath: repo.layout.operationIndex))
            var file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: repo.layout.graphFile)))
            file[file.count / 2] ^= 0x40
            try Data(file).write(to: URL(fileURLWithPath: repo.layout.graphFile))

            let (read, index) = try graphs(repo)
            expectSameNodes(read, index)
            let report = try Repository.open(exactly: repo.layout.root).verify()
            #expect(report.problems.map(\.check) == [.graph], "\(report.problems)")
            #expect(report.problems.first?.message.contains("damaged") == true)
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: repo.layout.operationIndex)) == indexBefore,
                "nothing else changed")

            _ = try repo.reindex()
            #expect(graphFileStamp(repo) == (try indexLength(repo)))
            #expect(try repo.verify().isClean)
            expectSameNodes(try graphs(repo).read, index)
        }
    }

    @Test func aGraphFileOfAnotherIndexIsIgnoredAndOneThatDisagreesIsReported() throws {
        try withTemporaryDirectory { dir in
            let (a, _) = try makeRepository(in: dir, name: "a", writers: [])
            _ = try a.commitBatch(try changes(800), timestamp: 1_700_000_000_000)
            let (b, _) = try makeRepository(in: dir, name: "b", writers: [])
            _ = try b.commitBatch(try changes(820), timestamp: 1_700_000_000_000)
            let aFile = try Data(contentsOf: URL(fileURLWithPath: a.layout.graphFile))
            let bIndex = try Graph(try OperationIndex.read(b.layout.operationIndex).entries)
            func verifyProblems() throws -> [VerifyProblem] {
                try Repository.open(exactly: b.layout.root).verify().problems
            }

            // Another repository's file: its last record's checksum does not match.
            try aFile.write(to: URL(fileURLWithPath: b.layout.graphFile))
            expectSameNodes(try graphs(b).read, bIndex)
            var problems = try verifyProblems()
            #expect(problems.map(\.check) == [.graph])
            #expect(problems.first?.message.contains("another operation index") == true, "\(problems)")

            // A file that claims more of the index than there is.
            let length = try indexLength(b)
            let checksum = try #require(OperationIndex.checksum(endingAt: length, in: b.layout.operationIndex))
            let longer = GraphFile(graph: bIndex, stamp: length + 100, lastRecordChecksum: checksum)
            try Data(longer.encoded()).write(to: URL(fileURLWithPath: b.layout.graphFile))
            expectSameNodes(try graphs(b).read, bIndex)
            problems = try verifyProblems()
            #expect(problems.first?.message.contains("covers \(length + 100) bytes") == true, "\(problems)")

            // A well-formed file that tells another story about one operation: readers trust a
            // file whose stamp and checksum match (as with every derived file), and verify
            // compares it with the index record by record.
            let entries = try OperationIndex.read(b.layout.operationIndex).entries
            var summaries = entries
            let s = summaries[10]
            summaries[10] = OperationSummary(
                id: s.id, author: s.author, sequence: s.sequence, timestamp: s.timestamp,
                kind: s.kind, parents: s.parents, entryCount: s.entryCount, message: "rewritten")
            let lying = GraphFile(graph: try Graph(summaries), stamp: length, lastRecordChecksum: checksum)
            try Data(lying.encoded()).write(to: URL(fileURLWithPath: b.layout.graphFile))
            problems = try verifyProblems()
            #expect(problems.map(\.check) == [.graph])
            #expect(problems.first?.message.contains("operation 10 differs") == true, "\(problems)")

            // A file whose stamp falls inside the last record: readers do not take the rest of
            // the index for a torn tail (a writer would cut a committed record), verify reports it.
            let inside = GraphFile(
                graph: try Graph(Array(entries.prefix(11))), stamp: length - 3,
                lastRecordChecksum: try #require(
                    OperationIndex.checksum(endingAt: length - 3, in: b.layout.operationIndex)))
            try Data(inside.encoded()).write(to: URL(fileURLWithPath: b.layout.graphFile))
            expectSameNodes(try graphs(b).read, bIndex)
            problems = try verifyProblems()
            #expect(problems.map(\.check) == [.graph], "\(problems)")
            #expect(try indexLength(b) == length, "nothing was cut")
        }
    }
}
