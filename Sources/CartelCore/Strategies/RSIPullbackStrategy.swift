/// `rsi-pullback`: buys pullbacks in an uptrend. With the close above SMA-`trend` (50), an RSI
/// that dipped below the lower barrier (20) and recovers above `lower_threshold` (33) enters;
/// in position, an RSI that went above the upper barrier (80) and falls back below
/// `upper_threshold` (67) exits. When the `volume_fast`-bar (20) average volume exceeds the
/// `volume_slow`-bar (50) average, the barriers widen to `wide_lower`/`wide_upper` (25/75).
public struct RSIPullbackStrategy: Strategy {
    public static let kind = "rsi-pullback"
    public static let parameters = [
        StrategyParameter("period", default: 14, range: 2...200),
        StrategyParameter("lower", default: 20, range: 1...50, isInteger: false),
        StrategyParameter("lower_threshold", default: 33, range: 1...60, isInteger: false),
        StrategyParameter("upper", default: 80, range: 50...99, isInteger: false),
        StrategyParameter("upper_threshold", default: 67, range: 40...99, isInteger: false),
        StrategyParameter("wide_lower", default: 25, range: 1...50, isInteger: false),
        StrategyParameter("wide_upper", default: 75, range: 50...99, isInteger: false),
        StrategyParameter("trend", default: 50, range: 2...1000),
        StrategyParameter("volume_fast", default: 20, range: 2...500),
        StrategyParameter("volume_slow", default: 50, range: 3...1000),
    ]

    var rsi: RSI
    var trend: SMA
    var volumeFast: VolumeAverage
    var volumeSlow: VolumeAverage
    let p: [String: Double]
    var dipped = false
    var spiked = false
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        p = parameters
        rsi = RSI(period: Int(parameters["period"]!))
        trend = SMA(period: Int(parameters["trend"]!))
        volumeFast = VolumeAverage(period: Int(parameters["volume_fast"]!))
        volumeSlow = VolumeAverage(period: Int(parameters["volume_slow"]!))
    }

    public static let orderedParameters = [
        ("lower", "lower_threshold"), ("upper_threshold", "upper"), ("wide_lower", "lower_threshold"), ("upper_threshold", "wide_upper"),
        ("volume_fast", "volume_slow"),
    ]

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        let value = rsi.update(candle.close)
        let trendValue = trend.update(candle.close)
        let fastVolume = volumeFast.update(volume: candle.volume)
        let slowVolume = volumeSlow.update(volume: candle.volume)
        guard let value, let trendValue else { return .hold("warming up") }
        let busy = (fastVolume ?? 0) > (slowVolume ?? .infinity)
        let lower = busy ? p["wide_lower"]! : p["lower"]!
        let upper = busy ? p["wide_upper"]! : p["upper"]!
        if !inPosition {
            if value < lower { dipped = true }
            if dipped, value > p["lower_threshold"]!, candle.close > trendValue {
                dipped = false
                inPosition = true
                return StrategySignal(.enter, "RSI recovered from below \(lower) in an uptrend", confidence: busy ? 0.7 : 0.6)
            }
            return .hold("waiting for a pullback")
        }
        if value > upper { spiked = true }
        if spiked, value < p["upper_threshold"]! {
            spiked = false
            inPosition = false
            return StrategySignal(.exit, "RSI fell back from above \(upper)", confidence: 0.6)
        }
        return .hold("in position")
    }

    public mutating func setPosition(open: Bool) {
        inPosition = open
        dipped = false
        spiked = false
    }
}
