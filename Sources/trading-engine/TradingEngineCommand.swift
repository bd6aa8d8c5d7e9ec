import ArgumentParser
import CartelCore

/// `trading-engine`: runs strategies on market data and keeps the ledger.
@main
struct TradingEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trading-engine",
        abstract: "SignalCartel trading engine (paper trading by default).",
        discussion: "Configured by environment variables (see .env.example): DATABASE_URL, HEARTBEAT_SECONDS, TRADING_MAX_MEMORY_MB, LOG_LEVEL.",
        version: SignalCartelVersion.current,
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the engine until SIGTERM/SIGINT (default).")

        func run() async throws {
            try await ServiceMain.run(
                service: .tradingEngine,
                configure: { try ServiceConfiguration(service: .tradingEngine, settings: $0) },
                serviceConfiguration: { $0 },
                build: { config, logger in
                    WorkerApp.buildServiceGroup(
                        configuration: config,
                        storage: OpenStorage(try SQLiteStorage(location: config.database)),
                        idleNotice: "no strategies are configured: the engine only records its heartbeat",
                        logger: logger)
                })
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the engine's last heartbeat.")
        @OptionGroup var options: HeartbeatStatusOptions

        func run() async throws { try await options.run(service: .tradingEngine) }
    }
}
