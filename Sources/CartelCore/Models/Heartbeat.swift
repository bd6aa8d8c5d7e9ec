import Foundation

/// The lifecycle state a service writes into its heartbeat row.
public enum HeartbeatState: String, Sendable, Codable {
    case running
    case stopped
}

/// One service's "I am alive" record, stored in `service_heartbeats` (one row per service).
public struct Heartbeat: Sendable, Equatable {
    public var service: ServiceName
    public var pid: Int32
    public var host: String
    public var version: String
    public var startedAt: Date
    public var lastBeat: Date
    public var state: HeartbeatState
    public var detail: String?
    /// How often the writer promised to beat; readers judge staleness against it.
    public var intervalSeconds: Int
    /// The writer's resident memory at this beat (nil when it could not be read).
    public var residentBytes: UInt64?

    public init(
        service: ServiceName, pid: Int32, host: String, version: String, startedAt: Date,
        lastBeat: Date, state: HeartbeatState, detail: String? = nil, intervalSeconds: Int, residentBytes: UInt64? = nil
    ) {
        self.residentBytes = residentBytes
        self.service = service
        self.pid = pid
        self.host = host
        self.version = version
        self.startedAt = startedAt
        self.lastBeat = lastBeat
        self.state = state
        self.detail = detail
        self.intervalSeconds = intervalSeconds
    }
}

/// What a reader concludes about a peer service from its heartbeat.
public enum PeerState: String, Sendable, Codable {
    case running
    case stopped
    case stale
    case unknown

    /// A heartbeat older than this many beat intervals means the writer is presumed dead.
    public static let staleAfterBeats = 3

    /// Judges a heartbeat at `now`: no row is `unknown`, a graceful exit is `stopped`, a
    /// `running` row older than three intervals is `stale`.
    public static func evaluate(_ heartbeat: Heartbeat?, now: Date) -> PeerState {
        guard let heartbeat else { return .unknown }
        if heartbeat.state == .stopped { return .stopped }
        let age = now.timeIntervalSince(heartbeat.lastBeat)
        let limit = Double(max(heartbeat.intervalSeconds, 1) * staleAfterBeats)
        return age > limit ? .stale : .running
    }
}
