import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Synchronization

/// Turns every error into an answer: JSON `{"error":{"code","message"}}` under `/api/` (and
/// `/metrics`), a small HTML page elsewhere. Bad input is a 4xx with a message; only a fault of
/// ours or of the database is a 5xx, and that is logged.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = WebsiteContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.classify(error)
            if apiError.status.code >= 500 {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            let path = request.uri.path
            if path.hasPrefix("/api/") || path == "/metrics" || path.hasPrefix("/static/") {
                return Self.json(apiError)
            }
            return Pages.errorPage(apiError)
        }
    }

    static func classify(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "body_too_large"
            case .badRequest: code = "bad_request"
            case .unsupportedMediaType: code = "unsupported_media_type"
            default: code = "http_\(error.status.code)"
            }
            var message = error.body ?? error.status.reasonPhrase
            if error.status == .contentTooLarge { message = "request bodies are limited to \(WebsiteLimits.maxBodyBytes / 1024) KiB" }
            if error.status == .notFound, error.body == nil { message = "no such page or endpoint" }
            return APIError(error.status, code, message, headers: error.headers)
        case is DecodingError:
            return APIError.badRequest("the body is not the JSON this endpoint expects", code: "invalid_json")
        case is StorageError:
            return APIError(.serviceUnavailable, "database_unavailable", "the database cannot be read right now; the reason is in the website's log")
        default:
            return APIError(.serviceUnavailable, "unavailable", "the request could not be completed; the error is in the website's log")
        }
    }

    static func json(_ error: APIError) -> Response {
        let body = ErrorBodyDTO(error: .init(code: error.code, message: error.message))
        var response = (try? WebsiteApp.jsonResponse(body, status: error.status))
            ?? Response(status: error.status, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":{\"code\":\"\(error.code)\",\"message\":\"\"}}")))
        for field in error.headers { response.headers.append(field) }
        return response
    }
}

/// Refuses bodies over the limit from their `Content-Length` before reading them.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = WebsiteContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > WebsiteLimits.maxBodyBytes {
            throw HTTPError(.contentTooLarge)
        }
        return try await next(request, context)
    }
}

/// Sets the security headers on every answer, errors included (it wraps everything else).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = WebsiteContext

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Made once: a field built from strings checks its name and value, a cost per request.
    static let fields: [HTTPField] = [
        HTTPField(name: .contentSecurityPolicy, value: contentSecurityPolicy),
        HTTPField(name: .xContentTypeOptions, value: "nosniff"),
        HTTPField(name: HTTPField.Name("X-Frame-Options")!, value: "DENY"),
        HTTPField(name: HTTPField.Name("Referrer-Policy")!, value: "same-origin"),
        HTTPField(name: HTTPField.Name("Cross-Origin-Opener-Policy")!, value: "same-origin"),
    ]
    static let noStore = HTTPField(name: .cacheControl, value: "no-store")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for field in Self.fields where response.headers[field.name] != nil { response.headers[field.name] = nil }
        response.headers.append(contentsOf: Self.fields)
        if response.headers[.cacheControl] == nil { response.headers.append(Self.noStore) }
        return response
    }
}

/// Requests by route template, method and status, and their latency, in the website's own
/// Prometheus registry (the route template, never the raw path, so the label set stays small).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = WebsiteContext
    let instruments: RouteInstruments

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = Int(response.status.code)
            record(request, context: context, status: status, start: start)
            return response
        } catch {
            record(request, context: context, status: Int(ErrorMiddleware.classify(error).status.code), start: start)
            throw error
        }
    }

    func record(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        instruments.record(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, start: start)
    }
}

/// The counters and timers of each route, made once (a registry lookup per request costs more
/// than the request).
final class RouteInstruments: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    let factory: any MetricsFactory
    let known = Mutex<[Key: (Counter, Timer)]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Counts one answered request and its time since `start`.
    func record(route: String, method: String, status: Int, start: ContinuousClock.Instant) {
        let (counter, timer) = get(route: route, method: method, status: status)
        counter.increment()
        let elapsed = ContinuousClock.now - start
        timer.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func get(route: String, method: String, status: Int) -> (Counter, Timer) {
        let key = Key(route: route, method: method, status: status)
        if let found = known.withLock({ $0[key] }) { return found }
        let made = (
            Counter(label: "website_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory),
            Timer(label: "website_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
        )
        known.withLock { $0[key] = made }
        return made
    }
}
