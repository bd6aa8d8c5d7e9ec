import Foundation

/// The current wall time as a UTC instant. Injected wherever a component stamps or compares
/// times, so that a test can set it.
public protocol WallClock: Sendable {
    var wallTime: Date { get }
}

/// One time source for a component: a monotonic clock to wait on and the wall time that goes
/// with it. A component takes one, so a test that advances a manual time source moves both.
public protocol TimeSource: Clock, WallClock where Duration == Swift.Duration {}

/// The real time: `ContinuousClock` to wait on, the system's wall time.
public struct SystemTime: TimeSource {
    public typealias Instant = ContinuousClock.Instant
    let clock = ContinuousClock()

    public init() {}

    public var now: Instant { clock.now }
    public var minimumResolution: Duration { clock.minimumResolution }
    public var wallTime: Date { Date() }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await clock.sleep(until: deadline, tolerance: tolerance)
    }
}
