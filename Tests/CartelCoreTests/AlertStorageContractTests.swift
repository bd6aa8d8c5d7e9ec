@testable import CartelCore
import Foundation
import GRDB
import PostgresNIO
import TestSupport
import Testing

/// Raw SQL on a contract test's database, the same text on either backend (times as
/// `'YYYY-MM-DD HH:MM:SS'` literals, which both read as UTC).
struct ContractSQL: Sendable {
    /// The first column of the first row, as text.
    let text: @Sendable (String) async throws -> String?
    /// Runs a statement that returns no rows.
    let execute: @Sendable (String) async throws -> Void
}

/// What both backends' stores are, for the contract tests.
typealias ContractStore = any DashboardStorage & AlertStorage & KrakenNonceStore

extension StorageBackend {
    /// `count` stores on one new database, each with its own connections as separate processes
    /// have them (SQLite: its own pool on the file; PostgreSQL: its own connection pool).
    func withStores(
        _ count: Int, _ body: @Sendable (_ stores: [ContractStore], _ sql: ContractSQL) async throws -> Void
    ) async throws {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory(prefix: "contract-shared")
            defer { dir.remove() }
            let stores = try (0..<max(count, 1)).map { _ in try SQLiteStorage(path: dir.file("db.sqlite")) }
            let first = stores[0]
            try await body(stores, ContractSQL(
                text: { sql in try await first.query(sql).first?.first ?? nil },
                execute: { sql in try await first.pool.write { db in try db.execute(sql: sql) } }))
        case .postgres:
            try await PostgresTestDatabase.with { first, url in
                try await first.migrate()
                let sql = ContractSQL(
                    text: { sql in
                        let rows = try await first.client.query(PostgresQuery(unsafeSQL: "SELECT (q.v)::TEXT FROM (\(sql)) AS q(v)"), logger: first.logger)
                        for try await (value) in rows.decode(String?.self) { return value }
                        return nil
                    },
                    execute: { sql in try await first.client.query(PostgresQuery(unsafeSQL: sql), logger: first.logger) })
                try await Self.open(url, more: count - 1, [first]) { stores in try await body(stores, sql) }
            }
        }
    }

    /// Opens `more` stores on `url` beside `opened`, each with its own pool, for `body`.
    private static func open(_ url: PostgresURL, more: Int, _ opened: [PostgresStore], _ body: @Sendable ([PostgresStore]) async throws -> Void)
        async throws
    {
        guard more > 0 else { return try await body(opened) }
        try await PostgresTestDatabase.withStore(url, poolSize: 4) { store in try await open(url, more: more - 1, opened + [store], body) }
    }
}

