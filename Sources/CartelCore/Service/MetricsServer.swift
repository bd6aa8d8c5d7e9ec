import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The small HTTP server each background service runs for operators and Prometheus:
/// `GET /metrics` (Prometheus text format from the service's own registry) and `GET /health`
/// (JSON, 200 when `check` says healthy, else 503).
public enum MetricsServer {
    public struct Check: Sendable {
        public var healthy: Bool
        public var details: [String: String]

        public init(healthy: Bool, details: [String: String]) {
            self.healthy = healthy
            self.details = details
        }
    }

    public static func buildApplication(
        host: String, port: Int, registry: PrometheusCollectorRegistry, service: ServiceName, memoryBudgetMB: Int? = nil,
        beforeScrape: @escaping @Sendable () -> Void = {}, check: @escaping @Sendable () -> Check,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        let memory = ProcMemoryProbe()
        let factory = PrometheusMetricsFactory(registry: registry)
        let resident = Gauge(label: "process_resident_memory_bytes", factory: factory)
        if let memoryBudgetMB {
            Gauge(label: "signalcartel_memory_budget_bytes", factory: factory).record(Double(memoryBudgetMB) * 1_048_576)
        }
        Gauge(label: "process_start_time_seconds", factory: factory).record(ProcessIdentity.current().startedAt.timeIntervalSince1970)
        router.get("/metrics") { _, _ -> Response in
            if let bytes = memory.residentBytes() { resident.record(Double(bytes)) }
            beforeScrape()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health") { _, _ -> Response in
            let result = check()
            var body = result.details
            body["status"] = result.healthy ? "ok" : "degraded"
            body["service"] = service.rawValue
            return try WebsiteApp.jsonResponse(body, status: result.healthy ? .ok : .serviceUnavailable)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "SignalCartel-\(service.rawValue)"),
            logger: logger)
    }
}
