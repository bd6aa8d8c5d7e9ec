import CartelCore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The machine a benchmark runs on, for its first line: kernel, architecture, cores, CPU model.
public enum Machine {
    public static var description: String {
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
}

/// Benchmark input for the engine: 1-minute candles of BENCH/USD whose close steps 25 up four
/// times, then 25 down four times, from 30,000. A 2/3 SMA cross fires every few candles, so
/// entries and exits alternate. Never shown as market data.
public enum ZigzagCandles {
    /// From the next minute on: each closes after a service started now, so each is traded.
    public static func fromNextMinute(count: Int) -> [Candle] {
        make(count: count, start: Date(timeIntervalSince1970: Double((Int(Date().timeIntervalSince1970) / 60 + 1) * 60)))
    }

    /// As `market-data --replay` reads them.
    public static func csv(_ candles: [Candle]) -> String {
        var text = "time,open,high,low,close,volume\n"
        for candle in candles {
            text += "\(Int(candle.openTime.timeIntervalSince1970)),\(candle.open),\(candle.high),\(candle.low),\(candle.close),\(candle.volume)\n"
        }
        return text
    }

    public static func make(count: Int, start: Date) -> [Candle] {
        var price = Decimal(30_000)
        return (0..<count).map { index in
            price += index % 8 < 4 ? 25 : -25
            return Candle(
                pair: "BENCH/USD", intervalMinutes: 1, openTime: start.addingTimeInterval(Double(index * 60)), open: price,
                high: price + 10, low: price - 10, close: price, vwap: price, volume: 1, tradeCount: 1)
        }
    }
}

/// The engine's latency from a closed candle to the paper order stored (signal, order, fill,
/// trade, position and equity rows) on any storage, next to a bare one-row write transaction on
/// the same storage: 3,000 zigzag candles, about 500 of which produce an order.
public struct EngineLatency: Sendable {
    /// Seconds per candle that produced an order, sorted.
    public var orders: [Double]
    /// Seconds per bare equity-row write, sorted.
    public var bare: [Double]

    public static func measure(storage: any Storage & LedgerStorage) async throws -> EngineLatency {
        _ = try await storage.seedStrategies(StrategySpec.parseList("sma-cross:BENCH/USD:1:fast=2,slow=3"), at: Date())
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: PaperExecution()), configuration: TradingConfiguration(),
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await engine.start()
        let clock = ContinuousClock()
        var orders: [Double] = []
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        // A zigzag: the 2/3 SMA cross fires every few candles, entries and exits alternate.
        for candle in ZigzagCandles.make(count: 3_000, start: start) {
            let before = await engine.currentLedger
            let elapsed = try await clock.measure { try await engine.onClosedCandle(candle) }
            if await engine.currentLedger != before { orders.append(seconds(elapsed)) }
        }
        var bare: [Double] = []
        for index in 0..<500 {
            let snapshot = EquitySnapshot(time: start.addingTimeInterval(Double(index)), ledger: PortfolioLedger(startingBalance: 1), marks: [:])
            bare.append(seconds(try await clock.measure { try await storage.recordEquity(snapshot, mode: .paper) }))
        }
        return EngineLatency(orders: orders.sorted(), bare: bare.sorted())
    }

    public static func percentile(_ values: [Double], _ p: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * p))] }

    /// Two lines: the order latency with its goal, and the bare write with the ratio.
    public func report(goalMilliseconds: Double) -> String {
        func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }
        let p50 = Self.percentile(orders, 0.5), p99 = Self.percentile(orders, 0.99), bare50 = Self.percentile(bare, 0.5)
        return """
            candle -> paper order stored: \(orders.count) orders, p50 \(ms(p50)) ms, p99 \(ms(p99)) ms, max \(ms(orders.last ?? 0)) ms  \
            (goal <= \(Int(goalMilliseconds)) ms: \(p99 * 1000 <= goalMilliseconds ? "met" : "NOT met") at p99)
            baseline one-row write transaction: p50 \(ms(bare50)) ms, p99 \(ms(Self.percentile(bare, 0.99))) ms  (ratio p50: \(String(format: "%.2f", p50 / bare50))x)
            """
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
