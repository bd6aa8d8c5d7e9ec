/// `quantum-oscillator`: the percentage price oscillator (EMA 12 − EMA 26) / EMA 26 · 100 with an
/// EMA-9 signal line. Enters when the oscillator crosses above its signal with positive 5-bar
/// momentum and volume above its 20-bar average (confirmation); exits when the oscillator
/// crosses below the signal.
public struct QuantumOscillatorStrategy: Strategy {
    public static let kind = "quantum-oscillator"
    public static let parameters = [
        StrategyParameter("fast", default: 12, range: 2...200),
        StrategyParameter("slow", default: 26, range: 3...400),
        StrategyParameter("signal", default: 9, range: 2...200),
        StrategyParameter("momentum", default: 5, range: 1...200),
        StrategyParameter("volume", default: 20, range: 2...500),
    ]

    var fast: EMA
    var slow: EMA
    var signal: EMA
    var momentum: Momentum
    var volume: VolumeAverage
    var previousGap: Double?
    public private(set) var inPosition = false

    public init(validated parameters: [String: Double]) {
        fast = EMA(period: Int(parameters["fast"]!))
        slow = EMA(period: Int(parameters["slow"]!))
        signal = EMA(period: Int(parameters["signal"]!))
        momentum = Momentum(period: Int(parameters["momentum"]!))
        volume = VolumeAverage(period: Int(parameters["volume"]!))
    }

    public static let orderedParameters = [("fast", "slow")]

    public mutating func onCandle(_ candle: StrategyCandle) -> StrategySignal {
        let fastValue = fast.update(candle.close)
        let slowValue = slow.update(candle.close)
        let push = momentum.update(candle.close)
        let averageVolume = volume.update(volume: candle.volume)
        guard let fastValue, let slowValue, slowValue != 0 else { return .hold("warming up") }
        let oscillator = (fastValue - slowValue) / slowValue * 100
        guard let signalValue = signal.update(oscillator), let push, let averageVolume else { return .hold("warming up") }
        let gap = oscillator - signalValue
        defer { previousGap = gap }
        guard let previous = previousGap else { return .hold("first signal value") }
        if !inPosition, previous <= 0, gap > 0, push > 0, candle.volume > averageVolume {
            inPosition = true
            return StrategySignal(.enter, "oscillator crossed above its signal with momentum and volume", confidence: 0.65)
        }
        if inPosition, previous >= 0, gap < 0 {
            inPosition = false
            return StrategySignal(.exit, "oscillator crossed below its signal", confidence: 0.6)
        }
        return .hold("no confirmed cross")
    }

    public mutating func setPosition(open: Bool) { inPosition = open }
}
