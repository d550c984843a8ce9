import HGTestSupport
import Testing

@Suite("Test support")
struct TestSupportTests {
    @Test("hex decoding round-trips and rejects bad input")
    func hexRoundTrip() throws {
        #expect(try hexBytes("00ff10Ab") == [0x00, 0xff, 0x10, 0xab])
        #expect(try hexBytes("00 ff\n10") == [0x00, 0xff, 0x10])
        #expect(try hexBytes("") == [])
        #expect(hexString([0x00, 0xff, 0x10, 0xab]) == "00ff10ab")
        #expect(throws: HexDecodingError.self) { try hexBytes("0g") }
        #expect(throws: HexDecodingError.self) { try hexBytes("abc") }
    }

    @Test("deterministic data helpers have the requested size")
    func dataHelpers() {
        #expect(pseudoRandomBytes(13, seed: 1).count == 13)
        #expect(pseudoRandomBytes(64, seed: 1) == pseudoRandomBytes(64, seed: 1))
        #expect(pseudoRandomBytes(64, seed: 1) != pseudoRandomBytes(64, seed: 2))
        #expect(repetitiveBytes(100).count == 100)
        #expect(repetitiveBytes(0).isEmpty)
    }
}
