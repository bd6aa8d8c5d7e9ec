import Foundation

/// Failed attempts per key (a login per client address): after `maxFailures` failures within
/// `window`, the key is refused until the oldest of them leaves the window. Pure: the caller
/// passes the time. At most `maxKeys` keys are tracked; the least recently failed is forgotten
/// first, so a flood of addresses cannot grow memory without bound.
public struct AttemptLimiter: Sendable {
    public let maxFailures: Int
    public let window: TimeInterval
    public let maxKeys: Int
    private var failures: [String: [Date]] = [:]

    public init(maxFailures: Int = 5, window: TimeInterval = 900, maxKeys: Int = 10_000) {
        precondition(maxFailures >= 1 && window > 0 && maxKeys >= 1)
        self.maxFailures = maxFailures
        self.window = window
        self.maxKeys = maxKeys
    }

    /// How long `key` must wait before its next attempt (nil: it may try now).
    public mutating func retryAfter(_ key: String, now: Date) -> TimeInterval? {
        let recent = prune(key, now: now)
        guard recent.count >= maxFailures, let oldest = recent.first else { return nil }
        return max(1, oldest.addingTimeInterval(window).timeIntervalSince(now))
    }

    public mutating func recordFailure(_ key: String, now: Date) {
        var recent = prune(key, now: now)
        recent.append(now)
        failures[key] = Array(recent.suffix(maxFailures))
        if failures.count > maxKeys, let stalest = failures.min(by: { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) })?.key {
            failures.removeValue(forKey: stalest)
        }
    }

    public mutating func recordSuccess(_ key: String) {
        failures.removeValue(forKey: key)
    }

    public var trackedKeys: Int { failures.count }

    private mutating func prune(_ key: String, now: Date) -> [Date] {
        let recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[key] = recent.isEmpty ? nil : recent
        return recent
    }
}
