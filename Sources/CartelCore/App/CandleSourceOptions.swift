import ArgumentParser
import Foundation

/// Where `backtest` and `optimize` take candles from: a CSV file, or the database's final
/// candles of one pair and interval; optionally only those between `--from` and `--to`.
public struct CandleSourceOptions: ParsableArguments {
    @Option(help: "OHLCV CSV: header naming time (or date), open, high, low, close, volume.")
    public var csv: String?

    @Option(help: "Pair: candles come from the database (with --interval); with --csv, only a label.")
    public var pair: String?

    @Option(help: "Candle interval in minutes (required with --pair; with --csv, inferred when omitted).")
    public var interval: Int?

    @Option(help: "First candle time to use (Unix seconds or ISO 8601 date or date-time).")
    public var from: String?

    @Option(help: "Last candle time to use (Unix seconds or ISO 8601 date or date-time).")
    public var to: String?

    public init() {}

    public func validate() throws {
        // With --csv, --pair is only a label and --interval optional (inferred from the spacing).
        if csv == nil, pair == nil || interval == nil {
            throw ValidationError("give either --csv FILE or --pair PAIR --interval MINUTES")
        }
        if let interval, interval <= 0 || interval > 5_256_000 {
            throw ValidationError("--interval must be a number of minutes from 1 to 5256000 (ten years)")
        }
    }

    /// The candles to test on, oldest first, within `--from`/`--to`, with the pair's name and
    /// the interval (given, or inferred from a CSV's spacing).
    public func load(settings: Settings) async throws -> ([StrategyCandle], String, Int) {
        let start = try from.map { try Self.time($0, option: "--from") }
        let end = try to.map { try Self.time($0, option: "--to") }
        var candles: [StrategyCandle]
        let pairName: String
        var minutes: Int
        if let csv {
            pairName = pair ?? "CSV"
            do {
                candles = try CandleCSV.readForAnalysis(path: csv)
            } catch {
                throw ValidationError("\(csv): \(error)")
            }
            // Files are almost always in time order: check in one pass, sort only when needed.
            if !zip(candles, candles.dropFirst()).allSatisfy({ $0.time <= $1.time }) {
                candles.sort { $0.time < $1.time }
            }
            if let start { candles.removeAll { $0.time < start } }
            if let end { candles.removeAll { $0.time > end } }
            minutes = interval ?? Self.inferredInterval(candles)
        } else {
            pairName = pair!.uppercased()
            minutes = interval!
            let configuration: ServiceConfiguration
            do {
                configuration = try ServiceConfiguration(service: .tradingEngine, settings: settings)
            } catch let error as ConfigurationError {
                throw ValidationError("\(error)")
            }
            // Final candles only: the unfinished last one is still changing.
            switch configuration.database {
            case .sqlite:
                candles = try await SQLiteStorage(location: configuration.database)
                    .closedAnalysisCandles(pair: pairName, intervalMinutes: minutes, from: start, to: end)
            case .postgres:
                let (pair, from, to, interval) = (pairName, start, end, minutes)
                candles = try await DatabaseCommands.withStorage(configuration.database) { storage in
                    try await storage.closedCandles(pair: pair, intervalMinutes: interval, after: from.map { $0.addingTimeInterval(-1e-6) })
                        .filter { to == nil || $0.openTime <= to! }.map { StrategyCandle($0) }
                }
            }
        }
        guard candles.count >= 2 else {
            throw ValidationError("only \(candles.count) candle(s) to test on\(csv == nil ? " for \(pairName) at \(minutes) min in the database" : "")")
        }
        return (candles, pairName, minutes)
    }

    static func time(_ text: String, option: String) throws -> Date {
        guard let date = CandleCSV.parseTime(text) else {
            throw ValidationError("\(option) '\(text)' is not Unix seconds or an ISO 8601 date or date-time")
        }
        return date
    }

    /// The most common spacing between consecutive candles, in whole minutes (at least 1).
    static func inferredInterval(_ candles: [StrategyCandle]) -> Int {
        var counts: [Int: Int] = [:]
        // Runs of equal spacing are counted at once: one dictionary update per gap, not per candle.
        var run = (minutes: 0, count: 0)
        for (previous, next) in zip(candles, candles.dropFirst()) {
            let minutes = Int((next.time.timeIntervalSince(previous.time) / 60).rounded())
            if minutes == run.minutes {
                run.count += 1
                continue
            }
            if run.minutes > 0 { counts[run.minutes, default: 0] += run.count }
            run = (minutes, 1)
        }
        if run.minutes > 0 { counts[run.minutes, default: 0] += run.count }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 1
    }
}

