import Foundation

/// The body of `GET /api/health`.
public struct HealthReport: Sendable, Equatable, Encodable {
    /// What the website knows of one peer service.
    public struct Peer: Sendable, Equatable, Encodable {
        public var state: PeerState
        public var pid: Int32?
        /// The machine its heartbeat comes from (services may run on several).
        public var host: String?
        public var lastHeartbeat: Date?

        enum CodingKeys: String, CodingKey { case state, pid, host, lastHeartbeat }

        // Absent values are written as explicit nulls so clients see every key.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(state, forKey: .state)
            try container.encode(pid, forKey: .pid)
            try container.encode(host, forKey: .host)
            try container.encode(lastHeartbeat, forKey: .lastHeartbeat)
        }
    }

    public var status: String
    public var service: String
    public var version: String
    public var uptimeSeconds: Int
    public var database: String
    /// `not configured`, `ok`, or `degraded: <why>` (Redis is optional: it never makes the
    /// website unhealthy).
    public var redis: String
    public var services: [String: Peer]

    public var isHealthy: Bool { status == "ok" }

    /// Builds the report from what the database said (or the error it gave).
    public static func make(
        heartbeats: Result<[Heartbeat], any Error>, identity: ProcessIdentity, now: Date, redis: String = "not configured"
    ) -> HealthReport {
        let peers: [ServiceName] = [.tradingEngine, .marketData]
        var services: [String: Peer] = [:]
        switch heartbeats {
        case .success(let rows):
            for peer in peers {
                let row = rows.first { $0.service == peer }
                services[peer.rawValue] = Peer(
                    state: PeerState.evaluate(row, now: now), pid: row?.pid, host: row?.host, lastHeartbeat: row?.lastBeat)
            }
        case .failure:
            for peer in peers {
                services[peer.rawValue] = Peer(state: .unknown, pid: nil, host: nil, lastHeartbeat: nil)
            }
        }
        let databaseOK = (try? heartbeats.get()) != nil
        return HealthReport(
            status: databaseOK ? "ok" : "degraded",
            service: ServiceName.website.rawValue,
            version: identity.version,
            uptimeSeconds: max(0, Int(now.timeIntervalSince(identity.startedAt))),
            database: databaseOK ? "ok" : "unreachable",
            redis: redis,
            services: services)
    }
}
