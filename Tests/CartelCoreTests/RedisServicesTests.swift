import CartelCore
import Foundation
import GRDB
import Logging
import Testing
import TestSupport

/// The services over a real Redis (a private `redis-server` per test): the collector
/// (`market-data --replay`) and the engine (external mode) as separate processes, the candles
/// announced over Redis; Redis killed and restarted under them; the website's event stream
/// woken by what the engine publishes; a wrong password.
@Suite(.serialized) struct RedisServicesTests {
    static let pair = "BENCH/USD"
    static let strategies = "sma-cross:BENCH/USD:1:fast=2,slow=3"
    static let tradingSettings = ["STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0"]

    static func candles(_ count: Int) -> [Candle] { ZigzagCandles.fromNextMinute(count: count) }

    static func writeCSV(_ candles: [Candle], to path: String) throws {
        try ZigzagCandles.csv(candles).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The client order ids an engine in this process places on the same candles: what the
    /// engine process must place, each exactly once.
    static func expectedOrders(_ candles: [Candle], dir: TemporaryDirectory) async throws -> [String] {
        let storage = try SQLiteStorage(path: dir.file("reference.sqlite"))
        _ = try await storage.seedStrategies(StrategySpec.parseList(strategies), at: Date())
        let engine = TradingEngine(
            storage: storage, broker: PaperBroker(execution: PaperExecution()),
            configuration: try TradingConfiguration(settings: .values(tradingSettings)), logger: Logger(label: "reference"))
        _ = try await engine.start()
        for candle in candles { try await engine.onClosedCandle(candle) }
        return try orderIDs(dir.file("reference.sqlite"))
    }

    static func orderIDs(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT client_order_id FROM orders WHERE status = 'filled' ORDER BY client_order_id")
        }
    }

