import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Which closed candles are news to trade on and which are history to learn from.
public enum CandleFreshness {
    /// How late after its close a candle may still arrive and be traded, beyond one interval.
    public static let grace: TimeInterval = 60

    /// A candle trades when it closed after the engine started and at most one interval plus
    /// ``grace`` ago: after an outage, the backlog the collector catches up on warms the
    /// strategies and only the latest candle trades, never old prices.
    public static func isTradeable(_ candle: Candle, now: Date, startedAt started: Date) -> Bool {
        let closed = candle.closeTime
        return closed > started && now.timeIntervalSince(closed) <= Double(candle.intervalMinutes * 60) + grace
    }
}

/// The running engine: seeds the `strategies` table from `STRATEGIES` on first start, rebuilds
/// the ledger, warms strategies from stored history (never synthetic prices), then trades every
/// final candle that closes while it runs — from the in-process collector's feed
/// (`MARKET_DATA_MODE=embedded`) or from the final candles the market-data service stores
/// (`external`, polled) — checks stop-loss and take-profit on every fresh stored ticker,
/// reconciles orders in flight, compares live balances with Kraken's, and picks up changes to
/// the `strategies` table while running.
public struct TradingEngineService<C: TimeSource>: Service {
    public enum CandleSource: Sendable {
        case feed(CandleFeed)
        /// Final candles read from storage every `poll`, and at once for a series whose
        /// `candle.closed` message `bus` delivers (the poll then only catches up on lost messages).
        case storage(poll: Duration, bus: (any BusListener)? = nil)
    }

    let engine: TradingEngine
    let storage: any Storage & LedgerStorage
    let seed: [StrategySpec]
    let source: CandleSource
    let tickerPoll: Duration
    /// `ticker` messages: a pair with a position is checked at once, not at the next poll.
    let tickerBus: (any BusListener)?
    let reloadEvery: Duration
    let balanceSyncEvery: Duration
    /// In external mode, marked healthy after each poll of the stored candles.
    let health: CollectorHealth?
    let clock: C
    /// Held for as long as the service lives: this process is the database's only engine.
    let lock: TradingEngineLock?
    let logger: Logger
    let metrics: any MetricsFactory

