/// An indicator named on the command line: `sma:20`, `ema:12`, `rsi:14`, `macd:12,26,9`,
/// `bollinger:20,2`, `atr:14`, `volume:20`.
public enum IndicatorSpec: Sendable, Equatable {
    case sma(Int)
    case ema(Int)
    case rsi(Int)
    case macd(fast: Int, slow: Int, signal: Int)
    case bollinger(period: Int, width: Double)
    case atr(Int)
    case volume(Int)

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public static func parse(_ text: String) throws -> IndicatorSpec {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        let arguments = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
        func int(_ index: Int, _ fallback: Int) throws -> Int {
            guard index < arguments.count else { return fallback }
            guard let value = Int(arguments[index]), value >= 1, value <= 10_000 else {
                throw ParseError(description: "\(text): '\(arguments[index])' is not a period from 1 to 10000")
            }
            return value
        }
        switch name {
        case "sma": return .sma(try int(0, 20))
        case "ema": return .ema(try int(0, 20))
        case "rsi": return .rsi(try int(0, 14))
        case "atr": return .atr(try int(0, 14))
        case "volume": return .volume(try int(0, 20))
        case "macd":
            let (fast, slow, signal) = (try int(0, 12), try int(1, 26), try int(2, 9))
            guard fast < slow else { throw ParseError(description: "\(text): the fast period must be below the slow one") }
            return .macd(fast: fast, slow: slow, signal: signal)
        case "bollinger", "bbands":
            let width = arguments.count > 1 ? Double(arguments[1]) : 2
            guard let width, width > 0 else { throw ParseError(description: "\(text): the width must be a positive number") }
            return .bollinger(period: try int(0, 20), width: width)
        default:
            throw ParseError(description: "unknown indicator '\(text)' (expected sma, ema, rsi, macd, bollinger, atr or volume)")
        }
    }

    /// CSV column names of this indicator's outputs.
    public var columns: [String] {
        switch self {
        case .sma(let n): ["sma_\(n)"]
        case .ema(let n): ["ema_\(n)"]
        case .rsi(let n): ["rsi_\(n)"]
        case .atr(let n): ["atr_\(n)"]
        case .volume(let n): ["volume_avg_\(n)"]
        case .macd(let f, let s, let g): ["macd_\(f)_\(s)_\(g)", "macd_signal_\(f)_\(s)_\(g)", "macd_hist_\(f)_\(s)_\(g)"]
        case .bollinger(let n, let w):
            ["lower", "middle", "upper"].map { "bb_\($0)_\(n)_\(w == w.rounded() ? String(Int(w)) : String(w))" }
        }
    }
}

/// Runs a list of indicators over candles, one row of outputs (nil until warm) per candle.
/// Each kind of indicator lives in its own array and is updated in place (an enum holding them
/// would copy each one out and back on every candle).
public struct IndicatorSet: Sendable {
    enum Slot: Sendable {
        case sma(Int), ema(Int), rsi(Int), macd(Int), bollinger(Int), atr(Int), volume(Int)
    }

    var slots: [Slot] = []
    var smas: [SMA] = [], emas: [EMA] = [], rsis: [RSI] = [], macds: [MACD] = []
    var bollingers: [BollingerBands] = [], atrs: [ATR] = [], volumes: [VolumeAverage] = []
    public let columns: [String]

    public init(_ specs: [IndicatorSpec]) {
        columns = specs.flatMap(\.columns)
        for spec in specs {
            switch spec {
            case .sma(let n): slots.append(.sma(smas.count)); smas.append(SMA(period: n))
            case .ema(let n): slots.append(.ema(emas.count)); emas.append(EMA(period: n))
            case .rsi(let n): slots.append(.rsi(rsis.count)); rsis.append(RSI(period: n))
            case .atr(let n): slots.append(.atr(atrs.count)); atrs.append(ATR(period: n))
            case .volume(let n): slots.append(.volume(volumes.count)); volumes.append(VolumeAverage(period: n))
            case .macd(let f, let s, let g): slots.append(.macd(macds.count)); macds.append(MACD(fast: f, slow: s, signal: g))
            case .bollinger(let n, let w):
                slots.append(.bollinger(bollingers.count))
                bollingers.append(BollingerBands(period: n, width: w))
            }
        }
    }

    /// Feeds one candle (prices as doubles: indicators are analysis, not money).
    public mutating func update(high: Double, low: Double, close: Double, volume: Double) -> [Double?] {
        var row: [Double?] = []
        row.reserveCapacity(columns.count)
        update(high: high, low: low, close: close, volume: volume) { row.append($0) }
        return row
    }

    /// Feeds one candle and hands each column's value to `emit`, in column order (no array per row).
    @inline(__always)
    public mutating func update(high: Double, low: Double, close: Double, volume: Double, _ emit: (Double?) -> Void) {
        for slot in slots {
            switch slot {
            case .sma(let i): emit(smas[i].update(close))
            case .ema(let i): emit(emas[i].update(close))
            case .rsi(let i): emit(rsis[i].update(close))
            case .atr(let i): emit(atrs[i].update(high: high, low: low, close: close))
            case .volume(let i): emit(volumes[i].update(volume: volume))
            case .macd(let i):
                let value = macds[i].update(close)
                emit(value?.line)
                emit(value?.signal)
                emit(value?.histogram)
            case .bollinger(let i):
                let value = bollingers[i].update(close)
                emit(value?.lower)
                emit(value?.middle)
                emit(value?.upper)
            }
        }
    }
}
