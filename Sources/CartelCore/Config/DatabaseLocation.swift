import Foundation

/// Where the services keep their data, parsed from `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    /// A SQLite file; relative paths are resolved against the working directory (the
    /// repository root when the scripts start a service).
    case sqlite(path: String)

    public static let defaultURL = "sqlite:data/signalcartel.sqlite"

    /// Accepts `sqlite:PATH`, `sqlite://PATH` and `sqlite:///ABSOLUTE/PATH`.
    public static func parse(_ url: String, key: String = "DATABASE_URL") throws -> DatabaseLocation {
        let expected = "sqlite:PATH (for example \(defaultURL)); no other database is supported yet"
        guard url.lowercased().hasPrefix("sqlite:") else {
            throw ConfigurationError(key: key, value: redacted(url), expected: expected)
        }
        var path = String(url.dropFirst("sqlite:".count))
        if path.hasPrefix("//") { path.removeFirst(2) }
        guard !path.isEmpty, !path.hasSuffix("/"), !path.contains("\0") else {
            throw ConfigurationError(key: key, value: redacted(url), expected: expected)
        }
        return .sqlite(path: path)
    }

    /// A URL with its password replaced, so error messages never echo a credential.
    static func redacted(_ url: String) -> String {
        // Text first: a password with `/` or `#` in it makes the URL unparseable, not public.
        PostgresURL.redactedText(url)
    }

    /// The SQLite path made absolute against `base`.
    public func absolutePath(relativeTo base: String = FileManager.default.currentDirectoryPath) -> String {
        switch self {
        case .sqlite(let path):
            if path.hasPrefix("/") { return path }
            return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
        }
    }
}
