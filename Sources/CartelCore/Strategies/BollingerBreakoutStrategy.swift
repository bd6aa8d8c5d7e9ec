/// `bollinger-breakout` (length 20, width 2.0, EMA-200 trend filter, ATR stops): enter when the
/// close breaks above the upper band while above the trend EMA; exit when the close falls back
/// below the middle band, or below the entry minus `atr_stop` × ATR.
public struct BollingerBreakoutStrategy: Strategy {
    public static let kind = "bollinger-breakout"
    public static let parameters = [
        StrategyParameter("length", default: 20, range: 2...500),
        StrategyParameter("width", default: 2.0, range: 0.5...5, isInteger: false),
        StrategyParameter("trend", default: 200, range: 2...1000),
        StrategyParameter("atr_period", default: 14, range: 2...200),
        StrategyParameter("atr_stop", default: 2.0, range: 0.5...10, isInteger: false),
    ]

    var bands: BollingerBands
    var trend: EMA
    var atr: ATR
    let atrStop: Double
    var stopPrice: Double?
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        bands = BollingerBands(period: Int(parameters["length"]!), width: parameters["width"]!)
        trend = EMA(period: Int(parameters["trend"]!))
        atr = ATR(period: Int(parameters["atr_period"]!))
        atrStop = parameters["atr_stop"]!
    }

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        let band = bands.update(candle.close)
        let trendValue = trend.update(candle.close)
        let range = atr.update(high: candle.high, low: candle.low, close: candle.close)
        guard let band, let trendValue, let range else { return .hold("warming up") }
        if inPosition {
            if let stopPrice, candle.close < stopPrice {
                setPosition(open: false)
                return StrategySignal(.exit, "close fell below the ATR stop", confidence: 0.8)
            }
            if candle.close < band.middle {
                setPosition(open: false)
                return StrategySignal(.exit, "close fell back below the middle band", confidence: 0.6)
            }
            return .hold("riding the breakout")
        }
        if candle.close > band.upper, candle.close > trendValue {
            inPosition = true
            stopPrice = candle.close - atrStop * range
            let excess = (candle.close - band.upper) / max(band.upper - band.middle, .leastNonzeroMagnitude)
            return StrategySignal(.enter, "close broke above the upper band in an uptrend", confidence: 0.5 + min(excess, 1) / 2)
        }
        return .hold("inside the bands")
    }

    public mutating func setPosition(open: Bool) {
        inPosition = open
        if !open { stopPrice = nil }
    }
}
