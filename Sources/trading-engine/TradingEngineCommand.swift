import ArgumentParser
import CartelCore
import Foundation
import ServiceLifecycle

/// `trading-engine`: runs strategies on market data and keeps the ledger.
@main
struct TradingEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trading-engine",
        abstract: "SignalCartel trading engine (paper trading by default).",
        discussion: """
            Configured by environment variables (see .env.example): STRATEGIES (seeds the strategies table), \
            TRADING_MODE (paper, validate, live with LIVE_TRADING_CONFIRM=yes), MARKET_DATA_MODE (embedded: collect \
            Kraken data in-process; external: read what the market-data service writes), TRADING_PAIRS, \
            CANDLE_INTERVALS, TICKER_POLL_SECONDS, KRAKEN_API_URL, TRADING_METRICS_PORT, DATABASE_URL, DATABASE_POOL_SIZE, \
            HEARTBEAT_SECONDS, TRADING_MAX_MEMORY_MB, LOG_LEVEL.
            """,
        version: SignalCartelVersion.current,
        subcommands: [Run.self, Status.self, Stats.self, Ledger.self, Indicators.self, Backtest.self, Optimize.self, Database.self],
        defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the engine until SIGTERM/SIGINT (default).")

        func run() async throws {
            try await ServiceMain.run(
                service: .tradingEngine,
                configure: { settings in try TradingApp.Configuration(settings: settings) },
                serviceConfiguration: \.service,
                build: { config, database, logger in try await TradingApp.buildServiceGroup(config, database: database, logger: logger) },
                explain: { error, config in
                    ServiceMain.isAddressInUse(error)
                        ? "metrics port \(config.marketData.metricsPort) is already in use (TRADING_METRICS_PORT)" : nil
                })
        }
    }

    struct Indicators: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print indicator values for a CSV of candles, as CSV (empty until an indicator is warm).",
            discussion: "Indicators: sma:N, ema:N, rsi:N, macd:FAST,SLOW,SIGNAL, bollinger:N,WIDTH, atr:N, volume:N.")

        @OptionGroup var options: IndicatorsOptions

        func run() throws { try options.run() }
    }

    struct Backtest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Backtest one strategy on history with the engine's risk, paper-broker and ledger code.",
            discussion: "Signals fill at the next candle's open; stop-loss and take-profit are checked on each candle's range.")
        @OptionGroup var options: BacktestOptions

        func run() async throws { try await options.run() }
    }

    struct Optimize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Backtest one strategy with many parameter sets at once and rank them (grid, --random N, --walk-forward).",
            discussion: """
                Example: optimize --csv candles.csv --strategy sma-cross --range fast=5:30:5 --range slow=20:100:10 \
                --constraint fast<slow --metric sharpe. The best set on the candles it was chosen on is an in-sample fit; \
                --walk-forward train=90d,test=30d reports how the choices did on the candles after them.
                """)
        @OptionGroup var options: OptimizeOptions

        func run() async throws { try await options.run() }
    }

    struct Database: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db", abstract: "The database: copy SQLite into PostgreSQL and back, apply migrations, show the schema version and sizes.",
            subcommands: [Import.self, Export.self, Migrate.self, Status.self])

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy a SQLite database into an empty PostgreSQL database in one transaction, then check row counts and money sums.",
                discussion: "Example: trading-engine db import --from sqlite:data/signalcartel.sqlite --to postgres://signalcartel@127.0.0.1/signalcartel")
            @OptionGroup var options: DatabaseImportOptions
            func run() async throws { try await options.run() }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy a PostgreSQL database into a new SQLite file (a local copy), then check row counts and money sums.")
            @OptionGroup var options: DatabaseExportOptions
            func run() async throws { try await options.run() }
        }

        struct Migrate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Apply the schema migrations this binary knows.")
            @OptionGroup var options: DatabaseTargetOptions
            func run() async throws { try await options.migrate() }
        }

        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "The schema version and each table's rows and size.")
            @OptionGroup var options: DatabaseTargetOptions
            func run() async throws { try await options.status() }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each strategy's performance from the ledger: trades, win rate, P&L, average win/loss, profit factor, max drawdown, Sharpe.")
        @OptionGroup var options: StatsOptions

        func run() async throws { try await options.run() }
    }

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The validate or live ledger and the Kraken account.", subcommands: [AdoptBalances.self])

        struct AdoptBalances: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "adopt-balances",
                abstract: "Record money or coins moved outside the engine (deposits, withdrawals, trades by hand) so the ledger agrees with Kraken again.",
                discussion: "Run with the engine stopped and no order in flight; prints the adjustments, writes them only with --yes.")
            @OptionGroup var options: LedgerAdoptOptions

            func run() async throws { try await options.run() }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report the engine's last heartbeat.")
        @OptionGroup var options: HeartbeatStatusOptions

        func run() async throws { try await options.run(service: .tradingEngine) }
    }
}
