import Foundation
import Hummingbird
import Logging
import NIOCore

/// The JSON API under `/api`, as `OpenAPIDocument.yaml` describes it (a test checks every
/// route, parameter and status against the document).
struct WebsiteAPI: Sendable {
    let dashboard: Dashboard
    let hub: EventHub<SystemTime>
    let storage: any StorageProvider
    let identity: ProcessIdentity
    let redis: RedisLink?
    let logger: Logger
    let cache: ResponseCache

    /// Every route the API serves, `METHOD path` with `{name}` path parameters as the document
    /// writes them, and the query parameters each accepts.
    static let routes: [String: Set<String>] = [
        "GET /api/health": [], "GET /api/status": [], "GET /api/markets": [],
        "GET /api/candles": ["pair", "interval", "limit", "before"],
        "GET /api/strategies": [], "GET /api/strategies/{id}": [], "PATCH /api/strategies/{id}": [],
        "GET /api/positions": [], "GET /api/trades": ["strategy", "pair", "from", "to", "limit", "cursor"],
        "GET /api/trades.csv": ["strategy", "pair", "from", "to"], "GET /api/performance": [],
        "GET /api/equity": ["from", "to", "step"], "GET /api/signals": ["strategy", "limit"], "GET /api/orders": ["strategy", "limit"],
        "GET /api/pause": [], "POST /api/pause": [], "POST /api/resume": [], "GET /api/events": [], "GET /api/openapi.yaml": [],
    ]

    static func allowed(_ route: String) -> Set<String> { routes[route] ?? [] }

