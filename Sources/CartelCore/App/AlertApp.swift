import Foundation
import Logging
import ServiceLifecycle

/// The alert sender every service runs when alerts are configured (a lease in the database
/// makes exactly one of them send), or a single log line saying alerts are off.
public enum AlertApp {
    public static func services(
        configuration: ServiceConfiguration, storage: any StorageProvider, identity: ProcessIdentity, logger: Logger
    ) -> [any Service] {
        let alerts = configuration.alerts
        guard alerts.isEnabled, let token = alerts.telegramToken, let chat = alerts.telegramChatID else {
            logger.notice("alerts are off: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID to receive them")
            return []
        }
        let notifier = TelegramNotifier(apiURL: alerts.telegramAPIURL, token: token, chatID: chat)
        logger.notice("alerts go to Telegram", metadata: ["to": "\(notifier.destination)"])
        return [
            AlertSender(
                storage: storage, holder: "\(configuration.service.rawValue) pid \(identity.pid) on \(identity.host)", notifier: notifier,
                clock: SystemTime(), keepDays: alerts.keepDays, logger: logger)
        ]
    }
}
