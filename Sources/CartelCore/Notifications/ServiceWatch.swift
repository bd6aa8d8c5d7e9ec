import Foundation
import Logging
import ServiceLifecycle

/// Crash alerts that do not depend on the dying process: every service with alerts on watches
/// the others' heartbeats. A service whose row says `running` but which stopped beating (killed,
/// crashed, hung) is announced down once, and back once when it beats again; the claim is a row
/// in the database written in the same transaction as the alert, so of several survivors exactly
/// one writes each. A clean stop (`stopped`) is not news.
public struct ServiceWatch<C: TimeSource>: Service {
    let provider: any StorageProvider
    let me: ServiceName
    let every: Duration
    let clock: C
    let logger: Logger

    public init(storage: any StorageProvider, me: ServiceName, every: Duration, clock: C, logger: Logger) {
        self.provider = storage
        self.me = me
        self.every = every
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try await repeatUntilShutdown(every: every, clock: clock, logger: logger, failure: "service heartbeats not checked") {
            try await check()
        }
    }

    /// One look at the heartbeats; returns what this process announced.
    @discardableResult
    public func check() async throws -> [String] {
        guard let storage = try await provider.storage() as? any Storage & AlertStorage else { return [] }
        let now = clock.wallTime
        var told: [String] = []
        for heartbeat in try await storage.heartbeats() where heartbeat.service != me {
            switch PeerState.evaluate(heartbeat, now: now) {
            case .stale:
                if try await storage.claimServiceDown(heartbeat, text: Self.down(heartbeat, now: now), at: now) {
                    logger.error("a service stopped beating without a clean stop", metadata: [
                        "peer": "\(heartbeat.service)", "pid": "\(heartbeat.pid)", "last_beat": "\(UTCTime.iso8601(heartbeat.lastBeat, fractional: false))",
                    ])
                    told.append("\(heartbeat.service) down")
                }
            case .running:
                if try await storage.claimServiceBack(heartbeat, text: Self.back(heartbeat), at: now) {
                    logger.notice("a service is back", metadata: ["peer": "\(heartbeat.service)", "pid": "\(heartbeat.pid)"])
                    told.append("\(heartbeat.service) back")
                }
            case .stopped, .unknown:
                break
            }
        }
        return told
    }

    static func down(_ heartbeat: Heartbeat, now: Date) -> String {
        let ago = max(0, Int(now.timeIntervalSince(heartbeat.lastBeat)))
        return "<b>\(heartbeat.service) is down</b>\nlast seen \(UTCTime.iso8601(heartbeat.lastBeat, fractional: false)) (\(ago) s ago), "
            + "pid \(heartbeat.pid) on \(AlertText.escape(heartbeat.host)); it stopped beating without a clean stop"
    }

    static func back(_ heartbeat: Heartbeat) -> String {
        "<b>\(heartbeat.service) is back</b>\npid \(heartbeat.pid) on \(AlertText.escape(heartbeat.host)), "
            + "started \(UTCTime.iso8601(heartbeat.startedAt, fractional: false))"
    }
}
