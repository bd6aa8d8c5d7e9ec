import CartelCore
import Foundation

/// `cartel-backtest-benchmark [COUNT]`: backtests the `rsi` strategy (with the risk manager, paper
/// execution and ledger) over COUNT generated candles (default 1,000,000), and in the same run a
/// bare loop over the same candles that only updates one EMA; prints both rates and the ratio.
/// The candles are a seeded random walk (benchmark input only, never shown as market data).
@main
struct BacktestBenchmark {
    static func main() throws {
        let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
        print("machine: \(machine())")
        let candles = generate(count)
        print("candles: \(count) generated (seeded random walk, 1-minute)")

        var sink = 0.0
        let bare = best(of: 5) {
            var ema = EMA(period: 14)
            for candle in candles {
                if let value = ema.update(candle.close) { sink += value }
            }
        }
        let configuration = BacktestConfiguration(strategyKey: "rsi", pair: "BENCH/USD", intervalMinutes: 1)
        let strategy = try RSIStrategy.make()
        var result: BacktestResult?
        let backtest = best(of: 5) {
            result = Backtester.run(strategy, candles: candles, configuration: configuration)
        }
        let bareRate = Double(count) / bare
        let backtestRate = Double(count) / backtest
        print("bare EMA loop:          \(millions(bareRate)) M candles/s  (best of 5, \(milliseconds(bare)) ms)")
        print("rsi backtest:           \(millions(backtestRate)) M candles/s  (best of 5, \(milliseconds(backtest)) ms; \(result!.trades.count) trades, \(result!.rejectedEntries) entries refused)")
        let ratio = bareRate / backtestRate
        print("ratio bare/backtest:    \(NumberText.hundredths(ratio))x  (goal: within 5x: \(ratio <= 5 ? "met" : "NOT met"); goal >= 20 M candles/s: \(backtestRate >= 20e6 ? "met" : "NOT met"))")
        if sink == .infinity { print("") }  // keeps the bare loop's work observable
    }

    /// Seconds of the fastest of `runs` runs.
    static func best(of runs: Int, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        var fastest = Double.infinity
        for _ in 0..<runs {
            let elapsed = clock.measure(body)
            fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return fastest
    }

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

    static func machine() -> String {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(text(name.sysname)) \(text(name.release)) \(text(name.machine)), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpu)"
    }

    static func millions(_ rate: Double) -> String { NumberText.hundredths(rate / 1e6) }
    static func milliseconds(_ seconds: Double) -> String { NumberText.hundredths(seconds * 1000) }
}
