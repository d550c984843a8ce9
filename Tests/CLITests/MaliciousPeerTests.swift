import Foundation
import HGCompression
import HGCore
import HGCrypto
import HGSync
import HGTestSupport
import Testing

/// `hg-bft serve` facing a malicious peer played by the test itself.
///
/// Each test builds an honest repository with the CLI, starts `hg-bft serve <repo> --timeout 2`
/// through `Subprocess`, writes hand-made frames to its stdin and reads its frames from its
/// stdout. The honest side must end within bounded time (its own `--timeout` guarantees that it
/// exits) with a clear error or a partial but valid result, and afterwards `hg-bft verify` on its
/// repository exits 0 and every operation it had is still in `log --json`.
@Suite struct MaliciousPeerTests {

    // MARK: - 1. Bad signature

    @Test func operationWithFlippedSignatureByteIsRefusedAndValidOnesInTheBatchAreKept() throws {
        let honest = try EvilHonestRepo.make(members: [1, 2])
        let mallory = try EvilKeys.keyPair(1)
        let newcomer = try EvilKeys.keyPair(2)
        let blob = Blob(content: Array("written by mallory\n".utf8))
        let signed = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base],
            message: "forged", writing: "forged.txt", blob: blob)
        var forged = signed.encoded
        // A byte of R, the first half of the 64-byte signature at the end of the encoding.
        forged[forged.count - 40] ^= 0x01
        #expect((try? StoredObject.decode(forged)) != nil, "the tampered operation must still decode")
        let forgedID = ObjectID(hashing: forged)
        let good = try EvilOps.change(
            by: newcomer, sequence: 1, parents: [honest.base],
            message: "honest newcomer", writing: "newcomer.txt", blob: blob)

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([blob.encoded, forged, good.encoded]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        #expect(outcome.status == 4, "serve must report the refused operation with exit status 4: \(outcome)")
        #expect(outcome.stderr.contains("refused"), "stderr does not say an operation was refused: \(outcome)")
        #expect(outcome.stderr.contains("signature"), "stderr does not name the bad signature: \(outcome)")
        let log = try honest.expectIntact()
        let ids = Set(log.map(\.id))
        #expect(ids.contains(good.id.hex), "the valid operation of the same batch was not kept")
        #expect(!ids.contains(forgedID.hex), "the operation with a bad signature was stored")
        #expect(!ids.contains(signed.id.hex), "the untampered original was never sent, yet it is stored")
    }

    // MARK: - 1b. Text the peer chose, on the honest side's terminal

    /// The reason in an ERROR frame is the peer's own text: control characters, C1 controls as
    /// raw bytes, invalid UTF-8 and bidi controls must reach serve's stderr escaped (PeerText),
    /// on one `error:` line.
    @Test func errorFrameTextReachesStderrEscapedOnOneLine() throws {
        let honest = try EvilHonestRepo.make()
        let mallory = try EvilKeys.keyPair(1)
        let text: [UInt8] =
            Array("bye\u{1B}[2J\u{1B}]0;title\u{07}\r\nerror: forged line\u{7F}\u{85}".utf8)
            + [0x9b, 0x31, 0x6d, 0xff, 0xc3] + Array("\u{202E}desrever".utf8)
        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.sendRaw(EvilWire.frame([0x06] + EvilWire.varint(UInt64(text.count)) + text))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        #expect(outcome.status != 0, "\(outcome)")
        expectInert(outcome.stderrBytes, "serve's stderr")
        let stderr = String(decoding: outcome.stderrBytes, as: UTF8.self)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines.allSatisfy { $0.hasPrefix("error: ") }, "one error line expected: \(stderr)")
        #expect(stderr.contains("bye\\x1b[2J\\x1b]0;title\\x07\\r\\nerror: forged line\\x7f\\x85"), "\(stderr)")
        #expect(stderr.contains("\\u{202e}desrever"), "\(stderr)")
        try honest.expectIntact()
    }

    /// A refusal reason that quotes the peer's path (a blob it never sent) is printed escaped.
    @Test func refusalReasonQuotingThePeersPathIsEscaped() throws {
        let honest = try EvilHonestRepo.make(members: [1])
        let mallory = try EvilKeys.keyPair(1)
        let blob = Blob(content: Array("never sent\n".utf8))
        let op = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base], message: "x",
            writing: "gpj.\u{202E}evil.txt", blob: blob)
        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([op.encoded]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        expectInert(outcome.stderrBytes, "serve's stderr")
        let log = try honest.expectRefused(outcome, naming: ["gpj.\\u{202e}evil.txt"])
        #expect(!log.contains { $0.id == op.id.hex }, "an operation naming a blob never sent was stored")
    }

    /// The same peer met by `sync --exec`: the valid operation is kept and checked out, the
    /// forged one refused and named, the summary says "partly synced", `--json` says
    /// complete=false, and the exit status is 4 (not 1: the sync itself went through).
    @Test func syncThatRefusesSomeOperationsAndKeepsTheRestExitsFour() throws {
        let honest = try EvilHonestRepo.make(members: [1, 2])
        let mallory = try EvilKeys.keyPair(1)
        let newcomer = try EvilKeys.keyPair(2)
        let blob = Blob(content: Array("written by mallory\n".utf8))
        var forged = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base],
            message: "forged", writing: "forged.txt", blob: blob
        ).encoded
        forged[forged.count - 40] ^= 0x01
        let good = try EvilOps.change(
            by: newcomer, sequence: 1, parents: [honest.base],
            message: "honest newcomer", writing: "newcomer.txt", blob: blob)
        // The peer's side of the session, sent whatever the honest side says; then it reads to the end.
        var frames: [UInt8] = []
        for message in [
            try EvilMessages.hello(honest.genesis, as: mallory), EvilMessages.emptyHave,
            .objects([blob.encoded, forged, good.encoded]), .endOfRound, .need([]),
        ] {
            frames += message.frame()
        }
        let script = honest.root.path("peer-frames")
        try Data(frames).write(to: script)
        for json in [false, true] {
            let result = try CLI.run(
                ["sync", "--exec", "cat '\(script.path)'; cat >/dev/null"] + (json ? ["--json"] : []),
                in: honest.repo)
            #expect(result.status == 4, "\(result)")
            #expect(result.stderr.contains("refused: operation \(ObjectID(hashing: forged).short)"), "\(result)")
            if json {
                let summaries = try #require(
                    try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [[String: Any]])
                #expect(summaries.first?["complete"] as? Bool == false, "\(result)")
            } else {
                #expect(result.stdout.hasPrefix("partly synced with --exec"), "\(result)")
                #expect(
                    result.stderr.contains(
                        "error: --exec sent 1 invalid operation(s); they were refused and the valid ones kept"),
                    "\(result)")
            }
        }
        let log = try honest.expectIntact()
        #expect(log.contains { $0.id == good.id.hex }, "the valid operation was not kept")
        #expect(
            try String(contentsOf: honest.repo.appendingPathComponent("newcomer.txt"), encoding: .utf8)
                == "written by mallory\n")
        #expect(!FileManager.default.fileExists(atPath: honest.repo.appendingPathComponent("forged.txt").path))
    }

    // MARK: - 2. Parents that never resolve

    @Test func operationWhoseParentNeverArrivesIsNotStoredWhenThePeerAnswersNeedWithEndOnly() throws {
        let honest = try EvilHonestRepo.make()
        let mallory = try EvilKeys.keyPair(3)
        let phantom = ObjectID(hashing: [])  // the id of nothing the honest side knows
        let orphan = try EvilOps.deletion(by: mallory, sequence: 2, parents: [phantom], path: "orphan.txt")

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([orphan.encoded]))
        peer.send(.endOfRound)
        // The honest side asks for the phantom parent: say we need nothing, and answer with END only.
        peer.send(.need([]))
        peer.send(.endOfRound)
        // It gives up asking and waits for our (empty) request.
        peer.send(.need([]))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        let requests = outcome.received.compactMap { message -> [ObjectID]? in
            if case let .need(ids) = message, !ids.isEmpty { return ids }
            return nil
        }
        #expect(requests == [[phantom]], "the honest side should ask for the phantom parent exactly once: \(requests)")
        #expect(outcome.status != 0, "serve must report the operation it could not store: \(outcome)")
        #expect(
            outcome.stderr.contains("refused") || outcome.stderr.contains("withheld"),
            "stderr does not report the unstored operation: \(outcome)")
        #expect(
            outcome.stderr.contains("missing") || outcome.stderr.contains("withheld"),
            "stderr does not name the missing predecessor: \(outcome)")
        let log = try honest.expectIntact()
        #expect(!log.contains { $0.id == orphan.id.hex }, "an operation with an unknown parent was stored")
    }

    /// A peer announces a head and, asked for it, sends another operation each time: serve
    /// names the head it never got and the substitute, not "withheld predecessors" (the
    /// substitute is valid and kept; nothing is missing below it).
    @Test func peerThatSendsOtherBytesForAnAnnouncedHeadIsNamedForIt() throws {
        let honest = try EvilHonestRepo.make(members: [14])
        let mallory = try EvilKeys.keyPair(14)
        let blob = Blob(content: Array("mallory's file\n".utf8))
        let announced = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base],
            message: "announced", writing: "m.txt", blob: blob)
        let substitute = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base],
            message: "sent instead", writing: "m.txt", blob: blob)

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(
            .have(
                Have(
                    heads: [announced.id], sharedHeads: [],
                    filter: BloomFilter(expectedEntries: 0, salt: [UInt8](repeating: 0, count: BloomFilter.saltBytes)),
                    filterEntries: 0)))
        peer.send(.endOfRound)
        var requests: [[ObjectID]] = []
        while let message = peer.next() {
            guard case let .need(ids) = message else { continue }
            peer.send(.need([]))
            if ids.isEmpty || requests.count > 8 { break }
            requests.append(ids)
            peer.send(.objects([blob.encoded, substitute.encoded]))
            peer.send(.endOfRound)
        }
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        #expect(requests.first == [announced.id], "serve should ask for the announced head: \(requests)")
        #expect(outcome.status == 4, "\(outcome)")
        let peerName = try EvilKeys.peer(mallory).short
        #expect(
            outcome.stderr.contains(
                "error: \(peerName) announced 1 head(s) it did not send when asked "
                    + "(\(announced.id.short)); it sent 1 other operation(s) instead"), "\(outcome)")
        #expect(!outcome.stderr.contains("withheld"), "\(outcome)")
        let log = try honest.expectIntact()
        #expect(log.contains { $0.id == substitute.id.hex }, "the valid substitute was not kept")
        #expect(!log.contains { $0.id == announced.id.hex })
    }

    @Test func peerThatFeedsNewOrphansEveryRoundCostsAtMostTheRoundLimit() throws {
        let honest = try EvilHonestRepo.make()
        let mallory = try EvilKeys.keyPair(4)
        var orphans: [ObjectID] = []
        func freshOrphan() throws -> [UInt8] {
            let parent = ObjectID(hashing: Array("phantom \(orphans.count)".utf8))
            let op = try EvilOps.deletion(
                by: mallory, sequence: 2, parents: [parent], path: "orphan\(orphans.count).txt")
            orphans.append(op.id)
            return op.encoded
        }

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([try freshOrphan()]))
        peer.send(.endOfRound)
        // Answer every request with a new operation whose parent is again unknown: progress each
        // round, so only the round limit can stop the honest side.
        let limit = SyncOptions().maxRounds
        var requests = 0
        while let message = peer.next() {
            guard case let .need(ids) = message else { continue }
            peer.send(.need([]))
            if ids.isEmpty { break }
            requests += 1
            if requests > limit + 8 { break }  // the honest side has ignored its limit; stop feeding it
            peer.send(.objects([try freshOrphan()]))
            peer.send(.endOfRound)
        }
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        #expect(requests >= 1, "the honest side never asked for the missing parents")
        #expect(requests <= limit, "the honest side asked \(requests) times; its round limit is \(limit)")
        #expect(outcome.status != 0, "serve must report the operations it could not store: \(outcome)")
        let log = try honest.expectIntact()
        let stored = Set(log.map(\.id))
        #expect(orphans.allSatisfy { !stored.contains($0.hex) }, "an operation with an unknown parent was stored")
    }

    @Test func peerThatRequestsObjectsForeverIsCutOffAtTheRoundLimit() throws {
        let honest = try EvilHonestRepo.make()
        let mallory = try EvilKeys.keyPair(5)
        let limit = SyncOptions().maxRounds
        let asks = limit * 3

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.endOfRound)
        // Ask for the genesis again and again (each answer is a copy of it), then stop.
        for _ in 0..<asks { peer.send(.need([honest.genesis])) }
        peer.send(.need([]))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        // One END closes the Bloom round; each answered request ends with another.
        let ends = outcome.received.filter { $0 == .endOfRound }.count
        let answered = max(ends - 1, 0)
        #expect(
            answered <= limit + 1,
            "serve answered \(answered) repeated requests for the same object; its round limit is \(limit)")
        #expect(outcome.status != 0, "serve should stop a peer that keeps asking: \(outcome)")
        #expect(
            outcome.stderr.contains("kept asking") || outcome.stderr.contains("limit"),
            "stderr does not name the endless requests: \(outcome)")
        try honest.expectIntact()
    }

    // MARK: - 3. Non-canonical encodings

    @Test func objectsWithNonCanonicalEncodingsAbortTheSessionAndNothingIsStored() throws {
        let mallory = try EvilKeys.keyPair(6)
        // Three ways to re-encode a valid operation non-canonically.
        let cases: [(name: String, mutate: ([UInt8]) -> [UInt8])] = [
            // The sequence varint (offset 2 + 32) `01` becomes the non-minimal `81 00`.
            ("non-minimal varint", { bytes in Array(bytes[0..<34]) + [0x81, 0x00] + Array(bytes[35...]) }),
            ("trailing byte", { bytes in bytes + [0x00] }),
            ("unknown format version", { bytes in [bytes[0], 0x02] + Array(bytes[2...]) }),
        ]
        for (name, mutate) in cases {
            let honest = try EvilHonestRepo.make(commits: 1)
            let blob = Blob(content: Array("valid part\n".utf8))
            let valid = try EvilOps.change(
                by: mallory, sequence: 1, parents: [honest.genesis],
                message: "valid", writing: "valid.txt", blob: blob)
            let base = try EvilOps.deletion(by: mallory, sequence: 1, parents: [honest.genesis], path: "x.txt")
            #expect(base.encoded[34] == 0x01, "the sequence varint is not where the test expects it")
            let bad = mutate(base.encoded)

            let peer = try EvilPeer(serving: honest)
            peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
            peer.send(EvilMessages.emptyHave)
            peer.send(.objects([blob.encoded, valid.encoded, bad]))
            peer.send(.endOfRound)
            peer.send(.need([]))
            let outcome = peer.finish()

            let log = try honest.expectRefused(outcome, naming: ["does not decode"], name)
            #expect(log.count == honest.before.count, "\(name): something was stored from an aborted session")
        }
    }

    @Test func nonMinimalVarintInTheMessageItselfIsAProtocolError() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(8)
        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        // OBJECTS with the object count 0 written as `80 00`.
        peer.sendRaw(EvilWire.frame([Message.Kind.objects.rawValue, 0x80, 0x00]))
        let outcome = peer.finish()

        let log = try honest.expectRefused(outcome, naming: ["broke the sync protocol", "object count"])
        #expect(log.count == honest.before.count)
    }

    // MARK: - 4. Another repository

    @Test func helloForADifferentRepositoryIsRefused() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(9)
        let elsewhere = ObjectID(hashing: Array("some other repository".utf8))
        let stray = try EvilOps.deletion(by: mallory, sequence: 2, parents: [elsewhere], path: "stray.txt")

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(elsewhere, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([stray.encoded]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        expectRefused(outcome, naming: ["different repository"])
        #expect(
            !outcome.received.contains { if case .objects = $0 { return true } else { return false } },
            "serve sent its operations to a peer of another repository")
        let log = try honest.expectIntact()
        #expect(log.count == honest.before.count)
    }

    @Test func helloWithAnotherVersionOrGreetingIsRefused() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(20)
        let peerKey = try EvilKeys.peer(mallory)
        let otherVersion = Message.hello(
            Hello(
                version: ProtocolLimits.version + 1, repository: honest.genesis, peer: peerKey,
                maxFrameBytes: ProtocolLimits.maxFrameBytes)
        ).frame()
        var badMagic = try EvilMessages.hello(honest.genesis, as: mallory).frame()
        badMagic[5] ^= 0x20  // "hg-bft sync" → "hG-bft sync"
        var tinyFrames: [UInt8] = [Message.Kind.hello.rawValue] + Hello.magic + EvilWire.varint(ProtocolLimits.version)
        tinyFrames += honest.genesis.raw.bytes + peerKey.key.bytes + EvilWire.varint(16)
        let cases: [(name: String, frame: [UInt8], mentions: String)] = [
            ("another protocol version", otherVersion, "version \(ProtocolLimits.version + 1)"),
            ("a bad greeting", badMagic, "bad greeting"),
            ("a 16-byte frame limit", EvilWire.frame(tinyFrames), "frames of only 16 bytes"),
        ]
        for (name, frame, mentions) in cases {
            let peer = try EvilPeer(serving: honest)
            peer.sendRaw(frame)
            peer.send(EvilMessages.emptyHave)
            peer.send(.endOfRound)
            peer.send(.need([]))
            let outcome = peer.finish()

            expectRefused(outcome, naming: [mentions], name)
            #expect(
                !outcome.received.contains { if case .objects = $0 { return true } else { return false } },
                "\(name): serve sent its operations after a bad greeting")
        }
        let log = try honest.expectIntact()
        #expect(log.count == honest.before.count)
    }

    @Test func operationsOfAnotherRepositorySmuggledUnderTheRightIdAreRefused() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(10)
        let otherGenesis = try HGCore.Operation.create(
            signer: mallory, sequence: 1, parents: [], timestamp: 1_700_000_000_000,
            payload: .genesis(Genesis(adminQuorum: 1, nonce: [UInt8](repeating: 0x42, count: Genesis.nonceBytes))))
        let child = try EvilOps.deletion(by: mallory, sequence: 2, parents: [otherGenesis.id], path: "alien.txt")
        // A merge of both histories: refused with its foreign parent.
        let merge = try EvilOps.deletion(
            by: mallory, sequence: 3, parents: [honest.genesis, child.id], path: "merge.txt")

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([otherGenesis.encoded, child.encoded, merge.encoded]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        let log = try honest.expectRefused(outcome, naming: ["sent 3 invalid operation(s); they were refused"])
        let ids = Set(log.map(\.id))
        for op in [otherGenesis, child, merge] {
            #expect(!ids.contains(op.id.hex), "operation \(op.id.short) of another repository was stored")
        }
        #expect(log.count == honest.before.count)
    }

    // MARK: - 5. Equivocation

    @Test func equivocatingOperationsAreBothStoredAndVerifyReportsThem() throws {
        let honest = try EvilHonestRepo.make(members: [11])
        let mallory = try EvilKeys.keyPair(11)
        let first = try EvilOps.deletion(by: mallory, sequence: 1, parents: [honest.base], path: "left.txt")
        let second = try EvilOps.deletion(by: mallory, sequence: 1, parents: [honest.base], path: "right.txt")
        #expect(first.id != second.id)

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.send(.objects([first.encoded, second.encoded]))
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        #expect(outcome.status == 0, "two valid operations were not accepted: \(outcome)")
        let log = try honest.expectIntact()
        let ids = Set(log.map(\.id))
        #expect(
            ids.contains(first.id.hex) && ids.contains(second.id.hex), "both sides of the equivocation must be kept")
        let report = try honest.verifyJSON()
        #expect(
            report.equivocations.contains { Set($0.ids) == [first.id.hex, second.id.hex] },
            "verify does not list the equivocation: \(report.equivocations)")
        // The proof stands on its own: both encodings decode, hash to the ids, carry valid
        // signatures by one author, and share a sequence number.
        for proof in report.equivocations {
            let ops = try proof.operations.map { hex in
                try HGCore.Operation.decode(
                    stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
                        let start = hex.index(hex.startIndex, offsetBy: i)
                        return UInt8(hex[start...hex.index(after: start)], radix: 16) ?? 0
                    })
            }
            #expect(ops.map(\.id.hex) == proof.ids)
            #expect(
                ops.allSatisfy {
                    $0.hasValidSignature() && $0.author.text == proof.author && $0.sequence == proof.sequence
                })
        }
        let text = try CLI.run(["verify"], in: honest.repo)
        #expect(text.status == 0, "verify: \(text)")
        #expect(
            text.stdout.contains("equivocations: 1"), "verify's text output does not list the equivocation: \(text)")
    }

    // MARK: - An operation named as a blob

    /// FORMAT.md 3 rule 5: a member signs changes naming, as a file's blob, the head the honest
    /// replica holds (also their parent) and its genesis. Holding those operations used to be
    /// enough for serve to accept, after which verify, checkout and sync failed there while a
    /// fresh clone refused the same operations. Both must refuse, with the same reasons, and
    /// stay intact.
    @Test func operationsNamingOperationsAsBlobsAreRefusedByTheHolderAndAFreshClone() throws {
        let honest = try EvilHonestRepo.make(members: [12, 13])
        let mallory = try EvilKeys.keyPair(12)
        let accomplice = try EvilKeys.keyPair(13)
        func naming(_ target: ObjectID, by key: Ed25519.KeyPair) throws -> HGCore.Operation {
            let entry = ChangeEntry(path: try RepoPath("evil.txt"), version: FileVersion(blob: target, mode: .regular))
            return try HGCore.Operation.create(
                signer: key, sequence: 1, parents: [honest.base], timestamp: EvilOps.timestamp,
                payload: .change(Change(message: "names an operation", entries: [entry])))
        }
        let namesHead = try naming(honest.base, by: mallory)
        let namesGenesis = try naming(honest.genesis, by: accomplice)
        try CLI.ok(["clone", "honest", "fresh"], in: honest.root.url)
        let fresh = honest.root.path("fresh")
        let freshBefore = try EvilHonestRepo.log(of: fresh)

        var reasons: [[String]] = []
        for (replica, label) in [(honest.repo, "holder"), (fresh, "fresh clone")] {
            let peer = try EvilPeer(repository: replica, scratch: honest.root)
            peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
            peer.send(EvilMessages.emptyHave)
            peer.send(.objects([namesHead.encoded, namesGenesis.encoded]))
            peer.send(.endOfRound)
            peer.send(.need([]))
            let outcome = peer.finish()
            #expect(outcome.exited && outcome.status != 0, "\(label): \(outcome)")
            let lines = outcome.stderr.split(separator: "\n").map(String.init).filter {
                $0.contains("no blob with that id")
            }
            #expect(lines.count == 2, "\(label) does not refuse both for want of a blob: \(outcome)")
            reasons.append(lines.sorted())
            let ids = Set(try EvilHonestRepo.log(of: replica).map(\.id))
            #expect(
                !ids.contains(namesHead.id.hex) && !ids.contains(namesGenesis.id.hex),
                "\(label) stored a crafted operation")
            let verify = try CLI.run(["verify"], in: replica)
            #expect(verify.status == 0, "\(label): \(verify)")
            try CLI.ok(["checkout"], in: replica)
        }
        #expect(
            reasons.count == 2 && reasons[0] == reasons[1],
            "the holder and the fresh clone give different reasons: \(reasons)")
        try honest.expectIntact()
        #expect(try EvilHonestRepo.log(of: fresh).map(\.id) == freshBefore.map(\.id))
        try CLI.ok(["sync", "-q"], in: fresh)
    }

    // MARK: - NEED answers carry the blobs of the operations asked for

    /// After a Bloom false positive the peer asks for the operation by id; the answer must bring
    /// the blob it names too, or the operation would cost a second round (PROTOCOL.md §3, 4.2).
    @Test func aNeedForAChangeIsAnsweredWithItsBlobs() throws {
        let honest = try EvilHonestRepo.make(commits: 2)
        let asker = try EvilKeys.keyPair(21)
        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: asker))
        // Claim the honest head, so that the Bloom round sends nothing; then ask for it by id.
        peer.send(
            .have(
                Have(
                    heads: [honest.base], sharedHeads: [],
                    filter: BloomFilter(expectedEntries: 0, salt: [UInt8](repeating: 0, count: BloomFilter.saltBytes)),
                    filterEntries: 0)))
        peer.send(.endOfRound)
        peer.send(.need([honest.base]))
        peer.send(.need([]))
        let outcome = peer.finish()
        #expect(outcome.exited && outcome.status == 0, "\(outcome)")
        var objects: [StoredObject] = []
        for case let .objects(encodings) in outcome.received {
            objects += try encodings.map { try StoredObject.decode($0) }
        }
        let ops = objects.compactMap { if case let .operation(op) = $0 { return op } else { return nil } }
        let blobs = objects.compactMap { if case let .blob(blob) = $0 { return blob.id } else { return nil } }
        #expect(ops.map(\.id) == [honest.base], "\(outcome)")
        let named = ops.first?.change?.entries.compactMap { $0.version?.blob } ?? []
        #expect(!named.isEmpty && Set(named).isSubset(of: Set(blobs)), "the answer lacks the blobs the operation names")
        try honest.expectIntact()
    }

    // MARK: - 6. Absurd Bloom parameters

    @Test func absurdBloomFilterParametersAreRefusedBeforeUse() throws {
        let mallory = try EvilKeys.keyPair(12)
        let cases: [(name: String, probes: UInt64, length: UInt64, mentions: String)] = [
            ("0 probes", 0, 0, "probe"),
            ("33 probes", 33, 0, "probe"),
            ("1000 probes", 1000, 0, "probe"),
            ("a filter over 8 MiB", 7, UInt64(BloomFilter.maxBytes) + 1, "filter"),
            ("a filter of 2^62 bytes", 7, 1 << 62, "filter"),
        ]
        for (name, probes, length, mentions) in cases {
            let honest = try EvilHonestRepo.make(commits: 1)
            var body: [UInt8] = [Message.Kind.have.rawValue, 0x00, 0x00]  // no heads, no shared heads
            body += [UInt8](repeating: 0, count: BloomFilter.saltBytes)
            body += EvilWire.varint(probes)
            body += EvilWire.varint(0)  // entries
            body += EvilWire.varint(length)  // and none of the announced bytes

            let peer = try EvilPeer(serving: honest)
            peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
            peer.sendRaw(EvilWire.frame(body))
            let outcome = peer.finish()

            expectRefused(outcome, naming: ["broke the sync protocol"], name)
            #expect(
                outcome.stderr.lowercased().contains(mentions),
                "\(name): stderr does not name the bad filter: \(outcome)")
            if probes == 0 {
                #expect(
                    outcome.stderr.contains(
                        "bad Bloom filter: a probe count of \(probes); it must be 1 to \(BloomFilter.maxProbes)"),
                    "\(name): the error is not a sentence: \(outcome)")
            }
            #expect(
                !outcome.received.contains { if case .objects = $0 { return true } else { return false } },
                "\(name): serve used the filter to choose what to send")
            let log = try honest.expectIntact()
            #expect(log.count == honest.before.count, "\(name): something was stored")
        }
    }

    // MARK: - 7. Frame over the limit

    @Test func frameHeaderOverTheLimitIsRefused() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(13)
        for afterHandshake in [false, true] {
            let peer = try EvilPeer(serving: honest)
            if afterHandshake {
                peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
                peer.send(EvilMessages.emptyHave)
            }
            peer.sendRaw([0xff, 0xff, 0xff, 0x7f])  // 0x7fffffff bytes announced, none sent
            let outcome = peer.finish()

            expectRefused(outcome, naming: ["2147483647", "limit"])
        }
        let log = try honest.expectIntact()
        #expect(log.count == honest.before.count)
    }

    // MARK: - 8. Truncated frame, early EOF

    @Test func truncatedFrameThenEOFIsReportedAsClosed() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(14)
        let hello = try EvilMessages.hello(honest.genesis, as: mallory).frame()
        let valid = try EvilOps.deletion(by: mallory, sequence: 1, parents: [honest.genesis], path: "half.txt")
        let objects = Message.objects([valid.encoded]).frame()
        let scripts: [(name: String, bytes: [UInt8])] = [
            ("half a HELLO", Array(hello.prefix(hello.count / 2))),
            ("half a length header", Array(hello.prefix(2))),
            ("half an OBJECTS", hello + EvilMessages.emptyHave.frame() + Array(objects.prefix(objects.count / 2))),
        ]
        for (name, bytes) in scripts {
            let peer = try EvilPeer(serving: honest)
            peer.sendRaw(bytes)
            peer.closeWrite()
            let outcome = peer.finish()

            expectRefused(outcome, naming: ["closed"], name)
        }
        let log = try honest.expectIntact()
        #expect(!log.contains { $0.id == valid.id.hex }, "an operation from a truncated frame was stored")
        #expect(log.count == honest.before.count)
    }

    // MARK: - 9. Endless valid-looking junk

    @Test func streamOfDecodableJunkBlobsIsSurvivedAndNothingIsStored() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(15)
        let before = try honest.verifyJSON()
        // `serve` has no option to lower SyncOptions.maxReceiveBytes (2 GiB), so the test is bounded
        // by what it sends: 48 frames of one 1 MiB blob each (distinct contents), then END.
        var junk = [UInt8](repeating: 0, count: 1 << 20)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in junk.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            junk[i] = UInt8(truncatingIfNeeded: state >> 33)
        }

        let peer = try EvilPeer(serving: honest, timeout: 10)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        for frame in 0..<48 {
            for byte in 0..<8 { junk[byte] = UInt8(truncatingIfNeeded: frame >> (8 * byte)) }
            peer.send(.objects([Blob(content: junk).encoded]))
            if peer.writeFailed { break }  // the honest side stopped reading (a receive limit)
        }
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        #expect(outcome.exited, "serve did not exit: \(outcome)")
        if outcome.status != 0 {
            // Stopping at a receive limit is fine, with a clear error.
            #expect(outcome.stderr.contains("limit"), "serve failed without naming a limit: \(outcome)")
        }
        try honest.expectIntact()
        let after = try honest.verifyJSON()
        #expect(
            after.objects == before.objects, "unreferenced junk blobs were stored: \(before.objects) → \(after.objects)"
        )
        #expect(after.operations == before.operations)
    }

    // MARK: - 10. A peer that hangs

    @Test func peerThatHangsInsideALengthHeaderTimesOut() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let peer = try EvilPeer(serving: honest)
        peer.sendRaw([0x20, 0x00])  // two of the four header bytes, then silence (stdin stays open)
        let outcome = peer.finish()

        let log = try honest.expectRefused(outcome, naming: ["sent nothing for"])
        #expect(log.count == honest.before.count)
    }

    @Test func peerThatHangsInsideAnObjectsBodyTimesOutAndNothingIsStored() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(16)
        let valid = try EvilOps.deletion(by: mallory, sequence: 1, parents: [honest.genesis], path: "hang.txt")
        let objects = Message.objects([valid.encoded]).frame()

        let peer = try EvilPeer(serving: honest)
        peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
        peer.send(EvilMessages.emptyHave)
        peer.sendRaw(Array(objects.prefix(objects.count - 10)))
        let outcome = peer.finish()

        let log = try honest.expectRefused(outcome, naming: ["sent nothing for"])
        #expect(!log.contains { $0.id == valid.id.hex })
        #expect(log.count == honest.before.count)
    }

    // MARK: - 11. Replayed messages

    @Test func helloSentTwiceIsAProtocolError() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(17)
        let hello = try EvilMessages.hello(honest.genesis, as: mallory)
        let peer = try EvilPeer(serving: honest)
        peer.send(hello)
        peer.send(hello)
        peer.send(EvilMessages.emptyHave)
        peer.send(.endOfRound)
        peer.send(.need([]))
        let outcome = peer.finish()

        try honest.expectRefused(outcome, naming: ["broke the sync protocol", "HAVE"])
    }

    @Test func replayingARecordedSessionOfAnotherReplicaIsHarmless() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        // Another honest replica with one more commit; record what its `serve` says in a session.
        try CLI.ok(["clone", honest.repo.path, "other"], in: honest.root.url)
        let other = honest.root.path("other")
        try CLI.admit(other, by: honest.repo)
        try honest.root.write("other/theirs.txt", "from the other replica\n")
        try CLI.ok(["commit", "-m", "theirs"], in: other)
        let theirLog = try EvilHonestRepo.log(of: other)

        let recorder = try EvilKeys.keyPair(18)
        let session = try EvilPeer(repository: other, scratch: honest.root)
        session.send(try EvilMessages.hello(honest.genesis, as: recorder))
        session.send(EvilMessages.emptyHave)
        session.send(.endOfRound)
        session.send(.need([]))
        let recorded = session.finish()
        #expect(recorded.exited && recorded.status == 0, "recording the other replica's session failed: \(recorded)")
        let kinds = recorded.received.map(\.kind)
        #expect(kinds.first == .hello && kinds.last == .need, "unexpected recording: \(kinds)")

        // Replay it, word for word, to the honest side twice: the first replay is a valid session
        // (everything in it is signed); the second brings nothing new and must change nothing.
        var logs: [[EvilLogEntry]] = []
        for round in 1...2 {
            let replay = try EvilPeer(serving: honest)
            for message in recorded.received { replay.send(message) }
            let outcome = replay.finish()
            #expect(outcome.exited, "replay \(round): serve did not exit: \(outcome)")
            #expect(outcome.status == 0, "replay \(round) of a valid session failed: \(outcome)")
            logs.append(try honest.expectIntact())
        }
        let ids = logs.map { Set($0.map(\.id)) }
        #expect(
            ids.first == Set(theirLog.map(\.id)), "the replayed session did not bring the other replica's operations")
        #expect(
            logs.first?.count == logs.last?.count && ids.first == ids.last, "the second replay changed the repository")
        #expect(logs.last.map { Set($0.map(\.id)).count == $0.count } == true, "log lists an operation twice")
    }

    // MARK: - 12. Object length prefixes beyond the object limit

    @Test func objectLengthPrefixBeyondTheObjectLimitIsRefusedBeforeAllocation() throws {
        let honest = try EvilHonestRepo.make(commits: 1)
        let mallory = try EvilKeys.keyPair(19)
        // A blob's encoding may be 64 MiB + 2 bytes (Limits.maxObjectBytes); announce one byte more,
        // in a frame of a few bytes (the honest side must not wait for or reserve 64 MiB).
        let cases: [(name: String, body: [UInt8], mentions: String)] = [
            (
                "object of maxObjectBytes + 1",
                [Message.Kind.objects.rawValue] + EvilWire.varint(1)
                    + EvilWire.varint(UInt64(Limits.maxObjectBytes) + 1),
                "object"
            ),
            (
                "object of 2^63 bytes",
                [Message.Kind.objects.rawValue] + EvilWire.varint(1) + EvilWire.varint(1 << 63),
                "object"
            ),
            (
                "object count beyond the per-message limit",
                [Message.Kind.objects.rawValue] + EvilWire.varint(UInt64(ProtocolLimits.maxObjectsPerMessage) + 1),
                "object count"
            ),
            (
                "object count larger than the frame",
                [Message.Kind.objects.rawValue] + EvilWire.varint(60_000) + [0x00],
                "objects"
            ),
        ]
        for (name, body, mentions) in cases {
            let peer = try EvilPeer(serving: honest)
            peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
            peer.send(EvilMessages.emptyHave)
            peer.sendRaw(EvilWire.frame(body))
            let outcome = peer.finish()

            expectRefused(outcome, naming: ["broke the sync protocol", mentions], name)
        }
        let log = try honest.expectIntact()
        #expect(log.count == honest.before.count)
    }

    // MARK: - 13. Compressed batches that lie

    @Test func compressedBatchThatInflatesPastItsLimitOrIsNotZlibEndsTheSessionWithBoundedMemory() throws {
        let honest = try EvilHonestRepo.make(commits: 1, members: [21])
        let mallory = try EvilKeys.keyPair(21)
        // 96 MiB of zeros, more than any frame may hold, deflate to well under 1 MiB.
        let bombSize = 96 << 20
        let bomb = try Deflater(level: 9).compress([UInt8](repeating: 0, count: bombSize))
        #expect(bomb.count < 1 << 20)
        // A valid batch (a blob and the operation naming it) whose zlib stream is then damaged.
        let blob = Blob(content: Array(String(repeating: "compressible text\n", count: 64).utf8))
        let valid = try EvilOps.change(
            by: mallory, sequence: 1, parents: [honest.base], message: "inside a bad stream",
            writing: "bad.txt", blob: blob)
        let good = Message.objects([blob.encoded, valid.encoded]).frame(compressed: true)
        #expect(good[4] == Message.Kind.compressedObjects.rawValue, "the batch should travel compressed")
        // Flipped in the Adler-32 (always a bad checksum), or mid-stream (where, depending on the
        // bytes, the stream becomes invalid, ends early or runs past its declared size).
        var badChecksum = good
        badChecksum[badChecksum.count - 1] ^= 0xff
        var corrupt = good
        corrupt[corrupt.count / 2] ^= 0xff
        var noise = [UInt8](repeating: 0, count: 4096)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for i in noise.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            noise[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let type = [Message.Kind.compressedObjects.rawValue]
        let limit = ProtocolLimits.maxFrameBytes - 1
        let cases: [(name: String, frame: [UInt8], mentions: String, measure: Bool)] = [
            // Declares 1 MiB: inflation must stop there, not at 96 MiB.
            (
                "a bomb declaring 1 MiB", EvilWire.frame(type + EvilWire.varint(1 << 20) + bomb),
                "more than the 1048576 bytes", true
            ),
            // Declares the most a frame may hold: inflation stops at the frame limit.
            (
                "a bomb declaring the frame limit", EvilWire.frame(type + EvilWire.varint(UInt64(limit)) + bomb),
                "more than the \(limit) bytes", false
            ),
            // Honest about its size, which is beyond the limit: refused before inflating.
            (
                "a bomb declaring its true size", EvilWire.frame(type + EvilWire.varint(UInt64(bombSize)) + bomb),
                "the limit is", true
            ),
            (
                "4 KiB of noise", EvilWire.frame(type + EvilWire.varint(4096) + noise), "not hold a valid zlib stream",
                false
            ),
            ("a valid batch with its checksum damaged", badChecksum, "not hold a valid zlib stream", false),
            ("a valid batch with a byte flipped mid-stream", corrupt, "COMPRESSED OBJECTS", false),
        ]
        // Greets, claims nothing, sends `frame` as its only batch and asks for nothing.
        func deliver(_ frame: [UInt8], to peer: EvilPeer) throws -> EvilPeer.Outcome {
            peer.send(try EvilMessages.hello(honest.genesis, as: mallory))
            peer.send(EvilMessages.emptyHave)
            peer.sendRaw(frame)
            peer.send(.endOfRound)
            peer.send(.need([]))
            return peer.finish()
        }
        for (name, frame, mentions, measure) in cases {
            let peak = honest.root.path("peak-\(UUID().uuidString)")
            let outcome = try deliver(
                frame, to: try EvilPeer(serving: honest, measuringPeakMemoryInto: measure ? peak : nil))

            expectRefused(outcome, naming: ["broke the sync protocol", "COMPRESSED OBJECTS", mentions], name)
            if measure {
                // serve's peak resident memory stays far below what the bomb inflates to.
                let kib = Int(
                    (try? String(contentsOf: peak, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                        ?? "")
                #expect(
                    kib.map { $0 * 1024 < bombSize / 2 } == true,
                    "\(name): serve's peak memory was \(kib.map { "\($0) KiB" } ?? "not measured")")
            }
            let log = try honest.expectIntact()
            #expect(log.count == honest.before.count, "\(name): something was stored")
            #expect(!log.contains { $0.id == valid.id.hex })
        }

        // The same batch, undamaged, is accepted: what failed above was only the compression.
        let outcome = try deliver(good, to: try EvilPeer(serving: honest))
        #expect(outcome.exited && outcome.status == 0, "the valid compressed batch was refused: \(outcome)")
        let log = try honest.expectIntact()
        #expect(log.contains { $0.id == valid.id.hex }, "the operation of the valid compressed batch was not stored")
    }
}

// MARK: - The malicious peer

/// What every refused attack ends with: serve exited by itself, with a non-zero status, and its
/// stderr names each of `names` (`label` starts each message, e.g. the case's name).
func expectRefused(
    _ outcome: EvilPeer.Outcome, naming names: [String], _ label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let prefix = label.isEmpty ? "" : label + ": "
    #expect(outcome.exited, "\(prefix)serve did not exit: \(outcome)", sourceLocation: sourceLocation)
    #expect(outcome.status != 0, "\(prefix)serve did not refuse: \(outcome)", sourceLocation: sourceLocation)
    for name in names {
        #expect(
            outcome.stderr.contains(name), "\(prefix)stderr does not name \"\(name)\": \(outcome)",
            sourceLocation: sourceLocation)
    }
}