    func register(on router: Router<WebsiteContext>) {
        router.get("/api/health") { request, _ in
            _ = try QueryReader(request, allowed: [])
            return try await cache.json(ResponseCache.health) {
                try await WebsiteApp.healthBody(storage: storage, identity: identity, redis: redis, logger: logger)
            }
        }
        get(router, "/api/status") { _ in try await dashboard.status() }
        get(router, "/api/markets") { _ in try await dashboard.markets() }
        let candleParameters = Self.allowed("GET /api/candles")
        router.get("/api/candles") { request, _ in
            // Kept until the next stored candle, under the query as sent (see ResponseCache).
            let slot = cache.candles(query: request.uri.query)
            if let entry = cache.entry(slot) { return ResponseCache.response(entry.status, entry.body) }
            let query = try QueryReader(request, allowed: candleParameters)
            guard let pair = try query.pair("pair") else { throw APIError.badRequest("'pair' is required (e.g. BTC/USD)", code: "missing_parameter") }
            guard let interval = try query.interval("interval") else {
                throw APIError.badRequest("'interval' is required (minutes, e.g. 1 or 60)", code: "missing_parameter")
            }
            let limit = try query.int("limit", in: 1...5000) ?? 500
            let before = try query.date("before")
            return try await cache.json(slot) {
                let candles = try await dashboard.candles(pair: pair, intervalMinutes: interval, limit: limit, before: before)
                return (.ok, try WebsiteApp.jsonBody(CandlesDTO(pair: pair, intervalMinutes: interval, candles: candles.map(CandleDTO.init))))
            }
        }
        get(router, "/api/strategies") { _ in StrategiesDTO(strategies: try await dashboard.strategies()) }
        router.get("/api/strategies/:id") { request, context in
            _ = try QueryReader(request, allowed: [])
            return try WebsiteApp.jsonResponse(try await dashboard.strategy(id: try Self.id(context)), status: .ok)
        }
        router.patch("/api/strategies/:id") { request, context in
            _ = try QueryReader(request, allowed: [])
            let id = try Self.id(context)
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            let patch = try Self.strategyPatch(Data(buffer: body))
            let updated = try await dashboard.update(strategy: id, with: patch)
            logger.notice("strategy changed from the website", metadata: [
                "strategy": "\(updated.name)", "enabled": "\(updated.enabled)", "by": "\(Self.who(context))",
            ])
            return try WebsiteApp.jsonResponse(updated, status: .ok)
        }
        get(router, "/api/positions") { _ in try await dashboard.positions() }
        get(router, "/api/trades") { query in try await dashboard.trades(try Self.tradeQuery(query, paged: true)) }
        router.get("/api/trades.csv") { request, _ in
            let query = try QueryReader(request, allowed: Self.allowed("GET /api/trades.csv"))
            let csv = try await dashboard.tradesCSV(try Self.tradeQuery(query, paged: false))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"signalcartel-trades.csv\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
        get(router, "/api/performance") { _ in try await dashboard.performance() }
        get(router, "/api/equity") { query in
            try await dashboard.equity(
                from: try query.date("from"), to: try query.date("to"), stepSeconds: try query.int("step", in: 1...31_536_000))
        }
        get(router, "/api/signals") { query in
            try await dashboard.signals(limit: try query.int("limit", in: 1...1000) ?? 100, strategyID: try Self.strategyID(query))
        }
        get(router, "/api/orders") { query in
            try await dashboard.orders(limit: try query.int("limit", in: 1...1000) ?? 100, strategyID: try Self.strategyID(query))
        }
        get(router, "/api/pause") { _ in try await dashboard.pause() }
        for (path, paused) in [("/api/pause", true), ("/api/resume", false)] {
            router.post(RouterPath(path)) { request, context in
                _ = try QueryReader(request, allowed: [])
                let state = try await dashboard.setPaused(paused, by: "website")
                logger.notice(paused ? "new entries paused from the website" : "new entries resumed from the website", metadata: ["by": "\(Self.who(context))"])
                return try WebsiteApp.jsonResponse(state, status: .ok)
            }
        }
        router.get("/api/events") { request, _ in try await events(request) }
        router.get("/api/openapi.yaml") { request, _ in
            _ = try QueryReader(request, allowed: [])
            return Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }

    /// A GET route answering JSON, with its query parameters checked against `routes`.
    func get<Body: Encodable & Sendable>(
        _ router: Router<WebsiteContext>, _ path: String, _ handler: @escaping @Sendable (QueryReader) async throws -> Body
    ) {
        let allowed = Self.allowed("GET \(path)")
        router.get(RouterPath(path)) { request, _ in
            let query = try QueryReader(request, allowed: allowed)
            return try WebsiteApp.jsonResponse(try await handler(query), status: .ok)
        }
    }

    static func id(_ context: WebsiteContext) throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.badRequest("the strategy id must be a positive whole number")
        }
        return id
    }

    static func strategyID(_ query: QueryReader) throws -> Int64? {
        guard let text = query.string("strategy") else { return nil }
        guard let id = Int64(text), id > 0 else { throw APIError.badRequest("'strategy' must be a strategy id (a positive whole number)") }
        return id
    }

    static func tradeQuery(_ query: QueryReader, paged: Bool) throws -> TradeQuery {
        var cursor: Int64?
        if paged, let text = query.string("cursor") {
            guard let id = Int64(text), id > 0 else { throw APIError.badRequest("'cursor' must be the nextCursor of a previous page") }
            cursor = id
        }
        let from = try query.date("from"), to = try query.date("to")
        if let from, let to, from > to { throw APIError.badRequest("'from' must not be after 'to'") }
        return TradeQuery(
            strategyID: try strategyID(query), pair: try query.pair("pair"), from: from, to: to,
            limit: paged ? try query.int("limit", in: 1...500) ?? 50 : 1000, beforeID: cursor)
    }

