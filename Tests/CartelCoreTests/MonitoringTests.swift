import CartelCore
import Foundation
import Testing
import TestSupport

/// The docker-compose stack run as processes: the three services on real PostgreSQL and Redis
/// against the fake Kraken, checked the way compose checks them (each health endpoint), scraped by
/// a real Prometheus (Debian's) with the project's configuration and rules (targets rewritten to
/// the test ports), and the Grafana dashboard's every metric name found in a live `/metrics`.
@Suite(.serialized) struct MonitoringTests {
    static let root = BuildProducts.repositoryRoot
    static let apiToken = "monitoring-test-token-0123456789abcdef"

    struct Stack {
        var websitePort: Int
        var enginePort: Int
        var marketPort: Int
        var processes: [ChildProcess]
        var dir: TemporaryDirectory

        func stop() {
            for process in processes { process.terminate() }
        }

        func metrics(_ url: String, bearer: Bool = false) async throws -> String {
            let headers = bearer ? ["-H", "Authorization: Bearer \(MonitoringTests.apiToken)"] : []
            let result = try await ProcessRunner.run("/usr/bin/curl", ["-fsS"] + headers + [url], timeout: 10)
            return result.stdout
        }

        /// Each service's `/metrics`, as Prometheus reads them.
        func allMetrics() async throws -> [String] {
            [
                try await metrics("http://127.0.0.1:\(websitePort)/metrics", bearer: true),
                try await metrics("http://127.0.0.1:\(enginePort)/metrics"),
                try await metrics("http://127.0.0.1:\(marketPort)/metrics"),
            ]
        }
    }

    /// Starts market-data, trading-engine (external) and the website on `databaseURL` and Redis.
    static func startStack(databaseURL: String, redis: String, kraken: String) async throws -> Stack {
        let dir = try TemporaryDirectory(prefix: "monitoring")
        let (websitePort, enginePort, marketPort) = (try ListeningSocket.freePort(), try ListeningSocket.freePort(), try ListeningSocket.freePort())
        let common = [
            "PATH": "/usr/bin:/bin", "DATABASE_URL": databaseURL, "REDIS_URL": redis, "KRAKEN_API_URL": kraken, "KRAKEN_PUBLIC_RPS": "20",
            "TRADING_PAIRS": "BTC/USD", "CANDLE_INTERVALS": "1", "TICKER_POLL_SECONDS": "1", "HEARTBEAT_SECONDS": "1",
            "SIGNALCARTEL_LOG_DIR": dir.file("logs"), "MARKET_DATA_METRICS_PORT": "\(marketPort)", "TRADING_METRICS_PORT": "\(enginePort)",
            "WEBSITE_PORT": "\(websitePort)", "DASHBOARD_PASSWORD": "monitoring-password", "API_TOKEN": apiToken,
        ]
        var processes: [ChildProcess] = []
        processes.append(try ChildProcess(
            BuildProducts.path("market-data"), [], environment: common, stdout: dir.file("market-data.log"), stderr: dir.file("market-data.log")))
        processes.append(try ChildProcess(
            BuildProducts.path("trading-engine"), [],
            environment: common.merging(["MARKET_DATA_MODE": "external", "STRATEGIES": "sma-cross:BTC/USD:1:fast=2,slow=4"]) { $1 },
            stdout: dir.file("trading-engine.log"), stderr: dir.file("trading-engine.log")))
        processes.append(try ChildProcess(
            BuildProducts.path("website"), [], environment: common, stdout: dir.file("website.log"), stderr: dir.file("website.log")))
        return Stack(websitePort: websitePort, enginePort: enginePort, marketPort: marketPort, processes: processes, dir: dir)
    }

