import HGCrypto
import HGTestSupport
import Testing

/// One known-answer case of RFC 8032 §7.1 (all fields hex).
struct RFC8032Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let secretKey: String
    let publicKey: String
    let messageLength: Int
    let message: String
    let signature: String

    var testDescription: String { name }
}

// RFC 8032 §7.1, Ed25519. Transcribed from two independent public copies that
// agree byte for byte, and checked against OpenSSL (Python `cryptography`)
// before being pasted here: each public key derives from its secret key and
// each signature is reproduced.
let rfc8032Vectors: [RFC8032Vector] = [
    RFC8032Vector(
        name: "TEST 1",
        secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        messageLength: 0,
        message: "",
        signature: """
            e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555\
            fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b
            """),
    RFC8032Vector(
        name: "TEST 2",
        secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        messageLength: 1,
        message: "72",
        signature: """
            92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da0\
            85ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00
            """),
    RFC8032Vector(
        name: "TEST 3",
        secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        messageLength: 2,
        message: "af82",
        signature: """
            6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac1\
            8ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a
            """),
    RFC8032Vector(
        name: "TEST 1024",
        secretKey: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        publicKey: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        messageLength: 1023,
        message: """
            08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98
            fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8
            79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d
            658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc
            1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe
            ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e
            06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef
            efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7
            aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1
            85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2
            d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24
            554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270
            88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc
            2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07
            07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba
            b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a
            ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e
            c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7
            51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c
            42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8
            ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df
            f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08
            d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649
            de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4
            88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3
            2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e
            6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f
            b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5
            0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1
            369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d
            b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c
            0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0
            """,
        signature: """
            0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350a\
            a5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03
            """),
]

/// The order of the Ed25519 base point, ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
let ed25519GroupOrder = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"

@Suite("Ed25519")
struct Ed25519Tests {
    @Test("RFC 8032 §7.1 known answers", arguments: rfc8032Vectors)
    func rfc8032(vector: RFC8032Vector) throws {
        let seed = try hexBytes(vector.secretKey)
        let expectedPublicKey = try hexBytes(vector.publicKey)
        let message = try hexBytes(vector.message)
        let expectedSignature = try hexBytes(vector.signature)
        try #require(seed.count == Ed25519.seedBytes)
        try #require(expectedPublicKey.count == Ed25519.publicKeyBytes)
        try #require(expectedSignature.count == Ed25519.signatureBytes)
        try #require(message.count == vector.messageLength)

        let pair = try Ed25519.KeyPair(seed: seed)
        // The public key derives from the secret key through our wrapper.
        #expect(hexString(pair.publicKey) == vector.publicKey)
        // Signing is deterministic and reproduces the RFC signature.
        let signature = pair.sign(message)
        #expect(hexString(signature) == hexString(expectedSignature))
        // The RFC signature verifies under the RFC public key.
        #expect(Ed25519.verify(signature: expectedSignature, message: message, publicKey: expectedPublicKey))
        #expect(pair.exportSeed() == seed)
    }

    @Test("a flipped bit anywhere in message, signature or public key fails verification")
    func flippedBitsFail() throws {
        let vector = try #require(rfc8032Vectors.first { $0.name == "TEST 3" })
        let message = try hexBytes(vector.message) + Array(" and some more bytes to flip".utf8)
        let pair = try Ed25519.KeyPair(seed: try hexBytes(vector.secretKey))
        let signature = pair.sign(message)
        let publicKey = pair.publicKey
        try #require(Ed25519.verify(signature: signature, message: message, publicKey: publicKey))

        var accepted: [String] = []
        for bit in 0..<(message.count * 8) {
            var bad = message
            bad[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            if Ed25519.verify(signature: signature, message: bad, publicKey: publicKey) {
                accepted.append("message bit \(bit)")
            }
        }
        for bit in 0..<(Ed25519.signatureBytes * 8) {
            var bad = signature
            bad[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            if Ed25519.verify(signature: bad, message: message, publicKey: publicKey) {
                accepted.append("signature bit \(bit)")
            }
        }
        for bit in 0..<(Ed25519.publicKeyBytes * 8) {
            var bad = publicKey
            bad[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            if Ed25519.verify(signature: signature, message: message, publicKey: bad) {
                accepted.append("public key bit \(bit)")
            }
        }
        #expect(accepted.isEmpty, "accepted after flipping: \(accepted)")
        // Another key never verifies the signature.
        let other = try Ed25519.KeyPair(seed: [UInt8](repeating: 7, count: Ed25519.seedBytes))
        #expect(!Ed25519.verify(signature: signature, message: message, publicKey: other.publicKey))
    }

    @Test("wrong-length signatures and public keys are invalid, not a crash")
    func wrongLengths() throws {
        let pair = try Ed25519.KeyPair(seed: [UInt8](repeating: 0x42, count: Ed25519.seedBytes))
        let message = Array("hg-bft".utf8)
        let signature = pair.sign(message)
        let publicKey = pair.publicKey
        try #require(Ed25519.verify(signature: signature, message: message, publicKey: publicKey))

        let badSignatures: [[UInt8]] = [
            [], Array(signature.prefix(1)), Array(signature.prefix(32)),
            Array(signature.prefix(63)), signature + [0], signature + signature,
        ]
        for bad in badSignatures {
            #expect(
                !Ed25519.verify(signature: bad, message: message, publicKey: publicKey),
                "signature of \(bad.count) bytes")
        }
        let badKeys: [[UInt8]] = [
            [], Array(publicKey.prefix(1)), Array(publicKey.prefix(31)),
            publicKey + [0], publicKey + publicKey,
        ]
        for bad in badKeys {
            #expect(
                !Ed25519.verify(signature: signature, message: message, publicKey: bad),
                "public key of \(bad.count) bytes")
        }
        // Both wrong at once, and the slice overload too.
        #expect(!Ed25519.verify(signature: [], message: message, publicKey: []))
        #expect(!Ed25519.verify(signature: signature[0..<63], message: message, publicKey: publicKey[0..<32]))
        #expect(!Ed25519.verify(signature: signature[0..<64], message: message, publicKey: publicKey[0..<31]))
    }

    @Test("a seed of the wrong length is rejected", arguments: [0, 31, 33, 64])
    func wrongSeedLength(length: Int) {
        #expect(throws: CryptoError.badLength(what: "Ed25519 seed", expected: 32, actual: length)) {
            try Ed25519.KeyPair(seed: [UInt8](repeating: 1, count: length))
        }
    }

