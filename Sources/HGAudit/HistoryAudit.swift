import HGCore
import HGGraph
import HGState
import HGStore

extension Audit {
    /// The part of `verify` after the object checks: the index against the objects, the DAG
    /// (genesis, parents, sequence numbers, blobs, authority, equivocations), then each family of
    /// `historyChecks` (the derived files first), counting every operation of `pass` whose slot
    /// is not in `excluding` as good.
    /// Returns only what it found; `verify` appends it to the object checks' findings.
    /// `store` reads through the pack indexes `pass` already holds (nil: the repository's own).
    func auditHistory(
        _ pass: ObjectPass, excluding excluded: Set<Int>, store: ObjectStore?
    ) throws(AuditError) -> VerifyReport {
        var report = VerifyReport()
        let root = layout.root
        func problem(_ check: VerifyCheck, _ object: ObjectID?, _ file: String?, _ message: String) {
            report.problem(check, object, file, message, root: root)
        }
        let objects = store ?? self.objects
        let table = pass.table
        let kept = pass.kept
        /// The number of the operation at `slot`, if it decoded and is not excluded.
        func operation(_ slot: Int) -> Int? { excluded.contains(slot) ? nil : kept.number(atSlot: slot) }

        // 2. The index: readable, and each record matching its object.
        var (contents, damage) = try reading { () throws(StoreError) in try OperationIndex.scan(layout.operationIndex) }
        for d in damage { problem(.index, nil, layout.operationIndex, d) }
        if contents.tornTail {
            if let vouched = (try? Refs.readHeads(layout.heads))??.stamp, vouched > contents.validLength {
                problem(
                    .index, nil, layout.operationIndex,
                    "unreadable from byte \(contents.validLength), before the \(vouched) bytes the heads file records (a damaged length field)"
                )
            } else {
                report.notes.append(
                    "the index ends in a torn record from an interrupted write; the next write removes it")
            }
        }
        // Records whose object is usable form the graph; a record that is missing, damaged or
        // depends on one that is gets a problem line instead, so one bad object never stops the
        // audit of everything else. Marks per slot of the object table, instead of sets of ids:
        // bit 1 listed in the index, bit 2 accepted into the graph.
        var marks = [UInt8](repeating: 0, count: table.slotCount)
        var unlisted = Set<ObjectID>()  // ids in the index that name no object
        func isInIndex(_ id: ObjectID) -> Bool {
            if let slot = table.slot(of: id) { return marks[slot] & 1 != 0 }
            return unlisted.contains(id)
        }
        func isAccepted(_ id: ObjectID) -> Bool { table.slot(of: id).map { marks[$0] & 2 != 0 } ?? false }
        var nodeOps: [Int] = []  // per node of the graph, in its order: its operation's number
        nodeOps.reserveCapacity(contents.entries.count)
        var rejected: [Int] = []  // positions of the records left out of the graph
        for (position, entry) in contents.entries.enumerated() {
            let slot = table.slot(of: entry.id)
            let isFirst: Bool
            if let slot {
                isFirst = marks[slot] & 1 == 0
                marks[slot] |= 1
            } else {
                isFirst = unlisted.insert(entry.id).inserted
            }
            guard isFirst else {
                problem(.index, entry.id, layout.operationIndex, "operation listed twice")
                rejected.append(position)
                continue
            }
            guard let slot, let op = operation(slot) else {
                if slot == nil {
                    problem(.index, entry.id, layout.operationIndex, "names an operation whose object is missing")
                }
                rejected.append(position)
                continue
            }
            if kept.recordDigest(op) != ObjectID(hashing: OperationIndex.record(entry)) {
                problem(.index, entry.id, layout.operationIndex, "record differs from the operation object")
                rejected.append(position)
                continue
            }
            if let parent = entry.parents.first(where: { !isAccepted($0) }) {
                let why =
                    isInIndex(parent) ? "is missing, damaged or invalid" : "is missing or comes later in the index"
                problem(.parents, entry.id, objects.location(of: entry.id), "parent \(parent.hex) \(why)")
                rejected.append(position)
                continue
            }
            marks[slot] |= 2
            nodeOps.append(op)
        }
        let dangling = (0..<table.slotCount).reduce(0) { $0 + (marks[$1] & 1 == 0 && operation($1) != nil ? 1 : 0) }
        if dangling > 0 {
            report.notes.append(
                "\(dangling) operation object(s) are not in the index (left by an interrupted command; harmless)")
        }
        let genesisListed = isInIndex(genesis)
        marks = []
        unlisted = []
        // The graph is built from the accepted records, and the index contents are let go once
        // it holds what it needs of them.
        let recordCount = contents.entries.count
        var graph = Graph()
        graph.reserveCapacity(nodeOps.count)
        var skip = rejected[...]
        do {
            for (position, entry) in contents.entries.enumerated() {
                if skip.first == position { skip.removeFirst() } else { try graph.append(entry) }
            }
        } catch {
            throw .graph(error)
        }
        contents.entries = []

        // 3. The DAG: genesis, sequence numbers, referenced blobs.
        if let first = graph.ids.first, first != genesis {
            problem(
                .genesis, first, layout.genesis, "the first operation is not the repository's genesis \(genesis.hex)")
        }
        if !genesisListed {
            problem(.genesis, genesis, layout.genesis, "the genesis operation is not in the index")
        }
        var missingBlobs: [ObjectID: ValidityIssue] = [:]
        var writtenBlobs = 0
        for (node, op) in nodeOps.enumerated() {
            for entry in kept.entries(op) {
                guard let version = entry.version else { continue }
                writtenBlobs += 1
                guard table.slot(of: version.blob).map({ pass.statuses[$0] != .blob }) ?? true else { continue }
                let id = graph.ids[node]
                missingBlobs[id] = missingBlobs[id] ?? .missingBlob(id, blob: version.blob, path: entry.path.string)
            }
        }
        let origin = graph.number(of: genesis).flatMap { node in
            kept.rareFields(nodeOps[node])?.genesis.map {
                MembershipOrigin(
                    node: node, id: genesis, founder: $0.founder, timestamp: $0.timestamp, quorum: $0.quorum)
            }
        }
        let validity = StructuralValidity.check(graph: graph, genesis: genesis, local: missingBlobs, origin: origin) {
            node in
            kept.rareFields(nodeOps[node])?.membership
        }
        for issue in validity.issues {
            problem(VerifyCheck(issue), issue.operation, objects.location(of: issue.operation), issue.description)
        }
        report.membership = validity.membership
        report.count(.causalClosure, recordCount)
        report.count(.sequenceNumbers, graph.count)
        report.count(.authorisedAuthors, validity.authorityChecked)
        report.count(.blobsPresent, writtenBlobs)
        auditAuthors(graph, invalid: validity.invalid, objects: objects, into: &report)

        // 4. The families of checks on the audited history (the derived files: heads, peer refs,
        // state cache, genesis file, identity; and any family joined later).
        let membership = validity.membership
        let hasEffect = { (node: Int) -> Bool in
            !validity.invalid.contains(graph.ids[node])
                && (membership?.hasEffect(node: node, author: graph.author(node), graph: graph) ?? true)
        }
        let history = AuditedHistory(
            repository: inputs, graph: graph, tornIndex: contents.tornTail, membership: membership,
            hasEffect: hasEffect, change: { kept.change(nodeOps[$0]) })
        for check in historyChecks { check.audit(history, into: &report) }
        return report
    }

