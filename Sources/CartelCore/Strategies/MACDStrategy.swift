/// `macd` (12, 26, 9): enter when the histogram crosses above zero while the MACD line is above
/// zero; exit when the histogram crosses below zero.
public struct MACDStrategy: Strategy {
    public static let kind = "macd"
    public static let parameters = [
        StrategyParameter("fast", default: 12, range: 2...200),
        StrategyParameter("slow", default: 26, range: 3...400),
        StrategyParameter("signal", default: 9, range: 2...200),
    ]

    var macd: MACD
    var previousHistogram: Double?
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        macd = MACD(fast: Int(parameters["fast"]!), slow: Int(parameters["slow"]!), signal: Int(parameters["signal"]!))
    }

    public static let orderedParameters = [("fast", "slow")]

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        guard let value = macd.update(candle.close) else { return .hold("warming up") }
        defer { previousHistogram = value.histogram }
        guard let previous = previousHistogram else { return .hold("first histogram value") }
        if !inPosition, previous <= 0, value.histogram > 0, value.line > 0 {
            inPosition = true
            return StrategySignal(.enter, "MACD histogram crossed above zero with MACD above zero", confidence: 0.6)
        }
        if inPosition, previous >= 0, value.histogram < 0 {
            inPosition = false
            return StrategySignal(.exit, "MACD histogram crossed below zero", confidence: 0.6)
        }
        return .hold("no histogram cross")
    }

    public mutating func setPosition(open: Bool) { inPosition = open }
}
