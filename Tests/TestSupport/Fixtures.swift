import Foundation

/// The real API answers in `Tests/Fixtures` (copied from Kraken's and Telegram's published
/// examples; see its README). `SIGNALCARTEL_FIXTURES` points elsewhere when set.
public enum Fixtures {
    public static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SIGNALCARTEL_FIXTURES"], !dir.isEmpty { return dir }
        return URL(fileURLWithPath: BuildProducts.repositoryRoot).appendingPathComponent("Tests/Fixtures").path
    }

    public static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(relative)"))
    }

    /// File names (without folder) in `fixtures/<folder>` that start with `prefix`.
    public static func names(in folder: String, prefix: String) -> [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(folder)")) ?? []
        return all.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    public static func json(_ relative: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: data(relative)) as? [String: Any] ?? [:]
    }
}
