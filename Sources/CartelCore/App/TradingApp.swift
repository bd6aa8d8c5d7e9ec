import Foundation
import Logging
import ServiceLifecycle

/// Builds the `trading-engine` service: heartbeat, the engine, its metrics server on
/// `TRADING_METRICS_PORT`, and in minimal mode the market-data collector in-process.
public enum TradingApp {
    public enum MarketDataMode: String, CaseIterable, Sendable {
        case embedded, external
    }

    public struct Configuration: Sendable {
        public var service: ServiceConfiguration
        public var mode: MarketDataMode
        public var marketData: MarketDataConfiguration
        public var kraken: KrakenConfiguration
        public var trading: TradingConfiguration
        public var strategies: [StrategySpec]

        /// Reads and checks everything; `validate` needs Kraken keys, `live` needs them and
        /// `LIVE_TRADING_CONFIRM=yes` — without them the engine refuses to start and says why.
        public init(settings: Settings) throws {
            service = try ServiceConfiguration(service: .tradingEngine, settings: settings)
            mode = try settings.oneOf("MARKET_DATA_MODE", default: MarketDataMode.embedded)
            marketData = try MarketDataConfiguration(settings: settings, metricsPortKey: "TRADING_METRICS_PORT", defaultMetricsPort: 9091)
            kraken = try KrakenConfiguration(settings: settings)
            trading = try TradingConfiguration(settings: settings)
            let text = settings.string("STRATEGIES", default: "")
            do {
                strategies = try StrategySpec.parseList(text)
            } catch {
                throw ConfigurationError(key: "STRATEGIES", value: text, expected: "kind:PAIR:minutes[:name=value,...] entries separated by ';' (\(error))")
            }
            if trading.mode != .paper, kraken.apiKey == nil {
                throw ConfigurationError(
                    key: "TRADING_MODE", value: trading.mode.rawValue, expected: "paper, unless KRAKEN_API_KEY and KRAKEN_API_SECRET are set")
            }
            if trading.mode == .live, settings.raw("LIVE_TRADING_CONFIRM") != "yes" {
                throw ConfigurationError(
                    key: "LIVE_TRADING_CONFIRM", value: settings.raw("LIVE_TRADING_CONFIRM") ?? "",
                    expected: "yes: TRADING_MODE=live places real orders with real money")
            }
        }
    }

