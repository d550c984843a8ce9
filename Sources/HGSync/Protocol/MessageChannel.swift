import Dispatch
import HGCompression
import HGCore

#if canImport(Glibc)
import Glibc
#endif

/// Frames messages over a `ByteStream`.
///
/// Writes go through a serial writer queue so that both peers can send large
/// batches at the same time without each blocking on a full pipe while the
/// other does the same; reads happen on the caller's thread. Every frame read
/// is checked against the frame limit before its body is allocated.
///
/// Objects are compressed on the writer queue, so compressing one batch overlaps
/// with reading the next from the repository.
// @unchecked: writeError and compressor are touched only on `writer`, inflater only by `receive`'s one caller.
final class MessageChannel: @unchecked Sendable {
    let stream: ByteStream
    let maxFrameBytes: Int
    private let writer = DispatchQueue(label: "hg-bft.sync.writer")
    private var writeError: SyncError?
    /// Used only on the writer queue; nil if libdeflate could not start (objects then go uncompressed).
    private lazy var compressor: BlockCompressor? = try? BlockCompressor(level: ProtocolLimits.compressionLevel)
    /// Used only by `receive`, on the caller's thread.
    private lazy var inflater: Inflater? = try? Inflater()

    init(stream: ByteStream, maxFrameBytes: Int = ProtocolLimits.maxFrameBytes) {
        self.stream = stream
        self.maxFrameBytes = maxFrameBytes
    }

    /// Queues a message for sending (OBJECTS as COMPRESSED OBJECTS when that is smaller).
    func send(_ message: Message) {
        let during = "sending \(message.kind)"
        writer.async { [self] in
            guard writeError == nil else { return }
            let frame = compressor.map { message.frame(compressingWith: $0) } ?? message.frame()
            do throws(SyncError) { try stream.write(frame, during: during) } catch { writeError = error }
        }
    }

    /// Waits until everything queued has been written; throws the first write error.
    func flush() throws(SyncError) {
        let error: SyncError? = writer.sync { writeError }
        if let error { throw error }
    }

    /// Bytes written so far (after `flush`, exact).
    var bytesSent: Int { writer.sync { stream.bytesWritten } }
    var bytesReceived: Int { stream.bytesRead }

    /// Reads one message.
    func receive(during: String) throws(SyncError) -> Message {
        let header = try stream.readExactly(4, during: during)
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16 | Int(header[3]) << 24
        guard length >= 1 else { throw .protocolViolation("empty frame") }
        guard length <= maxFrameBytes else { throw .frameTooLarge(length, limit: maxFrameBytes) }
        let body = try stream.readExactly(length, during: during)
        let message = try Message.decode(body, maxFrameBytes: maxFrameBytes, inflater: inflater)
        if case let .error(text) = message {
            throw .peerError(text)
        }
        return message
    }
}
