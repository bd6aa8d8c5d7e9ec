import Foundation
import Logging
import ServiceLifecycle

/// Builds the service group of a background service (`trading-engine`, `market-data`).
public enum WorkerApp {
    /// The heartbeat and, in later releases, the service's work loops. `idleNotice` is logged
    /// once at start when the service has nothing configured to do.
    public static func buildServiceGroup(
        configuration: ServiceConfiguration, storage: any StorageProvider,
        identity: ProcessIdentity = .current(), idleNotice: String?, services extra: [any Service] = [],
        trading: TradingConfiguration? = nil, publisher: any EventPublisher = NoEventPublisher(), redis: RedisLink? = nil, logger: Logger
    ) -> ServiceGroup {
        if let idleNotice { logger.notice("\(idleNotice)") }
        let heartbeat = HeartbeatService(
            service: configuration.service, storage: storage, identity: identity,
            intervalSeconds: configuration.heartbeatSeconds, memoryBudgetMB: configuration.memoryBudgetMB,
            clock: SystemTime(), publisher: publisher, logger: logger)
        let alerts = AlertApp.services(configuration: configuration, storage: storage, identity: identity, trading: trading, logger: logger)
        return ServiceGroup(configuration: .init(
            // Redis first: stopped last, after the heartbeat has announced `stopped`.
            services: (redis.map { [$0] } ?? []) + [heartbeat] + extra + alerts, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }
}
