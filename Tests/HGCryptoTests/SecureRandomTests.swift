import HGCrypto
import HGTestSupport
import Testing

@Suite("SecureRandom and SecureMemory")
struct SecureRandomTests {
    @Test("random bytes have the requested length", arguments: [0, 1, 16, 32, 1000, 65_536])
    func length(count: Int) throws {
        #expect(try SecureRandom.bytes(count).count == count)
    }

    @Test("two calls return different bytes")
    func differs() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a != b)
        // 4 KiB of output is not constant (all-zero or all-equal would mean the buffer was never filled).
        let large = try SecureRandom.bytes(4096)
        #expect(Set(large).count > 200)
    }

    @Test("SecureMemory.zero overwrites every byte and keeps the length")
    func zero() throws {
        var secret = try SecureRandom.bytes(100)
        secret[0] = 0xff  // at least one non-zero byte for sure
        SecureMemory.zero(&secret)
        #expect(secret.count == 100)
        #expect(secret.allSatisfy { $0 == 0 })

        var empty: [UInt8] = []
        SecureMemory.zero(&empty)
        #expect(empty.isEmpty)
    }

    @Test("SecureMemory.equal compares contents and lengths")
    func equal() {
        let a: [UInt8] = [1, 2, 3, 4, 5]
        #expect(SecureMemory.equal(a, [1, 2, 3, 4, 5]))
        #expect(!SecureMemory.equal(a, [1, 2, 3, 4, 6]))
        #expect(!SecureMemory.equal(a, [0, 2, 3, 4, 5]))
        #expect(!SecureMemory.equal(a, [1, 2, 3, 4]))
        #expect(!SecureMemory.equal(a, [1, 2, 3, 4, 5, 0]))
        #expect(SecureMemory.equal([], []))
        #expect(!SecureMemory.equal([], [0]))
        let big = pseudoRandomBytes(4096, seed: 3)
        var other = big
        #expect(SecureMemory.equal(big, other))
        other[4095] ^= 0x80
        #expect(!SecureMemory.equal(big, other))
    }
}
