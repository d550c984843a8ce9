import HGCrypto
import HGTestSupport
import Testing

// Expected digests were computed with Python's hashlib.blake2b before being
// pasted here; BLAKE2b-512("abc") is also the value printed in RFC 7693 Appendix A.
private let blake2b512Empty = """
    786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419\
    d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce
    """
private let blake2b512ABC = """
    ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
    7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923
    """
private let blake2b256Empty = "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
private let blake2b256ABC = "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"

@Suite("BLAKE2b")
struct Blake2bTests {
    @Test("BLAKE2b-512 known answers (RFC 7693 Appendix A)")
    func blake2b512() throws {
        #expect(hexString(try Blake2b.hash([], outputLength: 64)) == blake2b512Empty)
        #expect(hexString(try Blake2b.hash(Array("abc".utf8), outputLength: 64)) == blake2b512ABC)
    }

    @Test("BLAKE2b-256 known answers")
    func blake2b256() throws {
        #expect(hexString(try Blake2b.hash([], outputLength: 32)) == blake2b256Empty)
        #expect(hexString(try Blake2b.hash(Array("abc".utf8), outputLength: 32)) == blake2b256ABC)
        #expect(hexString(Blake2b.hash256()) == blake2b256Empty)
        #expect(hexString(Blake2b.hash256([])) == blake2b256Empty)
        #expect(hexString(Blake2b.hash256(Array("abc".utf8))) == blake2b256ABC)
        // hash256 hashes the concatenation of its parts.
        #expect(hexString(Blake2b.hash256(Array("a".utf8), [], Array("bc".utf8))) == blake2b256ABC)
        // The same from memory.
        let abc = Array("abc".utf8)
        abc.withUnsafeBytes { raw in
            #expect(hexString(Blake2b.hash256(raw: raw)) == blake2b256ABC)
            #expect(
                hexString(
                    Blake2b.hash256(
                        raw: UnsafeRawBufferPointer(rebasing: raw[0..<1]), UnsafeRawBufferPointer(rebasing: raw[1..<1]),
                        UnsafeRawBufferPointer(rebasing: raw[1..<3]))) == blake2b256ABC)
            #expect(hexString(Blake2b.hash256(raw: UnsafeRawBufferPointer(rebasing: raw[0..<0]))) == blake2b256Empty)
            // As a value on the stack, from two parts (either may be empty).
            func bytes(_ digest: Blake2b.Digest256) -> [UInt8] { withUnsafeBytes(of: digest) { Array($0) } }
            for split in 0...3 {
                let digest = Blake2b.digest256(
                    UnsafeRawBufferPointer(rebasing: raw[0..<split]), UnsafeRawBufferPointer(rebasing: raw[split..<3]))
                #expect(hexString(bytes(digest)) == blake2b256ABC, "split at \(split)")
            }
            let empty = Blake2b.digest256(
                UnsafeRawBufferPointer(rebasing: raw[0..<0]), UnsafeRawBufferPointer(rebasing: raw[0..<0]))
            #expect(hexString(bytes(empty)) == blake2b256Empty)
        }
        #expect(Blake2b.digestBytes256 == 32)
    }

    @Test("the incremental hasher over pieces equals the one-shot hash")
    func incrementalMatchesOneShot() throws {
        let data = pseudoRandomBytes(1 << 20 | 12_345, seed: 7)
        for outputLength in [32, 64] {
            let expected = try Blake2b.hash(data, outputLength: outputLength)
            // Piece sizes around BLAKE2b's 128-byte block, plus odd and large ones.
            for pieceSize in [1, 127, 128, 129, 1000, 65_536, data.count] {
                let hasher = Blake2bHasher(outputLength: outputLength)
                var offset = 0
                var useSlice = false
                while offset < data.count {
                    let end = min(offset + pieceSize, data.count)
                    if useSlice {
                        hasher.update(data[offset..<end])
                    } else {
                        hasher.update(Array(data[offset..<end]))
                    }
                    hasher.update([UInt8]())  // empty updates change nothing
                    useSlice.toggle()
                    offset = end
                    if pieceSize == 1 && offset >= 4096 {
                        // Byte-at-a-time over the whole MiB is slow; finish in one piece.
                        hasher.update(data[offset...])
                        offset = data.count
                    }
                }
                #expect(hasher.finalize() == expected, "output \(outputLength), pieces of \(pieceSize)")
            }
            // The raw-buffer overload.
            let raw = Blake2bHasher(outputLength: outputLength)
            data.withUnsafeBytes { buffer in
                raw.update(UnsafeRawBufferPointer(rebasing: buffer[0..<1000]))
                raw.update(UnsafeRawBufferPointer(rebasing: buffer[1000...]))
            }
            #expect(raw.finalize() == expected, "raw buffer, output \(outputLength)")
        }
        // The default hasher is BLAKE2b-256.
        let abc = Blake2bHasher()
        abc.update(Array("ab".utf8))
        abc.update(Array("c".utf8))
        #expect(hexString(abc.finalize()) == blake2b256ABC)
        #expect(hexString(Blake2bHasher().finalize()) == blake2b256Empty)
    }

    @Test("the hasher clamps its output length to 16...64")
    func hasherClamps() throws {
        let short = Blake2bHasher(outputLength: 1)
        short.update(Array("abc".utf8))
        #expect(try short.finalize() == Blake2b.hash(Array("abc".utf8), outputLength: 16))
        let long = Blake2bHasher(outputLength: 1000)
        long.update(Array("abc".utf8))
        #expect(hexString(long.finalize()) == blake2b512ABC)
    }

    @Test("keyed hashing matches Python's hashlib.blake2b(key=...)")
    func keyed() throws {
        let message = Array("The quick brown fox jumps over the lazy dog".utf8)
        // hashlib.blake2b(msg, key=bytes(range(64))).hexdigest()
        let fullKey = (0..<64).map { UInt8($0) }
        #expect(
            hexString(try Blake2b.hash(message, outputLength: 64, key: fullKey)) == """
                1d58d71414d24752db3274afdc483fc0f4c68317c4c2f6a31e09de9437ba02cc\
                ab8c8585790a52b0d476f7920c0e1397d1aec9e52f3df3feae76f7d6223ce5cf
                """)
        // hashlib.blake2b(msg, key=b"hg-bft key", digest_size=32).hexdigest()
        let shortKey = Array("hg-bft key".utf8)
        #expect(
            hexString(try Blake2b.hash(message, outputLength: 32, key: shortKey))
                == "f2a2d930084373ee740ee920f6761f6d01e22d771bb87b665ed8e906f5d6b6b7")
        // A key changes the digest; an empty key is the same as no key.
        #expect(try Blake2b.hash(message, outputLength: 32, key: shortKey) != Blake2b.hash256(message))
        #expect(try Blake2b.hash(message, outputLength: 32, key: []) == Blake2b.hash256(message))
    }

    @Test("out-of-range output lengths and keys are rejected")
    func badParameters() {
        #expect(throws: CryptoError.self) { try Blake2b.hash([1, 2, 3], outputLength: 0) }
        #expect(throws: CryptoError.self) { try Blake2b.hash([1, 2, 3], outputLength: 15) }
        #expect(throws: CryptoError.self) { try Blake2b.hash([1, 2, 3], outputLength: 65) }
        #expect(throws: CryptoError.badLength(what: "BLAKE2b key", expected: 64, actual: 65)) {
            try Blake2b.hash([1, 2, 3], outputLength: 32, key: [UInt8](repeating: 0, count: 65))
        }
        // The bounds themselves are accepted.
        #expect((try? Blake2b.hash([1, 2, 3], outputLength: 16))?.count == 16)
        #expect((try? Blake2b.hash([1, 2, 3], outputLength: 64, key: [UInt8](repeating: 5, count: 64)))?.count == 64)
    }
}