    /// Equivocations (two valid operations by one author with one sequence number; with more
    /// than two, every pair is listed) and the per-author summary.
    private func auditAuthors(
        _ graph: Graph, invalid: Set<ObjectID>, objects: ObjectStore, into report: inout VerifyReport
    ) {
        // Per author, the valid nodes by sequence number.
        var tallies: [PeerID: SequenceTable] = [:]
        for n in 0..<graph.count {
            let id = graph.ids[n]
            let author = graph.author(n)
            let sequence = graph.sequence(n)
            guard !invalid.contains(id) else { continue }
            let others = tallies[author]?.nodes(sequence) ?? []
            for other in others.map({ graph.ids[Int($0)] }) {
                // The proof is the two signed encodings, read again (only these are kept whole).
                if let a = try? objects.readOperation(min(other, id)),
                    let b = try? objects.readOperation(max(other, id))
                {
                    report.equivocations.append(Equivocation(author: author, sequence: sequence, first: a, second: b))
                }
            }
            tallies[author, default: SequenceTable()].add(Int32(n), sequence: sequence)
        }
        report.authors = tallies.count
        report.authorSummaries = tallies.map { author, tally in
            AuthorSummary(
                author: author, operations: tally.count,
                firstSequence: tally.sequences.min() ?? 0, lastSequence: tally.highest,
                forks: tally.forkCount)
        }.sorted { $0.author < $1.author }
    }
}
