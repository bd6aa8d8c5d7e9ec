/// Spaces calls at most `ratePerSecond` apart (Kraken's public endpoints: about one per
/// second). Pure: `reserve` books the next slot and says how long to wait for it.
public struct SpacingRateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public let interval: Duration
    private var nextFree: Instant?

    public init(ratePerSecond: Double) {
        precondition(ratePerSecond > 0, "ratePerSecond must be positive")
        interval = .seconds(1 / ratePerSecond)
    }

    public mutating func reserve(now: Instant) -> Duration {
        guard let slot = nextFree, now < slot else {
            nextFree = now.advanced(by: interval)
            return .zero
        }
        nextFree = slot.advanced(by: interval)
        return now.duration(to: slot)
    }
}

/// Kraken's private-call counter: each call adds its cost (1 for most, 2 for ledger/history
/// queries); the counter decays by `decayPerSecond`; a call that would push it over `maximum`
/// must wait until enough has decayed. Tiers: starter 15 / 0.33 s⁻¹, intermediate 20 / 0.5,
/// pro 20 / 1.
public struct DecayingCounterLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Tier: String, Sendable, CaseIterable {
        case starter, intermediate, pro

        public var maximum: Double { self == .starter ? 15 : 20 }
        public var decayPerSecond: Double {
            switch self {
            case .starter: 0.33
            case .intermediate: 0.5
            case .pro: 1
            }
        }
    }

    public let maximum: Double
    public let decayPerSecond: Double
    public private(set) var counter: Double = 0
    private var updatedAt: Instant?

    public init(tier: Tier) {
        self.init(maximum: tier.maximum, decayPerSecond: tier.decayPerSecond)
    }

    public init(maximum: Double, decayPerSecond: Double) {
        precondition(maximum >= 1 && decayPerSecond > 0, "maximum >= 1 and decayPerSecond > 0")
        self.maximum = maximum
        self.decayPerSecond = decayPerSecond
    }

    /// Books a call of `cost` and returns how long to wait before sending it. Calls booked
    /// while others still wait queue up behind them.
    public mutating func reserve(cost: Double = 1, now: Instant) -> Duration {
        var sendAt = now
        if let updatedAt {
            if now < updatedAt {
                sendAt = updatedAt
            } else {
                counter = max(0, counter - Self.seconds(updatedAt.duration(to: now)) * decayPerSecond)
            }
        }
        let excess = counter + cost - maximum
        if excess > 0 {
            sendAt = sendAt.advanced(by: .seconds(excess / decayPerSecond))
            counter = maximum
        } else {
            counter += cost
        }
        updatedAt = sendAt
        return now.duration(to: sendAt)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
