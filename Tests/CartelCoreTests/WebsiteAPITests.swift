import CartelCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestSupport
import Testing

/// The JSON API and the pages, driven through the router with a real SQLite file seeded by the
/// real paper engine.
@Suite struct WebsiteAPITests {
    static let password = "correct horse battery"
    static let token = "0123456789abcdef0123456789abcdef"
    let dir: TemporaryDirectory
    let identity = ProcessIdentity(pid: 4321, host: "test", version: "9.9.9", startedAt: Date().addingTimeInterval(-60))

    init() throws { dir = try TemporaryDirectory(prefix: "website") }

    func configuration(password: Bool = false, logs: String? = nil) -> WebsiteConfiguration {
        WebsiteConfiguration(
            service: ServiceConfiguration(service: .website, database: .sqlite(path: dir.file("db.sqlite"))),
            password: password ? Self.password : nil, apiToken: password ? Self.token : nil, logDirectory: logs ?? dir.file("logs"))
    }

    func seeded(extra: [StrategySpec] = []) async throws -> (SQLiteStorage, DashboardSeed.Summary) {
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let summary = try await DashboardSeed.seed(storage, cycles: 4, extra: extra)
        return (storage, summary)
    }

    func app(_ storage: SQLiteStorage, password: Bool = false) -> some ApplicationProtocol {
        WebsiteApp.buildApplication(
            configuration: configuration(password: password), storage: OpenStorage(storage), identity: identity, logger: Logger(label: "test"))
    }

    static func json(_ response: TestResponse) -> [String: Any] { HTTP.json(String(buffer: response.body)) }

    static func errorCode(_ response: TestResponse) -> String? { (json(response)["error"] as? [String: Any])?["code"] as? String }

    // MARK: - Reads

    @Test func everyReadEndpointAnswersWithTheSeededFigures() async throws {
        defer { dir.remove() }
        let (storage, summary) = try await seeded()
        #expect(summary.trades >= 4)
        try await app(storage).test(.router) { client in
            try await client.execute(uri: "/api/status", method: .get) { response in
                #expect(response.status == .ok)
                let body = Self.json(response)
                #expect(body["mode"] as? String == "paper" && body["paused"] as? Bool == false && body["version"] as? String == "9.9.9")
                let services = body["services"] as? [[String: Any]] ?? []
                #expect(services.map { $0["name"] as? String } == ["website", "trading-engine", "market-data"])
                #expect(services[1]["state"] as? String == "running" && services[1]["residentBytes"] as? Int == 26_000_000)
            }
            try await client.execute(uri: "/api/markets", method: .get) { response in
                let market = (Self.json(response)["markets"] as? [[String: Any]])?.first ?? [:]
                #expect(market["pair"] as? String == "BTC/USD" && market["status"] as? String != nil)
                #expect((market["ticker"] as? [String: Any])?["last"] as? String == "620")
                #expect(((market["intervals"] as? [[String: Any]])?.first)?["candles"] as? Int == summary.candles)
            }
            try await client.execute(uri: "/api/candles?pair=btc/usd&interval=60&limit=5", method: .get) { response in
                let candles = Self.json(response)["candles"] as? [[String: Any]] ?? []
                #expect(candles.count == 5)
                #expect(candles.last?["close"] as? String == "615")
            }
            try await client.execute(uri: "/api/positions", method: .get) { response in
                let position = (Self.json(response)["positions"] as? [[String: Any]])?.first ?? [:]
                #expect(position["pair"] as? String == "BTC/USD" && position["markPrice"] as? String == "620")
                let quantity = Decimal(string: position["quantity"] as? String ?? "")!, entry = Decimal(string: position["averagePrice"] as? String ?? "")!
                #expect(position["unrealisedPnL"] as? String == "\((620 - entry) * quantity)")
            }
            try await client.execute(uri: "/api/performance", method: .get) { response in
                let total = Self.json(response)["total"] as? [String: Any] ?? [:]
                #expect(total["trades"] as? Int == summary.trades)
                #expect(total["totalPnL"] as? String == "\(summary.totalPnL)")
            }
            try await client.execute(uri: "/api/strategies", method: .get) { response in
                let first = (Self.json(response)["strategies"] as? [[String: Any]])?.first ?? [:]
                #expect(first["name"] as? String == "sma-cross:BTC/USD:60")
                #expect((first["stats"] as? [String: Any])?["trades"] as? Int == summary.trades)
            }
            try await client.execute(uri: "/api/strategies/1", method: .get) { response in
                #expect(Self.json(response)["kind"] as? String == "sma-cross")
            }
            try await client.execute(uri: "/api/equity?step=7200", method: .get) { response in
                let body = Self.json(response)
                let points = body["points"] as? [[String: Any]] ?? []
                #expect(body["stepSeconds"] as? Int == 7200)
                #expect(points.count >= summary.candles / 2 - 1 && points.count <= summary.candles / 2 + 1)
            }
            try await client.execute(uri: "/api/signals?limit=3", method: .get) { response in
                #expect((Self.json(response)["signals"] as? [[String: Any]])?.count == 3)
            }
            try await client.execute(uri: "/api/orders", method: .get) { response in
                let orders = Self.json(response)["orders"] as? [[String: Any]] ?? []
                #expect(orders.count == summary.trades * 2 + 1 && orders.allSatisfy { $0["status"] as? String == "filled" })
            }
            try await client.execute(uri: "/api/trades.csv", method: .get) { response in
                let lines = String(buffer: response.body).split(separator: "\r\n")
                #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
                #expect(lines.count == summary.trades + 2)  // the header, the closed trades and the open one
            }
            try await client.execute(uri: "/api/openapi.yaml", method: .get) { response in
                #expect(String(buffer: response.body).hasPrefix("openapi: 3.1.0"))
            }
        }
    }

