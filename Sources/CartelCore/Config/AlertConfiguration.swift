import Foundation

/// Where alerts go and which: Telegram (`TELEGRAM_BOT_TOKEN` with `TELEGRAM_CHAT_ID`), a webhook
/// (`ALERT_WEBHOOK_URL`), both, or neither (alerts off). The token and the webhook URL (which may
/// carry a secret topic or key) never appear in `description`.
public struct AlertConfiguration: Sendable, Equatable, CustomStringConvertible {
    public enum WebhookFormat: String, Sendable, CaseIterable {
        /// `POST` of `{"kind","text","html","createdAt"}`.
        case json
        /// `POST` of the plain text (ntfy-style endpoints).
        case text
    }

    public var telegramToken: String?
    public var telegramChatID: String?
    public var telegramAPIURL: String
    public var webhookURL: String?
    public var webhookFormat: WebhookFormat
    /// The kinds of alert sent (`ALERT_EVENTS`, default all); the others are recorded as skipped.
    public var events: Set<AlertCategory>
    public var keepDays: Int
    /// When the daily summary is written (`DAILY_SUMMARY_AT`, `ALERT_TIMEZONE`).
    public var summary: SummarySchedule
    /// How long one `getUpdates` long poll waits for a command (`TELEGRAM_POLL_SECONDS`, 25).
    public var commandPollSeconds: Int

    public init(
        telegramToken: String? = nil, telegramChatID: String? = nil, telegramAPIURL: String = "https://api.telegram.org",
        webhookURL: String? = nil, webhookFormat: WebhookFormat = .json, events: Set<AlertCategory> = Set(AlertCategory.allCases),
        keepDays: Int = 7, commandPollSeconds: Int = 25,
        summary: SummarySchedule = SummarySchedule(hour: 0, minute: 0, timeZone: TimeZone(identifier: "UTC")!, zoneName: "UTC")
    ) {
        self.summary = summary
        self.commandPollSeconds = commandPollSeconds
        self.telegramToken = telegramToken
        self.telegramChatID = telegramChatID
        self.telegramAPIURL = telegramAPIURL
        self.webhookURL = webhookURL
        self.webhookFormat = webhookFormat
        self.events = events
        self.keepDays = keepDays
    }

    public init(settings: Settings) throws {
        let token = settings.raw("TELEGRAM_BOT_TOKEN", isSecret: true)
        let chat = settings.raw("TELEGRAM_CHAT_ID")
        if token != nil, chat == nil {
            throw ConfigurationError(key: "TELEGRAM_CHAT_ID", value: "", expected: "the chat id alerts go to (set with TELEGRAM_BOT_TOKEN)")
        }
        if token == nil, let chat {
            throw ConfigurationError(key: "TELEGRAM_BOT_TOKEN", value: "", expected: "the bot token (TELEGRAM_CHAT_ID=\(chat) is set without one)")
        }
        if let chat, Int64(chat) == nil, !chat.hasPrefix("@") {
            throw ConfigurationError(key: "TELEGRAM_CHAT_ID", value: chat, expected: "a numeric chat id (e.g. 987654321 or -1001234567890) or @channel")
        }
        let url = settings.string("TELEGRAM_API_URL", default: "https://api.telegram.org")
        guard Self.isHTTPURL(url) else {
            throw ConfigurationError(key: "TELEGRAM_API_URL", value: url, expected: "an http(s) URL")
        }
        let webhook = settings.raw("ALERT_WEBHOOK_URL", isSecret: true)
        if let webhook, !Self.isHTTPURL(webhook) {
            // The value may hold a secret: name only what is wrong with it.
            throw ConfigurationError(key: "ALERT_WEBHOOK_URL", value: "(not shown)", expected: "an http(s) URL such as https://ntfy.sh/your-topic")
        }
        self.init(
            telegramToken: token, telegramChatID: chat, telegramAPIURL: url, webhookURL: webhook,
            webhookFormat: try settings.oneOf("ALERT_WEBHOOK_FORMAT", default: WebhookFormat.json),
            events: try Self.events(settings.raw("ALERT_EVENTS")),
            keepDays: try settings.int("ALERT_KEEP_DAYS", default: 7, in: 1...365),
            commandPollSeconds: try settings.int("TELEGRAM_POLL_SECONDS", default: 25, in: 1...50),
            summary: try Self.summary(at: settings.raw("DAILY_SUMMARY_AT"), zone: settings.raw("ALERT_TIMEZONE")))
    }

    /// `all` (or unset) or a comma-separated list of ``AlertCategory`` names.
    static func events(_ text: String?) throws -> Set<AlertCategory> {
        guard let text, text.lowercased() != "all" else { return Set(AlertCategory.allCases) }
        var events: Set<AlertCategory> = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
            guard let category = AlertCategory(rawValue: name) else {
                throw ConfigurationError(
                    key: "ALERT_EVENTS", value: text,
                    expected: "all, or a comma-separated list of \(AlertCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            events.insert(category)
        }
        return events
    }

    /// `HH:MM` (24-hour) in an IANA time zone.
    static func summary(at text: String?, zone: String?) throws -> SummarySchedule {
        guard let timeZone = TimeZone(identifier: zone ?? "UTC") else {
            throw ConfigurationError(key: "ALERT_TIMEZONE", value: zone ?? "", expected: "an IANA time zone name such as UTC or Europe/Berlin")
        }
        let parts = (text ?? "00:00").split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...23).contains(hour), (0...59).contains(minute)
        else {
            throw ConfigurationError(key: "DAILY_SUMMARY_AT", value: text ?? "", expected: "a time of day as HH:MM, e.g. 00:00 or 21:30")
        }
        return SummarySchedule(hour: hour, minute: minute, timeZone: timeZone, zoneName: zone ?? "UTC")
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    public var isEnabled: Bool { (telegramToken != nil && telegramChatID != nil) || webhookURL != nil }

    public var description: String {
        let telegram = telegramToken != nil ? "chat \(telegramChatID ?? "")" : "off"
        let webhook = webhookURL.map { "\(WebhookNotifier.safeDestination($0)) (\(webhookFormat.rawValue))" } ?? "off"
        let events = self.events.count == AlertCategory.allCases.count ? "all" : self.events.map(\.rawValue).sorted().joined(separator: ",")
        return "AlertConfiguration(telegram: \(telegram), api: \(telegramAPIURL), webhook: \(webhook), events: \(events), summary: \(String(format: "%02d:%02d", summary.hour, summary.minute)) \(summary.zoneName), keepDays: \(keepDays))"
    }
}
