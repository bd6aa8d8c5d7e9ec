import Foundation

/// One OHLC candle as Kraken reports it. Prices and volumes are exact decimals.
public struct Candle: Sendable, Equatable {
    public var pair: String
    public var intervalMinutes: Int
    /// Start of the candle's interval (UTC).
    public var openTime: Date
    public var open: Decimal
    public var high: Decimal
    public var low: Decimal
    public var close: Decimal
    public var vwap: Decimal
    public var volume: Decimal
    public var tradeCount: Int

    public init(
        pair: String, intervalMinutes: Int, openTime: Date, open: Decimal, high: Decimal,
        low: Decimal, close: Decimal, vwap: Decimal, volume: Decimal, tradeCount: Int
    ) {
        self.pair = pair
        self.intervalMinutes = intervalMinutes
        self.openTime = openTime
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.vwap = vwap
        self.volume = volume
        self.tradeCount = tradeCount
    }

    /// When the candle's interval ends (its close).
    public var closeTime: Date { openTime.addingTimeInterval(Double(intervalMinutes * 60)) }

    /// The newest candle of each pair and interval in `candles`, ordered by pair then interval:
    /// what one `candle` event per series carries after a batch is stored.
    public static func newestPerSeries(_ candles: [Candle]) -> [Candle] {
        var newest: [String: Candle] = [:]
        for candle in candles {
            let key = "\(candle.pair)|\(candle.intervalMinutes)"
            if let current = newest[key], current.openTime >= candle.openTime { continue }
            newest[key] = candle
        }
        return newest.values.sorted { ($0.pair, $0.intervalMinutes) < ($1.pair, $1.intervalMinutes) }
    }
}
