#if canImport(Glibc)
import Glibc
#endif

/// The one way an `errno` value is shown to a user: glibc's English description and the
/// symbolic name, as in "No space left on device (ENOSPC)". Every error type that carries an
/// errno renders it through here, so that no message says "errno 28".
public enum ErrnoText {
    /// "<description> (<NAME>)"; "unknown error <code>" for a value glibc does not know.
    public static func describe(_ code: Int32) -> String {
        let description = lookUp(descriptionFunction, code)
        let name = lookUp(nameFunction, code)
        switch (description, name) {
        case let (description?, name?): return "\(description) (\(name))"
        case let (description?, nil): return "\(description) (error \(code))"
        case let (nil, name?): return name
        case (nil, nil): return "unknown error \(code)"
        }
    }

    private static func lookUp(_ function: ErrnoLookUp?, _ code: Int32) -> String? {
        guard let function, let text = function(code) else { return nil }
        return String(cString: text)
    }
}

/// glibc's strerrordesc_np(3) and strerrorname_np(3) (since 2.32): untranslated, thread-safe,
/// and NULL for unknown values. Looked up at run time because Swift's Glibc module is built
/// without _GNU_SOURCE and does not declare them; strerror would be neither (it returns a
/// shared buffer for unknown values and follows the locale).
private typealias ErrnoLookUp = @convention(c) (Int32) -> UnsafePointer<CChar>?

private let descriptionFunction: ErrnoLookUp? = symbol("strerrordesc_np")
private let nameFunction: ErrnoLookUp? = symbol("strerrorname_np")

private func symbol(_ name: String) -> ErrnoLookUp? {
    guard let handle = dlopen(nil, RTLD_NOW), let found = dlsym(handle, name) else { return nil }
    return unsafeBitCast(found, to: ErrnoLookUp.self)
}
