import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file at exactly these UTF-8 bytes (its directory too), with no Foundation path
/// handling in between: the tests of names that differ only in Unicode normalisation need that.
public func rawWrite(_ path: String, _ text: String) throws {
    if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
        let parent = String(path.utf8[..<slash]) ?? ""
        if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw CocoaError(.fileWriteUnknown) }
    }
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw CocoaError(.fileWriteUnknown)
    }
}

/// A file's bytes read through its path's exact UTF-8 bytes (no Foundation in between), or nil.
public func rawRead(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buffer.prefix(n)
    }
    return out
}
