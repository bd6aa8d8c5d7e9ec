import ArgumentParser
import CartelCore
import Foundation
import GRDB
import Logging
import Testing
import TestSupport

/// Issue 8: each defect found in the review of `Sources/CartelCore/Trading`, reproduced.
@Suite struct TradingDefectTests {
    typealias T = TradingEngineTests
    static let start = TradingEngineTests.start

    static func candle(_ index: Int, close: Decimal, interval: Int = 60, pair: String = "BTC/USD") -> Candle {
        guard index >= T.closes.count else { return T.candle(index, close: close, pair: pair, interval: interval) }
        return Candle(
            pair: pair, intervalMinutes: interval, openTime: start.addingTimeInterval(Double(index * interval * 60)), open: close,
            high: close + 1, low: max(close - 1, Decimal(string: "0.5")!), close: close, vwap: close, volume: 5, tradeCount: 3)
    }

    /// A paper engine on a new database that bought on candle 6 (the 2/4 cross of `T.closes`).
    static func paperPosition(
        _ dir: TemporaryDirectory, strategies: String = "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10", settings: [String: String] = [:]
    ) async throws -> (path: String, storage: SQLiteStorage, engine: TradingEngine) {
        let (path, storage) = try await T.seededStorage(dir, strategies: strategies)
        let engine = try T.engine(storage, settings: settings)
        try await engine.start()
        for index in 0...6 { try await engine.onClosedCandle(candle(index, close: T.closes[index])) }
        return (path, storage, engine)
    }

    // 1. Standard mode must trade a candle once, in its final form.
    @Test func externalModeTradesOnlyTheFinalVersionOfACandle() async throws {
        let dir = try TemporaryDirectory(prefix: "defect1")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let sink = CandleSink(storage: storage, feed: CandleFeed())
        let clock = ManualClock(wallTime: Self.start.addingTimeInterval(6 * 3600 + 60))
        // The collector's early version of candle 6 (close 6, a few seconds of trading).
        try await sink.ingest(
            (0...5).map { Self.candle($0, close: T.closes[$0]) } + [Self.candle(6, close: 6)], closedBefore: Self.candle(6, close: 6).openTime,
            now: clock.wallTime)
        let engine = try T.engine(storage)
        let service = TradingEngineService(
            engine: engine, storage: storage, seed: [], source: .storage(poll: .seconds(1)), tickerPoll: .seconds(5),
            reloadEvery: .seconds(10), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { await engine.runningStrategies().count == 1 })
        // Candle 6 has ended on the clock; the engine polls while only its early version is stored.
        await clock.advance(toWallTime: Self.candle(6, close: 6).closeTime, once: 4)
        for _ in 0..<3 {
            await clock.advance(by: .seconds(1), once: 4)
        }
        #expect(await clock.waitForSleepers(4))
        #expect(try T.count(path, "SELECT COUNT(*) FROM equity_snapshots") == 0)
        // The final version (close 9: the 2/4 cross) lands with candle 7 started.
        let final6 = Self.candle(6, close: 9), early7 = Self.candle(7, close: 9)
        await clock.advance(toWallTime: final6.closeTime.addingTimeInterval(2), once: 4)
        try await sink.ingest([final6, early7], closedBefore: early7.openTime, now: clock.wallTime)
        await clock.advance(by: .seconds(1), once: 4)
        #expect(await Processes.eventually(10) { (try? T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'")) == 1 })
        for _ in 0..<3 {
            await clock.advance(by: .seconds(1), once: 4)
        }
        #expect(await clock.waitForSleepers(4))
        #expect(try T.count(path, "SELECT COUNT(*) FROM equity_snapshots") == 1)
        #expect(try T.count(path, "SELECT COUNT(*) FROM signals WHERE price = '9'") == 1)
    }

    /// A live engine on the fake exchange (100,000 USD, BTC at 9) with a manual wall clock.
    static func liveEngine(
        _ storage: SQLiteStorage, fake: FakeKraken, url: String, clock: ManualClock, settings: [String: String] = ["STOP_LOSS_PERCENT": "0"]
    ) async throws -> TradingEngine {
        // No test here waits for a timeout: 5 s keeps a loaded machine (the whole suite at once on
        // 2 cores) from turning a slow answer into a failed call.
        let broker = try await T.krakenBroker(.live, fake: fake, url: url, timeout: .seconds(5), nonces: storage)
        return try T.krakenEngine(storage, broker: broker, settings: settings, clock: clock)
    }

    static func openExchange(_ fake: FakeKraken, usd: Decimal = 100_000) async {
        await fake.openExchange(balances: ["ZUSD": usd, "XXBT": 0], prices: ["XXBTZUSD": 9])
    }

