import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// The running engine: seeds the `strategies` table from `STRATEGIES` on first start, rebuilds
/// the ledger, warms strategies from stored history (never synthetic prices), then trades every candle that closes while
/// it runs — from the in-process collector's feed (`MARKET_DATA_MODE=embedded`) or from what the
/// market-data service writes (`external`, polled) — checks stop-loss and take-profit on every
/// stored ticker, and picks up changes to the `strategies` table while running.
public struct TradingEngineService: Service {
    public enum CandleSource: Sendable {
        case feed(CandleFeed)
        case storage(poll: Duration)
    }

    let engine: TradingEngine
    let storage: any Storage & LedgerStorage
    let seed: [StrategySpec]
    let source: CandleSource
    let tickerPoll: Duration
    let reloadEvery: Duration
    /// In external mode, marked healthy after each poll of the stored candles.
    let health: CollectorHealth?
    /// The wall clock (tests move it).
    let now: @Sendable () -> Date
    let logger: Logger
    let metrics: any MetricsFactory

    public init(
        engine: TradingEngine, storage: any Storage & LedgerStorage, seed: [StrategySpec], source: CandleSource, tickerPoll: Duration,
        reloadEvery: Duration = .seconds(10), health: CollectorHealth? = nil, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.health = health
        self.now = now
        self.engine = engine
        self.storage = storage
        self.seed = seed
        self.source = source
        self.tickerPoll = tickerPoll
        self.reloadEvery = reloadEvery
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        let started = now()
        let seeded = try await storage.seedStrategies(seed, at: started)
        if seeded > 0 { logger.info("strategies table seeded from STRATEGIES", metadata: ["count": "\(seeded)"]) }
        let running = try await engine.start(now: started)
        if running.isEmpty {
            logger.notice("no strategies configured: set STRATEGIES (e.g. sma-cross:BTC/USD:60:fast=10,slow=30) or add rows to the strategies table; nothing trades")
        }
        for record in running {
            logger.info("strategy running", metadata: ["name": "\(record.name)", "kind": "\(record.kind)", "pair": "\(record.pair)", "interval": "\(record.intervalMinutes)"])
        }
        // Strategies warm up from stored history right before their first live candle (in
        // minimal mode the collector's backfill may only land after this point).
        let ledger = await engine.currentLedger
        logger.info("ledger rebuilt", metadata: ["cash": "\(ledger.cash)", "positions": "\(ledger.positions.count)", "realisedPnL": "\(ledger.realisedPnL)"])

        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await followCandles(since: started) }
                    group.addTask { try await watchTickers() }
                    group.addTask { try await reloadStrategies() }
                    group.addTask { try await reconcileOrders() }
                }
            }
        } catch is CancellationError {}
        let open = await engine.currentLedger.positions.count
        logger.info("engine stopped", metadata: ["openPositions": "\(open)"])
    }

    func followCandles(since started: Date) async throws {
        switch source {
        case .feed(let feed):
            for await candle in feed.subscribe().cancelOnGracefulShutdown() {
                try await process(candle)
            }
        case .storage(let poll):
            var seen: [TradingEngine.StrategyKey: Date] = [:]
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                for key in await engine.strategyKeys() {
                    let current = now()
                    let length = Double(key.interval * 60)
                    let candles = try await storage.candles(
                        pair: key.pair, intervalMinutes: key.interval, after: seen[key] ?? started.addingTimeInterval(-length))
                    for candle in candles where candle.openTime.addingTimeInterval(length) <= current {
                        // Only candles that closed while the engine runs, and recently (not a
                        // backfill of old ones after an outage), trade; the rest are history.
                        let closed = candle.openTime.addingTimeInterval(length)
                        if closed > started, closed > current.addingTimeInterval(-2 * length) {
                            try await process(candle)
                        } else {
                            try await engine.warmUpFresh(from: storage, before: candle.openTime)
                            await engine.warmUp([candle])
                        }
                        seen[key] = candle.openTime
                    }
                }
                health?.recordSuccess(at: now())
                try await Task.sleep(for: poll)
            }
        }
    }

    func process(_ candle: Candle) async throws {
        let clock = ContinuousClock()
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

    func watchTickers() async throws {
        var seen: [String: Date] = [:]
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            for pair in await engine.pairsWithPositions.sorted() {
                do {
                    guard let ticker = try await storage.latestTicker(pair: pair), ticker.time > seen[pair] ?? .distantPast else { continue }
                    seen[pair] = ticker.time
                    try await engine.onPrice(ticker.last, pair: pair, at: ticker.time)
                } catch {
                    logger.error("ticker not checked", metadata: ["pair": "\(pair)", "error": "\(error)"])
                }
            }
            try await Task.sleep(for: tickerPoll)
        }
    }

    /// Live orders accepted by Kraken are booked once Kraken reports them done.
    func reconcileOrders() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await engine.reconcile(now: now())
            } catch {
                logger.error("orders not reconciled", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: reloadEvery)
        }
    }

    func reloadStrategies() async throws {
        var names = Set(await engine.runningStrategies().map(\.name))
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            try await Task.sleep(for: reloadEvery)
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

extension TradingEngine {
    public struct StrategyKey: Sendable, Hashable {
        public var pair: String
        public var interval: Int
    }

    /// The pairs and intervals the running strategies trade.
    public func strategyKeys() -> [StrategyKey] {
        Set(instances.values.map { StrategyKey(pair: $0.record.pair, interval: $0.record.intervalMinutes) })
            .sorted { ($0.pair, $0.interval) < ($1.pair, $1.interval) }
    }

    public func runningStrategies() -> [StrategyRecord] { instances.values.map(\.record).sorted { $0.id < $1.id } }
}
