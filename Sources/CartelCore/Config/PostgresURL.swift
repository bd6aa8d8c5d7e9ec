import Foundation

/// A PostgreSQL connection as `DATABASE_URL` names it:
/// `postgres://user:password@host:port/database?sslmode=disable|require` (also `postgresql://`),
/// or over a unix socket, `postgres://user@/database?host=/run/postgresql` or
/// `postgres:///database?host=/path`. User and password may be percent-encoded. The password is
/// kept out of every description (``redacted``).
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The directory holding the server's socket (`.s.PGSQL.<port>`).
        case unixSocket(directory: String, port: Int)

        /// The socket file's path for a unix-socket endpoint.
        public var socketPath: String? {
            guard case .unixSocket(let directory, let port) = self else { return nil }
            return (directory.hasSuffix("/") ? directory : directory + "/") + ".s.PGSQL.\(port)"
        }
    }

    public enum TLS: String, Sendable, Equatable {
        /// Plain connection (loopback, a unix socket, or a private network).
        case disable
        /// TLS required, the certificate checked against the system's roots.
        case require
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLS

    public init(endpoint: Endpoint, user: String, password: String?, database: String, tls: TLS) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Whether `url` names PostgreSQL (rather than SQLite).
    public static func isPostgres(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses `url`; a mistake is a ``ConfigurationError`` for `key` that never shows the password.
    public static func parse(_ url: String, key: String = "DATABASE_URL") throws -> PostgresURL {
        let expected = "postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|require] or postgres:///DATABASE?host=/SOCKET/DIR"
        func fail(_ why: String) -> ConfigurationError {
            ConfigurationError(key: key, value: redactedText(url), expected: "\(expected) (\(why))")
        }
        guard isPostgres(url) else { throw fail("the scheme must be postgres or postgresql") }
        // URLComponents does not accept an empty host with a user (`postgres://user@/db`): give
        // it a stand-in host and remember that none was given.
        var text = url
        let afterScheme = text.range(of: "://")!.upperBound
        let authorityEnd = text[afterScheme...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
        let authority = text[afterScheme..<authorityEnd]
        let hostGiven = !(authority.isEmpty || authority.hasSuffix("@"))
        if !hostGiven { text.insert(contentsOf: "localhost", at: authorityEnd) }
        guard let parts = URLComponents(string: text) else { throw fail("not a URL") }
        let path = parts.percentEncodedPath
        let database = (path.hasPrefix("/") ? String(path.dropFirst()) : path).removingPercentEncoding ?? ""
        guard !database.isEmpty, !database.contains("/") else { throw fail("name the database after the host: /DATABASE") }
        guard let user = (parts.percentEncodedUser?.removingPercentEncoding).flatMap({ $0.isEmpty ? nil : $0 })
            ?? (hostGiven ? nil : ProcessInfo.processInfo.environment["USER"]) ?? (hostGiven ? nil : "postgres")
        else { throw fail("name the user: postgres://USER@HOST/DATABASE") }
        let password = parts.percentEncodedPassword?.removingPercentEncoding
        var tls = TLS.disable
        var socketDirectory: String?
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value {
                case "disable", "allow", "prefer": tls = .disable
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw fail("sslmode must be disable or require")
                }
            case "host":
                guard let value = item.value, value.hasPrefix("/") else { throw fail("host= must be a socket directory starting with /") }
                socketDirectory = value
            case "port", "application_name", "connect_timeout":
                continue
            default:
                throw fail("unknown parameter '\(item.name)'")
            }
        }
        let portItem = parts.queryItems?.first { $0.name == "port" }?.value
        let port = parts.port ?? portItem.flatMap(Int.init) ?? 5432
        guard (1...65_535).contains(port) else { throw fail("the port must be 1 to 65535") }
        let endpoint: Endpoint
        if let socketDirectory {
            guard !hostGiven else { throw fail("give either a host or host=/socket/dir, not both") }
            endpoint = .unixSocket(directory: socketDirectory, port: port)
        } else if hostGiven, let host = parts.host, !host.isEmpty {
            endpoint = .tcp(host: host, port: port)
        } else {
            // libpq's default: the Debian socket directory.
            endpoint = .unixSocket(directory: "/var/run/postgresql", port: port)
        }
        return PostgresURL(endpoint: endpoint, user: user, password: password, database: database, tls: tls)
    }

    /// `text` with whatever follows the user name up to the last `@` replaced by `***`, without
    /// parsing it: a URL too broken to parse (a `/` or `#` in the password) still hides it.
    public static func redactedText(_ text: String) -> String {
        var text = text
        // A `password=` query parameter (refused, but echoed in the refusal) is hidden too.
        if let query = text.firstIndex(of: "?") {
            let parts = text[text.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false).map { part in
                part.lowercased().hasPrefix("password=") ? "password=***" : String(part)
            }
            text = String(text[...query]) + parts.joined(separator: "&")
        }
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
              scheme.upperBound <= at.lowerBound
        else { return text }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at.lowerBound...])
    }

    /// The URL without its password: safe for logs, errors and `/api/health`.
    public var redacted: String {
        let credentials = user + (password == nil ? "" : ":***")
        switch endpoint {
        case .tcp(let host, let port):
            return "postgres://\(credentials)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)\(tls == .require ? "?sslmode=require" : "")"
        case .unixSocket(let directory, let port):
            return "postgres://\(credentials)@/\(database)?host=\(directory)\(port == 5432 ? "" : "&port=\(port)")"
        }
    }

    public var description: String { redacted }
}
