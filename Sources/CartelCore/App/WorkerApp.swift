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
        trading: TradingConfiguration? = nil, logger: Logger
    ) -> ServiceGroup {
        if let idleNotice { logger.notice("\(idleNotice)") }
        let heartbeat = HeartbeatService(
            service: configuration.service, storage: storage, identity: identity,
            intervalSeconds: configuration.heartbeatSeconds, memoryBudgetMB: configuration.memoryBudgetMB,
            clock: SystemTime(), logger: logger)
        let alerts = AlertApp.services(configuration: configuration, storage: storage, identity: identity, trading: trading, logger: logger)
        return ServiceGroup(configuration: .init(
            services: [heartbeat] + extra + alerts, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }
}
