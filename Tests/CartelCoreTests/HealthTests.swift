import CartelCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@Suite struct HealthTests {
    let dir: TemporaryDirectory
    let identity = ProcessIdentity(pid: 99, host: "test", version: "9.9.9", startedAt: Date().addingTimeInterval(-42))
    init() throws { dir = try TemporaryDirectory(prefix: "health") }

    func get(_ storage: any StorageProvider) async throws -> (HTTPResponse.Status, [String: Any]) {
        let app = WebsiteApp.buildApplication(
            configuration: WebsiteConfiguration(service: ServiceConfiguration(
                service: .website, database: .sqlite(path: dir.file("db.sqlite")))),
            storage: storage, identity: identity, logger: Logger(label: "test"))
        return try await app.test(.router) { client in
            try await client.execute(uri: "/api/health", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                return (response.status, HTTP.json(String(buffer: response.body)))
            }
        }
    }

    func peer(_ body: [String: Any], _ name: String) -> [String: Any] {
        (body["services"] as? [String: Any])?[name] as? [String: Any] ?? [:]
    }

    @Test func healthyWhenTheDatabaseAnswersAndReportsEachPeer() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.recordHeartbeat(Heartbeat(
            service: .tradingEngine, pid: 4242, host: "vps-2", version: "v", startedAt: Date(),
            lastBeat: Date(), state: .running, intervalSeconds: 5))
        let (status, body) = try await get(OpenStorage(storage))
        #expect(status == .ok)
        #expect(body["status"] as? String == "ok")
        #expect(body["service"] as? String == "website")
        #expect(body["version"] as? String == "9.9.9")
        #expect(body["database"] as? String == "ok")
        #expect((body["uptimeSeconds"] as? Int ?? 0) >= 42)
        #expect(peer(body, "trading-engine")["state"] as? String == "running")
        #expect(peer(body, "trading-engine")["pid"] as? Int == 4242)
        #expect(peer(body, "trading-engine")["host"] as? String == "vps-2")
        #expect(peer(body, "market-data")["host"] is NSNull)
        #expect(peer(body, "trading-engine")["lastHeartbeat"] is String)
        #expect(peer(body, "market-data")["state"] as? String == "unknown")
        #expect(peer(body, "market-data")["pid"] is NSNull)
    }

    @Test func aPeerWhoseHeartbeatIsOlderThanThreeBeatsIsStale() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.recordHeartbeat(Heartbeat(
            service: .marketData, pid: 17, host: "h", version: "v", startedAt: Date().addingTimeInterval(-100),
            lastBeat: Date().addingTimeInterval(-16), state: .running, intervalSeconds: 5))
        try await storage.recordHeartbeat(Heartbeat(
            service: .tradingEngine, pid: 18, host: "h", version: "v", startedAt: Date().addingTimeInterval(-100),
            lastBeat: Date().addingTimeInterval(-16), state: .stopped, intervalSeconds: 5))
        let (status, body) = try await get(OpenStorage(storage))
        #expect(status == .ok)
        #expect(peer(body, "market-data")["state"] as? String == "stale")
        #expect(peer(body, "trading-engine")["state"] as? String == "stopped")
    }

    @Test func degradedWith503WhenTheDatabaseIsUnreachable() async throws {
        defer { dir.remove() }
        _ = FileManager.default.createFile(atPath: dir.file("not-a-dir"), contents: Data())
        let provider = ReconnectingProvider(location: .sqlite(path: dir.file("not-a-dir/db.sqlite")))
        let (status, body) = try await get(provider)
        #expect(status == .serviceUnavailable)
        #expect(body["status"] as? String == "degraded")
        #expect(body["database"] as? String == "unreachable")
        #expect(peer(body, "trading-engine")["state"] as? String == "unknown")
    }

    @Test func recoversOnceTheDatabaseBecomesReachable() async throws {
        defer { dir.remove() }
        _ = FileManager.default.createFile(atPath: dir.file("later"), contents: Data())
        let provider = ReconnectingProvider(
            location: .sqlite(path: dir.file("later/db.sqlite")), retryInterval: 0)
        #expect(try await get(provider).0 == .serviceUnavailable)
        try FileManager.default.removeItem(atPath: dir.file("later"))
        #expect(try await get(provider).0 == .ok)
    }

    @Test func peerStateFollowsTheHeartbeatAge() {
        let now = Date()
        func beat(ago: TimeInterval, state: HeartbeatState = .running) -> Heartbeat {
            Heartbeat(
                service: .marketData, pid: 1, host: "h", version: "v", startedAt: now,
                lastBeat: now.addingTimeInterval(-ago), state: state, intervalSeconds: 5)
        }
        #expect(PeerState.evaluate(nil, now: now) == .unknown)
        #expect(PeerState.evaluate(beat(ago: 14.9), now: now) == .running)
        #expect(PeerState.evaluate(beat(ago: 15.1), now: now) == .stale)
        #expect(PeerState.evaluate(beat(ago: 1, state: .stopped), now: now) == .stopped)
    }

    @Test func unknownRoutesAre404() async throws {
        defer { dir.remove() }
        let app = WebsiteApp.buildApplication(
            configuration: WebsiteConfiguration(service: ServiceConfiguration(
                service: .website, database: .sqlite(path: dir.file("db.sqlite")))),
            storage: OpenStorage(try SQLiteStorage(path: dir.file("db.sqlite"))), identity: identity,
            logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/nope", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/health", method: .post) { #expect($0.status != .ok) }
        }
    }
}