/// ``AlertStorage`` on both backends: the same outbox rows, and of several processes claiming
/// the same news (a service down or back, a day's summary, the sender's lease) exactly one wins.
@Suite struct AlertStorageContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01

    /// Runs `body` in `tasks` concurrent tasks spread over `stores`; returns how many returned true.
    static func winners(
        _ stores: [ContractStore], tasks: Int,
        _ body: @escaping @Sendable (any AlertStorage, Int) async throws -> Bool
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<tasks {
                let store = stores[index % stores.count]
                group.addTask { try await body(store, index) }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func theOutboxQueuesRepliesFirstRecordsDeliveryAndPrunes(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, sql in
            let outbox = stores[0]
            #expect(try await outbox.pendingAlerts(limit: 10).isEmpty)
            let first = try await outbox.enqueueAlert(kind: "message", payload: #"{"text":"first"}"#, at: Self.t0)
            let second = try await outbox.enqueueAlert(kind: "engine", payload: #"{"text":"second"}"#, at: Self.t0.addingTimeInterval(1))
            let reply = try await outbox.enqueueAlert(kind: "reply", payload: #"{"text":"pong"}"#, at: Self.t0.addingTimeInterval(2))
            #expect(first < second && second < reply)
            // Answers to commands first (someone waits for them), then by id.
            let pending = try await outbox.pendingAlerts(limit: 10)
            #expect(pending.map(\.id) == [reply, first, second])
            #expect(pending[1] == OutboxAlert(
                id: first, kind: "message", payload: #"{"text":"first"}"#, status: .pending, attempts: 0, lastError: nil, createdAt: Self.t0))
            #expect(try await outbox.pendingAlerts(limit: 2).map(\.id) == [reply, first])

            // Each destination joins `deliveredTo`; a refusal's reason is kept until the alert ends.
            try await outbox.markAlertDone(id: first, destination: "telegram", error: nil, at: Self.t0.addingTimeInterval(3))
            try await outbox.markAlertDone(id: first, destination: "webhook!", error: "webhook: HTTP 404", at: Self.t0.addingTimeInterval(4))
            try await outbox.markAlertDone(id: first, destination: "ntfy", error: nil, at: Self.t0.addingTimeInterval(5))
            let done = try #require(try await outbox.pendingAlerts(limit: 10).first { $0.id == first })
            #expect(done.deliveredTo == ["telegram", "webhook!", "ntfy"] && done.lastError == "webhook: HTTP 404" && done.attempts == 0)
            #expect(try await sql.text("SELECT delivered_to FROM alert_outbox WHERE id = \(first)") == "telegram,webhook!,ntfy")

            try await outbox.markAlert(id: first, status: .sent, error: nil, at: Self.t0.addingTimeInterval(6))
            try await outbox.markAlert(id: reply, status: .failed, error: "400 Bad Request", at: Self.t0.addingTimeInterval(6))
            #expect(try await outbox.pendingAlerts(limit: 10).map(\.id) == [second])
            #expect(try await sql.text("SELECT status || ' ' || attempts || ' ' || COALESCE(last_error, '-') FROM alert_outbox WHERE id = \(first)")
                == "sent 1 -")
            #expect(try await sql.text("SELECT status || ' ' || attempts || ' ' || last_error FROM alert_outbox WHERE id = \(reply)")
                == "failed 1 400 Bad Request")

            // Pruning: ended alerts by when they last changed, pending ones by when they were written.
            let fresh = try await outbox.enqueueAlert(kind: "message", payload: #"{"text":"fresh"}"#, at: Self.t0.addingTimeInterval(100))
            #expect(try await outbox.pruneAlerts(olderThan: Self.t0.addingTimeInterval(1)) == 0)
            #expect(try await outbox.pruneAlerts(olderThan: Self.t0.addingTimeInterval(6)) == 1)  // `second`, pending since t0+1
            #expect(try await outbox.pruneAlerts(olderThan: Self.t0.addingTimeInterval(7)) == 2)  // first and reply, ended at t0+6
            #expect(try await outbox.pendingAlerts(limit: 10).map(\.id) == [fresh])
            #expect(try await sql.text("SELECT COUNT(*) FROM alert_outbox") == "1")
            // A payload that is not JSON is refused on both backends.
            await #expect(throws: (any Error).self) { try await outbox.enqueueAlert(kind: "message", payload: "not json", at: Self.t0) }
        }
    }

    /// Orders, fills that close a trade, and pause changes put their alerts in the outbox from
    /// the triggers, in the same transaction: the same messages on both backends.
    @Test(arguments: StorageBackend.allCases)
    func triggersPutOrdersClosedTradesAndPauseChangesInTheOutbox(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, _ in
            let storage = stores[0]
            _ = try await storage.seedStrategies([LedgerStorageContractTests.spec], at: Self.t0)
            let strategy = try #require(try await storage.strategies().first)
            let signal = try await storage.recordSignal(
                strategyID: strategy.id, pair: "BTC/USD", intervalMinutes: 60, candleTime: Self.t0, signal: StrategySignal(.enter, "fast crossed above slow"),
                price: 100, at: Self.t0)
            var buy = LedgerStorageContractTests.order("b", side: .buy, quantity: Decimal(string: "0.5")!, strategy: strategy.id)
            buy.signalID = signal
            let buyID = try await storage.recordOrder(buy, at: Self.t0)
            let entry = Fill(quantity: Decimal(string: "0.5")!, price: 100, fee: Decimal(string: "0.2")!, time: Self.t0.addingTimeInterval(1))
            try await storage.recordFill(
                LedgerFill(orderID: buyID, strategyID: strategy.id, pair: "BTC/USD", side: .buy, fill: entry, reason: "enter"),
                position: Position(strategyKey: "1", pair: "BTC/USD", quantity: Decimal(string: "0.5")!, cost: 50, entryFees: 0, openedAt: Self.t0),
                levels: ExitLevels(), closedTrade: nil, orderFilled: true)
            let sellID = try await storage.recordOrder(
                LedgerStorageContractTests.order("s", side: .sell, quantity: Decimal(string: "0.5")!, strategy: strategy.id), at: Self.t0)
            let exit = Fill(quantity: Decimal(string: "0.5")!, price: 110, fee: Decimal(string: "0.22")!, time: Self.t0.addingTimeInterval(60))
            try await storage.recordFill(
                LedgerFill(orderID: sellID, strategyID: strategy.id, pair: "BTC/USD", side: .sell, fill: exit, reason: "exit"), position: nil,
                levels: ExitLevels(),
                closedTrade: LedgerStorageContractTests.closed(Decimal(string: "0.5")!, entry: 100, exit: 110, pnl: Decimal(string: "4.58")!),
                orderFilled: true)
            try await storage.setPause(PauseState(paused: true, by: "<ops & co>", at: Self.t0.addingTimeInterval(120)))
            // A reworded reason is not news; resuming is.
            try await storage.setPause(PauseState(paused: true, by: "website", at: Self.t0.addingTimeInterval(121)))
            try await storage.setPause(PauseState(paused: false, by: "website", at: Self.t0.addingTimeInterval(122)))

            let alerts = try await storage.pendingAlerts(limit: 100)
            let names = [strategy.id: strategy.name]
            #expect(alerts.map(\.kind) == ["order", "order", "order", "order", "trade", "pause", "pause"])
            #expect(alerts.map { AlertFormatter.text($0, strategies: names) } == [
                "<b>Order placed</b> (paper)\nbuy 0.5 BTC/USD\nsma-cross:BTC/USD:60\nreason: fast crossed above slow",
                "<b>Order filled</b> (paper)\nbuy 0.5 BTC/USD @ 100, fee 0.2\nsma-cross:BTC/USD:60",
                "<b>Order placed</b> (paper)\nsell 0.5 BTC/USD\nsma-cross:BTC/USD:60",
                "<b>Order filled</b> (paper)\nsell 0.5 BTC/USD @ 110, fee 0.22\nsma-cross:BTC/USD:60",
                "<b>Trade closed</b> (paper)\nBTC/USD 0.5: 100 → 110\nP&amp;L <b>4.58</b> (9.16%), take profit\nsma-cross:BTC/USD:60",
                "<b>New entries paused</b> by &lt;ops &amp; co&gt;\nexits still run",
                "<b>New entries resumed</b> by website",
            ])
            #expect(alerts.map(\.createdAt) == [0, 1, 0, 60, 60, 120, 122].map { Self.t0.addingTimeInterval($0) })
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func ofConcurrentServiceDownAndBackClaimsExactlyOneWins(_ backend: StorageBackend) async throws {
        try await backend.withStores(3) { stores, sql in
            let beat = Heartbeat(
                service: .marketData, pid: 4242, host: "vps-1", version: "1.0", startedAt: Self.t0, lastBeat: Self.t0.addingTimeInterval(5),
                state: .running, detail: nil, intervalSeconds: 5, residentBytes: nil)
            let now = Self.t0.addingTimeInterval(60)
            #expect(try await Self.winners(stores, tasks: 12) { store, _ in try await store.claimServiceDown(beat, text: "<b>down</b>", at: now) } == 1)
            #expect(try await stores[1].claimServiceDown(beat, text: "<b>down</b>", at: now.addingTimeInterval(60)) == false)
            let claim = try #require(try await sql.text("SELECT value FROM engine_state WHERE key = 'service_down:market-data'"))
            #expect(try JSONDecoder().decode([String: String].self, from: Data(claim.utf8)) == [
                "pid": "4242", "startedAt": "2025-01-01T00:00:00.000Z", "lastBeat": "2025-01-01T00:00:05.000Z",
            ])
            // Another service's claim is its own.
            var engine = beat
            engine.service = .tradingEngine
            #expect(try await stores[2].claimServiceDown(engine, text: "<b>engine down</b>", at: now))

            #expect(try await Self.winners(stores, tasks: 12) { store, _ in try await store.claimServiceBack(beat, text: "<b>back</b>", at: now) } == 1)
            #expect(try await stores[0].claimServiceBack(beat, text: "<b>back</b>", at: now) == false)
            let alerts = try await stores[0].pendingAlerts(limit: 100)
            #expect(alerts.map(\.kind) == ["service", "service", "service"])
            #expect(alerts.map(\.payload) == ["<b>down</b>", "<b>engine down</b>", "<b>back</b>"].map(ServiceAlerts.payload))
            #expect(alerts.allSatisfy { $0.createdAt == now })
            // Released: the next outage is news again.
            #expect(try await stores[2].claimServiceDown(beat, text: "<b>down again</b>", at: now.addingTimeInterval(600)))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func ofConcurrentDailySummaryClaimsExactlyOneWinsAndTheDayOnlyMovesForward(_ backend: StorageBackend) async throws {
        try await backend.withStores(3) { stores, _ in
            #expect(try await stores[0].lastSummaryDay() == nil)
            #expect(try await Self.winners(stores, tasks: 12) { store, index in
                try await store.claimDailySummary(day: "2026-11-26", text: "summary \(index)", at: Self.t0)
            } == 1)
            #expect(try await stores[1].lastSummaryDay() == "2026-11-26")
            #expect(try await stores[1].claimDailySummary(day: "2026-11-26", text: "again", at: Self.t0) == false)
            #expect(try await stores[2].claimDailySummary(day: "2026-11-25", text: "older", at: Self.t0) == false)
            // An existing row: the conditional update decides, once.
            #expect(try await Self.winners(stores, tasks: 12) { store, index in
                try await store.claimDailySummary(day: "2026-11-27", text: "next \(index)", at: Self.t0.addingTimeInterval(86_400))
            } == 1)
            #expect(try await stores[0].lastSummaryDay() == "2026-11-27")
            let summaries = try await stores[0].pendingAlerts(limit: 100)
            #expect(summaries.map(\.kind) == ["summary", "summary"])
            #expect(summaries[1].createdAt == Self.t0.addingTimeInterval(86_400))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func ofConcurrentLeaseClaimsExactlyOneHolderWinsAndAnExpiredLeaseIsTakenOver(_ backend: StorageBackend) async throws {
        try await backend.withStores(3) { stores, sql in
            let until = Self.t0.addingTimeInterval(30)
            // No lease yet: one of twelve holders takes it.
            #expect(try await Self.winners(stores, tasks: 12) { store, index in
                try await store.claimAlertLease(holder: "holder-\(index)", until: until, now: Self.t0)
            } == 1)
            let lease = try #require(try await sql.text("SELECT value FROM engine_state WHERE key = 'alert_sender'"))
            let holder = try #require(try JSONDecoder().decode([String: String].self, from: Data(lease.utf8))["holder"])
            #expect(try JSONDecoder().decode([String: String].self, from: Data(lease.utf8))["until"] == "2025-01-01T00:00:30.000Z")
            // The holder renews; another waits until it ends.
            #expect(try await stores[0].claimAlertLease(holder: holder, until: until.addingTimeInterval(30), now: Self.t0.addingTimeInterval(10)))
            #expect(try await stores[1].claimAlertLease(holder: "other", until: until, now: Self.t0.addingTimeInterval(59)) == false)
            // Expired: of twelve at once (a row to update, under its lock) exactly one takes over.
            let later = Self.t0.addingTimeInterval(61)
            #expect(try await Self.winners(stores, tasks: 12) { store, index in
                try await store.claimAlertLease(holder: "late-\(index)", until: later.addingTimeInterval(30), now: later)
            } == 1)
            // An unreadable lease is nobody's.
            try await sql.execute("UPDATE engine_state SET value = 'garbage' WHERE key = 'alert_sender'")
            #expect(try await stores[2].claimAlertLease(holder: "rescuer", until: later.addingTimeInterval(60), now: later))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func telegramUpdatesMoveTheOffsetWithTheirReplyInOneTransaction(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, sql in
            let storage = stores[0]
            #expect(try await storage.telegramUpdateOffset() == nil)
            try await storage.enqueueAlert(kind: "message", payload: #"{"text":"older news"}"#, at: Self.t0)
            try await storage.recordTelegramUpdate(9_000_000_041, reply: "<b>pong</b>", at: Self.t0.addingTimeInterval(1))
            #expect(try await storage.telegramUpdateOffset() == 9_000_000_042)
            try await storage.recordTelegramUpdate(9_000_000_042, reply: nil, at: Self.t0.addingTimeInterval(2))
            #expect(try await storage.telegramUpdateOffset() == 9_000_000_043)
            let pending = try await storage.pendingAlerts(limit: 10)
            #expect(pending.map(\.kind) == ["reply", "message"] && pending[0].payload == ServiceAlerts.payload("<b>pong</b>"))
            // An offset that cannot be stored takes its reply with it: neither is written.
            try await sql.execute(backend == .sqlite
                ? """
                    CREATE TRIGGER refuse_offset BEFORE UPDATE ON engine_state
                    WHEN NEW.key = 'telegram_update_offset' AND NEW.value = '9000000044' BEGIN SELECT RAISE(ABORT, 'refused'); END
                    """
                : "ALTER TABLE engine_state ADD CONSTRAINT refuse_offset CHECK (key <> 'telegram_update_offset' OR value <> '9000000044')")
            await #expect(throws: (any Error).self) {
                try await storage.recordTelegramUpdate(9_000_000_043, reply: "lost?", at: Self.t0.addingTimeInterval(3))
            }
            #expect(try await storage.telegramUpdateOffset() == 9_000_000_043)
            #expect(try await storage.pendingAlerts(limit: 10).count == 2)
        }
    }
}
