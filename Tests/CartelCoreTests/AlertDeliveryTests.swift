import CartelCore
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

/// The outbox and its sender against a fake Telegram answering with the recorded real responses.
@Suite struct AlertDeliveryTests {
    static let token = "123456789:AAH-secret-token-never-logged"

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        var logger: Logger {
            Logger(label: "alerts") { _ in LineLogHandler(service: "trading-engine", level: .debug, output: LineOutput { line in self.lines.withLock { $0.append(line) } }) }
        }
    }

    static func sender(_ storage: SQLiteStorage, url: String, holder: String, logger: Logger) -> AlertSender<SystemTime> {
        AlertSender(
            storage: OpenStorage(storage), holder: holder, notifiers: [TelegramNotifier(apiURL: url, token: Self.token, chatID: "987654321")],
            clock: SystemTime(), spacing: .milliseconds(50), poll: .milliseconds(50), logger: logger)
    }

    func runSender(
        _ storage: SQLiteStorage, url: String, logger: Logger, holders: [String] = ["test"], until done: @escaping @Sendable () async throws -> Bool
    ) async throws {
        let tasks = holders.map { holder in
            let sender = Self.sender(storage, url: url, holder: holder, logger: logger)
            return Task { try await sender.run() }
        }
        defer { tasks.forEach { $0.cancel() } }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the outbox was not emptied in time")
    }

    @Test(.timeLimit(.minutes(1))) func alertsGoOutInOrderWaitOut429AndGiveUpOnAPermanentError() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        // Written by the pause triggers, in the same transaction as the pause itself.
        try await storage.setPause(PauseState(paused: true, by: "<script>x</script>", at: Date()))
        try await storage.enqueueAlert(kind: "message", payload: #"{"text":"<b>engine started</b>"}"#, at: Date())
        try await storage.setPause(PauseState(paused: false, by: "website", at: Date()))
        let lines = Lines()
        let fake = FakeTelegram()
        await fake.script([.tooManyRequests(retryAfter: 1), .ok, .cantParseEntities, .ok])
        try await fake.run { url in
            try await runSender(storage, url: url, logger: lines.logger) { try await storage.pendingAlerts(limit: 10).isEmpty }
        }
        let messages = await fake.messages()
        #expect(messages.count == 4)
        #expect(messages.map(\.text) == [
            "<b>New entries paused</b> by &lt;script&gt;x&lt;/script&gt;\nexits still run",
            "<b>New entries paused</b> by &lt;script&gt;x&lt;/script&gt;\nexits still run",
            "<b>engine started</b>",
            "<b>New entries resumed</b> by website",
        ])
        #expect(messages.allSatisfy { $0.parseMode == "HTML" && $0.chatID == "987654321" && $0.token == Self.token })
        #expect(messages[1].at.timeIntervalSince(messages[0].at) >= 0.95)  // retry_after honoured
        let rows = try await storage.query("SELECT status, attempts, last_error FROM alert_outbox ORDER BY id")
        #expect(rows.map { $0[0] } == ["sent", "failed", "sent"])
        #expect(rows[1][2]?.hasPrefix("400 Bad Request: can't parse entities") == true)
        #expect(lines.all.contains { $0.contains("given up") && $0.contains("can't parse entities") })
        #expect(!lines.all.contains { $0.contains("AAH-secret") }, "the token leaked into a log line")
    }

    @Test(.timeLimit(.minutes(1))) func anAlertWrittenBeforeARestartIsDeliveredOnceAfterIt() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        try await SQLiteStorage(path: dir.file("db.sqlite")).enqueueAlert(kind: "message", payload: #"{"text":"before the crash"}"#, at: Date())
        let reopened = try SQLiteStorage(path: dir.file("db.sqlite"))
        // One from two days ago (the sender was off): recorded as failed, not sent as news.
        try await reopened.enqueueAlert(kind: "message", payload: #"{"text":"stale"}"#, at: Date().addingTimeInterval(-2 * 86_400))
        let fake = FakeTelegram()
        try await fake.run { url in
            try await runSender(reopened, url: url, logger: Logger(label: "test")) { try await reopened.pendingAlerts(limit: 1).isEmpty }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(await fake.messages().map(\.text) == ["before the crash"])
        let rows = try await reopened.query("SELECT status, last_error FROM alert_outbox ORDER BY id")
        #expect(rows.map { $0[0] } == ["sent", "failed"])
        #expect(rows[1][1]?.hasPrefix("not sent: 48 hours old") == true)
        // Pruning: a pending alert written before the cutoff goes (nobody sent it while it was news);
        // one written after stays; delivered ones go once they changed before the cutoff.
        try await reopened.enqueueAlert(kind: "message", payload: #"{"text":"ancient"}"#, at: Date().addingTimeInterval(-10 * 86_400))
        try await reopened.enqueueAlert(kind: "message", payload: #"{"text":"fresh"}"#, at: Date())
        #expect(try await reopened.pruneAlerts(olderThan: Date().addingTimeInterval(-7 * 86_400)) == 1)
        #expect(try await reopened.pendingAlerts(limit: 10).map(\.payload) == [#"{"text":"fresh"}"#])
        #expect(try await reopened.query("SELECT COUNT(*) FROM alert_outbox")[0][0] == "3")  // sent, failed, fresh
    }

    @Test func ordersAndClosedTradesPutTheirAlertsInTheOutboxWithTheirWrites() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let summary = try await DashboardSeed.seed(storage, cycles: 2, openPosition: false)
        let alerts = try await storage.pendingAlerts(limit: 1000)
        let names = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0.name) })
        let texts = alerts.map { AlertFormatter.text($0, strategies: names) }
        #expect(alerts.filter { $0.kind == "trade" }.count == summary.trades)
        let orders = Int(try await storage.query("SELECT COUNT(*) FROM orders")[0][0] ?? "") ?? -1
        #expect(orders >= summary.trades * 2)
        #expect(texts.filter { $0.hasPrefix("<b>Order placed</b> (paper)") }.count == orders)
        #expect(texts.filter { $0.hasPrefix("<b>Order filled</b> (paper)") }.count == orders)
        let closed = try #require(texts.first { $0.hasPrefix("<b>Trade closed</b>") })
        #expect(closed.contains("P&amp;L <b>") && closed.contains("sma-cross:BTC/USD:60"))
        #expect(alerts.map(\.id) == alerts.map(\.id).sorted())
    }

    @Test(.timeLimit(.minutes(1))) func ofSeveralServicesExactlyOneSendsEachAlert() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        for index in 0..<6 { try await storage.enqueueAlert(kind: "message", payload: #"{"text":"alert \#(index)"}"#, at: Date()) }
        let fake = FakeTelegram()
        try await fake.run { url in
            // Three services' senders on one database (each its own connection, as processes have).
            let others = [try SQLiteStorage(path: dir.file("db.sqlite")), try SQLiteStorage(path: dir.file("db.sqlite"))]
            let tasks = zip(["market-data", "website"], others).map { holder, store in
                let sender = Self.sender(store, url: url, holder: holder, logger: Logger(label: "test"))
                return Task { try await sender.run() }
            }
            defer { tasks.forEach { $0.cancel() } }
            try await runSender(storage, url: url, logger: Logger(label: "test"), holders: ["trading-engine"]) {
                try await storage.pendingAlerts(limit: 1).isEmpty
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(await fake.messages().map(\.text) == (0..<6).map { "alert \($0)" })
    }

    /// Runs one sender with `notifiers` until the outbox has nothing pending.
    func drain(_ storage: SQLiteStorage, notifiers: [any Notifier], events: Set<AlertCategory> = Set(AlertCategory.allCases), logger: Logger) async throws {
        let sender = AlertSender(
            storage: OpenStorage(storage), holder: "test", notifiers: notifiers, events: events, clock: SystemTime(),
            spacing: .milliseconds(20), poll: .milliseconds(50), logger: logger)
        let task = Task { try await sender.run() }
        defer { task.cancel() }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try await !storage.pendingAlerts(limit: 1).isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try await storage.pendingAlerts(limit: 1).isEmpty, "the outbox was not emptied in time")
    }

    @Test(.timeLimit(.minutes(1))) func aWebhookGetsJSONOrPlainTextAndEachDestinationGetsEveryAlertOnce() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.setPause(PauseState(paused: true, by: "<ops & co>", at: Date()))
        try await storage.enqueueAlert(kind: "engine", payload: #"{"text":"<b>Engine started</b>"}"#, at: Date())
        let fake = FakeTelegram(validToken: Self.token)
        await fake.scriptHook([503, 200, 404])  // a transient failure is retried; a 404 is given up
        let lines = Lines()
        try await fake.run { url in
            try await drain(storage, notifiers: [
                TelegramNotifier(apiURL: url, token: Self.token, chatID: "987654321"),
                WebhookNotifier(url: "\(url)/hook", format: .json),
            ], logger: lines.logger)
        }
        #expect(await fake.messages().map(\.text) == ["<b>New entries paused</b> by &lt;ops &amp; co&gt;\nexits still run", "<b>Engine started</b>"])
        let hooks = await fake.hooks()
        #expect(hooks.count == 3)
        #expect(hooks.allSatisfy { $0.contentType == "application/json" })
        let first = try #require(try JSONSerialization.jsonObject(with: Data(hooks[1].body.utf8)) as? [String: String])
        #expect(first["kind"] == "pause" && first["text"] == "New entries paused by <ops & co>\nexits still run")
        #expect(first["html"] == "<b>New entries paused</b> by &lt;ops &amp; co&gt;\nexits still run")
        // The first alert reached both; the second reached Telegram and was refused by the hook.
        let rows = try await storage.query("SELECT status, delivered_to, last_error FROM alert_outbox ORDER BY id")
        #expect(rows.map { $0[0] } == ["sent", "sent"])
        #expect(rows.map { $0[1] } == ["telegram,webhook", "telegram,webhook!"])
        #expect(rows[1][2]?.hasPrefix("webhook: HTTP 404") == true)

        // ntfy-style: the plain text alone.
        try await storage.enqueueAlert(kind: "engine", payload: #"{"text":"<b>Engine stopped</b> &amp; saved"}"#, at: Date())
        try await fake.run { url in
            try await drain(storage, notifiers: [WebhookNotifier(url: "\(url)/hook", format: .text)], logger: lines.logger)
        }
        #expect(try await storage.query("SELECT status FROM alert_outbox ORDER BY id DESC LIMIT 1")[0][0] == "sent")
        #expect(!lines.all.contains { $0.contains("AAH-secret") }, "the token leaked into a log line")
    }

    @Test(.timeLimit(.minutes(1))) func aWebhookThatIsDownDoesNotHoldTelegramUp() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        for index in 0..<4 { try await storage.enqueueAlert(kind: "message", payload: #"{"text":"alert \#(index)"}"#, at: Date()) }
        let fake = FakeTelegram(validToken: Self.token)
        await fake.scriptHook(Array(repeating: 503, count: 100))
        try await fake.run { url in
            let sender = AlertSender(
                storage: OpenStorage(storage), holder: "test",
                notifiers: [TelegramNotifier(apiURL: url, token: Self.token, chatID: "987654321"), WebhookNotifier(url: "\(url)/hook", format: .json)],
                clock: SystemTime(), spacing: .milliseconds(20), retryBase: .milliseconds(10), poll: .milliseconds(50), logger: Logger(label: "test"))
            let task = Task { try await sender.run() }
            defer { task.cancel() }
            #expect(await Processes.eventually(20) { (try? await storage.pendingAlerts(limit: 1).isEmpty) == true })
        }
        #expect(await fake.messages().map(\.text) == (0..<4).map { "alert \($0)" })
        let rows = try await storage.query("SELECT status, delivered_to, last_error FROM alert_outbox ORDER BY id")
        #expect(rows.allSatisfy { $0[0] == "sent" && $0[1] == "telegram,webhook!" })
        #expect(rows.allSatisfy { $0[2]?.contains("webhook: ") == true }, "\(rows)")
        #expect(rows.last?[2]?.contains("unreachable, passed over") == true)
        // Five tries opened its breaker; the later alerts did not wait on it.
        #expect(await fake.hooks().count <= 6)
    }

    @Test(.timeLimit(.minutes(1))) func alertEventsSelectsKindsAndABadTokenIsReportedAtStart() async throws {
        let dir = try TemporaryDirectory(prefix: "alerts")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.enqueueAlert(kind: "order", payload: #"{"status":"placed","side":"buy","pair":"BTC/USD","quantity":"1"}"#, at: Date())
        try await storage.setPause(PauseState(paused: true, by: "website", at: Date()))
        let fake = FakeTelegram(validToken: "987:the-right-token")
        let lines = Lines()
        try await fake.run { url in
            try await drain(
                storage, notifiers: [TelegramNotifier(apiURL: url, token: Self.token, chatID: "987654321")], events: [.pause], logger: lines.logger)
        }
        let rows = try await storage.query("SELECT kind, status, last_error FROM alert_outbox ORDER BY id")
        #expect(rows.map { $0[1] } == ["skipped", "failed"])
        #expect(rows[0][2] == "not selected by ALERT_EVENTS (orders)")
        #expect(rows[1][2]?.hasPrefix("401") == true)
        #expect(lines.all.filter { $0.contains("Telegram refuses TELEGRAM_BOT_TOKEN") }.count == 1)
        #expect(!lines.all.contains { $0.contains("AAH-secret") }, "the token leaked into a log line")
        #expect(throws: ConfigurationError.self) { try AlertConfiguration(settings: .values(["ALERT_EVENTS": "orders,trades,fills"])) }
        #expect(try AlertConfiguration(settings: .values(["ALERT_EVENTS": "orders, Pause"])).events == [.orders, .pause])
        let hook = try AlertConfiguration(settings: .values(["ALERT_WEBHOOK_URL": "https://ntfy.sh/secret-topic-123", "ALERT_WEBHOOK_FORMAT": "text"]))
        #expect(hook.isEnabled && hook.webhookFormat == .text && !"\(hook)".contains("secret-topic"))
        #expect(throws: ConfigurationError.self) { try AlertConfiguration(settings: .values(["ALERT_WEBHOOK_URL": "ntfy.sh/topic"])) }
    }

    @Test func alertSettingsAreCheckedAndTheTokenNeverPrinted() throws {
        let config = try AlertConfiguration(settings: .values(["TELEGRAM_BOT_TOKEN": Self.token, "TELEGRAM_CHAT_ID": "987654321"]))
        #expect(config.isEnabled && !"\(config)".contains("AAH-secret"))
        #expect(try AlertConfiguration(settings: .values([:])).isEnabled == false)
        for bad in [["TELEGRAM_BOT_TOKEN": Self.token], ["TELEGRAM_CHAT_ID": "1"], ["TELEGRAM_BOT_TOKEN": "x", "TELEGRAM_CHAT_ID": "alice"],
                    ["TELEGRAM_BOT_TOKEN": "x", "TELEGRAM_CHAT_ID": "1", "TELEGRAM_API_URL": "ftp://x"]] {
            #expect(throws: ConfigurationError.self, "\(bad.keys.sorted())") { try AlertConfiguration(settings: .values(bad)) }
        }
    }
}

/// The daily summary: when it is due, and that of several services exactly one writes it.
@Suite struct DailySummaryTests {
    static func utc(_ text: String) -> Date { UTCTime.parseISO8601(text)! }

    @Test func theSummaryIsDueOncePerDayAtItsLocalTime() throws {
        let midnight = SummarySchedule(hour: 0, minute: 0, timeZone: TimeZone(identifier: "UTC")!)
        let due = try #require(midnight.due(now: Self.utc("2026-11-27T00:00:30Z"), lastDay: nil))
        #expect(due.day == "2026-11-26" && due.from == Self.utc("2026-11-26T00:00:00Z") && due.to == Self.utc("2026-11-27T00:00:00Z"))
        #expect(midnight.due(now: Self.utc("2026-11-27T00:00:30Z"), lastDay: "2026-11-26") == nil)
        #expect(midnight.due(now: Self.utc("2026-11-26T23:59:00Z"), lastDay: "2026-11-25") == nil)
        #expect(midnight.due(now: Self.utc("2026-11-27T07:00:00Z"), lastDay: "2026-11-26") == nil, "missed by more than 6 hours")
        // 21:30 in Berlin: 19:30 UTC in summer, 20:30 in winter, and a day of 23 hours across the change.
        let berlin = SummarySchedule(hour: 21, minute: 30, timeZone: TimeZone(identifier: "Europe/Berlin")!, zoneName: "Europe/Berlin")
        #expect(berlin.due(now: Self.utc("2026-07-01T19:29:00Z"), lastDay: "2026-06-30") == nil)
        #expect(berlin.due(now: Self.utc("2026-07-01T19:31:00Z"), lastDay: "2026-06-30")?.to == Self.utc("2026-07-01T19:30:00Z"))
        #expect(berlin.due(now: Self.utc("2026-12-01T20:31:00Z"), lastDay: nil)?.day == "2026-12-01")
        let change = try #require(berlin.due(now: Self.utc("2026-03-29T19:31:00Z"), lastDay: nil))
        #expect(change.to.timeIntervalSince(change.from) == 23 * 3600)
        #expect(throws: ConfigurationError.self) { try AlertConfiguration(settings: .values(["DAILY_SUMMARY_AT": "9:30"])) }
        #expect(throws: ConfigurationError.self) { try AlertConfiguration(settings: .values(["ALERT_TIMEZONE": "Mars/Olympus"])) }
        #expect(try AlertConfiguration(settings: .values(["DAILY_SUMMARY_AT": "21:30", "ALERT_TIMEZONE": "Europe/Berlin"])).summary == berlin)
    }

    @Test func ofTwoServicesExactlyOneWritesTheSummaryWithTheDaysFigures() async throws {
        let dir = try TemporaryDirectory(prefix: "summary")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let end = Date()
        _ = try await DashboardSeed.seed(storage, cycles: 3, end: end)
        let now = end.addingTimeInterval(60)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.hour, .minute], from: end)
        let schedule = SummarySchedule(hour: parts.hour!, minute: parts.minute!, timeZone: TimeZone(identifier: "UTC")!, zoneName: "UTC")
        let trading = try TradingConfiguration(settings: .values([:]))
        let identity = ProcessIdentity(pid: 1, host: "test", version: "9.9.9", startedAt: end)
        let services = try (0..<2).map { _ in
            let own = OpenStorage(try SQLiteStorage(path: dir.file("db.sqlite")))
            return DailySummaryService(
                storage: own, dashboard: Dashboard(provider: own, trading: trading, identity: identity), schedule: schedule,
                clock: ManualClock(wallTime: now), logger: Logger(label: "test"))
        }
        async let first = services[0].check()
        async let second = services[1].check()
        let written = try await [first, second].compactMap { $0 }
        #expect(written.count == 1)
        let summaries = try await storage.pendingAlerts(limit: 1000).filter { $0.kind == "summary" }
        #expect(summaries.count == 1)
        let text = AlertFormatter.text(try #require(summaries.first), strategies: [:])
        // The figures of the trades closed in the 24 hours before the summary's time.
        let dayEnd = Int(calendar.date(from: calendar.dateComponents([.year, .month, .day, .hour, .minute], from: end))!.timeIntervalSince1970)
        let closed = try await storage.query("""
            SELECT COUNT(*) FROM trades WHERE status = 'closed'
                AND exit_time >= datetime(\(dayEnd - 86_400), 'unixepoch') AND exit_time < datetime(\(dayEnd), 'unixepoch')
            """)[0][0] ?? ""
        #expect(text.hasPrefix("<b>Daily summary</b> \(written[0]) (paper, UTC)"))
        #expect(text.contains("\(closed) trades closed, win rate"), "\(text)")
        #expect(text.contains("1 open positions, unrealised"))
        #expect(try await services[0].check() == nil, "written once only")
    }
}
