import Foundation

/// A Redis server as `REDIS_URL` names it: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` or, over
/// a unix socket, `unix://[[USER]:PASSWORD@]/PATH[?db=DB]`. User and password may be
/// percent-encoded. The password is kept out of every description.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var endpoint: Endpoint
    /// An ACL user (Redis 6+); nil authenticates as `default` with `AUTH PASSWORD`.
    public var user: String?
    public var password: String?
    public var database: Int

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    static let expected = "redis://[:PASSWORD@]HOST[:PORT][/DB] or unix://[:PASSWORD@]/PATH/redis.sock[?db=DB]"

    /// Parses `text`; a mistake is a ``ConfigurationError`` for `key` that never shows the password.
    public static func parse(_ text: String, key: String = "REDIS_URL") throws -> RedisURL {
        func fail(_ why: String) -> ConfigurationError {
            ConfigurationError(key: key, value: redactedText(text), expected: "\(expected) (\(why))")
        }
        guard let schemeEnd = text.range(of: "://") else { throw fail("no scheme") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(text[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        // Credentials end at the last `@` before the path (a password may hold `@` only encoded).
        var user: String?
        var password: String?
        let pathStart = scheme == "unix" ? rest.firstIndex(of: "/") : nil
        if let at = rest[..<(pathStart ?? rest.endIndex)].lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts[0].removingPercentEncoding else { throw fail("the user is not percent-encoded correctly") }
            user = name.isEmpty ? nil : name
            if parts.count == 2 {
                guard let secret = parts[1].removingPercentEncoding else { throw fail("the password is not percent-encoded correctly") }
                password = secret
            } else if user != nil {
                // `redis://secret@host` is how some tools write a password without a user.
                password = user
                user = nil
            }
            if password?.isEmpty == true { password = nil }
        }
        var database = 0
        for item in query.split(separator: "&") where !item.isEmpty {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            switch pair[0] {
            case "db":
                guard pair.count == 2, let value = Int(pair[1]), (0...65_535).contains(value) else { throw fail("db= must be a number") }
                database = value
            default:
                // Not echoed: text after an unencoded `?` in a password would be.
                throw fail("db= is the only parameter")
            }
        }
        switch scheme {
        case "redis":
            var authority = rest
            if let slash = rest.firstIndex(of: "/") {
                authority = rest[..<slash]
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    guard let value = Int(path), (0...65_535).contains(value) else { throw fail("the path must be the database number, e.g. /0") }
                    database = value
                }
            }
            let host: Substring
            var port = 6379
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { throw fail("an IPv6 host needs its closing ]") }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else { throw fail("the port must be a number") }
                    port = value
                }
            } else if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                guard let value = Int(authority[authority.index(after: colon)...]) else { throw fail("the port must be a number") }
                port = value
            } else {
                host = authority
            }
            guard !host.isEmpty else { throw fail("name the host") }
            guard (1...65_535).contains(port) else { throw fail("the port must be 1 to 65535") }
            return RedisURL(endpoint: .tcp(host: String(host), port: port), user: user, password: password, database: database)
        case "unix":
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("give the socket's absolute path: unix:///run/redis/redis.sock") }
            guard let path = rest.removingPercentEncoding else { throw fail("the path is not percent-encoded correctly") }
            return RedisURL(endpoint: .unixSocket(path: path), user: user, password: password, database: database)
        case "rediss":
            throw fail("TLS (rediss://) is not supported: reach Redis over loopback, a unix socket or a private network")
        default:
            throw fail("the scheme must be redis or unix")
        }
    }

    /// `text` with everything between the scheme and the last `@` hidden (user and password),
    /// without parsing it: a URL too broken to parse still hides its credentials.
    public static func redactedText(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
              scheme.upperBound <= at.lowerBound
        else { return text }
        return String(text[..<scheme.upperBound]) + "***" + String(text[at.lowerBound...])
    }

    /// The URL without its password: safe for logs, errors and health answers.
    public var redacted: String {
        let credentials = password == nil ? (user.map { "\($0)@" } ?? "") : "\(user ?? ""):***@"
        switch endpoint {
        case .tcp(let host, let port):
            return "redis://\(credentials)\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
        case .unixSocket(let path):
            return "unix://\(credentials)\(path)\(database == 0 ? "" : "?db=\(database)")"
        }
    }

    public var description: String { redacted }
}
