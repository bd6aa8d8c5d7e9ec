import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Builds the website: the dashboard pages, the JSON API under `/api`, its event stream and
/// `/metrics`, behind the auth, CSRF, security-header and error middleware; and its heartbeat.
public enum WebsiteApp {
    /// What the application is built from besides its configuration.
    public struct Parts: Sendable {
        public let hub: EventHub<SystemTime>
        public let registry: PrometheusCollectorRegistry
        public let metrics: PrometheusMetricsFactory
        /// Mixed into the session-signing key (stored in the database so sessions outlive a restart).
        public let sessionSalt: Data
        /// Redis (`REDIS_URL`): pause announcements, the shared cache, the health detail.
        public let redis: RedisLink?

        public init(
            hub: EventHub<SystemTime>, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), sessionSalt: Data = WebsiteApp.randomSalt(),
            redis: RedisLink? = nil
        ) {
            self.redis = redis
            self.hub = hub
            self.registry = registry
            metrics = PrometheusMetricsFactory(registry: registry)
            self.sessionSalt = sessionSalt
        }
    }

    /// Every API operation (`METHOD /path`) with the query parameters it accepts.
    public static var apiRoutes: [String: Set<String>] { WebsiteAPI.routes }

    public static func randomSalt() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The HTTP application alone (tests drive it with HummingbirdTesting).
    public static func buildApplication(
        configuration: WebsiteConfiguration, storage: any StorageProvider, identity: ProcessIdentity, parts: Parts? = nil,
        clock: any WallClock = SystemTime(), serverRunning: AsyncStream<Void>.Continuation? = nil, logger: Logger
    ) -> some ApplicationProtocol {
        let parts = parts ?? Parts(hub: EventHub(storage: storage, clock: SystemTime(), maxClients: configuration.maxEventClients, logger: logger))
        let router = Router(context: WebsiteContext.self)
        let auth = WebsiteAuth(configuration: configuration, salt: parts.sessionSalt)
        let instruments = RouteInstruments(factory: parts.metrics)
        let hub = parts.hub
        let cache = ResponseCache(followed: { hub.followed.load(ordering: .relaxed) })
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: RequestMetricsMiddleware(instruments: instruments))
        router.add(middleware: BodyLimitMiddleware())
        router.add(middleware: AuthMiddleware(auth: auth, clock: clock))
        router.add(middleware: LogRequestsMiddleware(.debug))
        let dashboard = Dashboard(
            provider: storage, trading: configuration.trading, identity: identity, clock: clock,
            publisher: parts.redis ?? NoEventPublisher(), shared: parts.redis)
        WebsiteAPI(dashboard: dashboard, hub: parts.hub, storage: storage, identity: identity, redis: parts.redis, logger: logger, cache: cache)
            .register(on: router)
        Pages(dashboard: dashboard, auth: auth, logs: LogTail(directory: configuration.logDirectory), clock: clock, logger: logger)
            .register(on: router)
        let memory = ProcMemoryProbe()
        let metrics = parts.metrics
        let budgetBytes = Double(configuration.service.memoryBudgetMB) * 1_048_576
        router.get("/metrics") { request, _ -> Response in
            _ = try QueryReader(request, allowed: [])
            if let bytes = memory.residentBytes() { Gauge(label: "process_resident_memory_bytes", factory: metrics).record(Double(bytes)) }
            Gauge(label: "signalcartel_memory_budget_bytes", factory: metrics).record(budgetBytes)
            Gauge(label: "process_start_time_seconds", factory: metrics).record(identity.startedAt.timeIntervalSince1970)
            await recordPlatformGauges(storage: storage, metrics: metrics, now: clock.wallTime)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: parts.registry.emitToBuffer())))
        }
        let serverName = "SignalCartel"
        let lane = CachedAnswerLane(cache: cache, auth: auth, clock: clock, instruments: instruments, serverName: serverName, logger: logger)
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [CachedAnswerHandler(lane: lane)])),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: serverName),
            onServerRunning: { _ in serverRunning?.yield() },
            logger: logger)
    }

    /// Everything the `website` executable runs: heartbeat first, so it is stopped last and can
    /// record `stopped` after the server has drained; the event hub last, so it is stopped first
    /// and ends the open event streams that would otherwise hold the server's drain.
    public static func buildServiceGroup(
        configuration: WebsiteConfiguration, storage: any StorageProvider,
        identity: ProcessIdentity = .current(), logger: Logger
    ) async -> ServiceGroup {
        let (bound, boundContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        // The website listens to the journaled events: each wakes the event stream's journal reader.
        let redis = RedisLink.configured(configuration.service, listening: BusEvent.journaled, logger: logger, metrics: factory)
        let heartbeat = HeartbeatService(
            service: .website, storage: storage, identity: identity,
            intervalSeconds: configuration.service.heartbeatSeconds,
            memoryBudgetMB: configuration.service.memoryBudgetMB, clock: SystemTime(), ready: bound,
            publisher: redis ?? NoEventPublisher(), logger: logger)
        let hub = EventHub(
            storage: storage, clock: SystemTime(), maxClients: configuration.maxEventClients,
            poll: redis == nil ? .milliseconds(250) : configuration.service.redisCatchUp, wakeUps: redis?.subscribe(), logger: logger,
            onClientsChanged: { Gauge(label: "website_sse_clients", factory: factory).record(Double($0)) })
        let parts = Parts(
            hub: hub, registry: registry, sessionSalt: await sessionSalt(storage: storage, configuration: configuration, logger: logger),
            redis: redis)
        let app = buildApplication(
            configuration: configuration, storage: storage, identity: identity, parts: parts,
            serverRunning: boundContinuation, logger: logger)
        if configuration.password == nil {
            logger.notice("no DASHBOARD_PASSWORD: the dashboard is read-only and only listens on loopback")
        }
        let alerts = AlertApp.services(
            configuration: configuration.service, storage: storage, identity: identity, trading: configuration.trading, logger: logger)
        // Redis first: stopped last, after the heartbeat has announced `stopped`.
        let services: [any Service] = (redis.map { [$0] } ?? []) + [heartbeat, app] + alerts + [hub]
        return ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }

    /// What the website knows of the whole platform from the database, for the alert rules:
    /// each service's heartbeat age and whether it is stale (missed three beats), and the alert
    /// outbox's backlog. Nothing is recorded while the database is unreachable.
    static func recordPlatformGauges(storage: any StorageProvider, metrics: any MetricsFactory, now: Date) async {
        guard let store = try? await storage.storage(), let beats = try? await store.heartbeats() else { return }
        for name in ServiceName.allCases {
            guard let beat = beats.first(where: { $0.service == name }) else { continue }
            let dimensions = [("service", name.rawValue)]
            Gauge(label: "signalcartel_heartbeat_age_seconds", dimensions: dimensions, factory: metrics)
                .record(max(0, now.timeIntervalSince(beat.lastBeat)))
            Gauge(label: "signalcartel_heartbeat_stale", dimensions: dimensions, factory: metrics)
                .record(PeerState.evaluate(beat, now: now) == .stale ? 1 : 0)
        }
        if let outbox = store as? any AlertStorage, let pending = try? await outbox.pendingAlerts(limit: 1000) {
            Gauge(label: "signalcartel_alert_outbox_pending", factory: metrics).record(Double(pending.count))
        }
    }

    static let saltKey = "website_session_salt"

    /// The stored session salt (made once); a random one for this run while the database is
    /// unreachable (sessions then end with the process).
    static func sessionSalt(storage: any StorageProvider, configuration: WebsiteConfiguration, logger: Logger) async -> Data {
        guard configuration.password != nil else { return randomSalt() }
        do {
            guard let ledger = try await storage.storage() as? any LedgerStorage else { return randomSalt() }
            if let text = try await ledger.engineState(saltKey), let data = Data(base64Encoded: text), data.count == 32 { return data }
            let salt = randomSalt()
            try await ledger.setEngineState(saltKey, salt.base64EncodedString(), at: Date())
            return salt
        } catch {
            logger.warning("database unreachable: sessions will not outlive this process", metadata: ["error": "\(error)"])
            return randomSalt()
        }
    }

    static func healthBody(
        storage: any StorageProvider, identity: ProcessIdentity, redis: RedisLink? = nil, logger: Logger
    ) async throws -> (HTTPResponse.Status, ByteBuffer) {
        let rows: Result<[Heartbeat], any Error>
        do {
            let store = try await storage.storage()
            try await store.ping()
            rows = .success(try await store.heartbeats())
        } catch {
            logger.warning("health check: database unreachable", metadata: ["error": "\(error)"])
            rows = .failure(error)
        }
        let report = HealthReport.make(heartbeats: rows, identity: identity, now: Date(), redis: redis?.healthDetail ?? "not configured")
        return (report.isHealthy ? .ok : .serviceUnavailable, try jsonBody(report))
    }

    static func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        ResponseCache.response(status, try jsonBody(value))
    }

    /// JSON as the API writes it: sorted keys, times ISO-8601 UTC to the second.
    static func jsonBody(_ value: some Encodable) throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime.iso8601(date, fractional: false))
        }
        encoder.outputFormatting = [.sortedKeys]
        return ByteBuffer(bytes: try encoder.encode(value))
    }
}
