import Logging

/// What every service reads at start: storage, heartbeat cadence, memory budget, log level.
public struct ServiceConfiguration: Sendable, Equatable {
    public var service: ServiceName
    public var database: DatabaseLocation
    /// `DATABASE_POOL_SIZE`: connections to a PostgreSQL database at most (unused for SQLite).
    public var databasePoolSize: Int
    public var heartbeatSeconds: Int
    public var memoryBudgetMB: Int
    public var logLevel: Logger.Level
    /// Where this service's share of alerts goes (one surviving service sends them all).
    public var alerts: AlertConfiguration
    /// `REDIS_URL`: the message bus between the services and their shared cache; nil (unset or
    /// empty) runs without Redis, every reader polling storage.
    public var redis: RedisURL?
    /// `REDIS_CATCHUP_MS` (2000): with Redis, how often readers still poll storage, to catch up
    /// on what a lost message announced. Without Redis they poll as often as they always did.
    public var redisCatchUp: Duration

    public init(
        service: ServiceName, database: DatabaseLocation, databasePoolSize: Int? = nil, heartbeatSeconds: Int = 5,
        memoryBudgetMB: Int? = nil, logLevel: Logger.Level = .info, alerts: AlertConfiguration = AlertConfiguration(),
        redis: RedisURL? = nil, redisCatchUp: Duration = .seconds(2)
    ) {
        self.redis = redis
        self.redisCatchUp = redisCatchUp
        self.alerts = alerts
        self.databasePoolSize = databasePoolSize ?? service.defaultDatabasePoolSize
        self.service = service
        self.database = database
        self.heartbeatSeconds = heartbeatSeconds
        self.memoryBudgetMB = memoryBudgetMB ?? service.defaultMemoryBudgetMB
        self.logLevel = logLevel
    }

    /// Reads `DATABASE_URL`, `DATABASE_POOL_SIZE`, `HEARTBEAT_SECONDS`, the service's `*_MAX_MEMORY_MB` and `LOG_LEVEL`.
    public init(service: ServiceName, settings: Settings) throws {
        self.init(
            service: service,
            database: try DatabaseLocation.parse(settings.string("DATABASE_URL", default: DatabaseLocation.defaultURL)),
            databasePoolSize: try settings.int("DATABASE_POOL_SIZE", default: service.defaultDatabasePoolSize, in: 1...100),
            heartbeatSeconds: try settings.int("HEARTBEAT_SECONDS", default: 5, in: 1...3600),
            memoryBudgetMB: try settings.int(service.memoryBudgetKey, default: service.defaultMemoryBudgetMB, in: 16...1_048_576),
            logLevel: try settings.oneOf("LOG_LEVEL", default: Logger.Level.info),
            alerts: try AlertConfiguration(settings: settings),
            redis: try settings.raw("REDIS_URL", isSecret: true).flatMap { $0.isEmpty ? nil : try RedisURL.parse($0) },
            redisCatchUp: .milliseconds(try settings.int("REDIS_CATCHUP_MS", default: 2000, in: 100...3_600_000))
        )
    }
}

/// The website's settings: the shared ones, its bind address, who may use it, and what it reads.
public struct WebsiteConfiguration: Sendable, Equatable {
    public var service: ServiceConfiguration
    public var host: String
    public var port: Int
    /// `DASHBOARD_PASSWORD`: with it, a login page and signed session cookies; without it the
    /// site is read-only and only listens on loopback.
    public var password: String?
    /// `API_TOKEN`: `Authorization: Bearer` for scripts (needs a password too).
    public var apiToken: String?
    /// `WEBSITE_TLS_BEHIND_PROXY=1`: cookies are `Secure` (a TLS proxy is in front).
    public var behindTLSProxy: Bool
    /// `WEBSITE_SESSION_HOURS` (12): how long a login lasts.
    public var sessionHours: Int
    /// `WEBSITE_MAX_SSE_CLIENTS` (64): `/api/events` streams open at once.
    public var maxEventClients: Int
    /// `SIGNALCARTEL_LOG_DIR` (`logs`): where the Logs page reads `<service>.log`.
    public var logDirectory: String
    /// The engine's configured mode and paper balance, for pages shown before the engine ran.
    public var trading: TradingConfiguration

