/// Simple moving average of the last `period` values (TA-Lib `SMA`): no value until `period`
/// inputs have been seen.
public struct SMA: Sendable {
    public let period: Int
    var window: RollingWindow
    /// 1 / period: a multiply per candle instead of a division.
    let scale: Double

    public init(period: Int) {
        self.period = period
        window = RollingWindow(capacity: period)
        scale = 1 / Double(period)
    }

    @inline(__always)
    public mutating func update(_ value: Double) -> Double? {
        window.push(value)
        return window.isFull ? window.sum * scale : nil
    }
}

/// Exponential moving average (TA-Lib `EMA`, default compatibility): seeded with the SMA of the
/// first `period` values, then `ema += k · (value − ema)` with `k = 2 / (period + 1)`. The first
/// value appears with the `period`-th input.
public struct EMA: Sendable {
    public let period: Int
    let k: Double
    var seed: RollingWindow
    public private(set) var value: Double?

    public init(period: Int) {
        self.period = period
        k = 2 / (Double(period) + 1)
        seed = RollingWindow(capacity: period)
    }

    @inline(__always)
    public mutating func update(_ input: Double) -> Double? {
        if let current = value {
            let next = current + k * (input - current)
            value = next
            return next
        }
        seed.push(input)
        guard seed.isFull else { return nil }
        value = seed.sum / Double(period)
        return value
    }
}

/// Rolling average volume over `period` candles (an SMA of volume).
public struct VolumeAverage: Sendable {
    var sma: SMA
    public init(period: Int) { sma = SMA(period: period) }
    public mutating func update(volume: Double) -> Double? { sma.update(volume) }
}

/// Momentum over `period` candles: close − close `period` candles ago (TA-Lib `MOM`).
public struct Momentum: Sendable {
    public let period: Int
    var window: RollingWindow

    public init(period: Int) {
        self.period = period
        window = RollingWindow(capacity: period)
    }

    public mutating func update(_ value: Double) -> Double? {
        let past = window.oldest
        window.push(value)
        return past.map { value - $0 }
    }
}