/// Plays the other side of `hg-bft serve`: writes whatever the test gives it, reads and
/// decodes every frame the honest side sends on a background thread.
///
/// Waiting is bounded by the product's own timeouts: the honest side exits after its
/// `--timeout`, which closes its stdout and ends the reader; the reader's stream has a
/// timeout of its own as a safety net, after which the process is terminated and the
/// outcome says it did not exit.
final class EvilPeer: @unchecked Sendable {
    struct Outcome: CustomStringConvertible {
        let status: Int32
        let stderr: String
        /// stderr as written, for checks that must see invalid UTF-8 or raw control bytes.
        let stderrBytes: Data
        let received: [Message]
        /// False if the honest side had to be killed.
        let exited: Bool
        /// How reading the honest side's frames ended.
        let readEnd: String

        var description: String {
            var kinds = received.map { "\($0.kind)" }
            if kinds.count > 24 { kinds = kinds.prefix(12) + ["…"] + kinds.suffix(6) }
            return "exit \(status), exited by itself: \(exited), reading ended by: \(readEnd)\n"
                + "received \(received.count) message(s): \(kinds.joined(separator: " "))\nstderr:\n\(stderr)"
        }
    }

    private let process: Subprocess
    private let stderrURL: URL
    private let condition = NSCondition()
    private var messages: [Message] = []
    private var nextIndex = 0
    private var finished = false
    private var readEnd = ""
    private var hung = false
    /// Whether a write to the honest side failed (it stopped reading or exited).
    private(set) var writeFailed = false

