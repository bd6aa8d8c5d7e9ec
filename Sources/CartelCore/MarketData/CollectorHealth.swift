import Foundation
import Synchronization

/// What the collector last achieved, shared with its `/health` endpoint.
public final class CollectorHealth: Sendable {
    struct State {
        var lastSuccess: Date?
        var lastError: String?
    }

    private let state = Mutex(State())

    public init() {}

    public func recordSuccess(at time: Date) { state.withLock { $0.lastSuccess = time } }
    public func recordError(_ message: String) { state.withLock { $0.lastError = message } }

    public var lastSuccess: Date? { state.withLock { $0.lastSuccess } }
    public var lastError: String? { state.withLock { $0.lastError } }

    /// Seconds since the last successful poll, or nil before the first one.
    public func lastSuccessAge(now: Date = Date()) -> Double? {
        lastSuccess.map { now.timeIntervalSince($0) }
    }
}
