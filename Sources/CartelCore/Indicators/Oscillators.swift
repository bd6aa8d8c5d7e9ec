/// Relative strength index with Wilder smoothing (TA-Lib `RSI`): the first averages of gains and
/// losses are plain means of the first `period` changes (so the first value needs `period + 1`
/// closes); afterwards `avg = (avg · (period − 1) + x) / period`. RSI = 100 · gain / (gain +
/// loss). When both averages are 0 — a window that did not move at all — RSI is 50, neutral.
/// (TA-Lib's C code writes 0 there, which every RSI rule reads as deeply oversold: a flat market
/// would look like a buying opportunity. That single case deliberately differs.)
/// Wilder smoothing `(x · (n − 1) + v) / n`, computed as `x · decay + v · share`: a
/// multiply-add instead of a division on the path from one candle to the next (same value to
/// ~1e-15). Used by ``RSI`` and ``ATR``.
struct WilderSmoothing: Sendable {
    let decay: Double
    let share: Double

    init(period: Int) {
        decay = Double(period - 1) / Double(period)
        share = 1 / Double(period)
    }

    @inline(__always)
    func next(_ average: Double, _ value: Double) -> Double { average * decay + value * share }
}

public struct RSI: Sendable {
    public let period: Int
    var previous: Double?
    var seen = 0
    var gain = 0.0
    var loss = 0.0

    let smoothing: WilderSmoothing

    public init(period: Int = 14) {
        self.period = period
        smoothing = WilderSmoothing(period: period)
    }

    @inline(__always)
    public mutating func update(_ close: Double) -> Double? {
        defer { previous = close }
        guard let previous else { return nil }
        let change = close - previous
        let up = max(change, 0)
        let down = max(-change, 0)
        seen += 1
        if seen < period {
            gain += up
            loss += down
            return nil
        }
        if seen == period {
            gain = (gain + up) / Double(period)
            loss = (loss + down) / Double(period)
        } else {
            gain = smoothing.next(gain, up)
            loss = smoothing.next(loss, down)
        }
        let total = gain + loss
        return total == 0 ? 50 : 100 * gain / total
    }
}

/// MACD (TA-Lib `MACD`): line = EMA(fast) − EMA(slow), signal = EMA(signal) of the line,
/// histogram = line − signal. As in TA-Lib, the fast EMA starts `slow − fast` inputs late so
/// both EMAs seed on the same input, and nothing is output until the signal exists (the
/// first output comes with input `slow + signal − 1`).
public struct MACD: Sendable {
    public struct Value: Sendable, Equatable {
        public let line: Double
        public let signal: Double
        public let histogram: Double
    }

    public let fastPeriod: Int
    public let slowPeriod: Int
    public let signalPeriod: Int
    var fast: EMA
    var slow: EMA
    var signal: EMA
    var seen = 0

    public init(fast: Int = 12, slow: Int = 26, signal: Int = 9) {
        precondition(fast < slow, "the fast period must be shorter than the slow one")
        fastPeriod = fast
        slowPeriod = slow
        signalPeriod = signal
        self.fast = EMA(period: fast)
        self.slow = EMA(period: slow)
        self.signal = EMA(period: signal)
    }

    public mutating func update(_ close: Double) -> Value? {
        seen += 1
        let fastValue = seen > slowPeriod - fastPeriod ? fast.update(close) : nil
        guard let slowValue = slow.update(close), let fastValue else { return nil }
        let line = fastValue - slowValue
        guard let signalValue = signal.update(line) else { return nil }
        return Value(line: line, signal: signalValue, histogram: line - signalValue)
    }
}