    /// Starts `hg-bft serve <repo> --timeout <timeout>` with stderr captured to a file. With
    /// `peakMemory`, serve runs under python3, which writes serve's peak resident memory (KiB,
    /// `ru_maxrss`) to that file when it exits.
    convenience init(
        serving honest: EvilHonestRepo, timeout: Double = 2, measuringPeakMemoryInto peakMemory: URL? = nil
    ) throws {
        try self.init(
            repository: honest.repo, scratch: honest.root, timeout: timeout, measuringPeakMemoryInto: peakMemory)
    }

    /// Starts `hg-bft serve <repository> --timeout <timeout>`; its stderr goes to a file in `scratch`.
    init(repository: URL, scratch: TempDir, timeout: Double = 2, measuringPeakMemoryInto peakMemory: URL? = nil) throws
    {
        stderrURL = scratch.path("serve-stderr-\(UUID().uuidString)")
        var script = "exec \"$0\" serve \"$1\" --timeout \"$2\" 2>\"$3\""
        var extra: [String] = []
        if let peakMemory {
            let measure =
                "import resource, subprocess, sys; status = subprocess.call(sys.argv[2:]); "
                + "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
                + "sys.exit(status if status >= 0 else 128 - status)"
            script = "exec python3 -c \"$4\" \"$5\" \"$0\" serve \"$1\" --timeout \"$2\" 2>\"$3\""
            extra = [measure, peakMemory.path]
        }
        // The reader's own timeout is only a safety net for a serve that never exits.
        process = try Subprocess.spawn(
            ["/bin/sh", "-c", script, CLI.binary, repository.path, "\(timeout)", stderrURL.path] + extra,
            timeout: timeout + 25)
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    /// Sends a message (a write error, once the honest side has gone, is only recorded).
    func send(_ message: Message) { sendRaw(message.frame()) }

    func sendRaw(_ bytes: [UInt8]) {
        guard !writeFailed else { return }
        do throws(SyncError) {
            try process.stream.write(bytes, during: "the malicious peer's frames")
        } catch {
            writeFailed = true
        }
    }

    /// Closes the honest side's stdin.
    func closeWrite() { process.stream.closeWrite() }

    /// The next message from the honest side, or nil once it has stopped sending.
    func next() -> Message? {
        condition.lock()
        defer { condition.unlock() }
        while nextIndex >= messages.count && !finished { condition.wait() }
        guard nextIndex < messages.count else { return nil }
        defer { nextIndex += 1 }
        return messages[nextIndex]
    }

    /// Waits for the honest side to stop sending, then for its exit.
    func finish() -> Outcome {
        condition.lock()
        while !finished { condition.wait() }
        let received = messages
        let end = readEnd
        let didHang = hung
        condition.unlock()
        if didHang { process.terminate() }
        let status = process.wait()
        let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "(no stderr file)"
        let stderrBytes = (try? Data(contentsOf: stderrURL)) ?? Data()
        return Outcome(
            status: status, stderr: stderr, stderrBytes: stderrBytes, received: received, exited: !didHang, readEnd: end
        )
    }

    private func readLoop() {
        var end = "end of stream"
        var timedOut = false
        while true {
            do throws(SyncError) {
                let header = try process.stream.readExactly(4, during: "the honest side's frames")
                let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
                guard length >= 1, length <= ProtocolLimits.maxFrameBytes else {
                    end = "the honest side sent a frame of \(length) bytes"
                    break
                }
                let body = try process.stream.readExactly(length, during: "the honest side's frames")
                let message = try Message.decode(body)
                condition.lock()
                messages.append(message)
                condition.broadcast()
                condition.unlock()
            } catch {
                if case .timeout = error { timedOut = true }
                end = error.description
                break
            }
        }
        condition.lock()
        readEnd = end
        hung = timedOut
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}

// MARK: - The honest repository

struct EvilLogEntry: Decodable {
    let id: String
    let author: String
    let sequence: UInt64
    let kind: String
    let message: String
    let parents: [String]
}

struct EvilVerifyReport: Decodable {
    let clean: Bool
    let objects: Int
    let operations: Int
    let blobs: Int
    let equivocations: [Proof]

    struct Proof: Decodable {
        let author: String
        let sequence: UInt64
        let ids: [String]
        let operations: [String]
    }
}

/// An honest repository made with the CLI: init and a few commits, in `<root>/honest`.
struct EvilHonestRepo {
    let root: TempDir
    let repo: URL
    let genesis: ObjectID
    /// The head after the setup: operations of the added members on top of it are authorised.
    let base: ObjectID
    /// `log --json` before the malicious peer came.
    let before: [EvilLogEntry]

    /// An honest repository with `commits` commits, after which its founder adds the keys
    /// `EvilKeys.keyPair(n)` for each n of `members` as writers.
    static func make(
        commits: Int = 2, members: [UInt8] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> EvilHonestRepo {
        let root = try TempDir("evil")
        try CLI.ok(["init", "honest"], in: root.url, sourceLocation: sourceLocation)
        let repo = root.path("honest")
        for i in 1...max(commits, 1) {
            try root.write("honest/file\(i).txt", "honest content \(i)\n")
            try CLI.ok(["commit", "-m", "honest commit \(i)"], in: repo, sourceLocation: sourceLocation)
        }
        for n in members {
            try CLI.ok(
                ["member", "add", try EvilKeys.peer(try EvilKeys.keyPair(n)).text], in: repo,
                sourceLocation: sourceLocation)
        }
        let headText = try CLI.ok(["heads"], in: repo, sourceLocation: sourceLocation).stdout
        let base = try #require(
            headText.split(whereSeparator: \.isWhitespace).first.flatMap { ObjectID(hex: String($0)) },
            "heads printed \(headText)", sourceLocation: sourceLocation)
        let text = try CLI.ok(["id", "--repository"], in: repo, sourceLocation: sourceLocation).stdout
        let genesis = try #require(
            ObjectID(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            "id --repository printed \(text)", sourceLocation: sourceLocation)
        let before = try log(of: repo, sourceLocation: sourceLocation)
        #expect(before.count == commits + 1 + members.count, sourceLocation: sourceLocation)
        return EvilHonestRepo(root: root, repo: repo, genesis: genesis, base: base, before: before)
    }

    static func log(of repo: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> [EvilLogEntry] {
        let result = try CLI.ok(["log", "--json"], in: repo, sourceLocation: sourceLocation)
        return try JSONDecoder().decode([EvilLogEntry].self, from: result.stdoutBytes)
    }

    func verifyJSON(sourceLocation: SourceLocation = #_sourceLocation) throws -> EvilVerifyReport {
        let result = try CLI.run(["verify", "--json"], in: repo)
        #expect(result.status == 0, "verify after the malicious peer: \(result)", sourceLocation: sourceLocation)
        return try JSONDecoder().decode(EvilVerifyReport.self, from: result.stdoutBytes)
    }

    /// The closing assertions of an attack serve must refuse (`expectRefused(_:naming:_:)`), then
    /// `expectIntact`; returns the log.
    @discardableResult
    func expectRefused(
        _ outcome: EvilPeer.Outcome, naming names: [String], _ label: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [EvilLogEntry] {
        CLITests.expectRefused(outcome, naming: names, label, sourceLocation: sourceLocation)
        return try expectIntact(sourceLocation: sourceLocation)
    }

    /// verify exits 0 and every operation from before is still in `log --json`; returns the log.
    @discardableResult
    func expectIntact(sourceLocation: SourceLocation = #_sourceLocation) throws -> [EvilLogEntry] {
        let report = try verifyJSON(sourceLocation: sourceLocation)
        #expect(report.clean, "verify is not clean after the malicious peer", sourceLocation: sourceLocation)
        let log = try Self.log(of: repo, sourceLocation: sourceLocation)
        let now = Set(log.map(\.id))
        let lost = before.map(\.id).filter { !now.contains($0) }
        #expect(lost.isEmpty, "operations lost: \(lost)", sourceLocation: sourceLocation)
        #expect(
            report.operations == log.count, "verify and log disagree on the number of operations",
            sourceLocation: sourceLocation)
        return log
    }
}

// MARK: - Building what the malicious peer sends

enum EvilKeys {
    /// A deterministic key pair per test, so that failures reproduce.
    static func keyPair(_ n: UInt8) throws -> Ed25519.KeyPair {
        try HGTestSupport.keyPair(seedByte: n)
    }

    static func peer(_ key: Ed25519.KeyPair) throws -> PeerID {
        try #require(PeerID(publicKey: key.publicKey))
    }
}

enum EvilOps {
    static let timestamp: UInt64 = 1_700_000_000_000

    /// A change writing `path` with `blob`'s content.
    static func change(
        by key: Ed25519.KeyPair, sequence: UInt64, parents: [ObjectID], message: String,
        writing path: String, blob: Blob
    ) throws -> HGCore.Operation {
        try signedChange(
            by: key, sequence: sequence, parents: parents, timestamp: timestamp, message: message,
            entries: [try writing(path, blob: blob.id)])
    }

    /// A change deleting `path` (names no blob).
    static func deletion(
        by key: Ed25519.KeyPair, sequence: UInt64, parents: [ObjectID],
        path: String
    ) throws -> HGCore.Operation {
        try signedChange(
            by: key, sequence: sequence, parents: parents, timestamp: timestamp, message: "delete \(path)",
            entries: [try deleting(path)])
    }
}

enum EvilMessages {
    static func hello(_ repository: ObjectID, as key: Ed25519.KeyPair) throws -> Message {
        .hello(
            Hello(
                version: ProtocolLimits.version, repository: repository, peer: try EvilKeys.peer(key),
                maxFrameBytes: ProtocolLimits.maxFrameBytes))
    }

    /// HAVE with no heads and an empty filter: "send me everything".
    static var emptyHave: Message {
        .have(
            Have(
                heads: [], sharedHeads: [],
                filter: BloomFilter(expectedEntries: 0, salt: [UInt8](repeating: 0, count: BloomFilter.saltBytes)),
                filterEntries: 0))
    }
}

enum EvilWire {
    /// A frame around `body` (type byte and payload): u32 little-endian length first.
    static func frame(_ body: [UInt8]) -> [UInt8] {
        let length = UInt32(truncatingIfNeeded: body.count)
        return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: length >> UInt32($0)) } + body
    }

    /// A minimal LEB128 varint.
    static func varint(_ value: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 10)
        w.varint(value)
        return w.bytes
    }
}