    /// `{"enabled": true|false, "parameters": {"name": number, ...}}`, nothing else.
    static func strategyPatch(_ data: Data) throws -> Dashboard.StrategyPatch {
        guard !data.isEmpty else { throw APIError.badRequest("send a JSON object: {\"enabled\": false} or {\"parameters\": {\"fast\": 12}}", code: "invalid_json") }
        let body: [String: PatchValue]
        do {
            body = try JSONDecoder().decode([String: PatchValue].self, from: data)
        } catch {
            throw APIError.badRequest("the body must be a JSON object with 'enabled' (boolean) and/or 'parameters' (object of numbers)", code: "invalid_json")
        }
        var patch = Dashboard.StrategyPatch()
        for (key, value) in body {
            switch (key, value) {
            case ("enabled", .bool(let enabled)): patch.enabled = enabled
            case ("parameters", .numbers(let numbers)): patch.parameters = numbers
            case ("enabled", _): throw APIError.badRequest("'enabled' must be true or false", code: "invalid_json")
            case ("parameters", _): throw APIError.badRequest("'parameters' must be an object of finite numbers", code: "invalid_json")
            default: throw APIError.badRequest("unknown field '\(key.prefix(40))': only 'enabled' and 'parameters' can change", code: "invalid_json")
            }
        }
        return patch
    }

    enum PatchValue: Decodable {
        case bool(Bool)
        case numbers([String: Double])
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode([String: Double].self), value.values.allSatisfy(\.isFinite) {
                self = .numbers(value)
            } else {
                self = .other
            }
        }
    }

    static func who(_ context: WebsiteContext) -> String {
        switch context.visitor {
        case .anonymous: "anonymous"
        case .session: "session"
        case .bearer: "api-token"
        }
    }

    // MARK: - Server-Sent Events

    /// The live stream: stored events after `Last-Event-ID` first (a reconnecting client misses
    /// nothing still in the journal), then each new one as it is stored, a keep-alive comment
    /// every 15 s.
    func events(_ request: Request) async throws -> Response {
        _ = try QueryReader(request, allowed: [])
        var resumeAfter: Int64?
        if let header = request.headers[.init("Last-Event-ID")!] {
            guard let id = Int64(header.trimmingCharacters(in: CharacterSet.whitespaces)), id >= 0 else {
                throw APIError.badRequest("Last-Event-ID must be the id of an event this stream sent")
            }
            resumeAfter = id
        }
        // The journal first: while the database is unreachable this fails before a slot is taken.
        let journal = try await storage.storage() as? any DashboardStorage
        // An id from the future (another database, a reset journal) resumes from the newest.
        let newest = try await journal?.latestEventID() ?? 0
        let resume = resumeAfter.map { min($0, newest) }
        guard let (client, stream) = await hub.subscribe() else {
            throw APIError(
                .tooManyRequests, "too_many_clients", "\(hub.maxClients) event streams are open already (WEBSITE_MAX_SSE_CLIENTS)",
                headers: [.retryAfter: "10"])
        }
        let hub = self.hub
        let logger = self.logger
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                defer { Task { await hub.unsubscribe(client) } }
                do {
                    try await writer.write(ByteBuffer(string: ServerSentEvents.preamble))
                    // A new client starts at the newest event when it connected; the journal is
                    // read from there too, so an event stored before the hub first looked (a
                    // hub that started late) is not lost to it.
                    var sent = resume ?? newest
                    if let journal {
                        // Page through what was missed (the journal keeps a day).
                        while true {
                            let missed = try await journal.events(after: sent, limit: 500)
                            for event in missed {
                                try await writer.write(ByteBuffer(string: ServerSentEvents.frame(event)))
                                sent = event.id
                            }
                            if missed.count < 500 { break }
                        }
                    }
                    for await item in stream {
                        switch item {
                        case .event(let event):
                            guard event.id > sent else { continue }
                            try await writer.write(ByteBuffer(string: ServerSentEvents.frame(event)))
                            sent = event.id
                        case .keepAlive:
                            try await writer.write(ByteBuffer(string: ServerSentEvents.keepAlive))
                        }
                    }
                } catch {
                    logger.debug("event stream closed", metadata: ["error": "\(error)"])
                }
                try? await writer.finish(nil)
            })
    }
}
