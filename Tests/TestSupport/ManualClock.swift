import CartelCore
import Foundation
import Synchronization

/// A time source that moves only when a test moves it: sleepers wake as soon as ``advance(by:)``
/// passes their deadline, and the wall time moves with the monotonic one. Components that take
/// a ``TimeSource`` run under it without a real sleep.
public final class ManualClock: TimeSource, Sendable {
    public struct Instant: InstantProtocol, Sendable {
        public var offset: Duration

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var nextID = 0
    }

    let state = Mutex(State())
    /// The wall time at the instant zero.
    public let epoch: Date

    public init(wallTime: Date = Date(timeIntervalSince1970: 1_735_689_600)) {
        epoch = wallTime
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }
    public var wallTime: Date {
        let offset = now.offset.components
        return epoch.addingTimeInterval(Double(offset.seconds) + Double(offset.attoseconds) / 1e18)
    }

    /// How many tasks sleep on this clock now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come, earliest first.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time forward until the wall time reads `date` (never backwards).
    public func advance(toWallTime date: Date) {
        let seconds = date.timeIntervalSince(wallTime)
        guard seconds > 0 else { return }
        advance(by: .nanoseconds(Int64((seconds * 1e9).rounded())))
    }

    /// Once `sleepers` tasks sleep on this clock (the components under test are idle), moves
    /// time forward by `duration`. Advancing while a loop is still busy would let it schedule
    /// its next wake-up from the new time, a step later than intended.
    public func advance(by duration: Duration, once sleepers: Int) async {
        _ = await waitForSleepers(sleepers)
        advance(by: duration)
    }

    /// Like ``advance(toWallTime:)``, once `sleepers` tasks sleep on this clock.
    public func advance(toWallTime date: Date, once sleepers: Int) async {
        _ = await waitForSleepers(sleepers)
        advance(toWallTime: date)
    }

    /// Runs `operation` with time moving on its own: whenever something sleeps on this clock,
    /// it advances by `step` (the code under test never waits for real, and never waits forever).
    public func drive<T: Sendable>(step: Duration, _ operation: () async throws -> T) async rethrows -> T {
        let driver = Task {
            while !Task.isCancelled {
                if sleeperCount > 0 { advance(by: step) }
                try? await Task.sleep(for: .microseconds(200))
            }
        }
        defer { driver.cancel() }
        return try await operation()
    }

    /// Waits (in real time) until this clock has moved `duration` past now: with ``drive(step:_:)``
    /// running, that many seconds of the components' life have passed.
    public func elapse(_ duration: Duration, timeout: Duration = .seconds(20)) async -> Bool {
        let target = now.advanced(by: duration)
        let deadline = ContinuousClock.now + timeout
        while now < target {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    /// Waits (in real time, briefly) until at least `count` tasks sleep on this clock: the
    /// components under test have done their work and gone back to waiting.
    public func waitForSleepers(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while sleeperCount < count {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}
