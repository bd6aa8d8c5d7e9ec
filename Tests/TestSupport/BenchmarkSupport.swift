import CartelCore
import Foundation

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
