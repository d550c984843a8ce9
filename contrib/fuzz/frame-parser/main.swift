// Fuzz target `frame-parser`: the byte stream a sync peer sends, read frame by frame by the
// code a sync uses (`MessageChannel.receive` over a `ByteStream`: u32 length, frame limit,
// type byte, payload, `Message.decode`).
//
// The input is the whole stream. It is copied into an unlinked temporary file, which a
// `ByteStream` reads like a pipe that never blocks; messages are read until the first error
// (the end of the input reads as the peer closing the stream).
//
// Oracles, beyond "no trap and no AddressSanitizer report":
//  - decoding is strict, so an accepted frame is canonical: `Message.frame()` of the decoded
//    message gives back exactly the frame read — except COMPRESSED OBJECTS (type 0x07), whose
//    zlib stream has many encodings of one content: its decoded message must equal the plain
//    OBJECTS message it carries, which in turn must frame canonically;
//  - what a session does next with a message computes without trapping: Bloom filter
//    look-ups in the peer's filter, decoding the objects of an OBJECTS message.
import HGCore
@testable import HGSync  // for `MessageChannel`, internal; debug builds enable testability
#if canImport(Glibc)
import Glibc
#endif

/// The file each input is copied into, created once and unlinked at once.
let inputFD: Int32 = {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array((directory + "/hg-bft-fuzz-XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0, "cannot create a temporary file in \(directory)")
    unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    return fd
}()

/// Where the channel's (unused) writing side points.
let nullFD = open("/dev/null", O_WRONLY)

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    precondition(ftruncate(inputFD, 0) == 0)
    precondition(input.withUnsafeBytes { pwrite(inputFD, $0.baseAddress, $0.count, 0) } == input.count)
    precondition(lseek(inputFD, 0, SEEK_SET) == 0)

    let stream = ByteStream(readFD: inputFD, writeFD: nullFD, timeout: 1, closeOnDeinit: false)
    let channel = MessageChannel(stream: stream)
    var offset = 0
    while true {
        let message: Message
        do throws(SyncError) {
            message = try channel.receive(during: "fuzzing")
        } catch {
            _ = error.description
            return 0
        }
        // The frame just read, taken from the input itself.
        let length = (0..<4).reduce(0) { $0 | Int(input[offset + $1]) << (8 * $1) }
        let frame = Array(input[offset..<(offset + 4 + length)])
        offset += 4 + length
        precondition(stream.bytesRead == offset)
        if frame[4] == Message.Kind.compressedObjects.rawValue {
            // The same objects, as the plain OBJECTS frame hg-bft would send uncompressed.
            guard case .objects = message else { preconditionFailure("type 0x07 decoded to another message") }
            let plain = message.frame()
            precondition(plain[4] == Message.Kind.objects.rawValue, "compressed objects re-framed as type \(plain[4])")
            precondition((try? Message.decode(Array(plain[4...]))) == message, "plain OBJECTS frame does not round-trip")
        } else {
            precondition(message.frame() == frame, "a message decoded from a non-canonical frame")
        }
        use(message)
    }
}

/// What a session does next with a message it accepted.
func use(_ message: Message) {
    switch message {
    case let .have(have):
        for id in have.heads + have.sharedHeads { _ = have.filter.mightContain(id) }
        _ = have.filter.mightContain(ObjectID(raw: .zero))
    case let .objects(objects):
        for encoding in objects { _ = try? StoredObject.decode(encoding) }
    case let .hello(hello):
        _ = hello.peer.description
    case .need, .endOfRound, .error:
        break
    }
}
