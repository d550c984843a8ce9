import HGCore
import HGSystem
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("errno text")
struct ErrnoTextTests {
    @Test func knownValuesReadAsTextAndName() {
        #expect(ErrnoText.describe(ENOSPC) == "No space left on device (ENOSPC)")
        #expect(ErrnoText.describe(ENAMETOOLONG) == "File name too long (ENAMETOOLONG)")
        #expect(ErrnoText.describe(EACCES) == "Permission denied (EACCES)")
        #expect(ErrnoText.describe(ENOENT) == "No such file or directory (ENOENT)")
    }

    /// Every value Linux defines gets its name; none is left as a bare number
    /// (41 and 58 are the two unassigned values below EHWPOISON).
    @Test func everyDefinedValueHasAName() {
        for code in Int32(1)...EHWPOISON where code != 41 && code != 58 {
            let text = ErrnoText.describe(code)
            #expect(text.hasSuffix(")") && text.contains(" (E"), "errno \(code) renders as '\(text)'")
            #expect(!text.contains("errno"), "errno \(code) renders as '\(text)'")
        }
    }

    @Test func unknownValueSaysSo() {
        #expect(ErrnoText.describe(99_999) == "unknown error 99999")
        #expect(ErrnoText.describe(-1) == "unknown error -1")
    }
}
