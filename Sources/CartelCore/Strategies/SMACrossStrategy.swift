/// `sma-cross` (fast, slow): enter when the fast SMA crosses above the slow one, exit when it
/// crosses below. The classic baseline.
public struct SMACrossStrategy: Strategy {
    public static let kind = "sma-cross"
    public static let parameters = [
        StrategyParameter("fast", default: 10, range: 2...500),
        StrategyParameter("slow", default: 30, range: 3...1000),
    ]

    var fast: SMA
    var slow: SMA
    var previousDifference: Double?
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        fast = SMA(period: Int(parameters["fast"]!))
        slow = SMA(period: Int(parameters["slow"]!))
    }

    public static let orderedParameters = [("fast", "slow")]

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        let fastValue = fast.update(candle.close)
        guard let slowValue = slow.update(candle.close), let fastValue else { return .hold("warming up") }
        let difference = fastValue - slowValue
        defer { previousDifference = difference }
        guard let previous = previousDifference else { return .hold("first full window") }
        let strength = min(abs(difference) / max(slowValue, .leastNonzeroMagnitude) * 100, 1)
        if !inPosition, previous <= 0, difference > 0 {
            inPosition = true
            return StrategySignal(.enter, "fast SMA crossed above slow SMA", confidence: 0.5 + strength / 2)
        }
        if inPosition, previous >= 0, difference < 0 {
            inPosition = false
            return StrategySignal(.exit, "fast SMA crossed below slow SMA", confidence: 0.5 + strength / 2)
        }
        return .hold(inPosition ? "in position, no cross down" : "no cross up")
    }

    public mutating func setPosition(open: Bool) { inPosition = open }
}
