import Logging

/// What every service reads at start: storage, heartbeat cadence, memory budget, log level.
public struct ServiceConfiguration: Sendable, Equatable {
    public var service: ServiceName
    public var database: DatabaseLocation
    public var heartbeatSeconds: Int
    public var memoryBudgetMB: Int
    public var logLevel: Logger.Level

    public init(
        service: ServiceName, database: DatabaseLocation, heartbeatSeconds: Int = 5,
        memoryBudgetMB: Int? = nil, logLevel: Logger.Level = .info
    ) {
        self.service = service
        self.database = database
        self.heartbeatSeconds = heartbeatSeconds
        self.memoryBudgetMB = memoryBudgetMB ?? service.defaultMemoryBudgetMB
        self.logLevel = logLevel
    }

    /// Reads `DATABASE_URL`, `HEARTBEAT_SECONDS`, the service's `*_MAX_MEMORY_MB` and `LOG_LEVEL`.
    public init(service: ServiceName, settings: Settings) throws {
        self.init(
            service: service,
            database: try DatabaseLocation.parse(settings.string("DATABASE_URL", default: DatabaseLocation.defaultURL)),
            heartbeatSeconds: try settings.int("HEARTBEAT_SECONDS", default: 5, in: 1...3600),
            memoryBudgetMB: try settings.int(service.memoryBudgetKey, default: service.defaultMemoryBudgetMB, in: 16...1_048_576),
            logLevel: try settings.oneOf("LOG_LEVEL", default: Logger.Level.info)
        )
    }
}

/// The website's settings: the shared ones plus its bind address.
public struct WebsiteConfiguration: Sendable, Equatable {
    public var service: ServiceConfiguration
    public var host: String
    public var port: Int

    public init(service: ServiceConfiguration, host: String = "127.0.0.1", port: Int = 3001) {
        self.service = service
        self.host = host
        self.port = port
    }

    /// Reads `WEBSITE_HOST` and `WEBSITE_PORT` on top of ``ServiceConfiguration``.
    public init(settings: Settings) throws {
        self.init(
            service: try ServiceConfiguration(service: .website, settings: settings),
            host: settings.string("WEBSITE_HOST", default: "127.0.0.1"),
            port: try settings.port("WEBSITE_PORT", default: 3001)
        )
    }
}
