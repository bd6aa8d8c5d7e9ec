/// What a notifier's answer means for an alert.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Throttled: try the same message again after this long (Telegram's 429 `retry_after`).
    case retryAfter(Duration)
    /// Worth retrying: a network fault, a timeout, a 5xx.
    case transient(String)
    /// Will never succeed as it is (400 "can't parse entities", 403 "bot was blocked", 401):
    /// stored as failed with the reason, not retried.
    case permanent(String)
}

/// When the sender may deliver next, for one destination. Pure: the caller passes the time and
/// the random unit for backoff jitter.
///
/// - At most one message per `spacing` (Telegram: about one per second per chat).
/// - A 429 waits its `retry_after`; transient failures back off exponentially behind a circuit
///   breaker, so a dead endpoint is asked rarely; a permanent failure gives the message up.
/// - Messages go in order: the head of the queue is retried until it is delivered or given up.
public struct DeliverySchedule<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Decision: Sendable, Equatable {
        /// Mark the message delivered; the next may go at the returned instant.
        case next
        /// Keep the message at the head and try it again after this long.
        case retry(after: Duration)
        /// Mark the message failed with this reason and move on.
        case giveUp(String)
    }

    public let spacing: Duration
    public private(set) var notBefore: Instant?
    public private(set) var backoff: Backoff
    public private(set) var breaker: CircuitBreaker<Instant>

    public init(spacing: Duration = .seconds(1), backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(300)),
                breaker: CircuitBreaker<Instant> = CircuitBreaker(failureThreshold: 5, coolDown: .seconds(60))) {
        self.spacing = spacing
        self.backoff = backoff
        self.breaker = breaker
    }

    /// How long to wait before the next attempt (zero: now). Call it once per attempt: when the
    /// breaker's cool-down is over it admits that attempt as its probe.
    public mutating func wait(now: Instant) -> Duration {
        var wait = notBefore.map { now < $0 ? now.duration(to: $0) : .zero } ?? .zero
        if case .rejected(let retryAfter) = breaker.admit(now: now).0 { wait = max(wait, retryAfter) }
        return wait
    }

    /// Books an attempt's outcome made at `now`.
    public mutating func record(_ outcome: DeliveryOutcome, now: Instant, jitter unit: Double) -> Decision {
        switch outcome {
        case .delivered:
            _ = breaker.record(success: true, now: now)
            backoff.reset()
            notBefore = now.advanced(by: spacing)
            return .next
        case .retryAfter(let delay):
            // The endpoint answered: it is alive, only busy.
            _ = breaker.record(success: true, now: now)
            let wait = max(delay, spacing)
            notBefore = now.advanced(by: wait)
            return .retry(after: wait)
        case .transient:
            _ = breaker.record(success: false, now: now)
            let wait = max(backoff.next(unit: unit), spacing)
            notBefore = now.advanced(by: wait)
            return .retry(after: wait)
        case .permanent(let reason):
            _ = breaker.record(success: true, now: now)
            notBefore = now.advanced(by: spacing)
            return .giveUp(reason)
        }
    }
}