    @Test func tradesPageByCursorAndPagesDoNotShiftWhenTradesAreAdded() async throws {
        defer { dir.remove() }
        let (storage, summary) = try await seeded()
        let open = summary.trades + 1
        try await app(storage).test(.router) { client in
            var ids: [Int] = []
            var cursor: String?
            repeat {
                let uri = "/api/trades?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                cursor = try await client.execute(uri: uri, method: .get) { response in
                    let body = Self.json(response)
                    ids += (body["trades"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                    return body["nextCursor"] as? String
                }
                if ids.count == 2 {
                    // A trade booked while someone pages: the next page is still the next two.
                    try await DashboardSeedMore.addTrade(storage)
                }
            } while cursor != nil
            #expect(ids == Array((1...open).reversed()))
            try await client.execute(uri: "/api/trades?limit=2", method: .get) { response in
                #expect((Self.json(response)["trades"] as? [[String: Any]])?.first?["id"] as? Int == open + 1)
            }
        }
    }

    // MARK: - Errors

    @Test func badInputIsAClear4xxAndNeverA5xx() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        let cases: [(String, HTTPRequest.Method, HTTPResponse.Status, String)] = [
            ("/api/candles?pair=BTC/USD", .get, .badRequest, "missing_parameter"),
            ("/api/candles?pair=BTCUSD&interval=60", .get, .badRequest, "bad_request"),
            ("/api/candles?pair=BTC/USD&interval=7", .get, .badRequest, "bad_request"),
            ("/api/candles?pair=BTC/USD&interval=60&limit=5001", .get, .badRequest, "bad_request"),
            ("/api/candles?pair=BTC/USD&interval=60&before=yesterday", .get, .badRequest, "bad_request"),
            ("/api/candles?pair=BTC/USD&interval=60&pair=ETH/USD", .get, .badRequest, "bad_request"),
            ("/api/trades?cursor=abc", .get, .badRequest, "bad_request"),
            ("/api/trades?from=2026-12-01&to=2026-11-01", .get, .badRequest, "bad_request"),
            ("/api/trades?limit=0", .get, .badRequest, "bad_request"),
            ("/api/equity?step=-1", .get, .badRequest, "bad_request"),
            ("/api/strategies/abc", .get, .badRequest, "bad_request"),
            ("/api/strategies/999", .get, .notFound, "not_found"),
            ("/api/nothing-here", .get, .notFound, "not_found"),
            ("/api/status?verbose=1", .get, .badRequest, "unknown_parameter"),
            ("/api/pause", .post, .forbidden, "read_only"),
            ("/api/strategies/1", .patch, .forbidden, "read_only"),
        ]
        try await app(storage).test(.router) { client in
            for (uri, method, status, code) in cases {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == status, "\(uri)")
                    #expect(Self.errorCode(response) == code, "\(uri): \(String(buffer: response.body))")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(uri)")
                }
            }
            // Every documented GET route refuses a parameter it does not know.
            for route in WebsiteApp.apiRoutes.keys.sorted() where route.hasPrefix("GET ") {
                let path = String(route.dropFirst(4)).replacingOccurrences(of: "{id}", with: "1")
                try await client.execute(uri: path + "?bogus=1", method: .get) { response in
                    #expect(response.status == .badRequest, "\(route)")
                    #expect(Self.errorCode(response) == "unknown_parameter", "\(route)")
                }
            }
            try await client.execute(uri: "/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)  // errors too
            }
        }
    }

    @Test func bodiesOver64KiBAreRefused() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        try await app(storage, password: true).test(.router) { client in
            let big = ByteBuffer(string: "{\"parameters\":{\"fast\":3}," + String(repeating: " ", count: 70_000) + "}")
            try await client.execute(
                uri: "/api/strategies/1", method: .patch, headers: [.authorization: "Bearer \(Self.token)", .contentType: "application/json"], body: big
            ) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.errorCode(response) == "body_too_large")
            }
        }
    }

    // MARK: - Steering

    @Test func patchingAStrategyIsValidatedByTheEngineRulesAndStored() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
        try await app(storage, password: true).test(.router) { client in
            try await client.execute(
                uri: "/api/strategies/1", method: .patch, headers: bearer, body: ByteBuffer(string: #"{"parameters":{"fast":3,"stop_loss":2.5}}"#)
            ) { response in
                #expect(response.status == .ok)
                #expect((Self.json(response)["parameters"] as? [String: Any])?["fast"] as? Double == 3)
            }
            #expect(try await storage.strategies()[0].parameters == ["fast": 3, "slow": 4, "stop_loss": 2.5])
            for (body, status, code) in [
                (#"{"parameters":{"fast":9}}"#, HTTPResponse.Status.unprocessableContent, "invalid_parameters"),  // fast must be below slow
                (#"{"parameters":{"speed":9}}"#, .unprocessableContent, "invalid_parameters"),
                (#"{"parameters":{"fast":"3"}}"#, .badRequest, "invalid_json"),
                (#"{"enabled":"no"}"#, .badRequest, "invalid_json"),
                (#"{"name":"x"}"#, .badRequest, "invalid_json"),
                (#"{}"#, .badRequest, "bad_request"),
                ("not json", .badRequest, "invalid_json"),
            ] {
                try await client.execute(uri: "/api/strategies/1", method: .patch, headers: bearer, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status, "\(body)")
                    #expect(Self.errorCode(response) == code, "\(body): \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/api/strategies/1", method: .patch, headers: bearer, body: ByteBuffer(string: #"{"enabled":false}"#)) {
                #expect($0.status == .ok)
            }
            #expect(try await storage.strategies()[0].enabled == false)
            #expect(try await storage.strategies()[0].parameters["fast"] == 3)
        }
    }

    @Test func pauseIsStoredAndShownEverywhere() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
        try await app(storage, password: true).test(.router) { client in
            try await client.execute(uri: "/api/pause", method: .post, headers: bearer) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response)["paused"] as? Bool == true)
            }
            #expect(try await storage.pauseState().paused)
            try await client.execute(uri: "/api/status", method: .get, headers: bearer) { response in
                #expect(Self.json(response)["paused"] as? Bool == true && Self.json(response)["pausedBy"] as? String == "website")
            }
            try await client.execute(uri: "/", method: .get, headers: bearer) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("new entries PAUSED") && page.contains("Resume entries"))
            }
            try await client.execute(uri: "/api/resume", method: .post, headers: bearer) { #expect($0.status == .ok) }
            #expect(try await storage.pauseState().paused == false)
        }
    }

    // MARK: - Auth

    @Test func withAPasswordEverythingButHealthNeedsASessionOrTheToken() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        try await app(storage, password: true).test(.router) { client in
            try await client.execute(uri: "/api/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/status", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorCode(response) == "unauthorized")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/status", method: .get, headers: [.authorization: "Bearer wrong-token-wrong-token-wrong"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/status", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/trades?pair=BTC/USD", method: .get) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/login?next=/trades%3Fpair%3DBTC/USD")
            }
            try await client.execute(uri: "/login", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("type=\"password\""))
            }
        }
    }

    @Test func loginSetsASignedSessionAndFormsAndJSONNeedCSRFProof() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        try await app(storage, password: true).test(.router) { client in
            let cookie = try await client.execute(
                uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "password=correct+horse+battery&next=%2Ftrades")
            ) { response -> String in
                #expect(response.status == .seeOther && response.headers[.location] == "/trades")
                let setCookie = response.headers[.setCookie] ?? ""
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Max-Age=43200"))
                #expect(!setCookie.contains("Secure"))
                return String(setCookie.split(separator: ";")[0])
            }
            // A tampered cookie is nobody.
            try await client.execute(uri: "/api/status", method: .get, headers: [.cookie: cookie + "x"]) { #expect($0.status == .unauthorized) }
            let page = try await client.execute(uri: "/strategies", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            let csrf = try #require(page.firstMatch(of: /name="_csrf" value="([^"]+)"/)?.1).description
            // JSON with the cookie: only from this site (Origin).
            try await client.execute(uri: "/api/pause", method: .post, headers: [.cookie: cookie]) { response in
                #expect(response.status == .forbidden && Self.errorCode(response) == "csrf")
            }
            try await client.execute(
                uri: "/api/pause", method: .post, headers: [.cookie: cookie, .origin: "https://evil.example"]
            ) { #expect($0.status == .forbidden) }
            try await client.execute(
                uri: "/api/pause", method: .post, headers: [.cookie: cookie, .origin: "http://localhost"]
            ) { #expect($0.status == .ok) }
            // A form without the session's token is refused; with it, it works and redirects.
            var headers = form
            headers[.cookie] = cookie
            try await client.execute(uri: "/resume", method: .post, headers: headers, body: ByteBuffer(string: "next=%2F")) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try await storage.pauseState().paused)
            try await client.execute(uri: "/resume", method: .post, headers: headers, body: ByteBuffer(string: "_csrf=\(csrf)&next=%2Fmarkets")) {
                #expect($0.status == .seeOther && $0.headers[.location] == "/markets")
            }
            #expect(try await storage.pauseState().paused == false)
            try await client.execute(uri: "/pause", method: .post, headers: headers, body: ByteBuffer(string: "_csrf=\(csrf)&next=%2F%2Fevil.example")) {
                #expect($0.headers[.location] == "/")  // never a redirect to another site
            }
        }
    }

    @Test func loginAttemptsAreRateLimitedPerAddress() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        try await app(storage, password: true).test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "password=guess")) {
                    #expect($0.status == .unauthorized)
                }
            }
            // Even the right password waits now.
            try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "password=correct+horse+battery")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 800)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }

    // MARK: - Escaping and headers

    @Test func strategyNamesParametersAndLogLinesComeBackEscaped() async throws {
        defer { dir.remove() }
        let xss = "<script>alert(1)</script>"
        let (storage, _) = try await seeded(extra: [StrategySpec(name: xss, kind: "rsi", pair: "BTC/USD", intervalMinutes: 60)])
        try FileManager.default.createDirectory(atPath: dir.file("logs"), withIntermediateDirectories: true)
        try "2026-11-26T10:00:00.000Z error trading-engine: boom <img src=x onerror=alert(2)>\n"
            .write(toFile: dir.file("logs/trading-engine.log"), atomically: true, encoding: .utf8)
        try await app(storage).test(.router) { client in
            for uri in ["/", "/strategies", "/strategies/2", "/trades", "/markets", "/logs?service=trading-engine&level=error"] {
                try await client.execute(uri: uri, method: .get) { response in
                    let page = String(buffer: response.body)
                    #expect(response.status == .ok, "\(uri)")
                    #expect(!page.contains("<script>alert") && !page.contains("<img src=x"), "\(uri)")
                    #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                    #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                }
            }
            try await client.execute(uri: "/strategies", method: .get) { response in
                #expect(String(buffer: response.body).contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
            try await client.execute(uri: "/logs?service=trading-engine&level=error", method: .get) { response in
                #expect(String(buffer: response.body).contains("boom &lt;img src=x onerror=alert(2)&gt;"))
            }
            try await client.execute(uri: "/logs?service=../../etc/passwd", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func theStrategyPageBacktestsTheFormsParametersOnStoredCandles() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        try await app(storage).test(.router) { client in
            try await client.execute(uri: "/strategies/1/backtest?p.fast=2&p.slow=4", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.status == .ok)
                #expect(page.contains("id=\"backtest-result\""))
                #expect(page.contains("fast=2 slow=4"))
            }
            try await client.execute(uri: "/strategies/1/backtest?p.fast=9&p.slow=4", method: .get) { response in
                #expect(response.status == .unprocessableContent)
                #expect(String(buffer: response.body).contains("must be below slow"))
            }
        }
    }

    @Test func metricsCountRequestsByRouteTemplate() async throws {
        defer { dir.remove() }
        let (storage, _) = try await seeded()
        try await app(storage).test(.router) { client in
            try await client.execute(uri: "/api/strategies/1", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/strategies/999", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"website_http_requests_total{route="/api/strategies/{id}",method="GET",status="200"} 1"#))
                #expect(text.contains(#"website_http_requests_total{route="/api/strategies/{id}",method="GET",status="404"} 1"#))
                #expect(text.contains("website_http_request_duration_seconds_bucket"))
                #expect(text.contains("process_resident_memory_bytes"))
            }
        }
    }
}

/// One more closed trade through the real engine (a later cycle of the seed's pattern).
enum DashboardSeedMore {
    static func addTrade(_ storage: SQLiteStorage) async throws {
        let configuration = try TradingConfiguration(settings: .values(["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]))
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: configuration.paper), configuration: configuration, logger: Logger(label: "more"))
        try await engine.start()
        let history = try await storage.candles(pair: "BTC/USD", intervalMinutes: 60)
        await engine.warmUp(history)
        let last = history.last!
        var time = last.openTime
        var previous = last.close
        // Sells the open position (610: the averages cross down) and buys again (600: up).
        for close: Decimal in [650, 640, 630, 610, 590, 570, 560, 575, 600, 630] {
            time = time.addingTimeInterval(3600)
            try await engine.onClosedCandle(Candle(
                pair: "BTC/USD", intervalMinutes: 60, openTime: time, open: previous, high: max(previous, close) + 3,
                low: min(previous, close) - 3, close: close, vwap: close, volume: 5, tradeCount: 3))
            previous = close
        }
    }
}
