import CartelCore
import Testing

@Suite struct ResilienceTests {
    typealias Instant = ContinuousClock.Instant
    let t0 = ContinuousClock.now

    @Test func backoffDoublesUpToTheCapWithJitterInside() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(10))
        var ceilings: [Duration] = []
        for _ in 0..<6 {
            ceilings.append(backoff.ceiling)
            let delay = backoff.next(unit: 0.5)
            #expect(delay == ceilings.last! * 0.5)
        }
        #expect(ceilings == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
        #expect(backoff.next(unit: 0) == .zero)
        backoff.reset()
        #expect(backoff.ceiling == .seconds(1))
        for _ in 0..<100 { _ = backoff.next(unit: 0.99) }
        #expect(backoff.ceiling == .seconds(10))
    }

    @Test func breakerOpensAfterConsecutiveFailuresAndFailsFast() {
        var breaker = CircuitBreaker<Instant>(failureThreshold: 3, coolDown: .seconds(30))
        #expect(breaker.record(success: false, now: t0) == nil)
        #expect(breaker.record(success: true, now: t0) == nil)  // resets the count
        #expect(breaker.record(success: false, now: t0) == nil)
        #expect(breaker.record(success: false, now: t0) == nil)
        #expect(breaker.record(success: false, now: t0) == .open)
        #expect(breaker.admit(now: t0 + .seconds(10)).0 == .rejected(retryAfter: .seconds(20)))
    }

    @Test func breakerHalfOpensAfterTheCoolDownAndClosesOnASuccessfulProbe() {
        var breaker = CircuitBreaker<Instant>(failureThreshold: 1, coolDown: .seconds(30))
        #expect(breaker.record(success: false, now: t0) == .open)
        let (admission, change) = breaker.admit(now: t0 + .seconds(30))
        #expect(admission == .probe)
        #expect(change == .halfOpen)
        // Only one probe at a time.
        #expect(breaker.admit(now: t0 + .seconds(31)).0 == .rejected(retryAfter: .seconds(30)))
        #expect(breaker.record(success: true, now: t0 + .seconds(31)) == .closed)
        #expect(breaker.admit(now: t0 + .seconds(31)).0 == .allowed)
    }

    @Test func aFailedProbeReopensForAnotherCoolDown() {
        var breaker = CircuitBreaker<Instant>(failureThreshold: 2, coolDown: .seconds(5))
        _ = breaker.record(success: false, now: t0)
        _ = breaker.record(success: false, now: t0)
        #expect(breaker.admit(now: t0 + .seconds(5)).0 == .probe)
        #expect(breaker.record(success: false, now: t0 + .seconds(6)) == .open)
        #expect(breaker.admit(now: t0 + .seconds(10)).0 == .rejected(retryAfter: .seconds(1)))
        #expect(breaker.admit(now: t0 + .seconds(11)).0 == .probe)
    }

    @Test func spacingLimiterQueuesCallsOneIntervalApart() {
        var limiter = SpacingRateLimiter<Instant>(ratePerSecond: 1)
        #expect(limiter.reserve(now: t0) == .zero)
        #expect(limiter.reserve(now: t0) == .seconds(1))
        #expect(limiter.reserve(now: t0) == .seconds(2))
        #expect(limiter.reserve(now: t0 + .seconds(5)) == .zero)
        #expect(limiter.reserve(now: t0 + .milliseconds(5500)) == .milliseconds(500))
    }

    @Test func decayingCounterAllowsABurstThenPacesAtTheDecayRate() {
        var limiter = DecayingCounterLimiter<Instant>(tier: .starter)
        for _ in 0..<15 { #expect(limiter.reserve(now: t0) == .zero) }
        let wait = limiter.reserve(now: t0)
        let seconds: Double = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        let expected: Double = 1 / 0.33
        #expect(abs(seconds - expected) < 1e-6)
        // After a long pause the counter has decayed to zero again.
        var fresh = DecayingCounterLimiter<Instant>(tier: .pro)
        for _ in 0..<20 { _ = fresh.reserve(now: t0) }
        #expect(fresh.reserve(now: t0 + .seconds(20)) == .zero)
        #expect(fresh.counter == 1)
        #expect(DecayingCounterLimiter<Instant>.Tier.intermediate.maximum == 20)
    }
}
