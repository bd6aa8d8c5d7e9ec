import CartelCore
import Foundation
import GRDB
import Logging
import Prometheus
import Metrics
import Synchronization
import Testing
import TestSupport

@Suite struct TradingEngineTests {
    static let start = Date(timeIntervalSince1970: 1_735_689_600)
    /// sma-cross 2/4 enters on candle 6 and exits on candle 11 (see BacktesterTests).
    static let closes: [Decimal] = [10, 9, 8, 7, 6, 7, 9, 11, 13, 14, 12, 9, 7, 5, 6]

    static func candle(_ index: Int, close: Decimal, pair: String = "BTC/USD", interval: Int = 60) -> Candle {
        let open = index == 0 || index > closes.count ? close : closes[index - 1]
        return Candle(
            pair: pair, intervalMinutes: interval, openTime: start.addingTimeInterval(Double(index * interval * 60)), open: open,
            high: max(open, close) + 1, low: min(open, close) - 1, close: close, vwap: close, volume: 5, tradeCount: 3)
    }

    static func engine(_ storage: SQLiteStorage, settings: [String: String] = [:], metrics: any MetricsFactory = MetricsSystem.factory) throws -> TradingEngine {
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"].merging(settings) { $1 }))
        return TradingEngine(
            storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration,
            logger: Logger(label: "test"), metrics: metrics)
    }

    /// A Kraken broker signing with the fake's key, pairs from the fake's AssetPairs.
    static func krakenBroker(
        _ mode: TradingMode, fake: FakeKraken, url: String, timeout: Duration = .seconds(5), nonces: (any KrakenNonceStore)? = nil
    ) async throws -> KrakenBroker<SystemTime> {
        let client = try KrakenClient(
            configuration: KrakenConfiguration(
                baseURL: url, publicRequestsPerSecond: 1000, timeout: timeout, maxAttempts: 1, breakerThreshold: 5,
                breakerCoolDown: .seconds(30), retryBase: .milliseconds(10), apiKey: fake.apiKey, apiSecret: fake.secretBase64),
            clock: SystemTime(), logger: Logger(label: "test"), nonceStore: nonces)
        return KrakenBroker(mode: mode, client: client, pairs: KrakenPairDirectory(pairs: try await client.assetPairs()))
    }

    /// An engine trading through Kraken (validate or live) with the fake's pairs as instruments.
    static func krakenEngine(
        _ storage: SQLiteStorage, broker: KrakenBroker<SystemTime>, settings: [String: String] = [:], clock: any WallClock = SystemTime()
    ) throws -> TradingEngine {
        TradingEngine(
            storage: storage, broker: broker, configuration: try TradingConfiguration(settings: .values(settings)), instruments: broker.pairs,
            clock: clock, logger: Logger(label: "test"))
    }

    /// A fresh ledger database seeded with the sma-cross (2/4) instance the tests trade.
    static func seededStorage(_ dir: TemporaryDirectory, strategies: String = "sma-cross:BTC/USD:60:fast=2,slow=4") async throws -> (String, SQLiteStorage) {
        let path = dir.file("ledger.sqlite")
        let storage = try SQLiteStorage(path: path)
        _ = try await storage.seedStrategies(StrategySpec.parseList(strategies), at: start)
        return (path, storage)
    }