    public static func buildServiceGroup(
        _ config: Configuration, database: DatabaseAccess, identity: ProcessIdentity = .current(), logger: Logger
    ) async throws -> ServiceGroup {
        let storage = try await database.open()
        // One engine per database: a second would trade the same ledger twice.
        let lock = try await database.lockTradingEngine(identity: identity)
        let instruments = MarketDataApp.Instruments()
        let clock = SystemTime()
        // In external mode the engine hears of new candles and tickers over Redis (when
        // configured) and polls storage to catch up; embedded, its own collector feeds it.
        let redis = RedisLink.configured(
            config.service, listening: config.mode == .external ? ["candle.closed", "ticker"] : [], logger: logger, metrics: instruments.metrics)
        let publisher: any EventPublisher = redis ?? NoEventPublisher()
        var services: [any Service] = lock.service.map { [$0] } ?? []
        let source: TradingEngineService<SystemTime>.CandleSource
        if config.mode == .embedded {
            let feed = CandleFeed()
            let collector = try MarketDataApp.buildCollector(
                marketData: config.marketData, kraken: config.kraken, storage: storage, feed: feed, health: instruments.health,
                metrics: instruments.metrics, service: .tradingEngine, publisher: publisher, logger: logger)
            services.append(collector)
            source = .feed(feed)
        } else {
            source = .storage(poll: redis == nil ? externalPoll : config.service.redisCatchUp, bus: redis)
        }
        services.append(MarketDataApp.buildMetricsServer(
            host: config.marketData.metricsHost, port: config.marketData.metricsPort, registry: instruments.registry,
            metrics: instruments.metrics, health: instruments.health,
            staleAfterSeconds: Double(max(config.marketData.tickerPollSeconds * 3, 30)), service: .tradingEngine,
            memoryBudgetMB: config.service.memoryBudgetMB, redis: redis, logger: logger))

        let pairs = try await pairDirectory(config: config, storage: storage, logger: logger)
        let broker: any Broker
        if config.trading.mode == .paper {
            broker = PaperBroker(execution: config.trading.paper)
        } else {
            guard let pairs else {
                throw StartError("TRADING_MODE=\(config.trading.mode.rawValue) needs Kraken's asset pairs (lot sizes, minimums): Kraken is unreachable and none are stored")
            }
            let client = try KrakenClient(
                configuration: config.kraken, clock: clock, logger: logger, metrics: instruments.metrics,
                nonceStore: storage,
                onBreakerChange: AlertApp.breakerAlerts(storage: storage, service: .tradingEngine, logger: logger))
            broker = KrakenBroker(mode: config.trading.mode, client: client, pairs: pairs)
            logger.notice("orders go to Kraken", metadata: ["mode": "\(config.trading.mode.rawValue)"])
        }
        let engine = TradingEngine(
            storage: storage, broker: broker, configuration: config.trading,
            instruments: StoredKrakenPairs(storage: storage, directory: pairs, clock: clock), clock: clock, logger: logger,
            metrics: instruments.metrics, publisher: publisher)
        services.append(TradingEngineService(
            engine: engine, storage: storage, seed: config.strategies, source: source,
            tickerPoll: .seconds(config.marketData.tickerPollSeconds), tickerBus: config.mode == .external ? redis : nil, balanceSyncEvery: .seconds(config.trading.balanceSyncSeconds),
            health: config.mode == .external ? instruments.health : nil, clock: clock, lock: lock, logger: logger,
            metrics: instruments.metrics))
        let alerts = config.service.alerts
        if let token = alerts.telegramToken, let chat = alerts.telegramChatID {
            // The one process that reads the bot's updates (a second reader would be refused by
            // Telegram with 409 Conflict).
            services.append(TelegramBot(
                apiURL: alerts.telegramAPIURL, token: token, chatID: chat, storage: OpenStorage(storage),
                dashboard: Dashboard(provider: OpenStorage(storage), trading: config.trading, identity: identity, clock: clock, publisher: publisher),
                engine: engine, pollSeconds: alerts.commandPollSeconds, clock: clock, logger: logger))
        }
        return WorkerApp.buildServiceGroup(
            configuration: config.service, storage: OpenStorage(storage), identity: identity,
            idleNotice: "trading mode \(config.trading.mode.rawValue), market data \(config.mode.rawValue)"
                + (config.mode == .embedded ? " (collected in-process)" : " (from the market-data service)"),
            services: services, trading: config.trading, publisher: publisher, redis: redis, logger: logger)
    }

    /// How often external mode looks for final candles in storage: a cheap indexed read per
    /// strategy key, so a candle reaches the engine within half a second of being stored final.
    public static let externalPoll = Duration.milliseconds(500)

    /// Kraken's pairs: stored by the collector, else fetched (only needed for lot rules and,
    /// outside paper mode, for order placement).
    static func pairDirectory(config: Configuration, storage: any Storage, logger: Logger) async throws -> KrakenPairDirectory? {
        if let data = try await storage.cachedAssetPairs(), let cached = try? JSONDecoder().decode(CachedPairs.self, from: data) {
            return KrakenPairDirectory(pairs: cached.pairs)
        }
        guard config.trading.mode != .paper else { return nil }
        do {
            let client = try KrakenClient(configuration: config.kraken, clock: SystemTime(), logger: logger)
            return KrakenPairDirectory(pairs: try await client.assetPairs())
        } catch {
            logger.error("cannot load Kraken asset pairs", metadata: ["error": "\(error)"])
            return nil
        }
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
