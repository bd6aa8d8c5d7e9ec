/// The three SignalCartel services. The raw value is the name used in logs, PID files,
/// heartbeats and the health API.
public enum ServiceName: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case website
    case tradingEngine = "trading-engine"
    case marketData = "market-data"

    public var description: String { rawValue }

    /// The environment variable holding this service's resident-memory budget in MiB.
    public var memoryBudgetKey: String {
        switch self {
        case .website: "WEBSITE_MAX_MEMORY_MB"
        case .tradingEngine: "TRADING_MAX_MEMORY_MB"
        case .marketData: "MARKET_DATA_MAX_MEMORY_MB"
        }
    }

    /// The memory budget the seed document gives each service, in MiB.
    public var defaultMemoryBudgetMB: Int {
        switch self {
        case .tradingEngine: 2048
        case .website, .marketData: 1024
        }
    }

    /// Connections to a PostgreSQL database at most (`DATABASE_POOL_SIZE`): the website answers
    /// requests in parallel; the engine books one fill at a time but reads while it does.
    public var defaultDatabasePoolSize: Int {
        switch self {
        case .website: 6
        case .tradingEngine: 4
        case .marketData: 2
        }
    }
}
