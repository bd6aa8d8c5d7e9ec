import Foundation
import Logging
import ServiceLifecycle

/// The alert sender every service runs when alerts are configured (a lease in the database
/// makes exactly one of them send), or a single log line saying alerts are off.
public enum AlertApp {
    public static func services(
        configuration: ServiceConfiguration, storage: any StorageProvider, identity: ProcessIdentity, trading: TradingConfiguration? = nil,
        logger: Logger
    ) -> [any Service] {
        let alerts = configuration.alerts
        var notifiers: [any Notifier] = []
        if let token = alerts.telegramToken, let chat = alerts.telegramChatID {
            notifiers.append(TelegramNotifier(apiURL: alerts.telegramAPIURL, token: token, chatID: chat))
        }
        if let url = alerts.webhookURL {
            notifiers.append(WebhookNotifier(url: url, format: alerts.webhookFormat))
        }
        guard !notifiers.isEmpty else {
            logger.notice("alerts are off: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, or ALERT_WEBHOOK_URL, to receive them")
            return []
        }
        for notifier in notifiers { logger.notice("alerts go to \(notifier.name)", metadata: ["to": "\(notifier.destination)"]) }
        var services: [any Service] = []
        // The summary reads the ledger the engine last ran (its mode is stored); a service
        // without trading settings falls back on the defaults only for an empty database.
        if let trading = trading ?? (try? TradingConfiguration(settings: .values([:]))) {
            services.append(DailySummaryService(
                storage: storage, dashboard: Dashboard(provider: storage, trading: trading, identity: identity), schedule: alerts.summary,
                clock: SystemTime(), logger: logger))
        }
        return services + [
            ServiceWatch(
                storage: storage, me: configuration.service, every: .seconds(configuration.heartbeatSeconds), clock: SystemTime(), logger: logger),
            AlertSender(
                storage: storage, holder: "\(configuration.service.rawValue) pid \(identity.pid) on \(identity.host)", notifiers: notifiers,
                events: alerts.events, clock: SystemTime(), keepDays: alerts.keepDays, logger: logger)
        ]
    }

    /// What a Kraken client calls when a breaker opens or closes: an alert in the outbox
    /// (written from a task of its own; a failure to write it is logged).
    public static func breakerAlerts(storage: any Storage, service: ServiceName, logger: Logger) -> @Sendable (String, Bool) -> Void {
        { group, opened in
            guard let outbox = storage as? any AlertStorage else { return }
            Task {
                do {
                    try await outbox.enqueueMessage(kind: "risk", text: ServiceAlerts.breaker(group: group, opened: opened, service: service.rawValue), at: Date())
                } catch {
                    logger.warning("breaker alert not written to the outbox", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