    /// The project's Prometheus configuration with the compose targets replaced by the test's
    /// ports, a 1 s scrape interval, and the API token in `secrets/api_token`.
    static func prometheusConfiguration(_ stack: Stack, in dir: TemporaryDirectory) throws -> String {
        let source = root + "/deploy/prometheus"
        for name in ["prometheus.yml", "rules.yml"] {
            try FileManager.default.copyItem(atPath: "\(source)/\(name)", toPath: dir.file(name))
        }
        try FileManager.default.createDirectory(atPath: dir.file("secrets"), withIntermediateDirectories: true)
        try apiToken.write(toFile: dir.file("secrets/api_token"), atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: dir.file("prometheus.yml"), encoding: .utf8)
        let targets = [
            "website:3001": stack.websitePort, "trading-engine:9091": stack.enginePort, "market-data:9092": stack.marketPort,
        ]
        for (target, port) in targets {
            #expect(text.contains("\"\(target)\""), "prometheus.yml has no target \(target)")
            text = text.replacingOccurrences(of: "\"\(target)\"", with: "\"127.0.0.1:\(port)\"")
        }
        text = text.replacingOccurrences(of: "scrape_interval: 15s", with: "scrape_interval: 1s")
        try text.write(toFile: dir.file("prometheus.yml"), atomically: true, encoding: .utf8)
        return dir.file("prometheus.yml")
    }