    static func count(_ path: String, _ sql: String) throws -> Int {
        try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

    @Test func strategiesSeedFromTheSettingAndBadEntriesAreRefused() throws {
        let specs = try StrategySpec.parseList("sma-cross:BTC/USD:60:fast=10,slow=30; rsi:eth/usd:15")
        #expect(specs == [
            StrategySpec(kind: "sma-cross", pair: "BTC/USD", intervalMinutes: 60, parameters: ["fast": 10, "slow": 30]),
            StrategySpec(kind: "rsi", pair: "ETH/USD", intervalMinutes: 15),
        ])
        #expect(specs[0].name == "sma-cross:BTC/USD:60")
        for bad in ["sma-cross:BTC/USD", "nope:BTC/USD:60", "rsi:BTCUSD:60", "rsi:BTC/USD:7", "rsi:BTC/USD:60:period=1",
                    "sma-cross:BTC/USD:60:fast=30,slow=10", "rsi:BTC/USD:60;rsi:BTC/USD:60", "rsi:BTC/USD:60:stop_loss=95"] {
            #expect(throws: StrategyParameter.Invalid.self, "\(bad)") { try StrategySpec.parseList(bad) }
        }
    }

    @Test func closedCandlesBecomePaperTradesInStorage() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let path = dir.file("ledger.sqlite")
        let storage = try SQLiteStorage(path: path)
        #expect(try await storage.seedStrategies(StrategySpec.parseList("sma-cross:BTC/USD:60:fast=2,slow=4"), at: Self.start) == 1)
        #expect(try await storage.seedStrategies(StrategySpec.parseList("rsi:ETH/USD:60"), at: Self.start) == 0)  // only when empty
        let engine = try Self.engine(storage)
        let running = try await engine.start()
        #expect(running.map(\.name) == ["sma-cross:BTC/USD:60"])
        for (index, close) in Self.closes.enumerated() {
            try await engine.onClosedCandle(Self.candle(index, close: close))
        }
        let ledger = await engine.currentLedger
        #expect(ledger.positions.isEmpty)
        #expect(ledger.invariantHolds(marks: [:]))
        #expect(try Self.count(path, "SELECT COUNT(*) FROM signals") == 2)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'filled' AND mode = 'paper'") == 2)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM fills") == 2)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 1)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM positions") == 0)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM equity_snapshots") == Self.closes.count)
        let rows = try await StatsOptions.rows(storage: storage, startingBalance: 10_000)
        let stats = try #require(rows.first)
        #expect(stats.strategy == "sma-cross:BTC/USD:60" && stats.stats.trades == 1 && stats.stats.losses == 1)
        #expect(stats.stats.totalPnL == ledger.realisedPnL - ledger.fees)
        let total = try #require(rows.last)
        #expect(total.strategy == "total" && total.stats.finalEquity == ledger.cash)
        let printed = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"), ["stats", "--json"], environment: ["PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(path)"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains(#""strategy" : "sma-cross:BTC\/USD:60""#))
        // The stored trade is the ledger's, to the last digit: entry at candle 6's close 9 with
        // 5 bps slippage, 10 % of 10,000 staked at the close, 0.40 % fees both ways.
        let row = try #require(try DatabaseQueue(path: path).read { db in
            try Row.fetchOne(db, sql: "SELECT entry_price, exit_price, quantity, entry_fee, exit_fee, realized_pnl FROM trades")
        })
        #expect(row["entry_price"] as String == "9.0045")
        #expect(row["exit_price"] as String == "8.9955")
        #expect(row["quantity"] as String == "111.11111111")  // 1,000 / 9, to the lot's 8 decimals
        let cash = try await DatabaseQueue(path: path).read { db in
            try String.fetchOne(db, sql: "SELECT cash FROM equity_snapshots ORDER BY id DESC LIMIT 1")
        }
        #expect(cash == plainText(ledger.cash))
        #expect(ledger.cash == 10_000 + Decimal(string: row["realized_pnl"] as String)!)
    }

    @Test func aRestartRebuildsTheLedgerAndNeverRepeatsAnOrder() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let (path, storage) = try await Self.seededStorage(dir)
        let first = try Self.engine(storage)
        try await first.start()
        for index in 0...6 { try await first.onClosedCandle(Self.candle(index, close: Self.closes[index])) }
        let before = await first.currentLedger
        #expect(before.positions.count == 1)

        // A new process on the same database: same ledger, and candle 6 seen again (a replay after
        // a crash) places nothing new.
        let second = try Self.engine(try SQLiteStorage(path: path))
        try await second.start()
        #expect(await second.currentLedger == before)
        await second.warmUp((0...5).map { Self.candle($0, close: Self.closes[$0]) })
        try await second.onClosedCandle(Self.candle(6, close: Self.closes[6]))
        #expect(try Self.count(path, "SELECT COUNT(*) FROM orders") == 1)
        for index in 7..<Self.closes.count { try await second.onClosedCandle(Self.candle(index, close: Self.closes[index])) }
        #expect(await second.currentLedger.positions.isEmpty)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 1)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM orders") == 2)
    }

    /// The service in external mode: it seeds the table, warms up on stored history without
    /// trading, then trades each candle once the market-data side stores it final — never its
    /// early versions. Runs on a manual clock: no real waiting for polls.
    @Test func theServiceTradesCandlesThatCloseWhileItRunsAndOnlyThose() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let path = dir.file("ledger.sqlite")
        let storage = try SQLiteStorage(path: path)
        let sink = CandleSink(storage: storage, feed: CandleFeed())
        let clock = ManualClock(wallTime: Self.start.addingTimeInterval(6 * 3600 + 30))
        // History up to candle 5 is final; candle 6 is under way.
        try await sink.ingest((0...6).map { Self.candle($0, close: Self.closes[$0]) }, closedBefore: Self.candle(6, close: 0).openTime, now: clock.wallTime)
        let engine = try Self.engine(storage)
        let service = TradingEngineService(
            engine: engine, storage: storage, seed: try StrategySpec.parseList("sma-cross:BTC/USD:60:fast=2,slow=4"),
            source: .storage(poll: .seconds(1)), tickerPoll: .seconds(5), reloadEvery: .seconds(10), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { await engine.runningStrategies().count == 1 })
        let started = try await storage.pendingAlerts(limit: 10).filter { $0.kind == "engine" }.map { AlertFormatter.text($0, strategies: [:]) }
        #expect(started == ["<b>Trading engine started</b> (paper)\nstrategy: sma-cross:BTC/USD:60\npairs: BTC/USD"])
        for index in 6..<Self.closes.count {
            // The candle's time is up, but only its early version is stored: nothing trades.
            await clock.advance(toWallTime: Self.candle(index, close: 0).closeTime.addingTimeInterval(1), once: 4)
            #expect(await clock.waitForSleepers(4))
            #expect(try Self.count(path, "SELECT COUNT(*) FROM equity_snapshots") == index - 6)
            // The collector stores it final (the next one has started), and the next poll trades it.
            let next = Self.candle(index + 1, close: Self.closes[index])
            try await sink.ingest([Self.candle(index, close: Self.closes[index]), next], closedBefore: next.openTime, now: clock.wallTime)
            await clock.advance(by: .seconds(1), once: 4)
            let snapshots = index - 5
            #expect(try await Processes.eventually(10) { try Self.count(path, "SELECT COUNT(*) FROM equity_snapshots") == snapshots })
        }
        #expect(try Self.count(path, "SELECT COUNT(*) FROM strategies") == 1)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'filled'") == 2)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 1)
        #expect(await engine.currentLedger.positions.isEmpty)

        // Rows changed in the table while running are picked up: new parameters, then disabling.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: #"UPDATE strategies SET parameters = '{"fast":3,"slow":5}', updated_at = '2030-01-01 00:00:00.000'"#)
        }
        await clock.advance(by: .seconds(10), once: 4)
        #expect(await Processes.eventually(10) { await engine.runningStrategies().first?.parameters == ["fast": 3, "slow": 5] })
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "UPDATE strategies SET enabled = 0") }
        await clock.advance(by: .seconds(10), once: 4)
        #expect(await Processes.eventually(10) { await engine.runningStrategies().isEmpty })
    }

    /// Minimal mode: candles published by the in-process collector's feed as they close are
    /// traded; history stored before them warms the strategy.
    @Test func theServiceTradesCandlesFromTheInProcessFeed() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let path = dir.file("ledger.sqlite")
        let storage = try SQLiteStorage(path: path)
        let feed = CandleFeed()
        let engine = try Self.engine(storage)
        let clock = ManualClock(wallTime: Self.start.addingTimeInterval(6 * 3600 + 30))
        let service = TradingEngineService(
            engine: engine, storage: storage, seed: try StrategySpec.parseList("sma-cross:BTC/USD:60:fast=2,slow=4"),
            source: .feed(feed), tickerPoll: .seconds(5), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { feed.subscriberCount == 1 })
        // The collector's backfill lands in storage after the engine started (first run).
        try await storage.upsertCandles((0...5).map { Self.candle($0, close: Self.closes[$0]) })
        for index in 6..<Self.closes.count {
            let candle = Self.candle(index, close: Self.closes[index])
            await clock.advance(toWallTime: candle.closeTime.addingTimeInterval(2), once: 3)
            try await storage.upsertCandles([candle])
            feed.publish(candle)
            let snapshots = index - 5
            #expect(try await Processes.eventually(10) { try Self.count(path, "SELECT COUNT(*) FROM equity_snapshots") == snapshots })
        }
        #expect(try await Processes.eventually(10) { try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 1 })
        #expect(try await Processes.eventually(10) { try Self.count(path, "SELECT COUNT(*) FROM equity_snapshots") == Self.closes.count - 6 })
    }

    /// The real binary in minimal mode against the fake Kraken: it collects, warms up on the
    /// backfill, and paper-trades the candle that closes while it runs. Takes up to a minute:
    /// the collector asks for OHLC just after the current 1-minute candle closes.
    /// The engine binary on each backend: Kraken candles in, paper orders and trades out.
    @Test(.timeLimit(.minutes(3)), arguments: StorageBackend.allCases)
    func theEngineBinaryPaperTradesKrakenCandlesEndToEnd(_ backend: StorageBackend) async throws {
        try await backend.withDatabase { databaseURL, text in
            try await withFakeKraken { fake, url in try await Self.endToEnd(fake: fake, url: url, databaseURL: databaseURL, text: text) }
        }
    }

    static func endToEnd(fake: FakeKraken, url: String, databaseURL: String, text: @escaping @Sendable (String) async throws -> String?) async throws {
        @Sendable func count(_ sql: String) async -> Int? { (try? await text(sql)).flatMap { $0.flatMap { Int($0) } } }
        let minute = Int(Date().timeIntervalSince1970) / 60 * 60
        // Flat, then down, then the 2/4 SMA cross up on the current (unfinished) candle.
        let closes = Array(repeating: "10", count: 14) + ["10", "9", "8", "7", "6", "7", "9"]
        let rows = closes.enumerated().map { FakeCandle(time: minute - (closes.count - 1 - $0.offset) * 60, close: $0.element) }
        let stored = closes.count
        await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, rows)
        let dir = try TemporaryDirectory(prefix: "engine-e2e")
        defer { dir.remove() }
        let metricsPort = try ListeningSocket.freePort()
        let environment = [
            "PATH": "/usr/bin:/bin", "DATABASE_URL": databaseURL, "KRAKEN_API_URL": url, "KRAKEN_PUBLIC_RPS": "20",
            "MARKET_DATA_MODE": "embedded", "TRADING_PAIRS": "BTC/USD", "CANDLE_INTERVALS": "1", "TICKER_POLL_SECONDS": "1",
            "HEARTBEAT_SECONDS": "1", "TRADING_METRICS_PORT": "\(metricsPort)",
            "STRATEGIES": "sma-cross:BTC/USD:1:fast=2,slow=4", "STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0",
        ]
        let engine = try ChildProcess(
            BuildProducts.path("trading-engine"), [], environment: environment, stdout: dir.file("out.log"), stderr: dir.file("err.log"))
        defer { engine.terminate() }
        // The backfill is stored (history: nothing trades on it)...
        var backfilled = false
        for _ in 0..<300 where !backfilled {
            backfilled = await count("SELECT COUNT(*) FROM candles") == stored
            if !backfilled { try await Task.sleep(for: .milliseconds(100)) }
        }
        let startLog = (try? String(contentsOfFile: dir.file("out.log"), encoding: .utf8)) ?? ""
        let startErrors = (try? String(contentsOfFile: dir.file("err.log"), encoding: .utf8)) ?? ""
        try #require(backfilled, "\(startLog.suffix(3000)) \(startErrors.suffix(2000))")
        #expect(await count("SELECT COUNT(*) FROM orders") == 0)
        // ...then Kraken starts the next candle, so the cross-up candle is closed.
        await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, rows + [FakeCandle(time: minute + 60, close: "9")])
        var traded = false
        for _ in 0..<1000 where !traded {
            traded = await count("SELECT COUNT(*) FROM orders WHERE status = 'filled' AND mode = 'paper' AND side = 'buy'") == 1
            if !traded { try await Task.sleep(for: .milliseconds(100)) }
        }
        let log = (try? String(contentsOfFile: dir.file("out.log"), encoding: .utf8)) ?? ""
        #expect(traded, "\(log.suffix(3000))")
        #expect(await count("SELECT COUNT(*) FROM trades WHERE status = 'open'") == 1)
        #expect(await count("SELECT COUNT(*) FROM positions") == 1)
        #expect(log.contains("order filled"))
        let addOrders = await fake.requests().filter { $0.endpoint == "AddOrder" }.count
        #expect(addOrders == 0)
        let metrics = try await HTTP.get("http://127.0.0.1:\(metricsPort)/metrics")
        for name in ["trading_signals_total", "trading_orders_total", "trading_fills_total", "trading_equity", "trading_open_positions",
                     "trading_candle_latency_seconds"] {
            #expect(metrics.body.contains(name), "\(name) missing from /metrics")
        }
    }

    @Test func theKrakenBrokerCutsVolumesToTheLotAndRefusesThemBelowTheMinimum() async throws {
        try await withFakeKraken { fake, url in
            await fake.setDefault("AddOrder", .fixture("kraken_private_AddOrder_validate.json"))
            let broker = try await Self.krakenBroker(.validate, fake: fake, url: url)
            func order(_ quantity: String) -> OrderRequest {
                OrderRequest(clientOrderID: "sc-lot-\(quantity)", strategyKey: "1", userref: 1, pair: "BTC/USD", side: .buy,
                             quantity: Decimal(string: quantity)!, referencePrice: 30_000, time: Self.start)
            }
            let checked = try await broker.execute(order("0.123456789"), lot: .generic)
            guard case .validated = checked else {
                Issue.record("expected a validated order, got \(checked)")
                return
            }
            let tiny = try await broker.execute(order("0.00005"), lot: .generic)
            #expect(tiny == .rejected("volume 0.00005 is below BTC/USD's minimum order 0.0001"))
            let sent = await fake.requests().filter { $0.endpoint == "AddOrder" }
            #expect(sent.count == 1)
            #expect(sent.first?.body.contains("volume=0.12345678&") == true)
        }
    }

    /// The running service checks stop-loss on the tickers the collector stores.
    @Test func theServiceSellsWhenAStoredTickerReachesTheStopLoss() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let (path, storage) = try await Self.seededStorage(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        let sink = CandleSink(storage: storage, feed: CandleFeed())
        let clock = ManualClock(wallTime: Self.start.addingTimeInterval(6 * 3600 + 30))
        try await sink.ingest((0...6).map { Self.candle($0, close: Self.closes[$0]) }, closedBefore: Self.candle(6, close: 0).openTime, now: clock.wallTime)
        let engine = try Self.engine(storage)
        let service = TradingEngineService(
            engine: engine, storage: storage, seed: [], source: .storage(poll: .seconds(1)), tickerPoll: .seconds(1),
            reloadEvery: .seconds(10), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { await engine.runningStrategies().count == 1 })
        await clock.advance(toWallTime: Self.start.addingTimeInterval(7 * 3600 + 2), once: 4)  // candle 6 closes: the entry
        try await sink.ingest([Self.candle(6, close: Self.closes[6]), Self.candle(7, close: Self.closes[6])], closedBefore: Self.candle(7, close: 0).openTime, now: clock.wallTime)
        await clock.advance(by: .seconds(1), once: 4)
        #expect(await Processes.eventually(10) { await engine.currentLedger.positions.count == 1 })
        let entry = try #require(await engine.currentLedger.positions.values.first).averagePrice
        let low = entry * Decimal(string: "0.85")!
        try await storage.recordTicker(TickerSnapshot(
            pair: "BTC/USD", time: clock.wallTime, bid: low, ask: low, last: low, volume24h: 1, vwap24h: low,
            low24h: low, high24h: entry, openToday: entry, tradeCount24h: 1))
        await clock.advance(by: .seconds(1), once: 4)
        #expect(await Processes.eventually(10) { await engine.currentLedger.positions.isEmpty })
        #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed' AND exit_reason = 'stop-loss'") == 1)
    }

    @Test func theEngineRefusesToStartWithoutWhatLiveTradingNeeds() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let base = ["PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))", "TRADING_METRICS_PORT": "\(try ListeningSocket.freePort())",
                    "KRAKEN_API_URL": "http://127.0.0.1:1"]
        let cases: [([String: String], String)] = [
            (["STRATEGIES": "sma-cross:BTC/USD:60:fast=40"], "STRATEGIES"),
            (["TRADING_MODE": "live", "KRAKEN_API_KEY": "k", "KRAKEN_API_SECRET": "c2VjcmV0"], "LIVE_TRADING_CONFIRM"),
            (["TRADING_MODE": "validate"], "TRADING_MODE"),
        ]
        for (settings, key) in cases {
            let result = try await ProcessRunner.run(
                BuildProducts.path("trading-engine"), [], environment: base.merging(settings) { $1 }, timeout: 30)
            #expect(result.status == 78, "\(settings): \(result.stderr)")
            #expect(result.stderr.contains(key), "\(settings): \(result.stderr)")
            #expect(!result.stderr.contains("c2VjcmV0"))
        }
    }

    @Test func adoptingBalancesOnPaperIsAClearError() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let result = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"), ["ledger", "adopt-balances"],
            environment: ["PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))"], timeout: 30)
        #expect(result.status != 0)
        #expect(result.stderr.contains("TRADING_MODE=paper: the paper ledger has no exchange account"), "\(result.stderr)")
    }

    @Test func validateModeSendsSignedAddOrdersWithValidateTrueAndBooksNothing() async throws {
        try await withFakeKraken { fake, url in
            await fake.setDefault("AddOrder", .fixture("kraken_private_AddOrder_validate.json"))
            let broker = try await Self.krakenBroker(.validate, fake: fake, url: url)
            let dir = try TemporaryDirectory(prefix: "engine")
            defer { dir.remove() }
            let (path, storage) = try await Self.seededStorage(dir)
            let engine = try Self.krakenEngine(storage, broker: broker, settings: ["TRADING_MODE": "validate"])
            try #require(try await engine.start().count == 1)
            // The validate ledger starts from the account's balances (Kraken's Balance fixture).
            let opened = PortfolioLedger(startingBalance: try #require(Decimal(string: "171288.6158")))
            #expect(await engine.currentLedger == opened)
            for (index, close) in Self.closes.enumerated() {
                try await engine.onClosedCandle(Self.candle(index, close: close))
            }
            let orders = await fake.requests().filter { $0.endpoint == "AddOrder" }
            let order = try #require(orders.first)
            #expect(orders.count == 1)
            #expect(order.method == "POST" && order.signatureValid == true)
            let fields = Dictionary(uniqueKeysWithValues: order.body.split(separator: "&").map {
                let pair = $0.split(separator: "=", maxSplits: 1).map(String.init)
                return (pair[0], pair.count > 1 ? pair[1] : "")
            })
            #expect(fields["validate"] == "true")
            #expect(fields["pair"] == "XXBTZUSD" && fields["type"] == "buy" && fields["ordertype"] == "market")
            // The userref is the order's own id, so an order of unknown outcome can be found.
            let orderID = try #require(try await DatabaseQueue(path: path).read { db in try Int64.fetchOne(db, sql: "SELECT id FROM orders") })
            #expect(fields["userref"] == "\(orderID)")
            #expect(fields["volume"] == "1903.20684222")  // 10 % of 171,288.6158 at 9, cut to the pair's 8 decimals
            #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'validated' AND mode = 'validate'") == 1)
            #expect(try Self.count(path, "SELECT COUNT(*) FROM fills") == 0)
            #expect(try Self.count(path, "SELECT COUNT(*) FROM trades") == 0)
            #expect(await engine.currentLedger == opened)
        }
    }

    /// Live mode: Kraken accepts the order (a txid), the engine books nothing until QueryOrders
    /// reports it closed, then books exactly what executed.
    @Test func liveOrdersAreBookedWhenKrakenReportsThemClosed() async throws {
        try await withFakeKraken { fake, url in
            await fake.setDefault("AddOrder", .fixture("kraken_private_AddOrder.json"))
            let broker = try await Self.krakenBroker(.live, fake: fake, url: url)
            let dir = try TemporaryDirectory(prefix: "engine")
            defer { dir.remove() }
            let (path, storage) = try await Self.seededStorage(dir)
            let engine = try Self.krakenEngine(storage, broker: broker, settings: ["STOP_LOSS_PERCENT": "0"])
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: Self.closes[index])) }
            let sent = try #require(await fake.requests().first { $0.endpoint == "AddOrder" })
            #expect(!sent.body.contains("validate"))
            #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'open' AND exchange_order_id = 'OU22CG-KLAF2-FWUDD7'") == 1)
            #expect(await engine.currentLedger.positions.isEmpty)

            // Kraken's QueryOrders shape (as in the fixture), for the order the engine placed.
            func answer(status: String) -> String {
                #"{"error":[],"result":{"OU22CG-KLAF2-FWUDD7":{"refid":null,"userref":1,"status":"\#(status)","reason":null,"opentm":1688665496.7808,"closetm":1688665499.1922,"starttm":0,"expiretm":0,"descr":{"pair":"XBTUSD","type":"buy","ordertype":"market","price":"0","price2":"0","leverage":"none","order":"buy 0.10000000 XBTUSD @ market","close":""},"vol":"0.10000000","vol_exec":"0.10000000","cost":"3000.0","fee":"12.0","price":"30000.0","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq","trades":["TZX2WP-XSEOP-FP7WYR"]}}}"#
            }
            await fake.enqueue("QueryOrders", .json(answer(status: "open")))
            try await engine.reconcile()
            #expect(await engine.currentLedger.positions.isEmpty)
            await fake.enqueue("QueryOrders", .json(answer(status: "closed")))
            try await engine.reconcile()
            let position = try #require(await engine.currentLedger.positions.values.first)
            // Exactly what Kraken reports executed: 0.1 at 30000 with a 12.0 fee.
            #expect(position.quantity == Decimal(string: "0.1") && position.averagePrice == 30_000 && position.entryFees == 12)
            #expect(await engine.currentLedger.cash == Decimal(string: "171288.6158")! - 3_000 - 12)
            #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'filled'") == 1)
            #expect(try Self.count(path, "SELECT COUNT(*) FROM fills WHERE exchange_trade_id = 'OU22CG-KLAF2-FWUDD7'") == 1)
            #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'open'") == 1)
        }
    }

    @Test func aStopLossOnATickerSellsAndAnUnfinishedPaperOrderIsAbandoned() async throws {
        let dir = try TemporaryDirectory(prefix: "engine")
        defer { dir.remove() }
        let (path, storage) = try await Self.seededStorage(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        let engine = try Self.engine(storage)
        let strategies = try await engine.start()
        for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: Self.closes[index])) }
        let entry = try #require(await engine.currentLedger.positions.values.first).averagePrice
        try await engine.onPrice(entry * Decimal(string: "0.89")!, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600))
        #expect(await engine.currentLedger.positions.isEmpty)
        #expect(try Self.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed' AND exit_reason = 'stop-loss'") == 1)

        // An order recorded but never booked (the process died in between) is abandoned on start.
        _ = try await storage.recordOrder(OrderRecord(
            strategyID: strategies[0].id, signalID: nil, clientOrderID: "sc-crashed", mode: .paper, pair: "BTC/USD",
            side: .buy, quantity: 1, status: .submitting, createdAt: Self.start), at: Self.start)
        try await Self.engine(storage).start()
        #expect(try Self.count(path, "SELECT COUNT(*) FROM orders WHERE client_order_id = 'sc-crashed' AND status = 'abandoned'") == 1)
        // The drawdown kill switch measures from the stored peak after a restart: a 10 % stop-out
        // with MAX_DRAWDOWN_PERCENT=1 halts entries in a fresh process too.
        let registry = PrometheusCollectorRegistry()
        let restarted = try Self.engine(storage, settings: ["MAX_DRAWDOWN_PERCENT": "1"], metrics: PrometheusMetricsFactory(registry: registry))
        try await restarted.start()
        #expect(await restarted.haltReason?.hasPrefix("drawdown kill switch") == true)
        // …and so does Prometheus (the SignalCartelDrawdownKillSwitch alert), from the start.
        let exported = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(exported.contains("trading_halted{cause=\"drawdown\"} 1.0"), "\(exported)")
        #expect(exported.contains("trading_halted{cause=\"balance\"} 0.0"))
        #expect(exported.contains("trading_orders_total{side=\"buy\",mode=\"paper\"} 0"))
        #expect(try await storage.unfinishedOrders(mode: .paper).isEmpty)
        // The trader hears of it: an alert in the outbox, written by the engine itself.
        let risk = try await storage.pendingAlerts(limit: 100).filter { $0.kind == "risk" }
        #expect(risk.count == 1)
        #expect(risk.first.map { AlertFormatter.text($0, strategies: [:]) }?.hasPrefix("<b>Drawdown kill switch</b>\ndrawdown kill switch: equity") == true)
    }
}

private func plainText(_ value: Decimal) -> String { "\(value)" }