    public init(
        engine: TradingEngine, storage: any Storage & LedgerStorage, seed: [StrategySpec], source: CandleSource, tickerPoll: Duration,
        tickerBus: (any BusListener)? = nil, reloadEvery: Duration = .seconds(10), balanceSyncEvery: Duration = .seconds(60), health: CollectorHealth? = nil, clock: C,
        lock: TradingEngineLock? = nil, logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.lock = lock
        self.engine = engine
        self.storage = storage
        self.seed = seed
        self.source = source
        self.tickerPoll = tickerPoll
        self.tickerBus = tickerBus
        self.reloadEvery = reloadEvery
        self.balanceSyncEvery = balanceSyncEvery
        self.health = health
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    /// A ticker older than this (3 polls, at least 30 s) says nothing about the price now.
    var maxTickerAge: TimeInterval { max(3 * Double(tickerPoll.nanoseconds) / 1e9, 30) }

    public func run() async throws {
        let started = clock.wallTime
        let seeded = try await storage.seedStrategies(seed, at: started)
        if seeded > 0 { logger.info("strategies table seeded from STRATEGIES", metadata: ["count": "\(seeded)"]) }
        let running = try await engine.start()
        if running.isEmpty {
            logger.notice("no strategies configured: set STRATEGIES (e.g. sma-cross:BTC/USD:60:fast=10,slow=30) or add rows to the strategies table; nothing trades")
        }
        for record in running {
            logger.info("strategy running", metadata: ["name": "\(record.name)", "kind": "\(record.kind)", "pair": "\(record.pair)", "interval": "\(record.intervalMinutes)"])
        }
        await engine.alert("engine", ServiceAlerts.engineStarted(mode: engine.mode, strategies: running))
        // Strategies warm up from stored history right before their first live candle (in
        // minimal mode the collector's backfill may only land after this point).
        let ledger = await engine.currentLedger
        logger.info(
            "ledger rebuilt",
            metadata: ["mode": "\(engine.mode.rawValue)", "cash": "\(ledger.cash)", "positions": "\(ledger.positions.count)",
                       "realisedPnL": "\(ledger.realisedPnL)"])

        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await followCandles(since: started) }
                    group.addTask { try await watchTickers() }
                    group.addTask { try await reloadStrategies() }
                    group.addTask { try await repeatEvery(reloadEvery, "orders not reconciled") { try await engine.reconcile() } }
                    if engine.mode != .paper {
                        group.addTask { try await repeatEvery(balanceSyncEvery, "balances not compared") { try await engine.syncBalances() } }
                    }
                }
            }
        } catch is CancellationError {}
        let open = await engine.currentLedger.positions.count
        logger.info("engine stopped", metadata: ["openPositions": "\(open)"])
        // Written outside the cancelled shutdown task (an unstructured task is not cancelled
        // with it): the last thing the engine says, delivered by whichever sender runs next.
        let stopping = engine
        await Task { await stopping.alert("engine", ServiceAlerts.engineStopped(mode: stopping.mode, openPositions: open)) }.value
    }

    func followCandles(since started: Date) async throws {
        switch source {
        case .feed(let feed):
            for await candle in feed.subscribe().cancelOnGracefulShutdown() {
                try await take(candle, startedAt: started)
            }
        case .storage(let poll, let bus):
            var seen: [TradingEngine.StrategyKey: Date] = [:]
            // nil: a poll (every series); a key: its `candle.closed` message arrived.
            let wakeUps = bus.map { Self.candleKeys($0.subscribe()) }
            var first = true
            for await wake in wakes(every: poll, wakeUps, immediately: true) {
                let keys = await engine.strategyKeys()
                let due = wake.map { key in keys.filter { $0 == key } } ?? keys
                for key in due {
                    do {
                        // Only final candles: the collector marks a candle final when a later one
                        // exists, so each reaches the engine once, in its final form.
                        let after = seen[key] ?? started.addingTimeInterval(-Double(key.interval * 60) - CandleFreshness.grace)
                        for candle in try await storage.closedCandles(pair: key.pair, intervalMinutes: key.interval, after: after) {
                            try await take(candle, startedAt: started)
                            seen[key] = candle.openTime
                            Counter(label: "trading_candles_received_total", dimensions: [("via", wake == nil ? "poll" : "redis")], factory: metrics)
                                .increment()
                        }
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        logger.error("stored candles not read", metadata: ["pair": "\(key.pair)", "interval": "\(key.interval)", "error": "\(error)"])
                    }
                }
                if wake == nil || first { health?.recordSuccess(at: clock.wallTime) }
                first = false
            }
        }
    }

    /// The series each `candle.closed` message names; a (re)subscription is a catch-up poll.
    static func candleKeys(_ deliveries: AsyncStream<RedisLink.Delivery>) -> AsyncStream<TradingEngine.StrategyKey?> {
        notices(deliveries, event: "candle.closed") { notice in
            guard let pair = notice.data.pair, let interval = notice.data.interval else { return nil }
            return TradingEngine.StrategyKey(pair: pair, interval: interval)
        }
    }

    /// The pair each `ticker` message names; a (re)subscription checks every pair.
    static func tickerPairs(_ deliveries: AsyncStream<RedisLink.Delivery>) -> AsyncStream<String?> {
        notices(deliveries, event: "ticker") { $0.data.pair }
    }

    /// What `key` reads from each message of `event` (others, and messages it reads nothing
    /// from, are skipped), and nil for each (re)subscription.
    static func notices<T: Sendable>(
        _ deliveries: AsyncStream<RedisLink.Delivery>, event: String, key: @escaping @Sendable (BusNotice) -> T?
    ) -> AsyncStream<T?> {
        AsyncStream { continuation in
            let task = Task {
                for await delivery in deliveries {
                    switch delivery {
                    case .subscribed:
                        continuation.yield(nil)
                    case .message(let message):
                        guard let notice = BusNotice.decode(message), notice.event == event, let value = key(notice) else { continue }
                        continuation.yield(value)
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// nil at once (with `immediately`) and after every `period`, and each wake-up as it comes,
    /// in one sequence (its reader never runs two passes at once); ends at cancellation or
    /// graceful shutdown.
    func wakes<T: Sendable>(every period: Duration, _ wakeUps: AsyncStream<T?>?, immediately: Bool) -> AsyncStream<T?> {
        // Bounded: ticks that pile up behind a slow pass are one catch-up, and a wake-up lost to
        // the bound is caught by the next poll.
        let (stream, continuation) = AsyncStream<T?>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let clock = self.clock
        if immediately { continuation.yield(nil) }
        let task = Task {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled, !Task.isShuttingDownGracefully, (try? await clock.sleep(for: period)) != nil {
                        continuation.yield(nil)
                    }
                    continuation.finish()
                }
                if let wakeUps {
                    group.addTask {
                        for await wake in wakeUps { continuation.yield(wake) }
                    }
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// A final candle: traded when fresh, else (a backlog after an outage) only learned from.
    func take(_ candle: Candle, startedAt started: Date) async throws {
        guard CandleFreshness.isTradeable(candle, now: clock.wallTime, startedAt: started) else {
            try await engine.warmUpFresh(from: storage, before: candle.openTime)
            await engine.warmUp([candle])
            return
        }
        let begin = clock.now
        do {
            try await engine.warmUpFresh(from: storage, before: candle.openTime)
            try await engine.onClosedCandle(candle)
        } catch {
            // A storage failure loses this candle's decisions, not the engine: logged, next candle goes on.
            logger.error("candle not processed", metadata: ["pair": "\(candle.pair)", "interval": "\(candle.intervalMinutes)", "error": "\(error)"])
        }
        Timer(label: "trading_candle_latency_seconds", factory: metrics).recordNanoseconds(begin.duration(to: clock.now).nanoseconds)
    }

    /// Stored tickers of pairs with positions drive stop-loss and take-profit; a ticker older
    /// than ``maxTickerAge`` (the collector stopped, or the engine was down) is not a price.
    func watchTickers() async throws {
        var seen: [String: Date] = [:]
        let wakeUps = tickerBus.map { Self.tickerPairs($0.subscribe()) }
        for await wake in wakes(every: tickerPoll, wakeUps, immediately: true) {
            let held = await engine.pairsWithPositions
            for pair in held.sorted() where wake == nil || wake == pair {
                do {
                    guard let ticker = try await storage.latestTicker(pair: pair), ticker.time > seen[pair] ?? .distantPast else { continue }
                    seen[pair] = ticker.time
                    guard clock.wallTime.timeIntervalSince(ticker.time) <= maxTickerAge else { continue }
                    try await engine.onPrice(ticker.last, pair: pair, at: ticker.time)
                } catch {
                    logger.error("ticker not checked", metadata: ["pair": "\(pair)", "error": "\(error)"])
                }
            }
        }
    }

    func repeatEvery(_ period: Duration, _ failure: String, _ work: () async throws -> Void) async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await work()
            } catch {
                logger.error("\(failure)", metadata: ["error": "\(error)"])
            }
            try await clock.sleep(for: period)
        }
    }

    func reloadStrategies() async throws {
        var names = Set(await engine.runningStrategies().map(\.name))
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try await clock.sleep(for: reloadEvery)
            do {
                let running = try await engine.reloadStrategies()
                let now = Set(running.map(\.name))
                if now != names {
                    logger.info("strategies changed", metadata: ["running": "\(now.sorted().joined(separator: ","))"])
                    names = now
                }
            } catch {
                logger.error("strategies not reloaded", metadata: ["error": "\(error)"])
            }
        }
    }
}
