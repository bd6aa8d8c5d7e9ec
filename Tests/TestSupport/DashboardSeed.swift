import CartelCore
import Foundation
import Logging

/// Fills a database the way the services do: candles, tickers and collection status as the
/// collector writes them, and trades made by the real paper engine running a strategy over those
/// candles (signals, orders, fills, trades, positions, equity). Used by the website's tests, the
/// browser test and the website benchmark.
public enum DashboardSeed {
    public struct Summary: Sendable {
        public var trades: Int
        public var totalPnL: Decimal
        public var strategyNames: [String]
        public var candles: Int
    }

    /// One cycle of hourly closes: the sma-cross (2/4) buys on the way up and sells on the way
    /// down. Odd cycles end lower than they bought (a loss), even ones higher (a win).
    static func cycle(_ index: Int) -> [Decimal] {
        let win: [Decimal] = [600, 590, 580, 570, 560, 570, 590, 615, 640, 660, 650, 630, 610, 600]
        let loss: [Decimal] = [600, 590, 580, 570, 560, 575, 590, 585, 570, 555, 550, 560, 580, 600]
        return index % 2 == 0 ? win : loss
    }

    /// Seeds `cycles` trades of `sma-cross:BTC/USD:60` (plus `extra` strategies, which trade
    /// nothing) ending at `end`; leaves the last position open when `openPosition`. The engine
    /// reads the time of its orders from `clock`.
    public static func seed(
        _ storage: any Storage & LedgerStorage, cycles: Int = 4, extra: [StrategySpec] = [], openPosition: Bool = true, end: Date = Date(),
        heartbeats: Bool = true, clock: any WallClock = SystemTime()
    ) async throws -> Summary {
        let main = StrategySpec(kind: "sma-cross", pair: "BTC/USD", intervalMinutes: 60, parameters: ["fast": 2, "slow": 4])
        _ = try await storage.seedStrategies([main] + extra, at: end)
        var closes = (0..<cycles).flatMap(cycle)
        if openPosition { closes += [600, 590, 580, 570, 560, 570, 590, 615] }
        let hour: TimeInterval = 3600
        let start = Date(timeIntervalSince1970: ((end.timeIntervalSince1970 / hour).rounded(.down) - Double(closes.count)) * hour)
        var candles: [Candle] = []
        for (index, close) in closes.enumerated() {
            let open = index == 0 ? close : closes[index - 1]
            candles.append(Candle(
                pair: "BTC/USD", intervalMinutes: 60, openTime: start.addingTimeInterval(Double(index) * hour), open: open,
                high: max(open, close) + 3, low: min(open, close) - 3, close: close, vwap: close, volume: Decimal(10 + index % 7), tradeCount: 40))
        }
        for batch in stride(from: 0, to: candles.count, by: 5000) {
            try await storage.upsertCandles(Array(candles[batch..<min(batch + 5000, candles.count)]))
        }
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]))
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration, clock: clock,
            logger: Logger(label: "seed"))
        try await engine.start()
        for candle in candles { try await engine.onClosedCandle(candle) }
        let last = closes.last ?? 600
        try await storage.recordTicker(TickerSnapshot(
            pair: "BTC/USD", time: end, bid: last - 1, ask: last + 1, last: last + 5, volume24h: 1234.5, vwap24h: last, low24h: last - 40,
            high24h: last + 40, openToday: last - 10, tradeCount24h: 4321))
        try await storage.recordCollectionSuccess(pair: "BTC/USD", at: end)
        if heartbeats {
            for service in [ServiceName.tradingEngine, .marketData] {
                try await storage.recordHeartbeat(Heartbeat(
                    service: service, pid: ProcessInfo.processInfo.processIdentifier, host: "seed", version: SignalCartelVersion.current,
                    startedAt: end.addingTimeInterval(-7200), lastBeat: end, state: .running, intervalSeconds: 3600, residentBytes: 26_000_000))
            }
        }
        let rows = try await StatsOptions.rows(storage: storage, mode: .paper, startingBalance: configuration.startingBalance)
        let total = rows.last?.stats
        return Summary(
            trades: total?.trades ?? 0, totalPnL: total?.totalPnL ?? 0, strategyNames: try await storage.strategies().map(\.name),
            candles: candles.count)
    }
}
