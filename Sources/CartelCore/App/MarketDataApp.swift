import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Builds the `market-data` service: heartbeat, metrics server and either the live collector
/// or a replay of a CSV file.
public enum MarketDataApp {
    public struct Replay: Sendable {
        public var path: String
        public var speed: Double
        public var pair: String
        public var intervalMinutes: Int

        public init(path: String, speed: Double, pair: String, intervalMinutes: Int) {
            self.path = path
            self.speed = speed
            self.pair = pair
            self.intervalMinutes = intervalMinutes
        }
    }

    public static func buildServiceGroup(
        service: ServiceConfiguration, marketData: MarketDataConfiguration, kraken: KrakenConfiguration,
        storage: any Storage, replay: Replay? = nil, feed: CandleFeed = CandleFeed(),
        identity: ProcessIdentity = .current(), logger: Logger
    ) throws -> ServiceGroup {
        let instruments = Instruments()
        let redis = RedisLink.configured(service, logger: logger, metrics: instruments.metrics)
        let (worker, server) = try buildCollection(
            marketData: marketData, kraken: kraken, storage: storage, replay: replay, feed: feed,
            service: service.service, instruments: instruments, memoryBudgetMB: service.memoryBudgetMB, redis: redis, logger: logger)
        let heartbeat = HeartbeatService(
            service: service.service, storage: OpenStorage(storage), identity: identity,
            intervalSeconds: service.heartbeatSeconds, memoryBudgetMB: service.memoryBudgetMB,
            clock: SystemTime(), publisher: redis ?? NoEventPublisher(), logger: logger)
        // Redis first: stopped last, after the heartbeat has announced `stopped`.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = redis.map { [.init(service: $0)] } ?? []
        services += [.init(service: heartbeat), .init(service: server)]
        // A replay that is done ends the process; the live collector only stops on a signal.
        services.append(.init(service: worker, successTerminationBehavior: replay == nil ? .cancelGroup : .gracefullyShutdownGroup))
        if replay == nil {
            services += AlertApp.services(configuration: service, storage: OpenStorage(storage), identity: identity, logger: logger)
                .map { .init(service: $0) }
        }
        return ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }

    /// The collection worker (live collector, or a replay) and its `/metrics` + `/health` server,
    /// sharing one Prometheus registry: what `market-data` runs, and what `trading-engine` embeds
    /// in minimal mode.
    public static func buildCollection(
        marketData: MarketDataConfiguration, kraken: KrakenConfiguration, storage: any Storage, replay: Replay? = nil,
        feed: CandleFeed, service: ServiceName, instruments: Instruments = Instruments(), memoryBudgetMB: Int? = nil,
        redis: RedisLink? = nil, logger: Logger
    ) throws -> (worker: any Service, metricsServer: any Service) {
        let publisher: any EventPublisher = redis ?? NoEventPublisher()
        let (registry, metrics, health) = (instruments.registry, instruments.metrics, instruments.health)
        let worker: any Service
        if let replay {
            let candles = try CandleCSV.read(path: replay.path, pair: replay.pair, intervalMinutes: replay.intervalMinutes)
            worker = ReplayService(
                candles: candles, speed: replay.speed, sink: CandleSink(storage: storage, feed: feed, metrics: metrics, publisher: publisher),
                health: health, clock: SystemTime(), logger: logger)
        } else {
            worker = try buildCollector(
                marketData: marketData, kraken: kraken, storage: storage, feed: feed, health: health, metrics: metrics,
                service: service, publisher: publisher, logger: logger)
        }
        let server = buildMetricsServer(
            host: marketData.metricsHost, port: marketData.metricsPort, registry: registry, metrics: metrics,
            health: health, staleAfterSeconds: Double(max(marketData.tickerPollSeconds * 3, 30)),
            service: service, memoryBudgetMB: memoryBudgetMB, redis: redis, logger: logger)
        return (worker, server)
    }

    public static func buildCollector(
        marketData: MarketDataConfiguration, kraken: KrakenConfiguration, storage: any Storage, feed: CandleFeed,
        health: CollectorHealth, metrics: any MetricsFactory, service: ServiceName = .marketData,
        publisher: any EventPublisher = NoEventPublisher(), logger: Logger
    ) throws -> MarketDataCollector<SystemTime> {
        let client = try KrakenClient(
            configuration: kraken, clock: SystemTime(), logger: logger, metrics: metrics,
            nonceStore: storage as? any KrakenNonceStore,
            onBreakerChange: AlertApp.breakerAlerts(storage: storage, service: service, logger: logger))
        return MarketDataCollector(
            configuration: marketData, client: client, storage: storage,
            sink: CandleSink(storage: storage, feed: feed, metrics: metrics, publisher: publisher), health: health,
            clock: SystemTime(), logger: logger, metrics: metrics)
    }

    /// One Prometheus registry, its metrics factory and the health the `/health` check reports:
    /// shared by everything one process serves on its metrics port.
    public struct Instruments: Sendable {
        public let registry: PrometheusCollectorRegistry
        public let metrics: PrometheusMetricsFactory
        public let health: CollectorHealth

        public init() {
            registry = PrometheusCollectorRegistry()
            metrics = PrometheusMetricsFactory(registry: registry)
            health = CollectorHealth()
        }
    }

    /// `/metrics` and `/health` (healthy while the last successful poll is recent; Redis, when
    /// configured, is a detail that never makes the service unhealthy).
    public static func buildMetricsServer(
        host: String, port: Int, registry: PrometheusCollectorRegistry, metrics: any MetricsFactory,
        health: CollectorHealth, staleAfterSeconds: Double, service: ServiceName, memoryBudgetMB: Int? = nil, redis: RedisLink? = nil,
        logger: Logger
    ) -> some Service {
        MetricsServer.buildApplication(
            host: host, port: port, registry: registry, service: service, memoryBudgetMB: memoryBudgetMB,
            beforeScrape: {
                Gauge(label: "marketdata_last_successful_poll_age_seconds", factory: metrics)
                    .record(health.lastSuccessAge() ?? -1)
            },
            check: {
                let age = health.lastSuccessAge()
                var details = ["lastSuccessfulPollAgeSeconds": age.map { String(format: "%.1f", $0) } ?? "never"]
                if let error = health.lastError { details["lastError"] = error }
                if let redis { details["redis"] = redis.healthDetail }
                return MetricsServer.Check(healthy: age.map { $0 <= staleAfterSeconds } ?? false, details: details)
            },
            logger: logger)
    }
}
