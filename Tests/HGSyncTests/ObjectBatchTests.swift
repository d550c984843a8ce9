import Foundation
import Testing

@testable import HGSync

/// How a sender cuts a round of objects into OBJECTS batches (PROTOCOL.md 2.7, last paragraph).
@Suite struct ObjectBatchTests {
    /// `count` objects of `size` bytes, each different.
    private static func objects(_ count: Int, size: Int) -> [[UInt8]] {
        (0..<count).map { n in
            var state = UInt32(truncatingIfNeeded: n) &* 2_654_435_761 &+ 1
            return (0..<size).map { _ in
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: state >> 24)
            }
        }
    }

    /// Sends `objects` through one `ObjectBatch` over a pipe and returns the batches received.
    private static func batches(of objects: [[UInt8]], maxFrame: Int) throws -> [[[UInt8]]] {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        let stream = ByteStream(readFD: fds[0], writeFD: fds[1], timeout: 10, closeOnDeinit: true)
        let channel = MessageChannel(stream: stream)
        var batch = ObjectBatch(maxFrame: maxFrame, channel: channel)
        // The channel writes on its own queue, so the pipe drains as this thread reads below.
        for object in objects { batch.add(object) }
        batch.flush()
        var received: [[[UInt8]]] = []
        while received.reduce(0, { $0 + $1.count }) < objects.count {
            guard case let .objects(batch) = try channel.receive(during: "the test") else {
                Issue.record("expected OBJECTS")
                break
            }
            received.append(batch)
        }
        try channel.flush()
        return received
    }

    /// What a batch counts against its limit: each encoding's length plus 10.
    private static func cost(_ batch: [[UInt8]]) -> Int { batch.reduce(0) { $0 + $1.count + 10 } }

    @Test("the first batch of a round closes past 4 KiB, each next one at twice the last limit, up to 64 KiB")
    func batchesStartSmallAndDouble() throws {
        let objects = Self.objects(1_500, size: 190)
        let received = try Self.batches(of: objects, maxFrame: ProtocolLimits.maxFrameBytes)
        #expect(Array(received.joined()) == objects, "objects were lost, duplicated or reordered")
        var limit = ObjectBatch.firstBytes
        for (index, batch) in received.enumerated() {
            #expect(Self.cost(batch) <= limit, "batch \(index) costs \(Self.cost(batch)), over its limit \(limit)")
            if index < received.count - 1 {
                // Closed only when the next object would not have fitted.
                #expect(
                    Self.cost(batch) + 200 > limit, "batch \(index) closed early at \(Self.cost(batch)) of \(limit)")
            }
            limit = min(limit * 2, ObjectBatch.targetBytes)
        }
        #expect(ObjectBatch.firstBytes == 4_096 && ObjectBatch.targetBytes == 65_536)
        #expect(received.first?.count == 20, "the first batch holds 20 objects of 200 counted bytes")
        #expect(received.count > 6, "the round never reached the largest batches: \(received.map(\.count))")
        #expect(
            received.dropLast().suffix(2).allSatisfy { Self.cost($0) > 65_536 - 200 },
            "the later batches are not full 64 KiB ones: \(received.map(Self.cost))")
    }

    @Test("a peer's smaller frame limit caps every batch, the first included")
    func peerLimitCapsBatches() throws {
        let objects = Self.objects(100, size: 190)
        let received = try Self.batches(of: objects, maxFrame: 1_064)
        #expect(Array(received.joined()) == objects)
        #expect(received.allSatisfy { Self.cost($0) <= 1_000 }, "\(received.map(Self.cost))")
        #expect(received.first?.count == 5)
    }
}
