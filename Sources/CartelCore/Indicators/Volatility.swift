/// Bollinger Bands (TA-Lib `BBANDS` with an SMA middle): middle = SMA(period), bands = middle ±
/// width · σ, with σ the population standard deviation of the same window.
public struct BollingerBands: Sendable {
    public struct Value: Sendable, Equatable {
        public let lower: Double
        public let middle: Double
        public let upper: Double
    }

    public let period: Int
    public let width: Double
    var window: RollingWindow

    public init(period: Int = 20, width: Double = 2) {
        self.period = period
        self.width = width
        window = RollingWindow(capacity: period, tracksSquares: true)
    }

    public mutating func update(_ close: Double) -> Value? {
        window.push(close)
        guard window.isFull else { return nil }
        let n = Double(period)
        let mean = window.sum / n
        let sigma = max(0, window.sumOfSquares / n - mean * mean).squareRoot()
        return Value(lower: mean - width * sigma, middle: mean, upper: mean + width * sigma)
    }
}

/// Average true range with Wilder smoothing (TA-Lib `ATR`): true range needs the previous close,
/// so the first ATR is the mean of the first `period` true ranges (input `period + 1`);
/// afterwards `atr = (atr · (period − 1) + tr) / period` (computed as a multiply-add, ``WilderSmoothing``).
public struct ATR: Sendable {
    public let period: Int
    var previousClose: Double?
    var seen = 0
    var total = 0.0
    public private(set) var value: Double?
    let smoothing: WilderSmoothing

    public init(period: Int = 14) {
        self.period = period
        smoothing = WilderSmoothing(period: period)
    }

    public mutating func update(high: Double, low: Double, close: Double) -> Double? {
        defer { previousClose = close }
        guard let previousClose else { return nil }
        let trueRange = max(high - low, abs(high - previousClose), abs(low - previousClose))
        if let current = value {
            let next = smoothing.next(current, trueRange)
            value = next
            return next
        }
        seen += 1
        total += trueRange
        guard seen == period else { return nil }
        value = total / Double(period)
        return value
    }
}
