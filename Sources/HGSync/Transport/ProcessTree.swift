#if canImport(Glibc)
import Glibc
#endif

/// The processes a child started, read from /proc, so that a stopped peer command leaves
/// nothing running: `sh -c "CMD"` forks CMD, and killing the shell alone orphans it.
///
/// Process ids are used rather than a process group of the child's own because the child must
/// stay in ours: a command such as `ssh` may ask for a passphrase on the terminal, which a
/// process outside the terminal's foreground group cannot read (it is stopped by SIGTTIN).
enum ProcessTree {
    /// Every living descendant of `root` (children, their children, …), nearest first; not
    /// `root` itself. Empty when /proc cannot be read.
    static func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for (pid, parent) in parents() { children[parent, default: []].append(pid) }
        var found: [pid_t] = []
        var queue = [root]
        var seen: Set<pid_t> = [root]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            for child in children[next] ?? [] where seen.insert(child).inserted {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    /// Whether `pid` names a process that has not exited (a zombie has).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let fields = statFields(pid) else { return false }
        return fields.state != UInt8(ascii: "Z")
    }

    /// (pid, parent pid) of every process in /proc.
    private static func parents() -> [(pid_t, pid_t)] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var result: [(pid_t, pid_t)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let pid = pid_t(name), let fields = statFields(pid) else { continue }
            result.append((pid, fields.parent))
        }
        return result
    }

    /// The state and parent fields of /proc/<pid>/stat: "pid (comm) state ppid …", where comm
    /// may itself hold spaces and parentheses, so the fields are counted from the last ')'.
    private static func statFields(_ pid: pid_t) -> (state: UInt8, parent: pid_t)? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, let nameEnd = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = buffer[(nameEnd + 1)..<count].split(separator: UInt8(ascii: " "))
        guard rest.count >= 2, let state = rest[0].first,
            let parent = pid_t(String(decoding: rest[1], as: UTF8.self))
        else { return nil }
        return (state, parent)
    }
}
