import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The machine a benchmark runs on, for its first line: kernel, architecture, cores, CPU model.
public enum Machine {
    public static var description: String {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(text(name.sysname)) \(text(name.release)) \(text(name.machine)), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu)"
    }
}
