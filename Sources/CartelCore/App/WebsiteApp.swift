import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the website: the Hummingbird application (`/api/health`) and its heartbeat.
public enum WebsiteApp {
    /// The HTTP application alone (tests drive it with HummingbirdTesting).
    public static func buildApplication(
        configuration: WebsiteConfiguration, storage: any StorageProvider, identity: ProcessIdentity,
        serverRunning: AsyncStream<Void>.Continuation? = nil, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.get("/api/health") { _, _ in
            try await health(storage: storage, identity: identity, logger: logger)
        }
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "SignalCartel"),
            onServerRunning: { _ in serverRunning?.yield() },
            logger: logger)
    }

    /// Everything the `website` executable runs: heartbeat first, so it is stopped last and can
    /// record `stopped` after the server has drained.
    public static func buildServiceGroup(
        configuration: WebsiteConfiguration, storage: any StorageProvider,
        identity: ProcessIdentity = .current(), logger: Logger
    ) -> ServiceGroup {
        let (bound, boundContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let heartbeat = HeartbeatService(
            service: .website, storage: storage, identity: identity,
            intervalSeconds: configuration.service.heartbeatSeconds,
            memoryBudgetMB: configuration.service.memoryBudgetMB, clock: SystemTime(), ready: bound,
            logger: logger)
        let app = buildApplication(
            configuration: configuration, storage: storage, identity: identity,
            serverRunning: boundContinuation, logger: logger)
        return ServiceGroup(configuration: .init(
            services: [heartbeat, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }

    static func health(storage: any StorageProvider, identity: ProcessIdentity, logger: Logger) async throws -> Response {
        let rows: Result<[Heartbeat], any Error>
        do {
            let store = try await storage.storage()
            try await store.ping()
            rows = .success(try await store.heartbeats())
        } catch {
            logger.warning("health check: database unreachable", metadata: ["error": "\(error)"])
            rows = .failure(error)
        }
        let report = HealthReport.make(heartbeats: rows, identity: identity, now: Date())
        return try jsonResponse(report, status: report.isHealthy ? .ok : .serviceUnavailable)
    }

    static func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime.iso8601(date, fractional: false))
        }
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
