import ArgumentParser
import CartelCore

/// `market-data`: collects Kraken market data into the database.
@main
struct MarketDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market-data",
        abstract: "SignalCartel market-data collector: Kraken tickers and OHLC candles into the database.",
        discussion: """
            Configured by environment variables (see .env.example): TRADING_PAIRS, CANDLE_INTERVALS, \
            TICKER_POLL_SECONDS, RETENTION_DAYS, KRAKEN_API_URL, KRAKEN_PUBLIC_RPS, MARKET_DATA_METRICS_PORT, \
            DATABASE_URL, DATABASE_POOL_SIZE, HEARTBEAT_SECONDS, MARKET_DATA_MAX_MEMORY_MB, LOG_LEVEL.
            """,
        version: SignalCartelVersion.current,
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Collect until SIGTERM/SIGINT (default).")

        @Option(help: "Replay this OHLCV CSV file into the pipeline instead of collecting from Kraken.")
        var replay: String?
        @Option(help: "Replayed candles per second.")
        var speed: Double = 1
        @Option(help: "Pair the replayed candles belong to (default: the first of TRADING_PAIRS).")
        var pair: String?
        @Option(help: "Interval of the replayed candles, in minutes.")
        var interval: Int = 1

        func validate() throws {
            guard speed > 0, speed <= 1_000_000 else { throw ValidationError("--speed must be above 0") }
            guard interval >= 1 else { throw ValidationError("--interval must be at least 1") }
        }

        func run() async throws {
            struct Config: Sendable {
                var service: ServiceConfiguration
                var marketData: MarketDataConfiguration
                var kraken: KrakenConfiguration
            }
            let replay = self.replay
            let (speed, pair, interval) = (self.speed, self.pair, self.interval)
            try await ServiceMain.run(
                service: .marketData,
                configure: {
                    Config(
                        service: try ServiceConfiguration(service: .marketData, settings: $0),
                        marketData: try MarketDataConfiguration(settings: $0), kraken: try KrakenConfiguration(settings: $0))
                },
                serviceConfiguration: \.service,
                build: { config, database, logger in
                    try MarketDataApp.buildServiceGroup(
                        service: config.service, marketData: config.marketData, kraken: config.kraken,
                        storage: try await database.open(),
                        replay: replay.map {
                            MarketDataApp.Replay(
                                path: $0, speed: speed, pair: pair ?? config.marketData.pairs[0], intervalMinutes: interval)
                        },
                        logger: logger)
                },
                explain: { error, config in
                    ServiceMain.isAddressInUse(error)
                        ? "metrics port \(config.marketData.metricsPort) is already in use (MARKET_DATA_METRICS_PORT)" : nil
                })
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the collector's last heartbeat.")
        @OptionGroup var options: HeartbeatStatusOptions

        func run() async throws { try await options.run(service: .marketData) }
    }
}