    static func baseEnvironment(_ dir: TemporaryDirectory) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))", "HEARTBEAT_SECONDS": "1", "TRADING_PAIRS": pair,
            "CANDLE_INTERVALS": "1", "TICKER_POLL_SECONDS": "1", "SIGNALCARTEL_LOG_DIR": dir.file("logs"),
        ]
    }

    struct Engine {
        var process: ChildProcess
        var metricsPort: Int
        var log: String

        func metric(_ name: String, _ label: String = "") async -> Double {
            guard let body = try? await HTTP.get("http://127.0.0.1:\(metricsPort)/metrics").body else { return -1 }
            return RedisServicesTests.metric(body, name, label)
        }

        var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    static func metric(_ body: String, _ name: String, _ label: String = "") -> Double {
        body.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .filter { label.isEmpty || $0.contains(label) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    /// The engine binary in external mode; returns once its subscriber is connected (with Redis).
    static func startEngine(_ dir: TemporaryDirectory, redis: String?, catchUpMS: Int) async throws -> Engine {
        let port = try ListeningSocket.freePort()
        var environment = baseEnvironment(dir).merging(tradingSettings) { $1 }
        environment["MARKET_DATA_MODE"] = "external"
        environment["STRATEGIES"] = strategies
        environment["TRADING_METRICS_PORT"] = "\(port)"
        environment["REDIS_CATCHUP_MS"] = "\(catchUpMS)"
        if let redis { environment["REDIS_URL"] = redis }
        let log = dir.file("engine.log")
        let process = try ChildProcess(BuildProducts.path("trading-engine"), [], environment: environment, stdout: log, stderr: log)
        let engine = Engine(process: process, metricsPort: port, log: log)
        let ready = await Processes.eventually(20) {
            let text = engine.output
            return text.contains("strategy running") && (redis == nil || text.contains("connection=subscriber"))
        }
        try #require(ready, "engine did not start: \(engine.output.suffix(2000))")
        return engine
    }

    /// `market-data --replay` of `csv`; waits for it to finish.
    static func replay(_ dir: TemporaryDirectory, csv: String, speed: Int, redis: String?) async throws -> ProcessResult {
        var environment = baseEnvironment(dir)
        environment["MARKET_DATA_METRICS_PORT"] = "\(try ListeningSocket.freePort())"
        if let redis { environment["REDIS_URL"] = redis }
        return try await ProcessRunner.run(
            BuildProducts.path("market-data"), ["--replay", csv, "--speed", "\(speed)", "--pair", pair, "--interval", "1"],
            environment: environment, timeout: 120)
    }

    @Test(.timeLimit(.minutes(2))) func theEngineTradesCandlesAnnouncedOverRedis() async throws {
        let dir = try TemporaryDirectory(prefix: "redis-engine")
        defer { dir.remove() }
        let server = try await RedisServer()
        defer { server.stop() }
        let candles = Self.candles(24)
        try Self.writeCSV(candles, to: dir.file("candles.csv"))
        let expected = try await Self.expectedOrders(candles, dir: dir)
        try #require(expected.count >= 4, "the zigzag should trade: \(expected)")
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        // Storage is only read again after 10 minutes: every candle must come by message.
        let engine = try await Self.startEngine(dir, redis: server.urlText(), catchUpMS: 600_000)
        defer { engine.process.terminate() }
        let replayed = try await Self.replay(dir, csv: dir.file("candles.csv"), speed: 20, redis: server.urlText())
        #expect(replayed.status == 0, "\(replayed.output.suffix(2000))")
        let all = await Processes.eventually(10) { await engine.metric("trading_candles_received_total") == 24 }
        #expect(all, "\(engine.output.suffix(3000))")
        #expect(await engine.metric("trading_candles_received_total", "via=\"redis\"") == 24)
        let received = await engine.metric("redis_messages_received_total", "candle.closed")
        let body = (try? await HTTP.get("http://127.0.0.1:\(engine.metricsPort)/metrics").body) ?? ""
        #expect(received == 24, "\(body)")
        #expect(try Self.orderIDs(dir.file("db.sqlite")) == expected)
        // The engine announced its own orders and fills.
        #expect(await engine.metric("redis_messages_published_total", "signalcartel:order") >= Double(expected.count))
        #expect(await engine.metric("redis_messages_published_total", "signalcartel:fill") == Double(expected.count))
    }

    /// Redis is killed a few seconds into a replay and restarted a few seconds later: the engine
    /// trades on by polling storage, hears candles over Redis again once both sides reconnect,
    /// and every candle is taken once — the orders are exactly those of an uninterrupted engine.
    @Test(.timeLimit(.minutes(3))) func redisKilledMidRunLosesNoCandleAndTradesNoneTwice() async throws {
        let dir = try TemporaryDirectory(prefix: "redis-kill")
        defer { dir.remove() }
        let server = try await RedisServer()
        defer { server.stop() }
        let candles = Self.candles(120)
        try Self.writeCSV(candles, to: dir.file("candles.csv"))
        let expected = try await Self.expectedOrders(candles, dir: dir)
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        let engine = try await Self.startEngine(dir, redis: server.urlText(), catchUpMS: 300)
        defer { engine.process.terminate() }
        let replaying = Task { try await Self.replay(dir, csv: dir.file("candles.csv"), speed: 8, redis: server.urlText()) }
        try await Task.sleep(for: .seconds(3))
        let beforeKill = await engine.metric("trading_candles_received_total", "via=\"redis\"")
        server.kill()
        try await Task.sleep(for: .seconds(3))
        let polledDuringOutage = await engine.metric("trading_candles_received_total", "via=\"poll\"")
        try await server.start()
        let reconnected = await Processes.eventually(20) { engine.output.components(separatedBy: "connection=subscriber").count > 2 }
        #expect(reconnected, "\(engine.output.suffix(3000))")
        let atReconnect = await engine.metric("trading_candles_received_total", "via=\"redis\"")
        let replayed = try await replaying.value
        #expect(replayed.status == 0, "\(replayed.output.suffix(2000))")
        let all = await Processes.eventually(10) { await engine.metric("trading_candles_received_total") == 120 }
        let received = await engine.metric("trading_candles_received_total")
        #expect(all, "received \(received): \(engine.output.suffix(3000))")
        let afterRestart = await engine.metric("trading_candles_received_total", "via=\"redis\"")
        #expect(beforeKill > 0, "no candle came over Redis before the kill")
        #expect(polledDuringOutage > 0, "no candle came by polling while Redis was down")
        #expect(afterRestart > atReconnect, "no candle came over Redis after the restart")
        #expect(engine.process.poll() == nil, "the engine exited")
        #expect(try Self.orderIDs(dir.file("db.sqlite")) == expected)
        #expect(engine.output.contains("redis connection lost"))
    }

    /// The website's `/api/events` is woken by the engine's `service.state` message (its own
    /// journal poll is set to 10 minutes, so only Redis can bring the event in time); status is
    /// served from the shared cache; `/api/health` says Redis is ok.
    @Test(.timeLimit(.minutes(2))) func theWebsiteStreamsAnEventTheEnginePublished() async throws {
        let dir = try TemporaryDirectory(prefix: "redis-website")
        defer { dir.remove() }
        let server = try await RedisServer()
        defer { server.stop() }
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        let port = try ListeningSocket.freePort()
        var environment = Self.baseEnvironment(dir)
        environment["WEBSITE_PORT"] = "\(port)"
        environment["REDIS_URL"] = server.urlText()
        environment["REDIS_CATCHUP_MS"] = "600000"
        let website = try ChildProcess(BuildProducts.path("website"), [], environment: environment, stdout: dir.file("website.log"), stderr: dir.file("website.log"))
        defer { website.terminate() }
        let up = await Processes.eventually(20) {
            guard let health = try? await HTTP.get("http://127.0.0.1:\(port)/api/health"), health.status == 200 else { return false }
            return HTTP.json(health.body)["redis"] as? String == "ok"
        }
        #expect(up, "\((try? String(contentsOfFile: dir.file("website.log"), encoding: .utf8)) ?? "")")
        // The engine starts once the stream is open (its preamble has come).
        let (opened, open) = AsyncStream<Void>.makeStream()
        let engineStarted = Task {
            for await _ in opened { break }
            try Task.checkCancellation()
            return try await Self.startEngine(dir, redis: server.urlText(), catchUpMS: 600_000)
        }
        let (status, frames): (Int, [SSEFrame])
        do {
            (status, frames) = try await EventStreamClient.collect(url: "http://127.0.0.1:\(port)/api/events", timeout: .seconds(30)) { frames in
                open.yield()
                return frames.contains { $0.event == "service" && $0.data.contains("trading-engine") }
            }
        } catch {
            engineStarted.cancel()
            (try? await engineStarted.value)?.process.terminate()
            throw error
        }
        let engine = try await engineStarted.value
        defer { engine.process.terminate() }
        #expect(status == 200)
        let frame = try #require(frames.first { $0.event == "service" && $0.data.contains("trading-engine") })
        #expect(HTTP.json(frame.data)["state"] as? String == "running")
        #expect(frame.id != nil)

        // The status summary: computed once, then read from Redis by the next request.
        for _ in 0..<3 { #expect(try await HTTP.get("http://127.0.0.1:\(port)/api/status").status == 200) }
        let metrics = try await HTTP.get("http://127.0.0.1:\(port)/metrics").body
        #expect(Self.metric(metrics, "redis_cache_requests_total", "result=\"hit\"") >= 1)
        #expect(Self.metric(metrics, "redis_messages_received_total", "signalcartel:service.state") >= 1)
    }

    /// A wrong password: a clear log line without it, `degraded` in the health detail, the
    /// site up and answering from the database.
    @Test(.timeLimit(.minutes(1))) func aWrongRedisPasswordDegradesTheWebsiteAndNeverShowsIt() async throws {
        let dir = try TemporaryDirectory(prefix: "redis-password")
        defer { dir.remove() }
        let server = try await RedisServer(password: "the-right-one")
        defer { server.stop() }
        _ = try SQLiteStorage(path: dir.file("db.sqlite"))
        let port = try ListeningSocket.freePort()
        var environment = Self.baseEnvironment(dir)
        environment["WEBSITE_PORT"] = "\(port)"
        environment["REDIS_URL"] = server.urlText(password: "Wr0ngPa55word")
        let website = try ChildProcess(BuildProducts.path("website"), [], environment: environment, stdout: dir.file("website.log"), stderr: dir.file("website.log"))
        defer { website.terminate() }
        var detail = ""
        let degraded = await Processes.eventually(20) {
            guard let health = try? await HTTP.get("http://127.0.0.1:\(port)/api/health"), health.status == 200 else { return false }
            detail = HTTP.json(health.body)["redis"] as? String ?? ""
            return detail.hasPrefix("degraded: ")
        }
        #expect(degraded)
        #expect(detail.contains("refused the password"))
        #expect(!detail.contains("Wr0ngPa55word"))
        #expect(try await HTTP.get("http://127.0.0.1:\(port)/api/status").status == 200)
        let log = (try? String(contentsOfFile: dir.file("website.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("redis unavailable"))
        #expect(log.contains("refused the password"))
        #expect(!log.contains("Wr0ngPa55word"))
        #expect(website.poll() == nil, "the website exited")
    }
}
