import Foundation
import HGTestSupport
import Testing

/// Runs the built `hg-bft` binary in temporary directories.
///
/// The binary is found beside the test bundle (SwiftPM builds it because this
/// target depends on it), or at `$HGBFT_BIN` when set.
enum CLI {
    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String
        let stdoutBytes: Data
        let stderrBytes: Data
        var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["HGBFT_BIN"] { return explicit }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("hg-bft").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/hg-bft").path
        return fromSource
    }()

    /// Runs `hg-bft args…` in `cwd` and waits for it.
    @discardableResult
    static func run(
        _ args: [String], in cwd: URL, stdin: Data? = nil, environment: [String: String] = [:]
    ) throws -> Result {
        try runProgram(URL(fileURLWithPath: binary), args, in: cwd, stdin: stdin, environment: environment)
    }

    /// Runs any program in `cwd`, feeding `stdin` (or nothing), and waits for it.
    static func runProgram(
        _ executable: URL, _ args: [String], in cwd: URL, stdin: Data? = nil,
        environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self),
            stdoutBytes: outData, stderrBytes: errData)
    }

    /// Runs a command that must succeed, failing the test with its output otherwise.
    @discardableResult
    static func ok(_ args: [String], in cwd: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let result = try run(args, in: cwd)
        #expect(
            result.status == 0, "hg-bft \(args.joined(separator: " ")) failed: \(result)",
            sourceLocation: sourceLocation)
        return result
    }

    /// Makes the replica in `replica` a member of the repository: its founder (or an admin)
    /// in `admin` adds its peer id, then the replica syncs with `admin` to learn it.
    static func admit(
        _ replica: URL, by admin: URL, role: String = "writer",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let id = try ok(["id"], in: replica, sourceLocation: sourceLocation).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        try ok(["member", "add", id] + (role == "admin" ? ["--admin"] : []), in: admin, sourceLocation: sourceLocation)
        try ok(["sync", "-q", admin.path], in: replica, sourceLocation: sourceLocation)
    }
}

/// A temporary directory removed when the value is released.
final class TempDir {
    let url: URL

    init(_ label: String = "hgbft") throws {
        let base = FileManager.default.temporaryDirectory
        url = base.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A path inside the directory.
    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    /// Writes a text file, creating parent directories.
    func write(_ relative: String, _ text: String) throws {
        let target = path(relative)
        try FileManager.default.createDirectory(
            at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: target)
    }

    /// Reads a text file.
    func read(_ relative: String) throws -> String {
        String(decoding: try Data(contentsOf: path(relative)), as: UTF8.self)
    }

    /// Every file below `.hgrepo` with its bytes, to prove a failed command changed nothing.
    func snapshotMeta() throws -> [String: Data] {
        try Self.snapshot(path(".hgrepo"))
    }
}

extension TempDir {
    /// Every regular file below `dir` (except a lock file) with its bytes, keyed by its path
    /// relative to `dir`: to prove a failed command changed nothing.
    static func snapshot(_ dir: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
        else {
            return result
        }
        for case let file as URL in walker {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            if file.lastPathComponent == "lock" { continue }
            result[String(file.standardizedFileURL.path.dropFirst(dir.standardizedFileURL.path.count))] = try Data(
                contentsOf: file)
        }
        return result
    }
}
