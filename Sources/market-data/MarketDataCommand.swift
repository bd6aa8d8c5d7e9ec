import ArgumentParser
import CartelCore

/// `market-data`: collects Kraken market data into the database.
@main
struct MarketDataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market-data",
        abstract: "SignalCartel market-data collector.",
        discussion: "Configured by environment variables (see .env.example): DATABASE_URL, HEARTBEAT_SECONDS, MARKET_DATA_MAX_MEMORY_MB, LOG_LEVEL.",
        version: SignalCartelVersion.current,
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Collect until SIGTERM/SIGINT (default).")

        func run() async throws {
            try await ServiceMain.run(
                service: .marketData,
                configure: { try ServiceConfiguration(service: .marketData, settings: $0) },
                serviceConfiguration: { $0 },
                build: { config, logger in
                    WorkerApp.buildServiceGroup(
                        configuration: config,
                        storage: OpenStorage(try SQLiteStorage(location: config.database)),
                        idleNotice: "no trading pairs are configured: the collector only records its heartbeat",
                        logger: logger)
                })
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the collector's last heartbeat.")
        @OptionGroup var options: HeartbeatStatusOptions

        func run() async throws { try await options.run(service: .marketData) }
    }
}