    @Test("the slice overload verifies data embedded in a larger buffer")
    func sliceVerify() throws {
        let pair = try Ed25519.KeyPair(seed: pseudoRandomBytes(32, seed: 11))
        let message = pseudoRandomBytes(300, seed: 12)
        let signature = pair.sign(message)
        // A frame: 5 junk bytes ‖ signature ‖ public key ‖ 3 junk bytes; the slices do not start at 0.
        var frame: [UInt8] = [9, 9, 9, 9, 9] + signature + pair.publicKey + [8, 8, 8]
        let sigRange = 5..<(5 + Ed25519.signatureBytes)
        let keyRange = sigRange.upperBound..<(sigRange.upperBound + Ed25519.publicKeyBytes)
        #expect(Ed25519.verify(signature: frame[sigRange], message: message, publicKey: frame[keyRange]))
        frame[sigRange.lowerBound + 10] ^= 0x01
        #expect(!Ed25519.verify(signature: frame[sigRange], message: message, publicKey: frame[keyRange]))
    }

    @Test("exportSeed round-trips to the same key pair")
    func exportSeedRoundTrip() throws {
        let original = try Ed25519.KeyPair.generate()
        let seed = original.exportSeed()
        #expect(seed.count == Ed25519.seedBytes)
        let restored = try Ed25519.KeyPair(seed: seed)
        #expect(restored.publicKey == original.publicKey)
        #expect(restored.exportSeed() == seed)
        let message = Array("round trip".utf8)
        let signature = original.sign(message)
        #expect(restored.sign(message) == signature)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: restored.publicKey))

        // Fresh key pairs are different from one another.
        let another = try Ed25519.KeyPair.generate()
        #expect(another.publicKey != original.publicKey)
        #expect(another.exportSeed() != seed)
    }

    @Test("a non-canonical S (S + ℓ) is rejected, so signatures are not malleable")
    func nonCanonicalScalarRejected() throws {
        let pair = try Ed25519.KeyPair(seed: pseudoRandomBytes(32, seed: 21))
        let message = Array("malleability".utf8)
        let signature = pair.sign(message)
        try #require(Ed25519.verify(signature: signature, message: message, publicKey: pair.publicKey))

        // S' = S + ℓ (little-endian 256-bit addition; S < ℓ < 2^253, so no overflow).
        let order = try hexBytes(ed25519GroupOrder)
        var malleated = signature
        var carry: UInt16 = 0
        for i in 0..<32 {
            let sum = UInt16(signature[32 + i]) + UInt16(order[i]) + carry
            malleated[32 + i] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
        try #require(carry == 0)
        try #require(malleated != signature)
        #expect(!Ed25519.verify(signature: malleated, message: message, publicKey: pair.publicKey))
    }

    @Test("a small-order public key verifies nothing")
    func smallOrderKeyRejected() throws {
        // A = identity, R = identity, S = 0 satisfies [S]B = R + [k]A for every message;
        // libsodium's strict verifier must refuse it.
        let identity = try hexBytes("0100000000000000000000000000000000000000000000000000000000000000")
        let signature = identity + [UInt8](repeating: 0, count: 32)
        #expect(!Ed25519.verify(signature: signature, message: Array("edge".utf8), publicKey: identity))
    }
}
