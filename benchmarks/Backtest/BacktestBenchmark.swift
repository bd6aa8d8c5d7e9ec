import CartelCore
import Foundation
import Logging
import TestSupport

/// `cartel-backtest-benchmark [COUNT]`: backtests the `rsi` strategy (with the risk manager, paper
/// execution and ledger) over COUNT generated candles (default 1,000,000), and in the same run a
/// bare loop over the same candles that only updates one EMA; prints both rates and the ratio.
/// Then measures the engine's latency from a closed candle to the paper order stored (SQLite
/// file, WAL), next to a bare one-row write transaction on the same file.
/// The candles are a seeded random walk (benchmark input only, never shown as market data).
@main
struct BacktestBenchmark {
    static func main() async throws {
        let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
        print("machine: \(Machine.description)")
        let candles = generate(count)
        print("candles: \(count) generated (seeded random walk, 1-minute)")

        // The two loops alternate, seven rounds, and the fastest run of each counts: both see
        // the same machine conditions (a shared VM is noisy).
        let configuration = BacktestConfiguration(strategyKey: "rsi", pair: "BENCH/USD", intervalMinutes: 1)
        let strategy = try RSIStrategy.make()
        var sink = 0.0
        var result: BacktestResult?
        var bare = Double.infinity, backtest = Double.infinity
        for _ in 0..<7 {
            bare = min(bare, time {
                var ema = EMA(period: 14)
                for candle in candles {
                    if let value = ema.update(candle.close) { sink += value }
                }
            })
            backtest = min(backtest, time { result = Backtester.run(strategy, candles: candles, configuration: configuration) })
        }
        let bareRate = Double(count) / bare
        let backtestRate = Double(count) / backtest
        print("bare EMA loop:          \(millions(bareRate)) M candles/s  (best of 7, \(milliseconds(bare)) ms)")
        print("rsi backtest:           \(millions(backtestRate)) M candles/s  (best of 7, \(milliseconds(backtest)) ms; \(result!.trades.count) trades, \(result!.rejectedEntries) entries refused)")
        let ratio = bareRate / backtestRate
        print("ratio bare/backtest:    \(NumberText.hundredths(ratio))x  (goal: within 5x: \(ratio <= 5 ? "met" : "NOT met"); goal >= 20 M candles/s: \(backtestRate >= 20e6 ? "met" : "NOT met"))")
        if sink == .infinity { print("") }  // keeps the bare loop's work observable
        try await engineLatency()
    }

    /// Candle → signal → risk → paper fill → ledger → stored (signal, order, fill, trade,
    /// position, equity), timed per candle that produced an order.
    static func engineLatency() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cartel-latency-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let storage = try SQLiteStorage(path: "\(dir)/ledger.sqlite")
        _ = try await storage.seedStrategies(StrategySpec.parseList("sma-cross:BENCH/USD:1:fast=2,slow=3"), at: Date())
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: PaperExecution()), configuration: TradingConfiguration(),
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await engine.start()
        let clock = ContinuousClock()
        var orderLatencies: [Double] = []
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        // A zigzag: the 2/3 SMA cross fires every few candles, entries and exits alternate.
        for candle in ZigzagCandles.make(count: 3_000, start: start) {
            let before = await engine.currentLedger
            let elapsed = try await clock.measure { try await engine.onClosedCandle(candle) }
            if await engine.currentLedger != before { orderLatencies.append(seconds(elapsed)) }
        }
        var bare: [Double] = []
        for index in 0..<500 {
            let snapshot = EquitySnapshot(time: start.addingTimeInterval(Double(index)), ledger: PortfolioLedger(startingBalance: 1), marks: [:])
            bare.append(seconds(try await clock.measure { try await storage.recordEquity(snapshot, mode: .paper) }))
        }
        orderLatencies.sort()
        bare.sort()
        func percentile(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * p))] }
        let p50 = percentile(orderLatencies, 0.5), p99 = percentile(orderLatencies, 0.99)
        print("candle -> paper order stored: \(orderLatencies.count) orders, p50 \(milliseconds(p50)) ms, p99 \(milliseconds(p99)) ms, max \(milliseconds(orderLatencies.last!)) ms  (goal <= 10 ms: \(p99 <= 0.010 ? "met" : "NOT met") at p99)")
        print("baseline one-row write transaction: p50 \(milliseconds(percentile(bare, 0.5))) ms  (ratio p50: \(NumberText.hundredths(p50 / percentile(bare, 0.5)))x)")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Seconds `body` takes.
    static func time(_ body: () -> Void) -> Double { seconds(ContinuousClock().measure(body)) }

    static func generate(_ count: Int) -> [StrategyCandle] {
        var state: UInt64 = 0x5EED_CA27_E1
        func next() -> Double {  // SplitMix64 → [0, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        var candles: [StrategyCandle] = []
        candles.reserveCapacity(count)
        var price = 30_000.0
        let start = 1_700_000_000.0
        for i in 0..<count {
            let open = price
            // Drift that turns every few hundred candles, plus noise: trends and pullbacks.
            let drift = 0.0004 * sin(Double(i) / 240)
            price = max(100, price * (1 + drift + (next() - 0.5) * 0.006))
            let high = max(open, price) * (1 + next() * 0.001)
            let low = min(open, price) * (1 - next() * 0.001)
            candles.append(StrategyCandle(
                time: Date(timeIntervalSince1970: start + Double(i * 60)), open: open, high: high, low: low, close: price,
                volume: 1 + next() * 20))
        }
        return candles
    }


    static func millions(_ rate: Double) -> String { NumberText.hundredths(rate / 1e6) }
    static func milliseconds(_ seconds: Double) -> String { NumberText.hundredths(seconds * 1000) }
}
