/// Where a peer is, as the user wrote it (git's rules):
///
/// - `ssh://[user@]host[:port]/path` — run `hg-bft serve /path` over ssh;
/// - `[user@]host:path` — the same (scp-like syntax), when a colon comes before any slash;
/// - `file:///path` or anything else — a local path, served by a local subprocess;
/// - an explicit command (`--exec "CMD"`), run by `/bin/sh -c`.
public enum RemoteAddress: Equatable, Sendable, CustomStringConvertible {
    case local(path: String)
    case ssh(user: String?, host: String, port: Int?, path: String)
    case command(String)

    /// Parses an address (not `--exec`, which the caller builds directly).
    public init(parsing text: String) throws(SyncError) {
        guard !text.isEmpty else { throw .transport("empty remote address") }
        if text.hasPrefix("file://") {
            self = .local(path: String(text.dropFirst("file://".count)))
            return
        }
        if text.hasPrefix("ssh://") {
            let rest = text.dropFirst("ssh://".count)
            guard let slash = rest.firstIndex(of: "/") else {
                throw .transport("'\(text)' has no path; write ssh://[user@]host[:port]/path")
            }
            var authority = String(rest[..<slash])
            let path = String(rest[slash...])
            var user: String?
            if let at = authority.lastIndex(of: "@") {
                user = String(authority[..<at])
                authority = String(authority[authority.index(after: at)...])
            }
            var port: Int?
            if let colon = authority.lastIndex(of: ":") {
                guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                    throw .transport("'\(text)' has a bad port")
                }
                port = value
                authority = String(authority[..<colon])
            }
            guard !authority.isEmpty else { throw .transport("'\(text)' has no host") }
            // ssh://host/~/x means x in the remote home directory, as in git.
            let remotePath = path.hasPrefix("/~/") ? String(path.dropFirst(3)) : path
            self = .ssh(user: user, host: authority, port: port, path: remotePath)
            return
        }
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/"), colon != text.startIndex {
            var host = String(text[..<colon])
            let path = String(text[text.index(after: colon)...])
            var user: String?
            if let at = host.lastIndex(of: "@") {
                user = String(host[..<at])
                host = String(host[host.index(after: at)...])
            }
            guard !host.isEmpty, !path.isEmpty else { throw .transport("'\(text)' is not [user@]host:path") }
            self = .ssh(user: user, host: host, port: nil, path: path)
            return
        }
        self = .local(path: text)
    }

    public var description: String {
        switch self {
        case let .local(path): return path
        case let .ssh(user, host, port, path):
            return
                "ssh://\(user.map { $0 + "@" } ?? "")\(host)\(port.map { ":\($0)" } ?? "")\(path.hasPrefix("/") ? path : "/~/" + path)"
        case let .command(command): return "exec: \(command)"
        }
    }

    /// The command line that starts a peer speaking the protocol on stdin/stdout.
    ///
    /// - Parameters:
    ///   - localProgram: this hg-bft's own executable, for local paths.
    ///   - remoteProgram: the hg-bft to run on the ssh host (default `hg-bft`).
    ///   - sshCommand: the ssh program and its options, split on spaces (default `ssh`).
    public func serveCommand(
        localProgram: String, remoteProgram: String = "hg-bft",
        sshCommand: [String] = ["ssh"]
    ) -> [String] {
        switch self {
        case let .local(path):
            return [localProgram, "serve", path]
        case let .ssh(user, host, port, path):
            var args = sshCommand
            if let port { args += ["-p", String(port)] }
            // ssh hands the remote side one command string, run by the remote shell: quote it.
            args += [
                "--", (user.map { $0 + "@" } ?? "") + host,
                [remoteProgram, "serve", path].map(RemoteAddress.shellQuote).joined(separator: " "),
            ]
            return args
        case let .command(command):
            return ["/bin/sh", "-c", command]
        }
    }

    /// Single-quotes a word for a POSIX shell.
    public static func shellQuote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:@%+,".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) {
                return index..<self.index(index, offsetBy: target.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
