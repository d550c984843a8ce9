import Foundation
import HGCore
import HGCrypto
import HGRepository
import HGState
import HGStore
import Testing

@Suite("Receiving operations from other replicas")
struct ReceiveTests {
    /// A repository with one commit and a peer; `check` gets both and the commit.
    private func withBase(_ check: (Repository, String, Peer, CommitResult) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let (repo, root) = try makeRepository(in: dir)
            try writeFile(root, "notes.txt", "base\n")
            let base = try repo.commit(message: "base", timestamp: 1_700_000_100_000)
            try check(repo, root, try Peer(seed: 9), base)
        }
    }

    /// Expects `receive` to throw and to leave every file under `.hgrepo` (but the lock) unchanged.
    private func expectRejected(
        _ repo: Repository, _ operations: [HGCore.Operation], _ blobs: [Blob],
        _ what: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try snapshotMeta(repo)
        let headsBefore = try repo.heads()
        #expect(throws: RepositoryError.self, what, sourceLocation: sourceLocation) {
            try repo.receive(operations: operations, blobs: blobs)
        }
        let after = try snapshotMeta(repo)
        #expect(Set(after.keys) == Set(before.keys), what, sourceLocation: sourceLocation)
        for (path, bytes) in before where after[path] != bytes {
            Issue.record("\(what): .hgrepo/\(path) changed", sourceLocation: sourceLocation)
        }
        #expect(try repo.heads() == headsBefore, what, sourceLocation: sourceLocation)
    }

    /// `op` with one byte of its signature changed (the last, unless told): the same operation
    /// with a signature that does not verify, and so another id.
    func forgedSignature(_ op: HGCore.Operation, byteFromEnd: Int = 1, mask: UInt8 = 0x01) throws -> HGCore.Operation {
        var bytes = op.encoded
        bytes[bytes.count - byteFromEnd] ^= mask
        return try HGCore.Operation.decode(bytes)
    }

    @Test("an operation whose signature does not verify is rejected, nothing written")
    func badSignature() throws {
        try withBase { repo, _, peer, base in
            let good = try peer.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("b\n".utf8))])
            let bad = try forgedSignature(good.op)
            #expect(!bad.hasValidSignature())
            try expectRejected(repo, [bad], good.blobs, "flipped signature byte")

            // Flipping a signed byte (the timestamp's last varint byte) instead of the signature.
            var body = good.op.encoded
            let timestampAt = 2 + 32 + 1 + 1 + 32  // type, version, author, sequence, parent count, parent
            body[timestampAt] ^= 0x01
            if let tampered = try? HGCore.Operation.decode(body) {
                try expectRejected(repo, [tampered], good.blobs, "tampered signed bytes")
            }
        }
    }

    /// The order of a batch and its refusals: parents in the batch come first whatever order it
    /// arrived in, ties go by id, a parent that is neither stored nor in the batch refuses its
    /// child (naming that parent even when another parent is in the batch), and that refusal
    /// passes to the child's own descendants.
    @Test("ordering a batch: parents first, ties by id, a missing parent named, refusals passed down")
    func orderingAndRefusalsOfABatch() throws {
        try withBase { repo, _, peer, base in
            let other = try Peer(seed: 7)
            let a = try peer.change(sequence: 1, parents: [base.id], files: [("a.txt", Array("a\n".utf8))])
            let b = try other.change(sequence: 1, parents: [base.id], files: [("b.txt", Array("b\n".utf8))])
            // Never sent: neither stored nor in the batch.
            let absent = try other.change(sequence: 2, parents: [b.op.id], files: [("x.txt", Array("x\n".utf8))])
            let merge = try peer.change(
                sequence: 2, parents: [a.op.id, b.op.id], files: [("m.txt", Array("m\n".utf8))])
            let orphan = try peer.change(
                sequence: 3, parents: [merge.op.id, absent.op.id], files: [("o.txt", Array("o\n".utf8))])
            let afterOrphan = try peer.change(
                sequence: 4, parents: [orphan.op.id], files: [("p.txt", Array("p\n".utf8))])
            let blobs = a.blobs + b.blobs + merge.blobs + orphan.blobs + afterOrphan.blobs
            let batch = [afterOrphan.op, orphan.op, merge.op, b.op, a.op]

            let before = try snapshotMeta(repo)
            do {
                _ = try repo.receive(operations: batch, blobs: blobs)
                Issue.record("an operation with a missing parent was accepted")
            } catch {
                #expect("\(error)".contains("operation \(orphan.op.id.hex): parent \(absent.op.id.hex) is missing"))
            }
            #expect(try snapshotMeta(repo) == before)

            let result = try repo.receive(operations: batch, blobs: blobs, partial: true)
            let roots = [a.op.id, b.op.id].sorted()
            #expect(result.added == roots + [merge.op.id])
            #expect(result.rejected.map(\.id) == [orphan.op.id, afterOrphan.op.id])
            #expect(
                result.rejected.map(\.reason) == [
                    "parent \(absent.op.id.hex) is missing",
                    "parent \(orphan.op.id.hex) was refused",
                ])
            #expect(Set(try repo.heads()) == [merge.op.id])
            // The blobs of what was stored are there; those of refused operations are not,
            // although they arrived (checkout reads the former without going back to the pack).
            #expect(try repo.blobContent(try #require(merge.blobs.first).id) == Array("m\n".utf8))
            #expect(throws: RepositoryError.self) { try repo.blobContent(try #require(orphan.blobs.first).id) }
            #expect(try repo.receive(operations: batch.reversed(), blobs: blobs, partial: true).added.isEmpty)
        }
    }

    /// Signatures are checked while the batch is ordered and validated as if they held: a
    /// failure found at the end must give what checking first gives.
    @Test(
        "a bad signature found after optimistic validation: strict mode names it, partial mode leaves out it and its descendants"
    )
    func badSignatureFoundAfterOptimisticValidation() throws {
        try withBase { repo, _, peer, base in
            let a = try peer.change(sequence: 1, parents: [base.id], files: [("a.txt", Array("a\n".utf8))])
            let b = try peer.change(sequence: 2, parents: [a.op.id], files: [("b.txt", Array("b\n".utf8))])
            let c = try peer.change(sequence: 3, parents: [b.op.id], files: [("c.txt", Array("c\n".utf8))])
            let forged = try forgedSignature(c.op)
            let d = try peer.change(sequence: 4, parents: [forged.id], files: [("d.txt", Array("d\n".utf8))])
            let batch = [d.op, forged, b.op, a.op]
            let blobs = a.blobs + b.blobs + c.blobs + d.blobs

            let before = try snapshotMeta(repo)
            do {
                _ = try repo.receive(operations: batch, blobs: blobs)
                Issue.record("a forged signature was accepted")
            } catch {
                #expect("\(error)".contains("operation \(forged.id.hex): signature does not verify"))
            }
            #expect(try snapshotMeta(repo) == before)

            let result = try repo.receive(operations: batch, blobs: blobs, partial: true)
            #expect(result.added == [a.op.id, b.op.id])
            #expect(result.rejected.map(\.id) == [forged.id, d.op.id])
            #expect(result.rejected.first?.reason == "signature does not verify")
            #expect(result.rejected.last?.reason == "parent \(forged.id.hex) was refused")
            #expect(Set(try repo.heads()) == [b.op.id])
        }
    }

    /// A sync session starts signature checks as operations arrive; receive must use their
    /// verdicts and still check whatever they do not cover.
    @Test("checks started before receive: their verdicts count, and operations they miss are checked")
    func signatureChecksStartedEarly() throws {
        try withBase { repo, _, peer, base in
            let a = try peer.change(sequence: 1, parents: [base.id], files: [("a.txt", Array("a\n".utf8))])
            let forgedA = try forgedSignature(a.op)
            let b = try peer.change(sequence: 2, parents: [a.op.id], files: [("b.txt", Array("b\n".utf8))])
            let c = try peer.change(sequence: 3, parents: [b.op.id], files: [("c.txt", Array("c\n".utf8))])
            let forgedC = try forgedSignature(c.op, byteFromEnd: 2, mask: 0x10)

            let checks = SignatureChecks()
            checks.submit([forgedA, b.op])
            let verdicts = checks.verdicts()
            #expect(verdicts == [forgedA.id: false, b.op.id: true])

            // The forged C was not submitted: receive checks it itself.
            let before = try snapshotMeta(repo)
            do {
                _ = try repo.receive(
                    operations: [a.op, b.op, forgedC], blobs: a.blobs + b.blobs + c.blobs, signatures: checks)
                Issue.record("an unsubmitted forged signature was accepted")
            } catch {
                #expect("\(error)".contains("operation \(forgedC.id.hex): signature does not verify"))
            }
            #expect(try snapshotMeta(repo) == before)

            // A submitted forgery is refused from its verdict, with its descendants.
            let result = try repo.receive(
                operations: [forgedA, b.op], blobs: a.blobs + b.blobs, partial: true, signatures: checks)
            let reasons = Dictionary(uniqueKeysWithValues: result.rejected.map { ($0.id, $0.reason) })
            #expect(result.added.isEmpty)
            #expect(reasons == [forgedA.id: "signature does not verify", b.op.id: "parent \(a.op.id.hex) is missing"])
            #expect(try snapshotMeta(repo) == before)

            let good = try repo.receive(operations: [a.op, b.op], blobs: a.blobs + b.blobs, signatures: checks)
            #expect(good.added == [a.op.id, b.op.id])
        }
    }

    @Test("receiving nothing writes nothing")
    func receivingNothing() throws {
        try withBase { repo, _, _, _ in
            let before = try snapshotMeta(repo)
            let result = try repo.receive(operations: [], blobs: [])
            #expect(result.added.isEmpty && result.known == 0 && result.rejected.isEmpty)
            #expect(try snapshotMeta(repo) == before)
        }
    }

    @Test("a valid operation followed by an invalid one: the whole batch is rejected")
    func batchIsAllOrNothing() throws {
        try withBase { repo, _, peer, base in
            let first = try peer.change(sequence: 1, parents: [base.id], files: [("a.txt", Array("a\n".utf8))])
            let second = try peer.change(sequence: 2, parents: [first.op.id], files: [("b.txt", Array("b\n".utf8))])
            let bad = try forgedSignature(second.op, byteFromEnd: 10, mask: 0x40)
            try expectRejected(repo, [first.op, bad], first.blobs + second.blobs, "valid op then bad signature")
            let missingBlob = try peer.change(
                sequence: 2, parents: [first.op.id], files: [("c.txt", Array("c\n".utf8))])
            try expectRejected(repo, [first.op, missingBlob.op], first.blobs, "valid op then missing blob")
        }
    }

    @Test("a wrong sequence number is rejected, nothing written")
    func wrongSequence() throws {
        try withBase { repo, _, peer, base in
            let skip = try peer.change(sequence: 2, parents: [base.id], files: [("notes.txt", Array("b\n".utf8))])
            try expectRejected(repo, [skip.op], skip.blobs, "first operation with sequence 2")

            let first = try peer.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("b\n".utf8))])
            let repeated = try peer.change(sequence: 1, parents: [first.op.id], files: [("x.txt", Array("x\n".utf8))])
            try expectRejected(
                repo, [first.op, repeated.op], first.blobs + repeated.blobs,
                "child reusing its parent's sequence number")
        }
    }

    @Test("an unknown parent is rejected, nothing written")
    func unknownParent() throws {
        try withBase { repo, _, peer, _ in
            let stranger = ObjectID(hashing: Array("no such operation".utf8))
            let orphan = try peer.change(sequence: 1, parents: [stranger], files: [("notes.txt", Array("b\n".utf8))])
            try expectRejected(repo, [orphan.op], orphan.blobs, "parent not present")
        }
    }

    @Test("a missing blob is rejected, nothing written")
    func missingBlob() throws {
        try withBase { repo, _, peer, base in
            let op = try peer.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("b\n".utf8))])
            try expectRejected(repo, [op.op], [], "blob not sent")
            // A blob whose content does not match the id named is no substitute.
            try expectRejected(repo, [op.op], [Blob(content: Array("something else\n".utf8))], "wrong blob sent")
        }
    }

    /// FORMAT.md 3 rule 5: a blob named must be a blob. An id that names an operation never is
    /// (the type byte is part of what the id hashes), so a replica that holds that operation, one
    /// that receives it in the same batch (a fresh clone), one that holds it only as an object
    /// outside the index and one that never sees it must all refuse, for the same reason. Holding
    /// the operation used to be enough to accept: that replica's verify then failed, and its
    /// checkout read an operation as file content.
    @Test("an operation naming an operation as a blob is refused alike, whatever the replica holds")
    func operationNamedAsBlob() throws {
        try withTemporaryDirectory { dir in
            let (holder, root) = try makeRepository(in: dir)
            try writeFile(root, "notes.txt", "base\n")
            let base = try holder.commit(message: "base", timestamp: 1_700_000_100_000)
            let fresh = try cloneReplica(of: holder, into: dir + "/fresh")
            let debris = try cloneReplica(of: holder, into: dir + "/debris")
            let x = try Peer(seed: 9).change(sequence: 1, parents: [base.id], files: [("x.txt", Array("x\n".utf8))])
            // One names a concurrent operation, the other its own parent.
            let namesX = try craftedChange(by: Peer(seed: 7), parents: [base.id], path: "evil.txt", blob: x.op.id)
            let namesParent = try craftedChange(
                by: Peer(seed: 0x5A), parents: [base.id], path: "evil.txt", blob: base.id)
            func reason(_ blob: ObjectID) -> String {
                "names blob \(blob.hex) of 'evil.txt', but no blob with that id was received or is stored"
            }
            let expected = [namesParent.id: reason(base.id), namesX.id: reason(x.op.id)]

            _ = try holder.receive(operations: [x.op], blobs: x.blobs)
            try expectRejected(holder, [namesX], [], "a held operation named as a blob")
            try expectRejected(holder, [namesParent], [], "the parent named as a blob")
            let held = try holder.receive(operations: [namesX, namesParent], blobs: [], partial: true)
            #expect(held.added.isEmpty)
            #expect(Dictionary(uniqueKeysWithValues: held.rejected.map { ($0.id, $0.reason) }) == expected)

            // The operation named arrives in the same batch, after the one naming it.
            let clone = try fresh.receive(operations: [namesX, namesParent, x.op], blobs: x.blobs, partial: true)
            #expect(clone.added == [x.op.id])
            #expect(Dictionary(uniqueKeysWithValues: clone.rejected.map { ($0.id, $0.reason) }) == expected)

            // Stored as an object, but not in the index (left by an interrupted command).
            _ = try ObjectStore(layout: debris.layout).write(x.op.encoded)
            let stray = try debris.receive(operations: [namesX], blobs: [], partial: true)
            #expect(stray.rejected.map(\.reason) == [reason(x.op.id)])

            for replica in [holder, fresh] {
                #expect(try replica.verify().isClean)
                _ = try replica.checkout()
            }
            #expect(readFile(root, "x.txt") == Array("x\n".utf8))
            #expect(readFile(root, "evil.txt") == nil)
            try syncPair(holder, fresh)
            try expectConverged([holder, fresh], "after syncing the replicas that refused")
        }
    }

    @Test("a second root (a genesis by another author) is rejected, nothing written")
    func secondRoot() throws {
        try withBase { repo, _, peer, base in
            let root = try HGCore.Operation.create(
                signer: peer.key, sequence: 1, parents: [], timestamp: 1_700_000_000_000,
                payload: .genesis(Genesis(adminQuorum: 1, nonce: [UInt8](repeating: 5, count: Genesis.nonceBytes))))
            try expectRejected(repo, [root], [], "second genesis")
            // And its descendants with it.
            let child = try peer.change(
                sequence: 2, parents: [root.id, base.id], files: [("x.txt", Array("x\n".utf8))])
            try expectRejected(repo, [root, child.op], child.blobs, "second genesis with a child")
        }
    }

    @Test("receiving the same operations twice is idempotent")
    func idempotent() throws {
        try withBase { repo, _, peer, base in
            let first = try peer.change(sequence: 1, parents: [base.id], files: [("b.txt", Array("b\n".utf8))])
            let second = try peer.change(sequence: 2, parents: [first.op.id], files: [("c.txt", Array("c\n".utf8))])
            // Children before parents, and a duplicated entry: receive orders them.
            let firstResult = try repo.receive(operations: [second.op, first.op], blobs: first.blobs + second.blobs)
            #expect(firstResult.added == [first.op.id, second.op.id])
            #expect(firstResult.known == 0)
            let snapshot = try snapshotMeta(repo)

            let again = try repo.receive(operations: [first.op, second.op], blobs: first.blobs + second.blobs)
            #expect(again.added.isEmpty)
            #expect(again.known == 2)
            // Our own operations count as known too.
            let ours = try repo.operation(base.id.hex)
            let mixed = try repo.receive(operations: [ours, first.op], blobs: [])
            #expect(mixed.added.isEmpty)
            #expect(mixed.known == 2)
            #expect(try snapshotMeta(repo) == snapshot)
            #expect(try repo.log().total == 4 + testPeerSeeds.count)  // and the adds of the test peers
            #expect(try repo.verify().isClean)
        }
    }

    @Test("blobs already stored need not be sent again")
    func blobAlreadyStored() throws {
        try withBase { repo, _, peer, base in
            // "base\n" is stored by A's commit; B writes it to another path.
            let op = try peer.change(sequence: 1, parents: [base.id], files: [("copy.txt", Array("base\n".utf8))])
            let result = try repo.receive(operations: [op.op], blobs: [])
            #expect(result.added == [op.op.id])
            #expect(try repo.verify().isClean)
        }
    }

    @Test("after receiving: verify is clean, both heads, the next commit merges them, peer refs exist")
    func headsAndMergeCommit() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            // B also writes a file of its own, in a second operation.
            let more = try s.peer.change(
                sequence: 2, parents: [s.theirs.op.id], files: [("b-only.txt", Array("b\n".utf8))])
            let result = try s.repo.receive(operations: [s.theirs.op, more.op], blobs: s.theirs.blobs + more.blobs)
            #expect(result.added == [s.theirs.op.id, more.op.id])

            let report = try s.repo.verify()
            #expect(report.isClean, "\(report.problems)")
            #expect(report.equivocations.isEmpty)
            #expect(report.authors == 2)
            let heads = try s.repo.heads()
            #expect(Set(heads) == Set([s.mine.id, more.op.id]))
            #expect(heads.count == 2)
            #expect(Set(report.heads) == Set(heads))
            #expect(try s.repo.status().heads.count == 2)
            #expect(FileManager.default.fileExists(atPath: s.repo.layout.peerRef(s.me.text)))
            #expect(FileManager.default.fileExists(atPath: s.repo.layout.peerRef(s.peer.id.text)))
            let log = try s.repo.log()
            #expect(log.total == 5 + testPeerSeeds.count)
            #expect(log.entries.filter(\.isHead).count == 2)

            // Materialise B's file, then make an ordinary commit: it merges both heads.
            let checkout = try s.repo.checkout()
            #expect(checkout.written.contains(try repoPath("b-only.txt")))
            #expect(readFile(s.root, "b-only.txt") == Array("b\n".utf8))
            try writeFile(s.root, "after.txt", "after\n")
            let merge = try s.repo.commit(message: "after the merge", timestamp: 1_700_000_300_000)
            #expect(merge.parents == [s.mine.id, more.op.id].sorted())
            #expect(merge.sequence == 4 + UInt64(testPeerSeeds.count))  // after genesis, the adds, base and mine
            #expect(try s.repo.heads() == [merge.id])
            #expect(FileManager.default.fileExists(atPath: s.repo.layout.peerRef(s.me.text)))
            #expect(FileManager.default.fileExists(atPath: s.repo.layout.peerRef(s.peer.id.text)))
            let after = try s.repo.verify()
            #expect(after.isClean, "\(after.problems)")
            #expect(after.heads == [merge.id])
            // The conflict from before is still there: the merge did not touch notes.txt.
            #expect(try s.repo.state().conflicts == [try repoPath("notes.txt")])

            // B continues on top of A's merge: its next sequence number is 3.
            let next = try s.peer.change(sequence: 3, parents: [merge.id], files: [("b-only.txt", nil)])
            #expect(try s.repo.receive(operations: [next.op], blobs: []).added == [next.op.id])
            #expect(try s.repo.heads() == [next.op.id])
            #expect(try s.repo.verify().isClean)
        }
    }

    @Test("reopening and reindexing after receives keep the same state")
    func reopenAndReindex() throws {
        try withTemporaryDirectory { dir in
            let s = try concurrentWrites(in: dir, mine: Array("mine\n".utf8), theirs: Array("theirs\n".utf8))
            _ = try s.repo.receive(operations: [s.theirs.op], blobs: s.theirs.blobs)
            let fingerprint = try s.repo.verify().fingerprint
            let heads = try s.repo.heads()
            let reopened = try Repository.discover(from: s.root)
            #expect(try reopened.heads() == heads)
            let reindexed = try reopened.reindex()
            #expect(reindexed.operations == 4 + testPeerSeeds.count)
            #expect(Set(reindexed.heads) == Set(heads))
            let report = try reopened.verify()
            #expect(report.isClean, "\(report.problems)")
            #expect(report.fingerprint == fingerprint)
            #expect(try reopened.state().conflicts == [try repoPath("notes.txt")])
        }
    }

    @Test("reindex keeps operations stored in a pack by commitBatch")
    func reindexAfterBatch() throws {
        try withTemporaryDirectory { dir in
            let (repo, _) = try makeRepository(in: dir, writers: [])
            let ids = try repo.commitBatch(
                [
                    BatchChange(message: "one", files: [(try repoPath("a.txt"), Array("a\n".utf8))]),
                    BatchChange(message: "two", files: [(try repoPath("b.txt"), Array("b\n".utf8))]),
                ], timestamp: 1_700_000_000_000)
            let fingerprint = try repo.verify().fingerprint
            let reindexed = try repo.reindex()
            #expect(reindexed.operations == 3)
            #expect(reindexed.heads == [ids[1]])
            #expect(try repo.log().total == 3)
            #expect(try repo.verify().fingerprint == fingerprint)
        }
    }

    @Test("two operations by one author with one sequence number: both kept, verify lists the equivocation")
    func equivocation() throws {
        try withBase { repo, _, peer, base in
            let left = try peer.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("left\n".utf8))])
            let right = try peer.change(sequence: 1, parents: [base.id], files: [("notes.txt", Array("right\n".utf8))])
            _ = try repo.receive(operations: [left.op], blobs: left.blobs)
            let second = try repo.receive(operations: [right.op], blobs: right.blobs)
            #expect(second.added == [right.op.id])
            let report = try repo.verify()
            #expect(report.isClean, "\(report.problems)")
            #expect(report.equivocations.count == 1)
            #expect(Set(try repo.heads()) == Set([left.op.id, right.op.id]))
            #expect(try repo.state().conflicts == [try repoPath("notes.txt")])
        }
    }

    @Test("an operation of an extension kind is received and kept without effect on the files")
    func extensionKind() throws {
        try withBase { repo, _, peer, base in
            let stateBefore = try repo.state()
            let op = try HGCore.Operation.create(
                signer: peer.key, sequence: 1, parents: [base.id], timestamp: 1_700_000_500_000,
                payload: .opaque(kind: 0x80, body: [1, 2, 3]))
            #expect(try repo.receive(operations: [op], blobs: []).added == [op.id])
            #expect(try repo.state() == stateBefore)
            #expect(try repo.heads() == [op.id])
            #expect(try repo.verify().isClean)
            #expect(try repo.status().changes.isEmpty)
        }
    }

    @Test("a Repository opened earlier sees operations another instance received into a pack")
    func secondInstanceSeesNewPack() throws {
        try withBase { repo, root, peer, base in
            // A second handle on the same repository (a long-lived process, say), used once before the receive.
            let other = try Repository.discover(from: root)
            #expect(try other.operation(base.id.hex).id == base.id)

            let theirs = try peer.change(
                sequence: 1, parents: [base.id], files: [("theirs.txt", Array("theirs\n".utf8))])
            _ = try repo.receive(operations: [theirs.op], blobs: theirs.blobs)

            // Each step on its own, so that one failure does not hide the others.
            #expect(try other.heads() == [theirs.op.id])
            #expect((try? other.operation(theirs.op.id.hex))?.id == theirs.op.id, "operation from the new pack")
            let blob = try #require(theirs.blobs.first)
            #expect((try? other.blobContent(blob.id)) == Array("theirs\n".utf8), "blob from the new pack")
            let result = try? other.checkout()
            #expect(result?.written == [try repoPath("theirs.txt")], "checkout through the older handle")
            #expect(readFile(root, "theirs.txt") == Array("theirs\n".utf8))
            // A handle opened after the receive has no such trouble.
            let fresh = try Repository.discover(from: root)
            #expect(try fresh.blobContent(blob.id) == Array("theirs\n".utf8))
        }
    }
}
