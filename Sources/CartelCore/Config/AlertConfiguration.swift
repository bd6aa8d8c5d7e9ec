/// Where alerts go: `TELEGRAM_BOT_TOKEN` and `TELEGRAM_CHAT_ID` (both or neither),
/// `TELEGRAM_API_URL` (default `https://api.telegram.org`), `ALERT_KEEP_DAYS` (7). Without a
/// token the services run and say once that alerts are off. The token never appears in a
/// description or a log line.
public struct AlertConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var telegramToken: String?
    public var telegramChatID: String?
    public var telegramAPIURL: String
    public var keepDays: Int

    public init(telegramToken: String? = nil, telegramChatID: String? = nil, telegramAPIURL: String = "https://api.telegram.org", keepDays: Int = 7) {
        self.telegramToken = telegramToken
        self.telegramChatID = telegramChatID
        self.telegramAPIURL = telegramAPIURL
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
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ConfigurationError(key: "TELEGRAM_API_URL", value: url, expected: "an http(s) URL")
        }
        self.init(
            telegramToken: token, telegramChatID: chat, telegramAPIURL: url,
            keepDays: try settings.int("ALERT_KEEP_DAYS", default: 7, in: 1...365))
    }

    public var isEnabled: Bool { telegramToken != nil && telegramChatID != nil }

    public var description: String {
        "AlertConfiguration(telegram: \(isEnabled ? "chat \(telegramChatID ?? "")" : "off"), api: \(telegramAPIURL), keepDays: \(keepDays))"
    }
}
