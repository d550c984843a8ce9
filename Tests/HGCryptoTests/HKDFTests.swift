import HGCrypto
import HGTestSupport
import Testing

/// One RFC 5869 Appendix A case (hex fields).
struct HKDFVector: Sendable, CustomTestStringConvertible {
    let name: String
    let ikm: String
    let salt: String
    let info: String
    let length: Int
    let prk: String
    let okm: String

    var testDescription: String { name }
}

// RFC 5869 Appendix A, test cases 1–3 (SHA-256). Each PRK and OKM was
// recomputed with Python's hmac/hashlib and with `cryptography`'s HKDF before
// being pasted here.
let rfc5869Vectors: [HKDFVector] = [
    HKDFVector(
        name: "A.1 basic",
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "000102030405060708090a0b0c",
        info: "f0f1f2f3f4f5f6f7f8f9",
        length: 42,
        prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
    HKDFVector(
        name: "A.2 longer inputs and outputs",
        ikm: """
            000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
            202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
            404142434445464748494a4b4c4d4e4f
            """,
        salt: """
            606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f
            808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f
            a0a1a2a3a4a5a6a7a8a9aaabacadaeaf
            """,
        info: """
            b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf
            d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef
            f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
            """,
        length: 82,
        prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        okm: """
            b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
            59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
            cc30c58179ec3e87c14c01d5c1f3434f1d87
            """),
    HKDFVector(
        name: "A.3 zero-length salt and info",
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "",
        info: "",
        length: 42,
        prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
]

@Suite("HKDF and HMAC-SHA-256")
struct HKDFTests {
    @Test("RFC 5869 Appendix A", arguments: rfc5869Vectors)
    func rfc5869(vector: HKDFVector) throws {
        let ikm = try hexBytes(vector.ikm)
        let salt = try hexBytes(vector.salt)
        let info = try hexBytes(vector.info)
        let prk = HKDF.extract(salt: salt, inputKeyMaterial: ikm)
        #expect(hexString(prk) == vector.prk)
        let okm = try HKDF.expand(pseudoRandomKey: prk, info: info, length: vector.length)
        #expect(okm.count == vector.length)
        #expect(hexString(okm) == vector.okm)
        let derived = try HKDF.deriveKey(salt: salt, inputKeyMaterial: ikm, info: info, length: vector.length)
        #expect(hexString(derived) == vector.okm)
    }

    @Test("HMAC-SHA-256, RFC 4231 test case 2")
    func hmacJefe() {
        let mac = HKDF.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(hexString(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("HMAC-SHA-256, RFC 4231 test case 6 (key longer than a block)")
    func hmacLongKey() {
        let mac = HKDF.hmacSHA256(
            key: [UInt8](repeating: 0xaa, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        #expect(hexString(mac) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("HKDF-Expand output length bounds")
    func expandBounds() throws {
        let prk = [UInt8](repeating: 0x01, count: 32)
        #expect(try HKDF.expand(pseudoRandomKey: prk, info: [], length: 0).isEmpty)
        let longest = try HKDF.expand(pseudoRandomKey: prk, info: [1, 2], length: 255 * 32)
        #expect(longest.count == 255 * 32)
        // Expand is a prefix function: a shorter output is a prefix of a longer one.
        let short = try HKDF.expand(pseudoRandomKey: prk, info: [1, 2], length: 100)
        #expect(Array(longest.prefix(100)) == short)
        #expect(throws: CryptoError.self) { try HKDF.expand(pseudoRandomKey: prk, info: [], length: 255 * 32 + 1) }
        #expect(throws: CryptoError.self) { try HKDF.expand(pseudoRandomKey: prk, info: [], length: -1) }
    }
}