    /// Runs `body` on a fresh database seeded with `strategies`, next to a fake Kraken whose
    /// simulated account holds `usd` (BTC trades at 9), with a manual clock at `start`.
    static func onExchange(
        _ prefix: String, usd: Decimal = 100_000, strategies: String = "sma-cross:BTC/USD:60:fast=2,slow=4",
        _ body: (FakeKraken, String, String, SQLiteStorage, ManualClock) async throws -> Void
    ) async throws {
        try await withFakeKraken { fake, url in
            await openExchange(fake, usd: usd)
            let dir = try TemporaryDirectory(prefix: prefix)
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir, strategies: strategies)
            try await body(fake, url, path, storage, ManualClock(wallTime: start))
        }
    }

    static func orders(_ path: String) throws -> [Row] {
        try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: "SELECT * FROM orders ORDER BY id") }
    }

    // 2. A live AddOrder whose answer is lost is neither rejected nor resent: it is found on
    // Kraken by its userref and booked as executed.
    @Test func anOrderWhoseAnswerIsLostIsFoundByItsUserrefAndBookedNeverResent() async throws {
        try await withFakeKraken { fake, url in
            await Self.openExchange(fake)
            // Kraken executes the buy, but the answer is a 502.
            await fake.enqueue("AddOrder", .executed(then: .status(502, "<html>Bad Gateway</html>")))
            let dir = try TemporaryDirectory(prefix: "defect2")
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir)
            let clock = ManualClock(wallTime: Self.start)
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            #expect(try Self.orders(path).map { $0["status"] as String } == ["unknown"])
            #expect(try await storage.unfinishedOrders(mode: .live).count == 1)
            #expect(await engine.currentLedger.positions.isEmpty)
            // The next candles' signals place nothing while it is in flight.
            try await engine.onClosedCandle(Self.candle(7, close: T.closes[7]))
            try await engine.reconcile()
            let order = try #require(try Self.orders(path).first)
            #expect(order["status"] as String == "filled")
            #expect(order["exchange_order_id"] as String == "OFAKE1-SIMUL-ATED")
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.count == 1)
            let executed = try #require(await fake.exchange()?.orders.first)
            let position = try #require(await engine.currentLedger.positions.values.first)
            #expect(position.quantity == executed.volume && position.cost == executed.cost && position.entryFees == executed.fee)
            #expect(executed.userref == Int(order["id"] as Int64))
        }
    }

    // 2b. An order whose answer is lost and that Kraken never got is abandoned after the grace, not resent.
    @Test func anOrderKrakenNeverGotIsAbandonedAfterTheGraceNotResent() async throws {
        try await withFakeKraken { fake, url in
            await Self.openExchange(fake)
            await fake.enqueue("AddOrder", .status(502, "<html>Bad Gateway</html>"))
            let dir = try TemporaryDirectory(prefix: "defect2b")
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir)
            let clock = ManualClock(wallTime: Self.start)
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            // Kraken's order lists can trail a placement: a few lookups over two minutes first.
            for _ in 0..<2 {
                try await engine.reconcile()
                clock.advance(by: .seconds(61))
            }
            #expect(try Self.orders(path).map { $0["status"] as String } == ["unknown"])
            try await engine.reconcile()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["abandoned"])
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.count == 1)
            #expect(await engine.ordersInFlight.isEmpty)
        }
    }

    // 2c. A live order left `submitting` by a crash is looked up the same way after a restart.
    @Test func aLiveOrderLeftSubmittingByACrashIsFoundAfterTheRestart() async throws {
        try await Self.onExchange("defect2c") { fake, url, path, storage, clock in
            let first = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            let strategy = try #require(try await first.start().first)
            // The process recorded the order and sent it, then died before the answer was stored.
            let id = try await storage.recordOrder(
                OrderRecord(strategyID: strategy.id, signalID: nil, clientOrderID: "sc-1-crash-buy", mode: .live, pair: "BTC/USD", side: .buy,
                            quantity: 1, status: .submitting, createdAt: clock.wallTime), at: clock.wallTime)
            let broker = try await T.krakenBroker(.live, fake: fake, url: url, nonces: storage)
            _ = try await broker.execute(
                OrderRequest(clientOrderID: "sc-1-crash-buy", strategyKey: "1", userref: Int32(id), pair: "BTC/USD", side: .buy, quantity: 1,
                             referencePrice: 9, time: clock.wallTime), lot: .generic)
            let second = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await second.start()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["unknown"])
            try await second.reconcile()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["filled"])
            #expect(await second.currentLedger.positions.values.first?.quantity == 1)
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.count == 1)
        }
    }

    // 2d. A userref alone proves nothing: an order of another database or bot with the same
    // number (different side or volume) is not taken for ours.
    @Test func anotherOrderWithTheSameUserrefIsNotTakenForOurs() async throws {
        try await Self.onExchange("defect2d") { fake, url, path, storage, _ in
            // Another database on the same key placed its own order 1 (5 BTC) a moment ago.
            let other = try await T.krakenBroker(.live, fake: fake, url: url)
            _ = try await other.execute(
                OrderRequest(clientOrderID: "other-1", strategyKey: "9", userref: 1, pair: "BTC/USD", side: .buy, quantity: 5, referencePrice: 9,
                             time: Self.start), lot: .generic)
            await fake.enqueue("AddOrder", .status(502, "<html>Bad Gateway</html>"))
            let clock = ManualClock(wallTime: Self.start)
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            for _ in 0..<3 {
                try await engine.reconcile()
                clock.advance(by: .seconds(61))
            }
            #expect(try Self.orders(path).map { $0["status"] as String } == ["abandoned"])
            #expect(try T.count(path, "SELECT COUNT(*) FROM fills") == 0)
            #expect(await engine.currentLedger.positions.isEmpty)
        }
    }

    // 2e. An AddOrder error this code does not know is not taken as a refusal: Kraken may have placed it.
    @Test func anUnknownAddOrderErrorLeavesTheOutcomeUnknown() async throws {
        try await withFakeKraken { fake, url in
            await Self.openExchange(fake)
            await fake.enqueue("AddOrder", .executed(then: .json(#"{"error":["EGeneral:Internal error"]}"#)))
            let dir = try TemporaryDirectory(prefix: "defect2e")
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir)
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: ManualClock(wallTime: Self.start))
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            #expect(try Self.orders(path).map { $0["status"] as String } == ["unknown"])
            try await engine.reconcile()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["filled"])
            // And a refusal Kraken states is one: nothing placed, nothing in flight.
            #expect(KrakenBrokerRefusals.notPlaced(KrakenError(.orderRejected, "EOrder:Insufficient funds")))
            #expect(KrakenBrokerRefusals.notPlaced(KrakenError(.retryLater, "AddOrder: circuit breaker for private calls is open; next try in 5 s")))
            #expect(!KrakenBrokerRefusals.notPlaced(KrakenError(.retryLater, "AddOrder: HTTP 502 <html>")))
            #expect(!KrakenBrokerRefusals.notPlaced(KrakenError(.fixConfiguration, "EGeneral:Internal error")))
        }
    }

    // 2f. Several unfinished live orders of one strategy (a database from before one order in
    // flight was enforced) are all taken up and settled.
    @Test func everyUnfinishedOrderOfAStrategyIsTakenUp() async throws {
        try await Self.onExchange("defect2f") { fake, url, path, storage, clock in
            let first = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            let strategy = try #require(try await first.start().first)
            let broker = try await T.krakenBroker(.live, fake: fake, url: url, nonces: storage)
            for (index, quantity) in [Decimal(1), 2].enumerated() {
                let id = try await storage.recordOrder(
                    OrderRecord(strategyID: strategy.id, signalID: nil, clientOrderID: "sc-old-\(index)", mode: .live, pair: "BTC/USD", side: .buy,
                                quantity: quantity, status: .submitting, createdAt: clock.wallTime), at: clock.wallTime)
                _ = try await broker.execute(
                    OrderRequest(clientOrderID: "sc-old-\(index)", strategyKey: "1", userref: Int32(id), pair: "BTC/USD", side: .buy,
                                 quantity: quantity, referencePrice: 9, time: clock.wallTime), lot: .generic)
            }
            let second = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await second.start()
            try await second.reconcile()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["filled", "filled"])
            #expect(await second.currentLedger.positions.values.first?.quantity == 3)
        }
    }

    // 2g. A slow Kraken holds up reconciliation and balance checks, never a stop-loss.
    @Test func aSlowBalanceCallDoesNotHoldUpAStopLoss() async throws {
        try await withFakeKraken { fake, url in
            let dir = try TemporaryDirectory(prefix: "defect2g")
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: ManualClock(wallTime: Self.start), settings: [:])
            try await engine.start()  // the ledger opens from the fixture's balances
            await Self.openExchange(fake)
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            try await engine.reconcile()
            await fake.enqueue("Balance", .delayed(.milliseconds(800), .fixture("kraken_private_Balance.json")))
            let sync = Task { try await engine.syncBalances() }
            try await Task.sleep(for: .milliseconds(200))  // the balance call is on its way
            try await engine.onPrice(5, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 1))
            #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell'") == 1)
            // The stop's sell went out while the balance call was still waiting for its answer.
            let endpoints = await fake.requests().map(\.endpoint).filter { $0 == "Balance" || $0 == "AddOrder" }
            #expect(endpoints.suffix(2) == ["Balance", "AddOrder"])
            try await sync.value
        }
    }

    // 3. A live stop-loss sends one sell while the first is in flight, across a restart too.
    @Test func aLiveStopLossSellsOnceWhileItsOrderIsInFlight() async throws {
        try await Self.onExchange("defect3", strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10") { fake, url, path, storage, clock in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: [:])
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            try await engine.reconcile()
            #expect(await engine.currentLedger.positions.count == 1)
            #expect(await engine.positionLevels.values.first?.stopLoss == Decimal(string: "8.1"))
            await fake.setPrice(5, pairKey: "XXBTZUSD")
            for second in 1...3 {
                try await engine.onPrice(5, pair: "BTC/USD", at: Self.start.addingTimeInterval(Double(7 * 3600 + second)))
            }
            // A strategy exit signal while the stop's sell is in flight sends nothing either.
            for index in 7...11 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            func sells() async -> Int { await fake.requests().filter { $0.endpoint == "AddOrder" && $0.body.contains("type=sell") }.count }
            #expect(await sells() == 1)
            // After a restart the sell is still in flight: tickers send nothing new.
            let restarted = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: [:])
            try await restarted.start()
            try await restarted.onPrice(5, pair: "BTC/USD", at: Self.start.addingTimeInterval(Double(7 * 3600 + 10)))
            #expect(await sells() == 1)
            try await restarted.reconcile()
            #expect(await restarted.currentLedger.positions.isEmpty)
            #expect(try T.count(path, "SELECT COUNT(*) FROM trades WHERE status = 'closed' AND exit_reason = 'stop-loss'") == 1)
        }
    }

    // 4. The live ledger starts from Kraken's balances, is compared with them, and halts entries
    // (critical) while they differ; a fill the ledger would refuse is booked anyway and reported.
    @Test func theLiveLedgerStartsFromKrakensBalanceAndStopsEntriesWhenTheyDiffer() async throws {
        try await Self.onExchange("defect4", usd: 5_000) { fake, url, path, storage, clock in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: ["STOP_LOSS_PERCENT": "0", "PAPER_STARTING_BALANCE": "10000"])
            try await engine.start()
            #expect(await engine.currentLedger.cash == 5_000)
            try await engine.syncBalances()
            #expect(await engine.entryHalts.isEmpty)
            // Someone withdraws 1,000 USD by hand: the ledger no longer matches the account.
            await fake.adjustBalance("ZUSD", by: -1_000)
            try await engine.syncBalances()
            #expect(await engine.entryHalts.first?.contains("ZUSD: ledger 5000, Kraken 4000") == true)
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.isEmpty)
            await fake.adjustBalance("ZUSD", by: 1_000)
            try await engine.syncBalances()
            #expect(await engine.entryHalts.isEmpty)

            // Kraken fills the next entry far above the price it was sized at: more than the cash.
            let second = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: ["STOP_LOSS_PERCENT": "0"])
            try await second.start()
            #expect(await second.currentLedger.cash == 5_000)
            await second.warmUp((10...15).map { Self.candle($0, close: 10 - Decimal($0 - 10)) })
            await fake.setPrice(90_000, pairKey: "XXBTZUSD")
            for (offset, close) in ([4, 6, 9] as [Decimal]).enumerated() {
                try await second.onClosedCandle(Self.candle(16 + offset, close: close))
            }
            try await second.reconcile()
            #expect(try Self.orders(path).map { $0["status"] as String } == ["filled"])
            let ledger = await second.currentLedger
            #expect(ledger.cash < 0 && ledger.positions.count == 1 && ledger.invariantHolds(marks: [:]))
            #expect(await second.entryHalts.contains { $0.contains("beyond what the ledger held") })
        }
    }

    // 4f. Money moved by hand (a withdrawal) is adopted with `ledger adopt-balances`: the ledger
    // agrees with Kraken again and entries resume; positions are untouched.
    @Test func aWithdrawalAdoptedByHandLetsEntriesResume() async throws {
        try await Self.onExchange("defect4f", usd: 5_000) { fake, url, path, storage, clock in
            let first = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await first.start()
            await fake.adjustBalance("ZUSD", by: -1_000)
            try await first.syncBalances()
            #expect(await first.entryHalts.count == 1)

            // The engine is stopped; the trader adopts the withdrawal.
            let broker = try await T.krakenBroker(.live, fake: fake, url: url, nonces: storage)
            let dry = try await LedgerAdoptOptions.adopt(
                mode: .live, storage: storage, broker: broker, instruments: broker.pairs, record: false, at: clock.wallTime)
            #expect(dry == .init(differences: [BalanceDifference(asset: "ZUSD", expected: 5_000, actual: 4_000)], recorded: false))
            #expect(try T.count(path, "SELECT COUNT(*) FROM ledger_adjustments") == 0)
            let adopted = try await LedgerAdoptOptions.adopt(
                mode: .live, storage: storage, broker: broker, instruments: broker.pairs, record: true, at: clock.wallTime)
            #expect(adopted.recorded)
            #expect(try await storage.ledgerAccount(mode: .live)?.capital == 4_000)

            let second = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock)
            try await second.start()
            #expect(await second.currentLedger.cash == 4_000)
            try await second.syncBalances()
            #expect(await second.entryHalts.isEmpty)
            for index in 0...6 { try await second.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.count == 1)
            #expect(await second.currentLedger.invariantHolds(marks: [:]))
        }
    }

    // 4g. Adopting balances never turns the engine's coins into the trader's: coins sold by hand
    // out of a position are refused; an order given up that Kraken lists late is reopened for
    // the engine to book, not adopted; a withdrawal adopted does not trip the drawdown kill switch.
    @Test func adoptingBalancesKeepsTheEnginesOwnCoinsAndOrdersApart() async throws {
        try await withFakeKraken { fake, url in
            await Self.openExchange(fake, usd: 10_000)
            await fake.enqueue("AddOrder", .status(502, "<html>Bad Gateway</html>"))
            let dir = try TemporaryDirectory(prefix: "defect4g")
            defer { dir.remove() }
            let (path, storage) = try await T.seededStorage(dir)
            let clock = ManualClock(wallTime: Date())
            let settings = ["STOP_LOSS_PERCENT": "0", "MAX_DRAWDOWN_PERCENT": "20"]
            let first = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: settings)
            try await first.start()
            for index in 0...6 { try await first.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            for _ in 0..<3 {
                try await first.reconcile()
                clock.advance(by: .seconds(61))
            }
            let given = try #require(try Self.orders(path).first)
            #expect(given["status"] as String == "abandoned")
            // Kraken lists it after all (late): it executed.
            let broker = try await T.krakenBroker(.live, fake: fake, url: url, nonces: storage)
            _ = try await broker.execute(
                OrderRequest(clientOrderID: "late", strategyKey: "1", userref: Int32(given["id"] as Int64), pair: "BTC/USD", side: .buy,
                             quantity: Decimal(string: given["quantity"] as String)!, referencePrice: 9, time: clock.wallTime), lot: .generic)
            clock.advance(by: .seconds(60))
            await #expect(throws: ValidationError.self) {
                try await LedgerAdoptOptions.adopt(mode: .live, storage: storage, broker: broker, instruments: broker.pairs, record: true, at: clock.wallTime)
            }
            #expect(try Self.orders(path).first?["status"] as String? == "unknown")
            let second = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: settings)
            try await second.start()
            try await second.reconcile()
            let bought = try #require(await second.currentLedger.positions.values.first)
            #expect(try Self.orders(path).first?["status"] as String? == "filled")
            clock.advance(by: .seconds(60))
            try await second.syncBalances()
            #expect(await second.entryHalts.isEmpty)

            // Half the position's coins are sold by hand: adopting refuses.
            await fake.adjustBalance("XXBT", by: -bought.quantity / 2)
            await #expect(throws: ValidationError.self) {
                try await LedgerAdoptOptions.adopt(mode: .live, storage: storage, broker: broker, instruments: broker.pairs, record: true, at: clock.wallTime)
            }
            await fake.adjustBalance("XXBT", by: bought.quantity / 2)
            // Half the cash is withdrawn: adopted, and the restarted engine is not halted by it.
            let cash = await second.currentLedger.cash
            await fake.adjustBalance("ZUSD", by: -cash / 2)
            let adopted = try await LedgerAdoptOptions.adopt(
                mode: .live, storage: storage, broker: broker, instruments: broker.pairs, record: true, at: clock.wallTime)
            #expect(adopted.differences.map(\.asset) == ["ZUSD"])
            let third = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: settings)
            try await third.start()
            #expect(await third.currentLedger.cash == cash - cash / 2)
            #expect(await third.currentLedger.invariantHolds(marks: [:]))
            #expect(await third.entryHalts.isEmpty)
        }
    }

    // 4h. A passing refusal of a stop's sell (a rate limit) does not silence the stop: the next
    // ticker tries again.
    @Test func aPassingRefusalOfAnExitIsRetriedOnTheNextTicker() async throws {
        try await Self.onExchange("defect4h", strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10") { fake, url, path, storage, _ in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: ManualClock(wallTime: Self.start), settings: [:])
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            try await engine.reconcile()
            await fake.enqueue("AddOrder", .json(#"{"error":["EAPI:Rate limit exceeded"]}"#))
            try await engine.onPrice(5, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 1))
            try await engine.onPrice(5, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 2))
            #expect(try Self.orders(path).map { $0["status"] as String } == ["filled", "rejected", "open"])
        }
    }

    // 4b. An exit the exchange refuses (a remainder below its minimum order) is tried again
    // after a backoff, not on every ticker.
    @Test func aRefusedExitIsNotRetriedOnEveryTicker() async throws {
        try await Self.onExchange("defect4b", strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10") { fake, url, path, storage, clock in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: [:])
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            try await engine.reconcile()
            let bought = try #require(await engine.currentLedger.positions.values.first)
            // The stop's sell is canceled with all but 0.00005 BTC sold: below Kraken's 0.0001 minimum.
            try await engine.onPrice(7, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 1))
            let sellID = try #require(await engine.ordersInFlight.values.first?.exchangeOrderID)
            let sold = bought.quantity - Decimal(string: "0.00005")!
            await fake.enqueue("QueryOrders", .json(Self.queryOrders(
                txid: sellID, side: "sell", status: "canceled", volume: "\(bought.quantity)", executed: "\(sold)", price: "7",
                cost: "\(sold * 7)", fee: "0.01")))
            try await engine.reconcile()
            #expect(await engine.currentLedger.positions.values.first?.quantity == Decimal(string: "0.00005"))
            for second in 2...10 {
                try await engine.onPrice(7, pair: "BTC/USD", at: Self.start.addingTimeInterval(Double(7 * 3600 + second)))
            }
            #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'rejected'") == 1)
            clock.advance(by: .seconds(301))
            try await engine.onPrice(7, pair: "BTC/USD", at: Self.start.addingTimeInterval(Double(7 * 3600 + 400)))
            #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE status = 'rejected'") == 2)
        }
    }

    // 4e. A buy on its way holds its cost out of the cash: a second entry on the same candle is
    // sized on what is left, not on the whole balance.
    @Test func aBuyInFlightHoldsItsCostOutOfTheCash() async throws {
        try await Self.onExchange("defect4e", usd: 10_000) { fake, url, path, storage, _ in
            _ = try await DatabaseQueue(path: path).write { db in
                try db.execute(sql: """
                    INSERT INTO strategies (name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at)
                    VALUES ('slower', 'sma-cross', 'BTC/USD', 60, '{"fast":2,"slow":5}', 1, '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000')
                    """)
            }
            let engine = try await Self.liveEngine(
                storage, fake: fake, url: url, clock: ManualClock(wallTime: Self.start), settings: ["STAKE_PERCENT": "70", "STOP_LOSS_PERCENT": "0"])
            try await engine.start()
            // Both cross up on candle 6; neither buy is reconciled before the other is sized.
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            let quantities = try Self.orders(path).map { Decimal(string: $0["quantity"] as String)! }
            #expect(quantities.count == 2)
            let spent = quantities.map { $0 * 9 }.reduce(0, +)
            #expect(quantities[1] < quantities[0])
            #expect(spent < 10_000, "the two buys together stay within the cash: \(quantities)")
        }
    }

    // 4c. Live and validate keep one cash balance: an entry in a pair quoted in another currency is refused.
    @Test func anEntryQuotedInAnotherCurrencyIsRefusedInLiveMode() async throws {
        try await Self.onExchange("defect4c") { fake, url, path, storage, _ in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: ManualClock(wallTime: Self.start))
            try await engine.start()  // opened in USD
            _ = try await DatabaseQueue(path: path).write { db in
                try db.execute(sql: """
                    INSERT INTO strategies (name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at)
                    VALUES ('eth-btc', 'sma-cross', 'ETH/BTC', 60, '{"fast":2,"slow":4}', 1, '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000')
                    """)
            }
            try await engine.reloadStrategies()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index], pair: "ETH/BTC")) }
            #expect(await fake.requests().filter { $0.endpoint == "AddOrder" }.isEmpty)
            #expect(try T.count(path, "SELECT COUNT(*) FROM signals WHERE pair = 'ETH/BTC' AND action = 'enter'") == 1)
        }
    }

    // 4d. A position stored without exit levels (a database from before they were stored) gets
    // them from its strategy's rules when the engine starts.
    @Test func aPositionWithoutStoredLevelsIsProtectedAtStart() async throws {
        let dir = try TemporaryDirectory(prefix: "defect4d")
        defer { dir.remove() }
        let (_, storage, first) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        let stop = try #require(await first.positionLevels.values.first?.stopLoss)
        try await storage.savePositionLevels(mode: .paper, strategyID: 1, levels: ExitLevels())
        let second = try T.engine(storage)
        try await second.start()
        #expect(await second.positionLevels[1]?.stopLoss == stop)
        #expect(try await storage.positionLevels(mode: .paper)[1]?.stopLoss == stop)
    }

    // 5. Paper positions stay in the paper ledger.
    @Test func paperPositionsDoNotComeBackInLiveMode() async throws {
        try await withFakeKraken { fake, url in
            let dir = try TemporaryDirectory(prefix: "defect5")
            defer { dir.remove() }
            let (_, storage) = try await T.seededStorage(dir)
            let paper = try T.engine(storage)
            try await paper.start()
            for index in 0...6 { try await paper.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            #expect(await paper.currentLedger.positions.count == 1)
            let live = try T.krakenEngine(storage, broker: try await T.krakenBroker(.live, fake: fake, url: url))
            try await live.start()
            #expect(await live.currentLedger.positions.isEmpty)
            #expect(await live.pairsWithPositions.isEmpty)
            // Back on paper, its position is there again, untouched.
            let again = try T.engine(storage)
            try await again.start()
            #expect(await again.currentLedger == (await paper.currentLedger))
        }
    }

    // 6. Two bookings that overlap both land in the ledger.
    @Test func overlappingBookingsLoseNoPosition() async throws {
        let dir = try TemporaryDirectory(prefix: "defect6")
        defer { dir.remove() }
        let (_, storage) = try await T.seededStorage(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4;sma-cross:ETH/USD:60:fast=2,slow=4")
        let slow = SlowFillStorage(storage)
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]))
        let engine = TradingEngine(storage: slow, broker: PaperBroker(execution: configuration.paper), configuration: configuration, logger: Logger(label: "test"))
        try await engine.start()
        for index in 0...5 {
            try await engine.onClosedCandle(Self.candle(index, close: T.closes[index]))
            try await engine.onClosedCandle(Self.candle(index, close: T.closes[index], pair: "ETH/USD"))
        }
        async let btc: Void = engine.onClosedCandle(Self.candle(6, close: T.closes[6]))
        async let eth: Void = engine.onClosedCandle(Self.candle(6, close: T.closes[6], pair: "ETH/USD"))
        _ = try await (btc, eth)
        #expect(await engine.currentLedger.positions.count == 2)
        #expect(try await storage.ledgerFills(mode: .paper, after: 0).count == 2)
    }

    // 7. A strategy removed by a reload while its candle is being processed does not trap.
    @Test func aStrategyDisabledWhileItsCandleIsProcessedDoesNotCrashTheEngine() async throws {
        let dir = try TemporaryDirectory(prefix: "defect7")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let slow = SlowFillStorage(storage, signalDelay: .milliseconds(300))
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]))
        let engine = TradingEngine(storage: slow, broker: PaperBroker(execution: configuration.paper), configuration: configuration, logger: Logger(label: "test"))
        try await engine.start()
        for index in 0...5 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
        async let entry: Void = engine.onClosedCandle(Self.candle(6, close: T.closes[6]))
        try await Task.sleep(for: .milliseconds(100))
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "UPDATE strategies SET enabled = 0") }
        try await engine.reloadStrategies()
        try await entry
        #expect(await engine.runningStrategies().isEmpty)
    }

    // 8. With the whole account as the stake, the buy still fits the cash.
    @Test func aBacktestStakingTheWholeAccountTrades() throws {
        let candles = T.closes.enumerated().map { StrategyCandle(Self.candle($0.offset, close: $0.element)) }
        let result = try Backtester.run(
            kind: "sma-cross", parameters: ["fast": 2, "slow": 4], candles: candles,
            configuration: BacktestConfiguration(
                strategyKey: "s", pair: "BTC/USD", intervalMinutes: 60, risk: RiskSettings(stake: .percentOfEquity(100)),
                exits: ExitRules(stopLoss: .none, takeProfit: .none)))
        #expect(result.trades.count == 1)
        #expect(result.rejectedEntries == 0)
    }

    // 9. Embedded mode: a candle published long after it closed (after an outage) is history.
    @Test func theFeedDoesNotTradeCandlesThatClosedLongAgo() async throws {
        let dir = try TemporaryDirectory(prefix: "defect9")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let feed = CandleFeed()
        let engine = try T.engine(storage)
        // Kraken was unreachable from 06:30 to 10:00: the collector catches up on candles 6 to 8
        // (the cross-up is candle 6) and publishes them all at once.
        let clock = ManualClock(wallTime: Self.start.addingTimeInterval(6 * 3600 + 30))
        let service = TradingEngineService(
            engine: engine, storage: storage, seed: [], source: .feed(feed), tickerPoll: .seconds(5), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { feed.subscriberCount == 1 })
        try await storage.upsertCandles((0...5).map { Self.candle($0, close: T.closes[$0]) })
        await clock.advance(toWallTime: Self.start.addingTimeInterval(10 * 3600 + 2), once: 3)
        let backlog = (6...9).map { Self.candle($0, close: T.closes[$0]) }
        try await storage.upsertCandles(backlog)
        for candle in backlog { feed.publish(candle) }
        // Only what closed within one interval and the grace is news: candles 8 (09:00) and 9
        // (10:00) are processed (an equity snapshot each); 6 (the cross-up) and 7 are history.
        #expect(try await Processes.eventually(10) { try T.count(path, "SELECT COUNT(*) FROM equity_snapshots") == 2 })
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders") == 0)
    }

    // 10. ATR stops survive a restart.
    @Test func anATRStopProtectsThePositionAfterARestart() async throws {
        let dir = try TemporaryDirectory(prefix: "defect10")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss_atr=1")
        let configuration = ["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]
        let first = try T.engine(storage, settings: configuration)
        try await first.start()
        // ATR(14) needs history before the entry: 20 flat candles, then the series.
        let warm = (0..<20).map { index in
            Candle(pair: "BTC/USD", intervalMinutes: 60, openTime: Self.start.addingTimeInterval(Double((index - 20) * 3600)), open: 10, high: 11,
                   low: 9, close: 10, vwap: 10, volume: 5, tradeCount: 3)
        }
        await first.warmUp(warm)
        for index in 0...6 { try await first.onClosedCandle(Self.candle(index, close: T.closes[index])) }
        #expect(await first.currentLedger.positions.count == 1)
        let second = try T.engine(try SQLiteStorage(path: path), settings: configuration)
        try await second.start()
        try await second.onPrice(1, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 5))
        #expect(await second.currentLedger.positions.isEmpty)
    }

    // 10b. An entry whose ATR stop cannot be computed yet is not taken.
    @Test func anEntryWithoutItsATRStopIsNotTaken() async throws {
        let dir = try TemporaryDirectory(prefix: "defect10b")
        defer { dir.remove() }
        let (_, _, engine) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss_atr=1")
        #expect(await engine.currentLedger.positions.isEmpty)
    }

    // 11. A disabled strategy's position stays protected by its stop-loss.
    @Test func aDisabledStrategysPositionIsStillStoppedOut() async throws {
        let dir = try TemporaryDirectory(prefix: "defect11")
        defer { dir.remove() }
        let (path, _, engine) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        #expect(await engine.currentLedger.positions.count == 1)
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "UPDATE strategies SET enabled = 0") }
        try await engine.reloadStrategies()
        try await engine.onPrice(1, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 5))
        #expect(await engine.currentLedger.positions.isEmpty)
    }

    // 12. A ledger that no longer replays does not stop the engine from starting.
    @Test func aLedgerThatCannotBeReplayedIsReportedNotThrown() async throws {
        let dir = try TemporaryDirectory(prefix: "defect12")
        defer { dir.remove() }
        let (path, storage, _) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        let lowered = try T.engine(storage, settings: ["PAPER_STARTING_BALANCE": "100"])
        await #expect(throws: Never.self) { try await lowered.start() }
        // It says why, and takes no new entry...
        let halt = try #require(await lowered.entryHalts.first { $0.contains("does not replay as a spot account") })
        #expect(halt.contains("1 fill(s) exceed it") && halt.contains("PAPER_STARTING_BALANCE"))
        let series: [Decimal] = [5, 4, 3, 2, 1, 2, 4]
        for (offset, close) in series.enumerated() { try await lowered.onClosedCandle(Self.candle(20 + offset, close: close)) }
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)
        // ...but the position it holds stays protected by its stop-loss.
        try await lowered.onPrice(1, pair: "BTC/USD", at: Self.start.addingTimeInterval(30 * 3600))
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell' AND status = 'filled'") == 1)
    }

    // 14g. Lot rules come from the instrument directory for every strategy in the table, not
    // only those seeded from STRATEGIES.
    @Test func aStrategyAddedToTheTableTradesWithItsPairsLotRules() async throws {
        let dir = try TemporaryDirectory(prefix: "defect14g")
        defer { dir.remove() }
        let (path, storage) = try await T.seededStorage(dir)
        let pairs = try KrakenDecoding.decode(
            [String: KrakenAssetPair].self, from: try Fixtures.data("kraken/kraken_public_AssetPairs.json"), endpoint: "AssetPairs")
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]))
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration,
            instruments: KrakenPairDirectory(pairs: pairs), logger: Logger(label: "test"))
        try await engine.start()
        for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index] * Decimal(string: "1000.03")!)) }
        // XBTUSD: prices to 1 decimal (pair_decimals), so 9000.27 × 1.0005 = 9004.77… fills at 9004.8.
        let price = try await DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "SELECT price FROM fills") }
        #expect(price == "9004.8")
    }

    // 13. stats: a strategy's drawdown is measured on what it traded with, not the whole account.
    @Test func statsMeasureAStrategyOnItsOwnCapital() async throws {
        let dir = try TemporaryDirectory(prefix: "defect13")
        defer { dir.remove() }
        let (_, storage) = try await T.seededStorage(dir)
        let engine = try T.engine(storage)
        try await engine.start()
        for (index, close) in T.closes.enumerated() { try await engine.onClosedCandle(Self.candle(index, close: close)) }
        let row = try #require(try await StatsOptions.rows(storage: storage, startingBalance: 10_000).first)
        // One losing trade of about 1,000 staked: its loss is about 0.1 % of the account but
        // close to 1 % of the capital the strategy used.
        #expect(row.stats.trades == 1)
        #expect(row.stats.maxDrawdownPercent > 0.5)
    }

    // 13b. A position sold in pieces: the trade row adds the pieces up.
    @Test func aTradeClosedInPiecesAddsUpEveryPiece() async throws {
        try await Self.onExchange("defect13b", strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10") { fake, url, path, storage, clock in
            let engine = try await Self.liveEngine(storage, fake: fake, url: url, clock: clock, settings: ["STAKE_AMOUNT": "9.5"])
            try await engine.start()
            for index in 0...6 { try await engine.onClosedCandle(Self.candle(index, close: T.closes[index])) }
            try await engine.reconcile()
            let bought = try #require(await engine.currentLedger.positions.values.first)
            // The stop's sell is canceled by Kraken after 40 % of it executed at 7.
            try await engine.onPrice(7, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 1))
            let sellID = try #require(await engine.ordersInFlight.values.first?.exchangeOrderID)
            let first = (bought.quantity * Decimal(string: "0.4")!)
            await fake.enqueue("QueryOrders", .json(Self.queryOrders(
                txid: sellID, side: "sell", status: "canceled", volume: "\(bought.quantity)", executed: "\(first)", price: "7",
                cost: "\(first * 7)", fee: "0.01")))
            try await engine.reconcile()
            let rest = try #require(await engine.currentLedger.positions.values.first)
            #expect(rest.quantity == bought.quantity - first)
            // The rest goes on the next ticker at 6.5.
            await fake.setPrice(Decimal(string: "6.5")!, pairKey: "XXBTZUSD")
            try await engine.onPrice(Decimal(string: "6.5")!, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 2))
            try await engine.reconcile()
            #expect(await engine.currentLedger.positions.isEmpty)
            let ledger = await engine.currentLedger
            let trade = try #require(try DatabaseQueue(path: path).read { db in try Row.fetchOne(db, sql: "SELECT * FROM trades") })
            #expect(trade["status"] as String == "closed")
            #expect(Decimal(string: trade["quantity"] as String) == bought.quantity)
            #expect(Decimal(string: trade["exit_quantity"] as String) == bought.quantity)
            // Net P&L of both pieces, to the digit: what the ledger realised minus every fee.
            #expect(Decimal(string: trade["realized_pnl"] as String) == ledger.realisedPnL - ledger.fees)
            let (_, closed) = try #require(try await storage.closedTrades(mode: .live).first)
            #expect(closed.netPnL == ledger.realisedPnL - ledger.fees)
        }
    }

    // 14a. rsi-pullback's widened lower barrier must stay below its recovery threshold.
    @Test func rsiPullbackRefusesAWideLowerBarrierAboveItsThreshold() {
        #expect(throws: StrategyParameter.Invalid.self) { try RSIPullbackStrategy.make(["wide_lower": 40, "lower_threshold": 33]) }
        #expect(throws: StrategyParameter.Invalid.self) { try RSIPullbackStrategy.make(["wide_upper": 60, "upper_threshold": 67]) }
    }

    // 14b. A flat window is not oversold.
    @Test func theRSIOfAFlatWindowIsNeutral() {
        var rsi = RSI(period: 3)
        var last: Double?
        for _ in 0..<10 { last = rsi.update(10) }
        #expect(last == 50)
    }

    // 14c. A stale ticker after a restart does not trigger a stop-loss.
    @Test func anOldStoredTickerDoesNotTriggerAStop() async throws {
        let dir = try TemporaryDirectory(prefix: "defect14c")
        defer { dir.remove() }
        let (path, storage, _) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10")
        // A ticker stored an hour before now, below the stop.
        let now = Self.start.addingTimeInterval(9 * 3600)
        try await storage.recordTicker(TickerSnapshot(
            pair: "BTC/USD", time: now.addingTimeInterval(-3600), bid: 1, ask: 1, last: 1, volume24h: 1, vwap24h: 1, low24h: 1, high24h: 1,
            openToday: 1, tradeCount24h: 1))
        let clock = ManualClock(wallTime: now)
        let restarted = try T.engine(storage)
        let service = TradingEngineService(
            engine: restarted, storage: storage, seed: [], source: .storage(poll: .seconds(1)), tickerPoll: .seconds(1),
            reloadEvery: .seconds(10), clock: clock, logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await Processes.eventually(10) { await restarted.pairsWithPositions == ["BTC/USD"] })
        for _ in 0..<3 {
            await clock.advance(by: .seconds(1), once: 4)
        }
        #expect(await clock.waitForSleepers(4))
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell'") == 0)
        // A fresh ticker at the same price does trigger it.
        try await storage.recordTicker(TickerSnapshot(
            pair: "BTC/USD", time: clock.wallTime, bid: 1, ask: 1, last: 1, volume24h: 1, vwap24h: 1, low24h: 1, high24h: 1,
            openToday: 1, tradeCount24h: 1))
        await clock.advance(by: .seconds(1), once: 4)
        #expect(try await Processes.eventually(10) { try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'sell'") == 1 })
    }

    // 14d. Cooldowns after a stop-out survive a restart.
    @Test func aCooldownSurvivesARestart() async throws {
        let dir = try TemporaryDirectory(prefix: "defect14d")
        defer { dir.remove() }
        let (path, _, first) = try await Self.paperPosition(dir, strategies: "sma-cross:BTC/USD:60:fast=2,slow=4,stop_loss=10,cooldown=100")
        try await first.onPrice(1, pair: "BTC/USD", at: Self.start.addingTimeInterval(7 * 3600 + 5))
        #expect(await first.currentLedger.positions.isEmpty)
        let second = try T.engine(try SQLiteStorage(path: path))
        try await second.start()
        // A fresh cross up, well inside the 100-candle cooldown.
        let series: [Decimal] = [5, 4, 3, 2, 1, 2, 4]
        for (offset, close) in series.enumerated() {
            try await second.onClosedCandle(Self.candle(20 + offset, close: close))
        }
        #expect(try T.count(path, "SELECT COUNT(*) FROM orders WHERE side = 'buy'") == 1)
    }

    // 14e. Backtests from the database leave out the unfinished last candle.
    @Test func aBacktestFromTheDatabaseSkipsTheUnfinishedCandle() async throws {
        let dir = try TemporaryDirectory(prefix: "defect14e")
        defer { dir.remove() }
        let path = dir.file("bt.sqlite")
        let storage = try SQLiteStorage(path: path)
        let sink = CandleSink(storage: storage, feed: CandleFeed())
        let candles = T.closes.enumerated().map { Self.candle($0.offset, close: $0.element) }
        try await sink.ingest(candles, closedBefore: candles.last!.openTime, now: Self.start)
        let result = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"), ["backtest", "--pair", "BTC/USD", "--interval", "60", "--strategy", "sma-cross", "--json"],
            environment: ["PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(path)"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["candles"] as? Int == T.closes.count - 1, "\(result.stdout)")
    }

    // 14f. A second engine on the same database is refused.
    @Test func aSecondEngineOnTheSameDatabaseIsRefused() async throws {
        let dir = try TemporaryDirectory(prefix: "defect14f")
        defer { dir.remove() }
        let environment = [
            "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))", "MARKET_DATA_MODE": "external",
            "HEARTBEAT_SECONDS": "1",
        ]
        let first = try ChildProcess(
            BuildProducts.path("trading-engine"), [], environment: environment.merging(["TRADING_METRICS_PORT": "\(try ListeningSocket.freePort())"]) { $1 },
            stdout: dir.file("first.log"), stderr: dir.file("first.err"))
        defer { first.terminate() }
        #expect(await Processes.eventually(20) {
            ((try? String(contentsOfFile: dir.file("first.log"), encoding: .utf8)) ?? "").contains("ledger rebuilt")
        })
        let second = try await ProcessRunner.run(
            BuildProducts.path("trading-engine"), [], environment: environment.merging(["TRADING_METRICS_PORT": "\(try ListeningSocket.freePort())"]) { $1 },
            timeout: 20)
        #expect(second.status != 0)
        #expect(second.output.contains("another trading-engine"))
    }

    static func queryOrders(
        txid: String, side: String, status: String, volume: String, executed: String? = nil, price: String, cost: String, fee: String, userref: Int = 1
    ) -> String {
        #"{"error":[],"result":{"\#(txid)":{"refid":null,"userref":\#(userref),"status":"\#(status)","reason":null,"opentm":1688665496.7808,"closetm":1688665499.1922,"starttm":0,"expiretm":0,"descr":{"pair":"XBTUSD","type":"\#(side)","ordertype":"market","price":"0","price2":"0","leverage":"none","order":"\#(side) \#(volume) XBTUSD @ market","close":""},"vol":"\#(volume)","vol_exec":"\#(executed ?? volume)","cost":"\#(cost)","fee":"\#(fee)","price":"\#(price)","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq","trades":["TZX2WP-XSEOP-FP7WYR"]}}}"#
    }
}

