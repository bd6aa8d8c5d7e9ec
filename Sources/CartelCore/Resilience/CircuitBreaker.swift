/// A circuit breaker for one group of endpoints, as a pure state machine over any clock's
/// instants.
///
/// Closed: calls go through; `failureThreshold` consecutive failures open it. Open: calls fail
/// fast until `coolDown` has passed, then one probe call is let through (half-open). The
/// probe's success closes the breaker; its failure opens it for another cool-down. Every change
/// of state is returned once, for the caller to log and export.
public struct CircuitBreaker<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum State: String, Sendable, Equatable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    public enum Admission: Sendable, Equatable {
        case allowed
        /// Half-open: this call is the probe.
        case probe
        /// Open: fail fast; try again after this long.
        case rejected(retryAfter: Duration)
    }

    public let failureThreshold: Int
    public let coolDown: Duration
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    private var openedAt: Instant?
    private var probeInFlight = false

    public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(30)) {
        precondition(failureThreshold >= 1, "failureThreshold must be at least 1")
        self.failureThreshold = failureThreshold
        self.coolDown = coolDown
    }

    /// Decides whether a call may go out now. Returns the admission and, if the state changed
    /// (open → half-open), the new state.
    public mutating func admit(now: Instant) -> (Admission, State?) {
        switch state {
        case .closed:
            return (.allowed, nil)
        case .open:
            let elapsed = openedAt.map { $0.duration(to: now) } ?? coolDown
            guard elapsed >= coolDown else { return (.rejected(retryAfter: coolDown - elapsed), nil) }
            state = .halfOpen
            probeInFlight = true
            return (.probe, .halfOpen)
        case .halfOpen:
            if probeInFlight { return (.rejected(retryAfter: coolDown), nil) }
            probeInFlight = true
            return (.probe, nil)
        }
    }

    /// Records a call's outcome; returns the new state when it changed.
    public mutating func record(success: Bool, now: Instant) -> State? {
        probeInFlight = false
        if success {
            consecutiveFailures = 0
            guard state != .closed else { return nil }
            state = .closed
            openedAt = nil
            return .closed
        }
        consecutiveFailures += 1
        switch state {
        case .closed where consecutiveFailures >= failureThreshold, .halfOpen:
            state = .open
            openedAt = now
            return .open
        case .open:
            openedAt = now
            return nil
        case .closed:
            return nil
        }
    }
}
