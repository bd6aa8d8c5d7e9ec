import ArgumentParser
import CartelCore
import Prometheus
import ServiceLifecycle

/// `trading-engine`: runs strategies on market data and keeps the ledger.
@main
struct TradingEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trading-engine",
        abstract: "SignalCartel trading engine (paper trading by default).",
        discussion: """
            Configured by environment variables (see .env.example): MARKET_DATA_MODE (embedded: collect \
            Kraken data in-process; external: read what the market-data service writes), TRADING_PAIRS, \
            CANDLE_INTERVALS, TICKER_POLL_SECONDS, KRAKEN_API_URL, TRADING_METRICS_PORT, DATABASE_URL, \
            HEARTBEAT_SECONDS, TRADING_MAX_MEMORY_MB, LOG_LEVEL.
            """,
        version: SignalCartelVersion.current,
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    enum MarketDataMode: String, CaseIterable, Sendable {
        case embedded, external
    }

    struct Config: Sendable {
        var service: ServiceConfiguration
        var mode: MarketDataMode
        var marketData: MarketDataConfiguration
        var kraken: KrakenConfiguration
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the engine until SIGTERM/SIGINT (default).")

        func run() async throws {
            try await ServiceMain.run(
                service: .tradingEngine,
                configure: { settings in
                    Config(
                        service: try ServiceConfiguration(service: .tradingEngine, settings: settings),
                        mode: try settings.oneOf("MARKET_DATA_MODE", default: MarketDataMode.embedded),
                        marketData: try MarketDataConfiguration(
                            settings: settings, metricsPortKey: "TRADING_METRICS_PORT", defaultMetricsPort: 9091),
                        kraken: try KrakenConfiguration(settings: settings))
                },
                serviceConfiguration: \.service,
                build: { config, logger in
                    let storage = try SQLiteStorage(location: config.service.database)
                    var services: [any Service] = []
                    if config.mode == .embedded {
                        let registry = PrometheusCollectorRegistry()
                        let metrics = PrometheusMetricsFactory(registry: registry)
                        let health = CollectorHealth()
                        services.append(try MarketDataApp.buildCollector(
                            marketData: config.marketData, kraken: config.kraken, storage: storage, feed: CandleFeed(),
                            health: health, metrics: metrics, logger: logger))
                        services.append(MarketDataApp.buildMetricsServer(
                            host: config.marketData.metricsHost, port: config.marketData.metricsPort, registry: registry,
                            metrics: metrics, health: health,
                            staleAfterSeconds: Double(max(config.marketData.tickerPollSeconds * 3, 30)),
                            service: .tradingEngine, logger: logger))
                    }
                    return WorkerApp.buildServiceGroup(
                        configuration: config.service, storage: OpenStorage(storage),
                        idleNotice: "no strategies are configured: the engine trades nothing"
                            + (config.mode == .embedded ? " (market data is collected in-process)" : ""),
                        services: services, logger: logger)
                },
                explain: { error, config in
                    ServiceMain.isAddressInUse(error)
                        ? "metrics port \(config.marketData.metricsPort) is already in use (TRADING_METRICS_PORT)" : nil
                })
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the engine's last heartbeat.")
        @OptionGroup var options: HeartbeatStatusOptions

        func run() async throws { try await options.run(service: .tradingEngine) }
    }
}
