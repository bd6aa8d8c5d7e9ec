/// Capped exponential backoff with full jitter: the n-th retry waits a uniformly random time in
/// `0 ... min(cap, base · 2ⁿ)`. Pure: the caller supplies the random unit value.
public struct Backoff: Sendable, Equatable {
    public let base: Duration
    public let cap: Duration
    public private(set) var attempt = 0

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling of the next delay (before jitter).
    public var ceiling: Duration {
        let factor = attempt >= 30 ? Double(1 << 30) : Double(1 << attempt)
        return min(cap, base * factor)
    }

    /// The delay before the next retry, for `unit` in `0..<1`; advances the attempt count.
    public mutating func next(unit: Double) -> Duration {
        let delay = ceiling * min(max(unit, 0), 1)
        attempt += 1
        return delay
    }

    /// After a success the next failure starts from `base` again.
    public mutating func reset() {
        attempt = 0
    }
}
