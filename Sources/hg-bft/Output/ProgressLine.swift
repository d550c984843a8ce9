import HGRepository

/// Renders git-style lines, redrawn in place: `Sending operations: 45% (450/1000), 1.2 MiB | 3.4 MiB/s`
/// when the total is known, `Receiving operations: 450, 1.2 MiB | 3.4 MiB/s` when it is not (the
/// peer does not announce how much it will send).
enum ProgressLine {
    /// When the first report arrived, for the rate. Progress is reported from one thread only.
    nonisolated(unsafe) private static var started: Double?
    /// Whether a line was drawn that is not finished yet.
    nonisolated(unsafe) static var drew = false

    static let report: SyncProgress = { phase, done, total, bytes in
        // Redraw at most every 256 items to keep the cost negligible.
        guard done == total || done % 256 == 0 else { return }
        let now = Clock.monotonicSeconds()
        let start = started ?? now
        if started == nil { started = now }
        var line = "\r\(phase): "
        if total > 0 {
            line += "\(done * 100 / max(total, 1))% (\(done)/\(total))"
        } else {
            line += "\(done)"
        }
        line += ", \(ByteCount.format(bytes))"
        if now - start > 0.05 { line += " | \(ByteCount.format(Int(Double(bytes) / (now - start))))/s" }
        if done == total { line += ", done.\n" }
        drew = done != total
        Terminal.progress(line)
    }
}

enum ByteCount {
    static func format(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) bytes" }
        if bytes < 1 << 20 { return "\(Double(bytes * 10 / 1024) / 10) KiB" }
        return "\(Double(bytes * 10 / (1 << 20)) / 10) MiB"
    }
}
