import Foundation

/// `rsi` (period 14, oversold 30, overbought 70, trend filter SMA 20/50): enter when RSI crosses
/// up out of oversold while the short SMA is above the long one (an uptrend); exit when RSI
/// crosses down out of overbought, or when the trend turns down while in position.
public struct RSIStrategy: Strategy {
    public static let kind = "rsi"
    public static let parameters = [
        StrategyParameter("period", default: 14, range: 2...200),
        StrategyParameter("oversold", default: 30, range: 1...50, isInteger: false),
        StrategyParameter("overbought", default: 70, range: 50...99, isInteger: false),
        StrategyParameter("trend_fast", default: 20, range: 2...500),
        StrategyParameter("trend_slow", default: 50, range: 3...1000),
    ]

    var rsi: RSI
    var trendFast: SMA
    var trendSlow: SMA
    let oversold: Double
    let overbought: Double
    var previousRSI: Double?
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        rsi = RSI(period: Int(parameters["period"]!))
        trendFast = SMA(period: Int(parameters["trend_fast"]!))
        trendSlow = SMA(period: Int(parameters["trend_slow"]!))
        oversold = parameters["oversold"]!
        overbought = parameters["overbought"]!
    }

    public static let orderedParameters = [("trend_fast", "trend_slow")]

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        let value = rsi.update(candle.close)
        let fast = trendFast.update(candle.close)
        let slow = trendSlow.update(candle.close)
        guard let value, let fast, let slow else { return .hold("warming up") }
        defer { previousRSI = value }
        guard let previous = previousRSI else { return .hold("first RSI value") }
        let uptrend = fast > slow
        if !inPosition, previous < oversold, value >= oversold, uptrend {
            inPosition = true
            return StrategySignal(.enter, "RSI crossed up out of oversold in an uptrend", confidence: (oversold - previous) / oversold + 0.5)
        }
        if inPosition, previous > overbought, value <= overbought {
            inPosition = false
            return StrategySignal(.exit, "RSI crossed down out of overbought", confidence: 0.7)
        }
        if inPosition, !uptrend {
            inPosition = false
            return StrategySignal(.exit, "trend turned down", confidence: 0.6)
        }
        return .hold("RSI between its thresholds")
    }

    public mutating func setPosition(open: Bool) { inPosition = open }
}
