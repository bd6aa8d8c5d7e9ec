import Foundation

/// The indicators each strategy kind trades on, drawn over its pair's candles: moving averages
/// and bands on the price, RSI and MACD in their own panel.
enum ChartOverlays {
    static func specs(kind: String, parameters: [String: Double]) -> [IndicatorSpec] {
        // Stored parameters are validated, but a hand-edited row must not trap: clamp to 1...10,000.
        func int(_ name: String, _ fallback: Int) -> Int {
            guard let value = parameters[name], value.isFinite else { return fallback }
            return Int(min(max(value.rounded(), 1), 10_000))
        }
        switch kind {
        case SMACrossStrategy.kind: return [.sma(int("fast", 10)), .sma(int("slow", 30))]
        case RSIStrategy.kind: return [.rsi(int("period", 14))]
        case RSIPullbackStrategy.kind: return [.rsi(int("period", 14)), .sma(int("trend_fast", 20)), .sma(int("trend_slow", 50))]
        case BollingerBreakoutStrategy.kind: return [.bollinger(period: int("length", 20), width: parameters["width"] ?? 2), .sma(int("trend", 200))]
        case MACDStrategy.kind, QuantumOscillatorStrategy.kind: return [.macd(fast: int("fast", 12), slow: int("slow", 26), signal: int("signal", 9))]
        default: return []
        }
    }

    /// One series per indicator output, aligned with `candles` (nil while warming up).
    static func series(for strategies: [StrategyRecord], candles: [Candle]) -> [ChartSeries] {
        var seen = Set<IndicatorSpec.Key>()
        var specs: [IndicatorSpec] = []
        for record in strategies {
            for spec in self.specs(kind: record.kind, parameters: record.parameters) where seen.insert(spec.key).inserted {
                specs.append(spec)
            }
        }
        guard !specs.isEmpty else { return [] }
        var set = IndicatorSet(specs)
        var columns = Array(repeating: [Double?](), count: set.columns.count)
        for candle in candles {
            let row = set.update(
                high: Format.double(candle.high), low: Format.double(candle.low), close: Format.double(candle.close),
                volume: Format.double(candle.volume))
            for index in row.indices { columns[index].append(row[index]) }
        }
        var result: [ChartSeries] = []
        var column = 0
        for spec in specs {
            for name in spec.columns {
                let values = columns[column]
                column += 1
                if name.hasPrefix("macd_hist") { continue }
                let panel: ChartSeries.Panel
                switch spec {
                case .rsi: panel = .oscillator(min: 0, max: 100)
                case .macd:
                    let finite = values.compactMap { $0 }
                    let bound = max(finite.map(abs).max() ?? 1, 1e-9)
                    panel = .oscillator(min: -bound, max: bound)
                default: panel = .price
                }
                result.append(ChartSeries(name: name, values: values, panel: panel))
            }
        }
        return result
    }

    static func chartCandle(_ candle: Candle) -> ChartCandle {
        ChartCandle(
            time: candle.openTime, open: Format.double(candle.open), high: Format.double(candle.high), low: Format.double(candle.low),
            close: Format.double(candle.close), volume: Format.double(candle.volume))
    }
}

extension IndicatorSpec {
    /// Identity for de-duplication (two strategies on one chart using the same SMA).
    struct Key: Hashable {
        var columns: [String]
    }

    var key: Key { Key(columns: columns) }
}
