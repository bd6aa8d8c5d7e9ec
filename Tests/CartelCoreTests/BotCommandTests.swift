@testable import CartelCore
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// The bot's commands against a fake Bot API (long-polled `getUpdates`, recorded message shape)
/// over a database the real paper engine filled; answers go out through the outbox sender.
@Suite struct BotCommandTests {
    static let token = "123456789:AAH-secret-bot-token"

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var logger: Logger {
            Logger(label: "bot") { _ in LineLogHandler(service: "trading-engine", level: .debug, output: LineOutput { line in self.lines.withLock { $0.append(line) } }) }
        }
    }

    /// Runs the bot and a sender for `body`.
    func running(
        _ storage: SQLiteStorage, engine: TradingEngine, url: String, logger: Logger, _ body: () async throws -> Void
    ) async throws {
        let trading = try TradingConfiguration(settings: .values([:]))
        let identity = ProcessIdentity(pid: 4242, host: "test", version: "9.9.9", startedAt: Date())
        let bot = TelegramBot(
            apiURL: url, token: Self.token, chatID: "987654321", storage: OpenStorage(storage),
            dashboard: Dashboard(provider: OpenStorage(storage), trading: trading, identity: identity), engine: engine,
            pollSeconds: 1, clock: SystemTime(), logger: logger)
        let sender = AlertSender(
            storage: OpenStorage(storage), holder: "test", notifiers: [TelegramNotifier(apiURL: url, token: Self.token, chatID: "987654321")],
            clock: SystemTime(), spacing: .milliseconds(50), poll: .milliseconds(50), logger: logger)
        let tasks = [Task { try await bot.run() }, Task { try await sender.run() }]
        defer { tasks.forEach { $0.cancel() } }
        try await body()
    }

    /// Sends `text` and returns the answer (not the pause alert a /pause also causes) and how
    /// long it took to arrive.
    func ask(_ fake: FakeTelegram, _ text: String, chat: Int64 = 987_654_321) async throws -> (String, TimeInterval) {
        let before = await fake.messages().count
        let sent = Date()
        await fake.userSends(text, chat: chat)
        func answer() async -> String? { await fake.messages().dropFirst(before).first { !$0.text.hasPrefix("<b>New entries") }?.text }
        let arrived = await Processes.eventually(10) { await answer() != nil }
        #expect(arrived, "no answer to \(text)")
        return (await answer() ?? "", Date().timeIntervalSince(sent))
    }

    @Test(.timeLimit(.minutes(2))) func commandsFromTheChatAreAnsweredOthersIgnoredAndNoneRepliedTwiceAfterARestart() async throws {
        let dir = try TemporaryDirectory(prefix: "bot")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let seeded = try await DashboardSeed.seed(storage, cycles: 3)
        // Alerts the seeding wrote are not what this test is about.
        for alert in try await storage.pendingAlerts(limit: 10_000) { try await storage.markAlert(id: alert.id, status: .skipped, error: "seeding", at: Date()) }
        let configuration = try TradingConfiguration(settings: .values([:]))
        let engine = TradingEngine(storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration, logger: Logger(label: "test"))
        _ = try await engine.start()
        let fake = FakeTelegram(validToken: Self.token)
        let lines = Lines()
        var latencies: [TimeInterval] = []
        try await fake.run { url in
            try await running(storage, engine: engine, url: url, logger: lines.logger) {
                let (help, first) = try await ask(fake, "/help")
                latencies.append(first)
                #expect(help.hasPrefix("<b>SignalCartel commands</b>") && help.contains("/daily [n]"))

                let (status, t1) = try await ask(fake, "/status@signalcartel_test_bot")
                latencies.append(t1)
                #expect(status.hasPrefix("<b>Status</b> (paper)"))
                #expect(status.contains("trading-engine: running") && status.contains("<b>Open positions</b>"))
                #expect(status.contains("BTC/USD") && status.contains("sma-cross:BTC/USD:60"))

                let (trades, t2) = try await ask(fake, "/trades 2")
                latencies.append(t2)
                #expect(trades.hasPrefix("<b>Last 2 trades</b> (paper)"))
                #expect(trades.split(separator: "\n").count == 3)

                let (balance, t3) = try await ask(fake, "/balance")
                latencies.append(t3)
                let ledger = await engine.currentLedger
                #expect(balance.contains("cash \(BotAnswersTestSupport.money(ledger.cash))"))
                #expect(balance.contains("(1 open)"))

                let (profit, t4) = try await ask(fake, "/profit")
                latencies.append(t4)
                #expect(profit.contains("on \(seeded.trades) closed trades"))
                #expect(profit.contains("P&amp;L <b>\(BotAnswersTestSupport.money(seeded.totalPnL))</b>"))

                let (performance, _) = try await ask(fake, "/performance")
                #expect(performance.contains("sma-cross:BTC/USD:60: \(BotAnswersTestSupport.money(seeded.totalPnL)), \(seeded.trades) trades"))

                let (daily, _) = try await ask(fake, "/daily 3")
                #expect(daily.hasPrefix("<b>Daily P&amp;L</b> (paper, UTC)") && daily.split(separator: "\n").count == 4)

                // Another chat is ignored (and logged): no answer, no pause.
                await fake.userSends("/pause", chat: 111)
                let (paused, _) = try await ask(fake, "/pause")
                #expect(paused.hasPrefix("Paused: no new entries"))
                let pause = try await storage.pauseState()
                #expect(pause.paused && pause.by == "telegram")
                #expect(await fake.messages().filter { $0.chatID != "987654321" }.isEmpty)
                #expect(lines.all.contains { $0.contains("telegram message from another chat ignored") && $0.contains("chat=111") })
                // The pause trigger also announced it, like a pause from anywhere.
                #expect(await Processes.eventually(5) { await fake.messages().contains { $0.text.hasPrefix("<b>New entries paused</b> by telegram") } })

                // A /resume sent ten minutes ago (nobody was reading) is not applied.
                let before = await fake.messages().count
                await fake.userSends("/resume", at: Date().addingTimeInterval(-600))
                #expect(await Processes.eventually(10) { await fake.messages().dropFirst(before).contains { $0.text.hasPrefix("/resume was sent 10 minutes ago") } })
                #expect(try await storage.pauseState().paused)
                // Addressed to another bot in a group: not for this one.
                await fake.userSends("/resume@some_other_bot")
                let (unknown, _) = try await ask(fake, "/moon")
                #expect(unknown == "Unknown command /moon. Send /help for the list.")
                #expect(try await storage.pauseState().paused, "the other bot's /resume was not applied")
                let (resumed, _) = try await ask(fake, "/resume@signalcartel_test_bot")
                #expect(resumed.hasPrefix("Resumed"))
                #expect(try await storage.pauseState().paused == false)
                // Everything in the outbox (the "resumed" alert too) is out before the restart.
                #expect(await Processes.eventually(10) { (try? await storage.pendingAlerts(limit: 1).isEmpty) == true })
            }
            let answered = await fake.messages().count
            let lastUpdate = await fake.userSends("/status")  // sent while no bot runs
            // A restart: the stored offset means nothing is answered twice, and the command sent
            // while it was down is answered once.
            try await running(storage, engine: engine, url: url, logger: lines.logger) {
                #expect(await Processes.eventually(10) { await fake.messages().count >= answered + 1 })
                try await Task.sleep(for: .milliseconds(1500))
            }
            let after = await fake.messages()
            #expect(after.count == answered + 1, "\(after.dropFirst(answered - 2).map(\.text))")
            #expect(after.last?.text.hasPrefix("<b>Status</b>") == true)
            #expect(try await storage.telegramUpdateOffset() == lastUpdate + 1)
        }
        // Each answered within 2 s of being sent (1 s long polls, the outbox sender's 50 ms poll).
        #expect(latencies.allSatisfy { $0 < 2 }, "\(latencies)")
        #expect(!lines.all.contains { $0.contains("AAH-secret") }, "the token leaked into a log line")
    }

    @Test func moneyShowsCentsForFiatQuotesAndEightPlacesOtherwise() {
        #expect(BotAnswers.scale(pairs: ["BTC/USD", "ETH/EUR"]) == 2)
        #expect(BotAnswers.scale(pairs: ["BTC/USD", "ETH/BTC"]) == 8)
        #expect(BotAnswers.scale(pairs: []) == 8)
        #expect(BotAnswers.money(Decimal(string: "0.004")!, 8) == "0.004")
        #expect(BotAnswers.money(Decimal(string: "49.525")!, 2) == "49.53")
        #expect(BotAnswers.money(Decimal(string: "-1.005")!, 2) == "-1.01")
    }

    @Test func aBadTokenStopsCommandsWithOneClearLine() async throws {
        let dir = try TemporaryDirectory(prefix: "bot")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let configuration = try TradingConfiguration(settings: .values([:]))
        let engine = TradingEngine(storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration, logger: Logger(label: "test"))
        let fake = FakeTelegram(validToken: "1:the-right-one")
        let lines = Lines()
        try await fake.run { url in
            try await running(storage, engine: engine, url: url, logger: lines.logger) {
                // The bot's own line (the alert sender says it too, for alerts), then more than one
                // poll interval (1 s) in which it must not be repeated.
                #expect(await Processes.eventually(10) { lines.all.contains { $0.contains("commands are off until it is corrected") } })
                try await Task.sleep(for: .milliseconds(1500))
            }
        }
        #expect(lines.all.filter { $0.contains("commands are off until it is corrected") }.count == 1)
        #expect(!lines.all.contains { $0.contains("AAH-secret") })
    }
}

/// The bot's money format (two decimals, exact), for expectations.
enum BotAnswersTestSupport {
    static func money(_ value: Decimal) -> String { BotAnswers.money(value, 2) }
}
