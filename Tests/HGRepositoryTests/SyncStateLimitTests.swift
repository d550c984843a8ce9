import Foundation
import HGCore
import HGTestSupport
import Testing

@testable import HGRepository

/// Per-peer sync state cannot grow without bound: anyone can make new identities.
@Suite struct SyncStateLimitTests {
    @Test func oldestSyncStatesAreDroppedBeyondTheLimit() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sync-limit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let (repository, _) = try Repository.create(at: root.path)
        let heads = try repository.heads()
        var generator = SplitMix64(seed: 99)
        for _ in 0..<(Repository.maxSyncStates + 10) {
            let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            guard let peer = PeerID(publicKey: key) else { continue }
            repository.recordSharedHeads(heads, with: peer)
        }
        let files = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent(".hgrepo/sync").path)
        #expect(files.count == Repository.maxSyncStates)
    }
}
