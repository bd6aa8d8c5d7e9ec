import Foundation

/// Where the services keep their data, parsed from `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite file; relative paths are resolved against the working directory (the
    /// repository root when the scripts start a service).
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresURL)

    public static let defaultURL = "sqlite:data/signalcartel.sqlite"

    /// Accepts `sqlite:PATH`, `sqlite://PATH`, `sqlite:///ABSOLUTE/PATH`, and the PostgreSQL forms
    /// of ``PostgresURL`` (`postgres://…`, `postgresql://…`).
    public static func parse(_ url: String, key: String = "DATABASE_URL") throws -> DatabaseLocation {
        if PostgresURL.isPostgres(url) { return .postgres(try PostgresURL.parse(url, key: key)) }
        let expected = "sqlite:PATH (for example \(defaultURL)) or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
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

    /// The SQLite file's path made absolute against `base`; nil for PostgreSQL.
    public func sqlitePath(relativeTo base: String = FileManager.default.currentDirectoryPath) -> String? {
        switch self {
        case .sqlite(let path):
            if path.hasPrefix("/") { return path }
            return URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
        case .postgres:
            return nil
        }
    }

    /// The SQLite path, or the PostgreSQL URL without its password: safe for logs.
    public var description: String {
        switch self {
        case .sqlite: sqlitePath() ?? ""
        case .postgres(let url): url.redacted
        }
    }
}
