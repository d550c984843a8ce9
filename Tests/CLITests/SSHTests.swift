import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// `hg-bft clone` and `hg-bft sync` through a real OpenSSH server: each test starts its own
// sshd (Debian's openssh-server, installed by `make test-deps`) on a free loopback port, with
// throwaway host and user keys, and reaches `hg-bft serve` on it through `ssh://` and
// scp-like `user@host:path` addresses.

// MARK: - Helpers (file-private, so they never clash with other CLI test files)

private struct SSHTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private let sshdPath = "/usr/sbin/sshd"

/// `name` on $PATH (or the usual system directories), or a failure telling how to install it.
private func program(_ name: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin"] {
        let candidate = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw SSHTestFailure("\(name) not found: run `make test-deps` (it installs openssh-server and openssh-client)")
}

/// The current user's login name, as ssh will log in.
private func currentUser() throws -> String {
    guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else {
        throw SSHTestFailure("no passwd entry for uid \(getuid())")
    }
    return String(cString: name)
}

/// An IPv4 loopback socket address for `port`.
private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
    return address
}

/// A port that was free a moment ago: bind 127.0.0.1:0 and ask the kernel which port it chose.
private func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw SSHTestFailure("socket: errno \(errno)") }
    defer { _ = Glibc.close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw SSHTestFailure("bind 127.0.0.1:0: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw SSHTestFailure("getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
private func acceptsConnections(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { _ = Glibc.close(fd) }
    var address = loopback(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return connected == 0
}

/// Starts `arguments` with stdin and stdout on /dev/null and stderr appended to `log`; returns the pid.
///
/// Not Foundation's `Process`: on Linux it notices a child's exit when a socket the child
/// inherited closes, and then blocks in waitpid on that child from the one thread that reaps
/// every `Process`. sshd closes all inherited descriptors at start-up and keeps running, so
/// that thread would block until sshd ends, and every `CLI.run` in the test binary (this
/// suite's and the parallel ones') would hang in waitUntilExit.
private func spawnDaemon(_ arguments: [String], log: URL) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    var attributes = posix_spawnattr_t()
    guard posix_spawn_file_actions_init(&actions) == 0 else {
        throw SSHTestFailure("posix_spawn_file_actions_init failed")
    }
    defer { posix_spawn_file_actions_destroy(&actions) }
    guard posix_spawnattr_init(&attributes) == 0 else { throw SSHTestFailure("posix_spawnattr_init failed") }
    defer { posix_spawnattr_destroy(&attributes) }
    var code = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if code == 0 { code = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
    if code == 0 {
        code = posix_spawn_file_actions_addopen(&actions, 2, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    }
    // Default signal dispositions and an empty mask, whatever the test runner did to its own.
    var defaults = sigset_t()
    var mask = sigset_t()
    _ = sigfillset(&defaults)
    _ = sigemptyset(&mask)
    if code == 0 { code = posix_spawnattr_setsigdefault(&attributes, &defaults) }
    if code == 0 { code = posix_spawnattr_setsigmask(&attributes, &mask) }
    if code == 0 { code = posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) }
    guard code == 0 else { throw SSHTestFailure("posix_spawn set-up failed: errno \(code)") }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
    argv.append(nil)
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    code = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    guard code == 0 else { throw SSHTestFailure("cannot start \(arguments[0]): errno \(code)") }
    return pid
}

/// Whether the child `pid` is still running (reaping it if it has exited).
private func isRunning(_ pid: pid_t) -> Bool {
    var status: Int32 = 0
    while true {
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return true }
        if result < 0 && errno == EINTR { continue }
        return false  // reaped now, or already gone (ECHILD)
    }
}

/// SIGTERM to `pid`, SIGKILL if it still runs after two seconds; reaps it.
private func stopDaemon(_ pid: pid_t) {
    guard isRunning(pid) else { return }
    _ = kill(pid, SIGTERM)
    var tries = 0
    while isRunning(pid) {
        if tries == 100 {
            _ = kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return
        }
        _ = usleep(20_000)
        tries += 1
    }
}

/// A throwaway OpenSSH server on a loopback port, accepting one generated key for the current user.
private final class SSHServer {
    let port: Int
    let user: String
    let userKey: URL
    let ssh: String
    private let pid: pid_t
    private let log: URL

    /// Generates the keys and configuration in `dir` and starts `sshd -D -e`; returns once the
    /// port accepts connections. Fails (never skips) when OpenSSH is missing.
    init(in dir: URL) throws {
        guard FileManager.default.isExecutableFile(atPath: sshdPath) else {
            throw SSHTestFailure(
                "\(sshdPath) not found: run `make test-deps` (it installs openssh-server and openssh-client)")
        }
        ssh = try program("ssh")
        let keygen = try program("ssh-keygen")
        user = try currentUser()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["host_key", "user_key"] {
            let result = try CLI.runProgram(
                URL(fileURLWithPath: keygen),
                ["-q", "-t", "ed25519", "-N", "", "-C", "hg-bft-test", "-f", name], in: dir)
            guard result.status == 0 else { throw SSHTestFailure("ssh-keygen -f \(name) failed: \(result)") }
        }
        userKey = dir.appendingPathComponent("user_key")
        let authorizedKeys = dir.appendingPathComponent("authorized_keys")
        try Data(contentsOf: dir.appendingPathComponent("user_key.pub")).write(to: authorizedKeys)

        // As root, sshd wants its privilege-separation directory (Debian's is /run/sshd, made by
        // the service's unit, which nothing starts here); as another user it does not use it.
        if getuid() == 0 && !FileManager.default.fileExists(atPath: "/run/sshd") {
            try FileManager.default.createDirectory(
                atPath: "/run/sshd", withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755])
        }

        // The port is free when chosen but could be taken before sshd binds it: retry a few times.
        var lastLog = ""
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let config = dir.appendingPathComponent("sshd_config")
            // No `Subsystem` line: sshd rejects `Subsystem none` ("Missing subsystem command").
            let text = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir.appendingPathComponent("host_key").path)
                PidFile \(dir.appendingPathComponent("sshd.pid").path)
                AuthorizedKeysFile \(authorizedKeys.path)
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                StrictModes no
                PermitRootLogin yes

                """
            try Data(text.utf8).write(to: config)
            let log = dir.appendingPathComponent("sshd-\(port).log")
            // sshd re-executes itself for each connection, so it must be started by absolute path.
            let pid = try spawnDaemon([sshdPath, "-D", "-e", "-f", config.path], log: log)
            var tries = 0
            while tries < 200 && isRunning(pid) && !acceptsConnections(port: port) {
                _ = usleep(25_000)
                tries += 1
            }
            if isRunning(pid) && acceptsConnections(port: port) {
                self.port = port
                self.pid = pid
                self.log = log
                return
            }
            stopDaemon(pid)
            lastLog = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        }
        throw SSHTestFailure("sshd did not start listening on 127.0.0.1 (3 attempts); its log:\n\(lastLog)")
    }

    deinit { stop() }

    /// Stops sshd (its pid; connections' sshd processes end with their sessions).
    func stop() { stopDaemon(pid) }

    /// What sshd logged (with -e, on stderr), to explain a failure.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The ssh command for $HGBFT_SSH (split on spaces by hg-bft): our key, no known-hosts
    /// file, no user configuration, never a prompt.
    func sshCommand(port explicitPort: Int? = nil) throws -> String {
        var words = [
            ssh, "-F", "/dev/null", "-i", userKey.path, "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
        ]
        if let explicitPort { words += ["-p", String(explicitPort)] }
        if let spaced = words.first(where: { $0.contains(" ") }) {
            throw SSHTestFailure("'\(spaced)' contains a space, which $HGBFT_SSH cannot carry")
        }
        return words.joined(separator: " ")
    }

    /// The environment for hg-bft: $HGBFT_SSH set to `sshCommand(port:)`.
    func environment(port explicitPort: Int? = nil) throws -> [String: String] {
        ["HGBFT_SSH": try sshCommand(port: explicitPort)]
    }

    /// `ssh://user@127.0.0.1:port/abs/path`.
    func url(_ path: URL) -> String { "ssh://\(user)@127.0.0.1:\(port)\(path.standardizedFileURL.path)" }

    /// `user@127.0.0.1:/abs/path` (the port must come from $HGBFT_SSH).
    func scpLike(_ path: URL) -> String { "\(user)@127.0.0.1:\(path.standardizedFileURL.path)" }
}

/// Runs hg-bft with `environment`; it must succeed, else the test fails with its output and sshd's log.
@discardableResult
private func ok(
    _ args: [String], in cwd: URL, environment: [String: String] = [:], server: SSHServer? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> CLI.Result {
    let result = try CLI.run(args, in: cwd, environment: environment)
    #expect(
        result.status == 0,
        "hg-bft \(args.joined(separator: " ")) failed: \(result)\nsshd log:\n\(server?.logText ?? "")",
        sourceLocation: sourceLocation)
    return result
}

/// Writes a text file (creating parent directories).
private func write(_ dir: URL, _ relative: String, _ text: String) throws {
    let target = dir.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: target)
}

/// Reads a text file, or nil if it is missing.
private func read(_ dir: URL, _ relative: String) -> String? {
    (try? Data(contentsOf: dir.appendingPathComponent(relative))).map { String(decoding: $0, as: UTF8.self) }
}

/// The sorted `heads` lines.
private func heads(_ dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
    try ok(["heads"], in: dir, sourceLocation: sourceLocation).stdout
        .split(separator: "\n").map(String.init).sorted()
}

/// `verify --json` must be clean; returns (operations, state fingerprint).
private func verified(
    _ dir: URL, sourceLocation: SourceLocation = #_sourceLocation
) throws -> (operations: Int, fingerprint: String) {
    let result = try ok(["verify", "--json"], in: dir, sourceLocation: sourceLocation)
    let json = try #require(
        try JSONSerialization.jsonObject(with: result.stdoutBytes) as? [String: Any],
        sourceLocation: sourceLocation)
    #expect(json["clean"] as? Bool == true, "verify: \(result)", sourceLocation: sourceLocation)
    let operations = try #require((json["operations"] as? NSNumber)?.intValue, sourceLocation: sourceLocation)
    let fingerprint = try #require(json["fingerprint"] as? String, sourceLocation: sourceLocation)
    return (operations, fingerprint)
}

/// Both replicas hold the same operations: same heads, same operation count, same state fingerprint.
private func expectSameOperations(_ a: URL, _ b: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let headsA = try heads(a, sourceLocation: sourceLocation)
    #expect(!headsA.isEmpty, sourceLocation: sourceLocation)
    #expect(headsA == (try heads(b, sourceLocation: sourceLocation)), sourceLocation: sourceLocation)
    let verifyA = try verified(a, sourceLocation: sourceLocation)
    let verifyB = try verified(b, sourceLocation: sourceLocation)
    #expect(verifyA.operations == verifyB.operations, sourceLocation: sourceLocation)
    #expect(verifyA.fingerprint == verifyB.fingerprint, sourceLocation: sourceLocation)
}

/// A repository at `root/name` with two commits (`a.txt`, `dir/b.txt`).
private func makeRepository(_ root: URL, _ name: String) throws -> URL {
    let dir = root.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try ok(["init"], in: dir)
    try write(dir, "a.txt", "alpha\n")
    try ok(["commit", "-m", "first"], in: dir)
    try write(dir, "dir/b.txt", "beta\n")
    try ok(["commit", "-m", "second"], in: dir)
    return dir
}

// MARK: - Tests

@Suite struct SSHTests {
    /// clone over ssh://user@host:port/path, then sync both ways through the recorded origin
    /// and through the scp-like user@host:path form.
    @Test func cloneAndSyncOverSSH() throws {
        let root = try TempDir("hgbft-ssh")
        let server = try SSHServer(in: root.path("sshd"))
        defer { server.stop() }
        let env = try server.environment()
        let a = try makeRepository(root.url, "A")

        // Clone: B gets A's operations and files, and records the address as origin.
        let cloneURL = server.url(a)
        let clone = try ok(
            ["clone", cloneURL, "B", "--remote-program", CLI.binary], in: root.url, environment: env, server: server)
        #expect(clone.stdout.contains("Cloned into"), "\(clone)")
        let b = root.path("B")
        #expect(read(b, "a.txt") == "alpha\n")
        #expect(read(b, "dir/b.txt") == "beta\n")
        try expectSameOperations(a, b)
        let remotes = try ok(["remote", "list"], in: b).stdout
        #expect(remotes == "origin\t\(cloneURL)\n")

        try CLI.admit(b, by: a)
        // Concurrent commits on both sides, then `sync` with no remote (every remote: origin).
        try write(b, "from-b.txt", "written in B\n")
        try ok(["commit", "-m", "in B"], in: b)
        try write(a, "from-a.txt", "written in A\n")
        try ok(["commit", "-m", "in A"], in: a)
        #expect(try heads(a) != (try heads(b)))
        let sync = try ok(["sync", "--remote-program", CLI.binary], in: b, environment: env, server: server)
        #expect(sync.stdout.contains("synced with origin"), "\(sync)")
        try expectSameOperations(a, b)
        #expect(try heads(a).count == 2, "two concurrent heads after the exchange")
        #expect(read(b, "from-a.txt") == "written in A\n", "sync writes the merged state into B's tree")
        // The serving side stores what it receives but leaves its working tree to `checkout`.
        try ok(["checkout"], in: a)
        #expect(read(a, "from-b.txt") == "written in B\n")

        // The scp-like form cannot carry a port: it comes from $HGBFT_SSH.
        try write(a, "later.txt", "later\n")
        try ok(["commit", "-m", "later in A"], in: a)
        let scpEnv = try server.environment(port: server.port)
        let scp = try ok(
            ["sync", server.scpLike(a), "--remote-program", CLI.binary], in: b, environment: scpEnv, server: server)
        #expect(scp.stdout.contains("synced with \(server.scpLike(a))"), "\(scp)")
        try expectSameOperations(a, b)
        #expect(read(b, "later.txt") == "later\n")

        // A sync with nothing new on either side changes nothing and still succeeds.
        let before = try heads(b)
        try ok(["sync", "origin", "--remote-program", CLI.binary], in: b, environment: env, server: server)
        #expect(try heads(b) == before)
        try expectSameOperations(a, b)
    }

    /// A clone through the scp-like form records that form as origin, and a sync through it works.
    @Test func cloneThroughScpLikeAddress() throws {
        let root = try TempDir("hgbft-ssh")
        let server = try SSHServer(in: root.path("sshd"))
        defer { server.stop() }
        let env = try server.environment(port: server.port)
        let a = try makeRepository(root.url, "A")
        let address = server.scpLike(a)
        try ok(["clone", address, "C", "--remote-program", CLI.binary], in: root.url, environment: env, server: server)
        let c = root.path("C")
        #expect(read(c, "dir/b.txt") == "beta\n")
        #expect(try ok(["remote", "list"], in: c).stdout == "origin\t\(address)\n")
        try CLI.admit(c, by: a)
        try write(c, "from-c.txt", "c\n")
        try ok(["commit", "-m", "in C"], in: c)
        try ok(["sync", "--remote-program", CLI.binary], in: c, environment: env, server: server)
        try expectSameOperations(a, c)
    }

    /// Without $HGBFT_SSH or --remote-program: core.sshCommand and remote.origin.program from
    /// the repository's config (the program recorded by 'clone --remote-program', as git records
    /// --upload-pack); $HGBFT_SSH, when set, wins over core.sshCommand.
    @Test func sshCommandAndRemoteProgramFromConfig() throws {
        let root = try TempDir("hgbft-ssh")
        let server = try SSHServer(in: root.path("sshd"))
        defer { server.stop() }
        // The runner's own $HGBFT_SSH would be inherited and take precedence over the config.
        try #require(ProcessInfo.processInfo.environment["HGBFT_SSH"] == nil, "unset HGBFT_SSH to run this test")
        let a = try makeRepository(root.url, "A")
        try ok(
            ["clone", server.url(a), "B", "--remote-program", CLI.binary], in: root.url,
            environment: try server.environment(), server: server)
        let b = root.path("B")
        let config = b.appendingPathComponent(".hgrepo/config")
        let cloned = try String(contentsOf: config, encoding: .utf8)
        #expect(
            cloned.contains("[remote \"origin\"]\n\turl = \(server.url(a))\n\tprogram = \(CLI.binary)\n"), "\(cloned)")
        let handle = try FileHandle(forWritingTo: config)
        try handle.seekToEnd()
        try handle.write(
            contentsOf: Data(
                """
                [core]
                \tsshCommand = \(try server.sshCommand())

                """.utf8))
        try handle.close()

        try write(a, "from-a.txt", "a\n")
        try ok(["commit", "-m", "in A"], in: a)
        try ok(["sync"], in: b, server: server)
        try expectSameOperations(a, b)
        #expect(read(b, "from-a.txt") == "a\n")

        let local = try TempDir.snapshot(b)
        let missing = root.path("no-such-ssh").path
        let result = try CLI.run(["sync"], in: b, environment: ["HGBFT_SSH": missing])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("cannot start \(missing)"), "$HGBFT_SSH wins over core.sshCommand: \(result)")
        #expect(try TempDir.snapshot(b) == local)
    }

    /// A path with no repository on the host: exit 1, the remote's `error:` line on stderr, and
    /// nothing changed locally.
    @Test func wrongRemotePathFailsAndChangesNothing() throws {
        let root = try TempDir("hgbft-ssh")
        let server = try SSHServer(in: root.path("sshd"))
        defer { server.stop() }
        let b = try makeRepository(root.url, "B")
        let local = try TempDir.snapshot(b)
        let headsBefore = try heads(b)
        let missing = root.path("no-such-repository")

        let attempts: [(address: String, env: [String: String])] = [
            (server.url(missing), try server.environment()),
            (server.scpLike(missing), try server.environment(port: server.port)),
        ]
        for attempt in attempts {
            let result = try CLI.run(
                ["sync", attempt.address, "--remote-program", CLI.binary], in: b, environment: attempt.env)
            #expect(result.status == 1, "sync \(attempt.address): \(result)")
            // The remote `hg-bft serve` names the missing path on its `error:` line.
            #expect(
                result.stderr.split(separator: "\n").contains { $0.hasPrefix("error:") && $0.contains(missing.path) },
                "the remote's error line should come through: \(result)")
            #expect(
                !result.stderr.contains("Permission denied"), "ssh authentication failed: \(result)\n\(server.logText)")
            #expect(try TempDir.snapshot(b) == local, "nothing changed in B after sync \(attempt.address)")
            #expect(try heads(b) == headsBefore)
        }

        // A clone from a missing path fails the same way and leaves no directory behind.
        let clone = try CLI.run(
            ["clone", server.url(missing), "D", "--remote-program", CLI.binary],
            in: root.url, environment: try server.environment())
        #expect(clone.status == 1, "\(clone)")
        #expect(
            clone.stderr.split(separator: "\n").contains { $0.hasPrefix("error:") && $0.contains(missing.path) },
            "\(clone)")
        #expect(
            !FileManager.default.fileExists(atPath: root.path("D").path), "a failed clone leaves no directory: \(clone)"
        )
    }

    /// A remote program that is not there: a clear failure, not a hang.
    @Test func missingRemoteProgramFails() throws {
        let root = try TempDir("hgbft-ssh")
        let server = try SSHServer(in: root.path("sshd"))
        defer { server.stop() }
        let b = try makeRepository(root.url, "B")
        let local = try TempDir.snapshot(b)
        let result = try CLI.run(
            ["sync", server.url(b), "--remote-program", root.path("no-such-hg-bft").path],
            in: b, environment: try server.environment())
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("error:"), "\(result)")
        #expect(try TempDir.snapshot(b) == local)
    }
}