    public init(
        service: ServiceConfiguration, host: String = "127.0.0.1", port: Int = 3001, password: String? = nil, apiToken: String? = nil,
        behindTLSProxy: Bool = false, sessionHours: Int = 12, maxEventClients: Int = 64, logDirectory: String = "logs",
        trading: TradingConfiguration = TradingConfiguration()
    ) {
        self.service = service
        self.host = host
        self.port = port
        self.password = password
        self.apiToken = apiToken
        self.behindTLSProxy = behindTLSProxy
        self.sessionHours = sessionHours
        self.maxEventClients = maxEventClients
        self.logDirectory = logDirectory
        self.trading = trading
    }

    /// Whether the site may change anything (a password is set).
    public var allowsChanges: Bool { password != nil }

    /// Reads `WEBSITE_HOST`, `WEBSITE_PORT`, `DASHBOARD_PASSWORD`, `API_TOKEN`,
    /// `WEBSITE_TLS_BEHIND_PROXY`, `WEBSITE_SESSION_HOURS`, `WEBSITE_MAX_SSE_CLIENTS`,
    /// `SIGNALCARTEL_LOG_DIR` on top of ``ServiceConfiguration`` and the trading settings.
    public init(settings: Settings) throws {
        let password = settings.raw("DASHBOARD_PASSWORD", isSecret: true)
        let token = settings.raw("API_TOKEN", isSecret: true)
        let host = settings.string("WEBSITE_HOST", default: "127.0.0.1")
        if let password, password.count < 10 {
            throw ConfigurationError(key: "DASHBOARD_PASSWORD", value: "(hidden)", expected: "at least 10 characters")
        }
        if let token {
            guard password != nil else {
                throw ConfigurationError(key: "API_TOKEN", value: "(hidden)", expected: "to be set together with DASHBOARD_PASSWORD (the site is read-only without one)")
            }
            guard token.count >= 24 else {
                throw ConfigurationError(key: "API_TOKEN", value: "(hidden)", expected: "at least 24 characters (e.g. openssl rand -hex 24)")
            }
        }
        if password == nil, !Self.isLoopback(host) {
            throw ConfigurationError(
                key: "WEBSITE_HOST", value: host,
                expected: "a loopback address (127.0.0.1, ::1, localhost) unless DASHBOARD_PASSWORD is set: without one anybody who reaches the port sees the account")
        }
        let proxy = settings.string("WEBSITE_TLS_BEHIND_PROXY", default: "0")
        guard ["0", "1", "true", "false", "yes", "no"].contains(proxy.lowercased()) else {
            throw ConfigurationError(key: "WEBSITE_TLS_BEHIND_PROXY", value: proxy, expected: "1 or 0")
        }
        self.init(
            service: try ServiceConfiguration(service: .website, settings: settings),
            host: host,
            port: try settings.port("WEBSITE_PORT", default: 3001),
            password: password, apiToken: token,
            behindTLSProxy: ["1", "true", "yes"].contains(proxy.lowercased()),
            sessionHours: try settings.int("WEBSITE_SESSION_HOURS", default: 12, in: 1...720),
            maxEventClients: try settings.int("WEBSITE_MAX_SSE_CLIENTS", default: 64, in: 1...10_000),
            logDirectory: settings.string("SIGNALCARTEL_LOG_DIR", default: "logs"),
            trading: try TradingConfiguration(settings: settings)
        )
    }

    /// `localhost`, `::1` or an IPv4 address in 127.0.0.0/8 (parsed: `127.example.com` is not one).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { $0.count <= 3 && !$0.isEmpty && $0.allSatisfy(\.isASCII) && UInt8($0) != nil }
    }

    // Secrets never appear in descriptions (logs, test failures).
    public static func == (lhs: WebsiteConfiguration, rhs: WebsiteConfiguration) -> Bool {
        lhs.service == rhs.service && lhs.host == rhs.host && lhs.port == rhs.port && lhs.password == rhs.password
            && lhs.apiToken == rhs.apiToken && lhs.behindTLSProxy == rhs.behindTLSProxy && lhs.sessionHours == rhs.sessionHours
            && lhs.maxEventClients == rhs.maxEventClients && lhs.logDirectory == rhs.logDirectory && lhs.trading == rhs.trading
    }
}

extension WebsiteConfiguration: CustomStringConvertible {
    public var description: String {
        "WebsiteConfiguration(host: \(host), port: \(port), password: \(password == nil ? "unset" : "set"), apiToken: \(apiToken == nil ? "unset" : "set"))"
    }
}
