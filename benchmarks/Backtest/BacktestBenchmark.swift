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
///
/// For `benchmarks/backtest-command.sh`: `write-csv FILE COUNT` writes the same walk as an OHLCV
/// CSV (ISO 8601 times, prices in cents, volume to 4 places), `write-db FILE COUNT` stores it as
/// closed 1-minute BENCH/USD candles in a SQLite database, and `read-db FILE` times the analysis
/// read of those candles (best of 5); `read-csv FILE` times the CSV reader alone.
@main
struct BacktestBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        if arguments.count == 4, arguments[1] == "write-csv" {
            return try writeCSV(path: arguments[2], count: Int(arguments[3]) ?? 1_000_000)
        }
        if arguments.count == 4, arguments[1] == "write-db" {
            return try await writeDatabase(path: arguments[2], count: Int(arguments[3]) ?? 1_000_000)
        }
        if arguments.count == 3, arguments[1] == "read-csv" {
            return try readCSV(path: arguments[2])
        }
        if arguments.count == 3, arguments[1] == "read-db" {
            return try await readDatabase(path: arguments[2])
        }
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

    /// Candle → signal → risk → paper fill → ledger → stored, on a SQLite file.
    static func engineLatency() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cartel-latency-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try await EngineLatency.measure(storage: try SQLiteStorage(path: "\(dir)/ledger.sqlite"))
        print(result.report(goalMilliseconds: 10))
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


    /// The walk in cents (prices) and ten-thousandths (volume): what a CSV or the database holds.
    static func rows(_ count: Int) -> [(time: Int, open: Int, high: Int, low: Int, close: Int, volume: Int)] {
        generate(count).map { candle in
            let open = Int((candle.open * 100).rounded()), close = Int((candle.close * 100).rounded())
            return (
                Int(candle.time.timeIntervalSince1970), open, max(Int((candle.high * 100).rounded()), open, close),
                min(Int((candle.low * 100).rounded()), open, close), close, Int((candle.volume * 10_000).rounded()))
        }
    }

    static func writeCSV(path: String, count: Int) throws {
        var output = "time,open,high,low,close,volume\n"
        func fixed(_ value: Int, _ places: Int) -> String {
            let unit = places == 2 ? 100 : 10_000
            let fraction = String(value % unit)
            return "\(value / unit)." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        let file = try FileHandleOutput(path: path)
        for row in rows(count) {
            output += UTCTime.iso8601(Date(timeIntervalSince1970: Double(row.time)), fractional: false) + ","
            output += fixed(row.open, 2) + "," + fixed(row.high, 2) + "," + fixed(row.low, 2) + "," + fixed(row.close, 2) + ","
            output += fixed(row.volume, 4) + "\n"
            if output.utf8.count > 1 << 16 {
                try file.write(output)
                output = ""
            }
        }
        try file.write(output)
    }

    static func writeDatabase(path: String, count: Int) async throws {
        let storage = try SQLiteStorage(path: path)
        func decimal(_ value: Int, _ places: Int) -> Decimal {
            Decimal(sign: .plus, exponent: -places, significand: Decimal(value))
        }
        let all = rows(count)
        let end = Date(timeIntervalSince1970: Double(all.last!.time + 60))
        for start in stride(from: 0, to: all.count, by: 5_000) {
            let batch = all[start..<min(start + 5_000, all.count)].map { row in
                Candle(
                    pair: "BENCH/USD", intervalMinutes: 1, openTime: Date(timeIntervalSince1970: Double(row.time)),
                    open: decimal(row.open, 2), high: decimal(row.high, 2), low: decimal(row.low, 2), close: decimal(row.close, 2),
                    vwap: decimal(row.close, 2), volume: decimal(row.volume, 4), tradeCount: 1)
            }
            try await storage.upsertCandles(batch, closedBefore: end, at: end)
        }
    }

    /// The CSV reader alone (file read, parse, candles built), on one core and on all of them.
    static func readCSV(path: String) throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for jobs in Set([1, cores]).sorted() {
            var best = Double.infinity
            var count = 0
            for _ in 0..<5 {
                let start = ContinuousClock.now
                count = try CandleCSV.readForAnalysis(path: path, jobs: jobs).count
                best = min(best, seconds(ContinuousClock.now - start))
            }
            let goal = Double(count) >= 1e6 ? " (goal <= 0.3 s per 1,000,000 rows: \(best / Double(count) * 1e6 <= 0.3 ? "met" : "NOT met"))" : ""
            print("CSV read (readForAnalysis, \(jobs) job\(jobs == 1 ? "" : "s")): \(count) rows in \(milliseconds(best)) ms = \(millions(Double(count) / best)) M rows/s, best of 5\(goal)")
        }
    }

    static func readDatabase(path: String) async throws {
        let storage = try SQLiteStorage(path: path)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for jobs in Set([1, cores]).sorted() {
            var best = Double.infinity
            var count = 0
            for _ in 0..<5 {
                let start = ContinuousClock.now
                count = try await storage.closedAnalysisCandles(pair: "BENCH/USD", intervalMinutes: 1, from: nil, to: nil, jobs: jobs).count
                best = min(best, seconds(ContinuousClock.now - start))
            }
            let rate = Double(count) / best
            print("database read (closedAnalysisCandles, \(jobs) job\(jobs == 1 ? "" : "s")): \(count) candles in \(milliseconds(best)) ms = \(millions(rate)) M candles/s, best of 5\(jobs == cores ? " (goal >= 2 M/s: \(rate >= 2e6 ? "met" : "NOT met"))" : "")")
        }
    }

    static func millions(_ rate: Double) -> String { NumberText.hundredths(rate / 1e6) }
    static func milliseconds(_ seconds: Double) -> String { NumberText.hundredths(seconds * 1000) }
}

/// Appends text to a new file.
final class FileHandleOutput {
    let handle: FileHandle

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteNoPermission)
        }
        self.handle = handle
    }

    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }
}