    static func query(_ port: Int, _ promQL: String) async throws -> [[String: Any]] {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promQL)]
        let body = try await HTTP.get(components.url!.absoluteString).body
        let data = HTTP.json(body)["data"] as? [String: Any]
        return data?["result"] as? [[String: Any]] ?? []
    }

    @Test(.timeLimit(.minutes(3))) func prometheusScrapesEveryServiceAndTheDashboardUsesOnlyExportedMetrics() async throws {
        let redis = try await RedisServer()
        defer { redis.stop() }
        try await StorageBackend.postgres.withDatabase { databaseURL, _ in
            try await withFakeKraken { fake, kraken in
                let minute = Int(Date().timeIntervalSince1970) / 60 * 60
                await fake.setCandles(
                    pairKey: "XXBTZUSD", interval: 1, (0..<20).map { FakeCandle(time: minute - (19 - $0) * 60, close: $0 % 2 == 0 ? "10" : "11") })
                let stack = try await Self.startStack(databaseURL: databaseURL, redis: redis.urlText(), kraken: kraken)
                defer {
                    stack.stop()
                    stack.dir.remove()
                }
                // What compose's health checks ask (deploy/docker/healthcheck.sh): each service healthy.
                let healthy = await Processes.eventually(60) {
                    let website = (try? await HTTP.get("http://127.0.0.1:\(stack.websitePort)/api/health"))?.status
                    let engine = (try? await HTTP.get("http://127.0.0.1:\(stack.enginePort)/health"))?.status
                    let market = (try? await HTTP.get("http://127.0.0.1:\(stack.marketPort)/health"))?.status
                    return website == 200 && engine == 200 && market == 200
                }
                let logs = ["market-data", "trading-engine", "website"].map {
                    "\($0): " + String(((try? String(contentsOfFile: stack.dir.file("\($0).log"), encoding: .utf8)) ?? "").suffix(1500))
                }
                try #require(healthy, "\(logs.joined(separator: "\n"))")

                let promDir = try TemporaryDirectory(prefix: "prometheus")
                defer { promDir.remove() }
                let config = try Self.prometheusConfiguration(stack, in: promDir)
                let check = try await ProcessRunner.run("/usr/bin/promtool", ["check", "config", config], timeout: 30)
                #expect(check.status == 0, "\(check.output)")
                let port = try ListeningSocket.freePort()
                let prometheus = try ChildProcess(
                    "/usr/bin/prometheus",
                    ["--config.file=\(config)", "--storage.tsdb.path=\(promDir.file("data"))", "--web.listen-address=127.0.0.1:\(port)"],
                    stdout: promDir.file("prometheus.log"), stderr: promDir.file("prometheus.log"))
                defer { prometheus.terminate() }

                // Every target up.
                var up: [String: String] = [:]
                let allUp = await Processes.eventually(60) {
                    guard let results = try? await Self.query(port, "up") else { return false }
                    up = [:]
                    for result in results {
                        guard let job = (result["metric"] as? [String: Any])?["job"] as? String,
                              let value = (result["value"] as? [Any])?.last as? String else { continue }
                        up[job] = value
                    }
                    return up == ["website": "1", "trading-engine": "1", "market-data": "1"]
                }
                let promLog = (try? String(contentsOfFile: promDir.file("prometheus.log"), encoding: .utf8)) ?? ""
                #expect(allUp, "up: \(up); \(promLog.suffix(2000))")

                // One series of each service, through Prometheus' HTTP API.
                for (job, series) in [
                    ("website", "website_http_requests_total"), ("trading-engine", "trading_equity"), ("market-data", "candles_stored_total"),
                ] {
                    let found = await Processes.eventually(30) { ((try? await Self.query(port, "\(series){job=\"\(job)\"}")) ?? []).isEmpty == false }
                    #expect(found, "\(series) of \(job) not in Prometheus")
                }
                // The project's rules are loaded and evaluated.
                let rules = HTTP.json(try await HTTP.get("http://127.0.0.1:\(port)/api/v1/rules").body)
                let groups = ((rules["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
                #expect(groups.flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }.count == 8)

                // The Grafana dashboard asks only for metrics the services export.
                let exported = Self.metricNames(try await stack.allMetrics()).union(["up"])
                let used = try Self.dashboardMetricNames()
                #expect(used.count >= 10)
                let missing = used.subtracting(exported)
                #expect(missing.isEmpty, "the dashboard uses metrics no service exports: \(missing.sorted())")
            }
        }
    }

    /// The metric names in Prometheus text (histogram series count under their base name too).
    static func metricNames(_ bodies: [String]) -> Set<String> {
        var names: Set<String> = []
        for body in bodies {
            for line in body.split(separator: "\n") where !line.hasPrefix("#") {
                let name = String(line.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
                guard !name.isEmpty else { continue }
                names.insert(name)
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    names.insert(String(name.dropLast(suffix.count)))
                }
            }
        }
        return names
    }

    /// Every metric name in every panel's queries of deploy/grafana/dashboards/signalcartel.json.
    static func dashboardMetricNames() throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: root + "/deploy/grafana/dashboards/signalcartel.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        var names: Set<String> = []
        for panel in panels {
            let targets = try #require(panel["targets"] as? [[String: Any]], "panel \(panel["title"] ?? "?") has no queries")
            for target in targets {
                let expr = try #require(target["expr"] as? String)
                names.formUnion(promQLMetricNames(expr))
            }
        }
        return names
    }

    /// The identifiers of a PromQL expression that name metrics: not functions (followed by `(`),
    /// keywords, label names inside `{}` or `by (...)`, durations in `[]`, or strings.
    static func promQLMetricNames(_ expr: String) -> Set<String> {
        let keywords: Set<String> = [
            "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "le",
            // Aggregation operators (followed by `by (…)` rather than by `(`).
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
        ]
        var names: Set<String> = []
        let chars = Array(expr)
        var index = 0
        var depthBraces = 0
        var inString: Character?
        var afterGrouping = false
        while index < chars.count {
            let char = chars[index]
            if let quote = inString {
                if char == quote { inString = nil }
                index += 1
                continue
            }
            switch char {
            case "\"", "'", "`": inString = char
            case "{": depthBraces += 1
            case "}": depthBraces -= 1
            case "[":
                while index < chars.count, chars[index] != "]" { index += 1 }
            default:
                if char.isLetter || char == "_" {
                    var end = index
                    while end < chars.count, chars[end].isLetter || chars[end].isNumber || chars[end] == "_" || chars[end] == ":" { end += 1 }
                    let word = String(chars[index..<end])
                    var next = end
                    while next < chars.count, chars[next] == " " { next += 1 }
                    let isCall = next < chars.count && chars[next] == "("
                    if keywords.contains(word) {
                        afterGrouping = ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(word)
                    } else if depthBraces == 0, !isCall, !afterGrouping {
                        names.insert(word)
                    }
                    index = end
                    continue
                }
                if char == ")" { afterGrouping = false }
            }
            index += 1
        }
        return names
    }

    @Test func promQLNamesAreFoundAndLabelsAreNot() {
        #expect(Self.promQLMetricNames("sum by (side) (rate(trading_orders_total[5m])) * 60") == ["trading_orders_total"])
        #expect(Self.promQLMetricNames("histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket{job=\"a\"}[5m])))") == ["x_seconds_bucket"])
        #expect(Self.promQLMetricNames("time() - process_start_time_seconds{job=~\"website|market-data\"}") == ["process_start_time_seconds"])
        #expect(Self.promQLMetricNames("a > 0.8 * on (job) b") == ["a", "b"])
    }
}