/// The real SQLite storage with slow writes, so that engine operations overlap as they do when
/// candles, tickers and reconciliation arrive together.
final class SlowFillStorage: LedgerStorage {
    let base: SQLiteStorage
    let fillDelay: Duration
    let signalDelay: Duration

    init(_ base: SQLiteStorage, fillDelay: Duration = .milliseconds(100), signalDelay: Duration = .zero) {
        self.base = base
        self.fillDelay = fillDelay
        self.signalDelay = signalDelay
    }

    func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal, at time: Date
    ) async throws -> Int64 {
        try await Task.sleep(for: signalDelay)
        return try await base.recordSignal(
            strategyID: strategyID, pair: pair, intervalMinutes: intervalMinutes, candleTime: candleTime, signal: signal, price: price, at: time)
    }

    func recordFill(_ fill: LedgerFill, position: Position?, levels: ExitLevels, closedTrade: ClosedTrade?, orderFilled: Bool) async throws {
        try await Task.sleep(for: fillDelay)
        try await base.recordFill(fill, position: position, levels: levels, closedTrade: closedTrade, orderFilled: orderFilled)
    }

    func seedStrategies(_ specs: [StrategySpec], at time: Date) async throws -> Int { try await base.seedStrategies(specs, at: time) }
    func strategies() async throws -> [StrategyRecord] { try await base.strategies() }
    func recordOrder(_ order: OrderRecord, at time: Date) async throws -> Int64 { try await base.recordOrder(order, at: time) }
    func updateOrder(id: Int64, status: OrderRecord.Status, exchangeOrderID: String?, error: String?, at time: Date) async throws {
        try await base.updateOrder(id: id, status: status, exchangeOrderID: exchangeOrderID, error: error, at: time)
    }
    func unfinishedOrders(mode: TradingMode) async throws -> [OrderRecord] { try await base.unfinishedOrders(mode: mode) }
    func ledgerFills(mode: TradingMode, after fillID: Int64) async throws -> [LedgerFill] { try await base.ledgerFills(mode: mode, after: fillID) }
    func lastFillID() async throws -> Int64 { try await base.lastFillID() }
    func savePositionLevels(mode: TradingMode, strategyID: Int64, levels: ExitLevels) async throws {
        try await base.savePositionLevels(mode: mode, strategyID: strategyID, levels: levels)
    }
    func positionLevels(mode: TradingMode) async throws -> [Int64: ExitLevels] { try await base.positionLevels(mode: mode) }
    func recordEquity(_ snapshot: EquitySnapshot, mode: TradingMode) async throws { try await base.recordEquity(snapshot, mode: mode) }
    func peakEquity(mode: TradingMode, since: Date?) async throws -> Decimal? { try await base.peakEquity(mode: mode, since: since) }
    func abandonedOrders(mode: TradingMode, since: Date) async throws -> [OrderRecord] { try await base.abandonedOrders(mode: mode, since: since) }
    func closedTrades(mode: TradingMode) async throws -> [(strategyID: Int64, trade: ClosedTrade)] { try await base.closedTrades(mode: mode) }
    func ledgerAccount(mode: TradingMode) async throws -> LedgerAccount? { try await base.ledgerAccount(mode: mode) }
    func saveLedgerAccount(_ account: LedgerAccount) async throws { try await base.saveLedgerAccount(account) }
    func recordAdjustments(_ adjustments: [LedgerAdjustment]) async throws { try await base.recordAdjustments(adjustments) }
    func cooldowns(mode: TradingMode) async throws -> [Int64: Date] { try await base.cooldowns(mode: mode) }
    func saveCooldown(mode: TradingMode, strategyID: Int64, until: Date) async throws {
        try await base.saveCooldown(mode: mode, strategyID: strategyID, until: until)
    }
    func engineState(_ key: String) async throws -> String? { try await base.engineState(key) }
    func setEngineState(_ key: String, _ value: String, at time: Date) async throws { try await base.setEngineState(key, value, at: time) }
}
