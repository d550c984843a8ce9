/// libsodium's Swift import takes non-optional pointers for many arguments, but an
/// empty Swift array may have no storage. These helpers hand C a valid pointer
/// in every case (to a dummy byte when the length is zero, which C then never reads).
extension Array where Element == UInt8 {
    @inline(__always)
    func withNonNullPointer<R>(_ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        if isEmpty {
            var dummy: UInt8 = 0
            return withUnsafePointer(to: &dummy) { body($0, 0) }
        }
        return withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else {
                var dummy: UInt8 = 0
                return withUnsafePointer(to: &dummy) { body($0, 0) }
            }
            return body(base, buffer.count)
        }
    }

    @inline(__always)
    mutating func withNonNullMutablePointer<R>(_ body: (UnsafeMutablePointer<UInt8>, Int) -> R) -> R {
        if isEmpty {
            var dummy: UInt8 = 0
            return withUnsafeMutablePointer(to: &dummy) { body($0, 0) }
        }
        return withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else {
                var dummy: UInt8 = 0
                return withUnsafeMutablePointer(to: &dummy) { body($0, 0) }
            }
            return body(base, buffer.count)
        }
    }
}
