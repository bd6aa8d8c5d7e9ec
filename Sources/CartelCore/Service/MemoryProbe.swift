#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads the resident memory of this process.
public protocol MemoryProbe: Sendable {
    /// Resident set size in bytes, or nil when the platform cannot tell.
    func residentBytes() -> UInt64?
}

/// Linux: `/proc/self/statm`, second field, in pages.
public struct ProcMemoryProbe: MemoryProbe {
    public init() {}

    public func residentBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
