import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// The bot's commands: long polling `getUpdates` (run by the trading engine only, so exactly one
/// process polls), answering messages from `TELEGRAM_CHAT_ID` and ignoring (and logging) every
/// other chat. Each update is recorded with its answer in one transaction (the offset moves past
/// it and the answer joins the outbox), so a restart neither answers a command twice nor loses
/// one; the outbox sender delivers answers ahead of alerts.
public struct TelegramBot<C: TimeSource>: Service {
    let apiURL: String
    let token: String
    let chatID: String
    let provider: any StorageProvider
    let dashboard: Dashboard
    let engine: TradingEngine?
    let pollSeconds: Int
    let clock: C
    let logger: Logger

    public init(
        apiURL: String, token: String, chatID: String, storage: any StorageProvider, dashboard: Dashboard, engine: TradingEngine?,
        pollSeconds: Int = 25, clock: C, logger: Logger
    ) {
        self.apiURL = apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL
        self.token = token
        self.chatID = chatID
        self.provider = storage
        self.dashboard = dashboard
        self.engine = engine
        self.pollSeconds = pollSeconds
        self.clock = clock
        self.logger = logger
    }

    struct Updates: Decodable {
        struct Update: Decodable {
            struct Message: Decodable {
                struct Chat: Decodable {
                    var id: Int64
                    var type: String?
                }
                var chat: Chat
                var text: String?
                /// When it was sent (Unix time).
                var date: Int64?
            }
            var update_id: Int64
            var message: Message?
        }
        var ok: Bool
        var result: [Update]?
        var error_code: Int?
        var description: String?
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await loop() }
        } catch is CancellationError {}
    }

    struct Me: Decodable {
        struct User: Decodable { var username: String? }
        var ok: Bool
        var result: User?
    }

    func loop() async throws {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(60))
        var offset: Int64?
        var lastProblem = ""
        var username: String?
        while !Task.isCancelled {
            do {
                guard let storage = try await provider.storage() as? any AlertStorage & LedgerStorage else { return }
                if username == nil {
                    // The bot's own name: `/pause@another_bot` in a group is not for this one.
                    let (status, body) = try await TelegramBotAPI.call(apiURL: apiURL, token: token, method: "getMe", parameters: [:], timeout: .seconds(10))
                    if status == 200, let me = try? JSONDecoder().decode(Me.self, from: body), me.ok { username = me.result?.username ?? "" }
                }
                if offset == nil { offset = try await storage.telegramUpdateOffset() }
                var parameters: [String: any Sendable] = ["timeout": pollSeconds, "allowed_updates": ["message"]]
                if let offset { parameters["offset"] = offset }
                let (status, body) = try await TelegramBotAPI.call(
                    apiURL: apiURL, token: token, method: "getUpdates", parameters: parameters, timeout: .seconds(Int64(pollSeconds + 10)))
                let answer = try? JSONDecoder().decode(Updates.self, from: body)
                guard status == 200, let answer, answer.ok, let updates = answer.result else {
                    let problem = Self.problem(status: status, answer: answer)
                    if problem != lastProblem { logger.error("telegram commands: \(problem)") }
                    lastProblem = problem
                    try await clock.sleep(for: status == 401 || status == 409 ? .seconds(60) : backoff.next(unit: Double.random(in: 0..<1)))
                    continue
                }
                if !lastProblem.isEmpty { logger.notice("telegram commands: getUpdates works again") }
                lastProblem = ""
                backoff.reset()
                for update in updates {
                    let reply = await handle(update, username: username, storage: storage)
                    try await storage.recordTelegramUpdate(update.update_id, reply: reply, at: clock.wallTime)
                    offset = update.update_id + 1
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let problem = "getUpdates failed: \(type(of: error)) \(String(describing: error).prefix(120))"
                if problem != lastProblem { logger.warning("telegram commands: \(problem)") }
                lastProblem = problem
                try await clock.sleep(for: backoff.next(unit: Double.random(in: 0..<1)))
            }
        }
    }

    static func problem(status: Int, answer: Updates?) -> String {
        let description = answer?.description.map { String($0.prefix(200)) } ?? "HTTP \(status) without a Bot API answer"
        switch answer?.error_code ?? status {
        case 401: return "Telegram refuses TELEGRAM_BOT_TOKEN (\(description)); commands are off until it is corrected"
        case 409: return "another client reads this bot's updates (\(description)); retrying every minute"
        default: return "getUpdates answered \(status): \(description)"
        }
    }

    /// A command that changes something and waited longer than this (the engine was down when it
    /// was sent) is not applied: a stale `/resume` must not undo a pause made since.
    static var staleAfter: TimeInterval { 300 }

    /// The answer to one update, or nil for an update that gets none (another chat or bot, chatter
    /// in a group).
    func handle(_ update: Updates.Update, username: String?, storage: any AlertStorage & LedgerStorage) async -> String? {
        guard let message = update.message else { return nil }
        guard String(message.chat.id) == chatID else {
            logger.warning("telegram message from another chat ignored", metadata: ["chat": "\(message.chat.id)"])
            return nil
        }
        let isPrivate = message.chat.type == nil || message.chat.type == "private"
        guard let text = message.text?.trimmingCharacters(in: .whitespaces), text.hasPrefix("/") else {
            return isPrivate ? "Commands start with /. Send /help for the list." : nil
        }
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        var command = words[0].lowercased()
        if let at = command.firstIndex(of: "@") {
            let addressee = command[command.index(after: at)...]
            if let username, !username.isEmpty, addressee != username.lowercased() { return nil }
            command = String(command[..<at])
        }
        let count = words.dropFirst().first.flatMap { Int($0) }
        logger.info("telegram command", metadata: ["command": "\(command)"])
        if command == "/pause" || command == "/resume", let sent = message.date {
            let age = clock.wallTime.timeIntervalSince1970 - Double(sent)
            if age > Self.staleAfter {
                logger.notice("stale telegram command not applied", metadata: ["command": "\(command)", "age_s": "\(Int(age))"])
                return "\(command) was sent \(Int(age / 60)) minutes ago, while nobody was reading; not applied. Send it again if you still want it."
            }
        }
        do {
            return try await answer(command, count: count, storage: storage)
        } catch {
            logger.warning("telegram command not answered from the database", metadata: ["command": "\(command)", "error": "\(error)"])
            return "The database cannot be read right now; try again in a moment."
        }
    }

    func answer(_ command: String, count: Int?, storage: any AlertStorage & LedgerStorage) async throws -> String {
        let now = clock.wallTime
        let scale = BotAnswers.scale(pairs: try await storage.strategies().map(\.pair))
        switch command {
        case "/start", "/help":
            return BotAnswers.help
        case "/status":
            return BotAnswers.status(try await dashboard.status(), positions: try await dashboard.positions(), now: now, scale: scale)
        case "/balance":
            guard let engine else { return "Balances are known to the trading engine only." }
            let ledger = await engine.currentLedger
            var marks: [String: Decimal] = [:]
            // A ticker older than five minutes says nothing about the price now: valued at cost.
            for pair in Set(ledger.positions.values.map(\.pair)) {
                if let ticker = try await (storage as? any Storage)?.latestTicker(pair: pair), now.timeIntervalSince(ticker.time) <= 300 {
                    marks[pair] = ticker.last
                }
            }
            return BotAnswers.balance(mode: engine.mode, ledger: ledger, marks: marks, scale: scale)
        case "/trades":
            return BotAnswers.trades(try await dashboard.trades(TradeQuery(limit: min(max(count ?? 5, 1), 50))), scale: scale)
        case "/profit":
            return BotAnswers.profit(try await dashboard.performance(), scale: scale)
        case "/performance":
            return BotAnswers.performance(try await dashboard.performance(), scale: scale)
        case "/daily":
            let days = min(max(count ?? 7, 1), 31)
            let page = try await dashboard.trades(TradeQuery(limit: 100_000, closedFrom: now.addingTimeInterval(-Double(days + 1) * 86_400)))
            return BotAnswers.daily(page.trades, days: days, mode: page.mode, now: now, scale: scale)
        case "/pause", "/resume":
            let pausing = command == "/pause"
            let current = try await storage.pauseState()
            if current.paused == pausing {
                return pausing ? "Already paused (by \(AlertText.escape(current.by)))." : "Not paused: entries are on."
            }
            _ = try await dashboard.setPaused(pausing, by: "telegram")
            return pausing ? "Paused: no new entries from the next candle on; exits still run." : "Resumed: entries from the next candle on."
        default:
            return "Unknown command \(AlertText.escape(command)). Send /help for the list."
        }
    }
}
