@testable import CartelCore
import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// A PostgreSQL cluster of one test's own (initdb in a fresh directory, a free port), so that it
/// can be stopped and started under running services without touching the shared test server.
struct PrivateCluster: Sendable {
    let directory: String
    let url: PostgresURL

    static func start() async throws -> PrivateCluster {
        // Directly under /tmp: the cluster runs as `postgres` when the tests run as root, and
        // must reach its directory.
        let directory = "/tmp/sc-pg-\(UUID().uuidString.prefix(12).lowercased())"
        let result = try await shell("sc_pg_start", directory)
        try #require(result.status == 0, "\(result.output)")
        let url = try PostgresURL.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        return PrivateCluster(directory: directory, url: url)
    }

    /// `stop` or `start` (same port).
    func control(_ action: String) async throws {
        let result = try await Self.shell("sc_pg_ctl", directory, action)
        try #require(result.status == 0, "pg_ctl \(action): \(result.output)")
    }

    func remove() async {
        _ = try? await Self.shell("sc_pg_stop", directory)
    }

    static func shell(_ function: String, _ arguments: String...) async throws -> ProcessResult {
        try await ProcessRunner.run(
            "/bin/bash", ["-c", "source \"$0\" && \(function) \"$@\"", "\(BuildProducts.repositoryRoot)/scripts/lib/common.sh"] + arguments,
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 90)
    }
}

/// PostgreSQL taken away under running services: nothing committed is lost, no service exits,
/// the website reports `degraded` meanwhile, and trading goes on once the server is back.
@Suite struct PostgresRestartTests {
    @Test(.timeLimit(.minutes(4))) func aServerRestartWhileTheServicesRunLosesNothingAndTradingGoesOn() async throws {
        let cluster = try await PrivateCluster.start()
        do {
            try await withFakeKraken { fake, krakenURL in try await Self.restart(cluster: cluster, fake: fake, krakenURL: krakenURL) }
        } catch {
            await cluster.remove()
            throw error
        }
        await cluster.remove()
    }

    static func restart(cluster: PrivateCluster, fake: FakeKraken, krakenURL: String) async throws {
        let logger = Logger(label: "restart-test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await PostgresStore.using(cluster.url, logger: logger) { store in
            @Sendable func count(_ sql: String) async -> Int? {
                guard let rows = try? await store.client.query(PostgresQuery(unsafeSQL: sql), logger: logger) else { return nil }
                do {
                    for try await (value) in rows.decode(Int64.self) { return Int(value) }
                } catch {
                    return nil
                }
                return nil
            }
            @Sendable func eventually(_ seconds: Int, _ condition: @Sendable () async -> Bool) async throws -> Bool {
                for _ in 0..<(seconds * 10) {
                    if await condition() { return true }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return false
            }

            let minute = Int(Date().timeIntervalSince1970) / 60 * 60
            // Flat, down, then the 2/4 SMA cross up (see TradingEngineTests.endToEnd).
            let closes = Array(repeating: "10", count: 14) + ["10", "9", "8", "7", "6", "7", "9"]
            let rows = closes.enumerated().map { FakeCandle(time: minute - (closes.count - 1 - $0.offset) * 60, close: $0.element) }
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, rows)

            let dir = try TemporaryDirectory(prefix: "pg-restart")
            defer { dir.remove() }
            let websitePort = try ListeningSocket.freePort()
            let common = [
                "PATH": "/usr/bin:/bin", "DATABASE_URL": cluster.url.redacted, "HEARTBEAT_SECONDS": "1", "KRAKEN_API_URL": krakenURL,
                "LOG_LEVEL": "info",
            ]
            let engine = try ChildProcess(
                BuildProducts.path("trading-engine"), [],
                environment: common.merging([
                    "KRAKEN_PUBLIC_RPS": "20", "MARKET_DATA_MODE": "embedded", "TRADING_PAIRS": "BTC/USD", "CANDLE_INTERVALS": "1",
                    "TICKER_POLL_SECONDS": "1", "TRADING_METRICS_PORT": "\(try ListeningSocket.freePort())",
                    "STRATEGIES": "sma-cross:BTC/USD:1:fast=2,slow=4", "STOP_LOSS_PERCENT": "0", "TAKE_PROFIT_PERCENT": "0",
                ]) { $1 },
                stdout: dir.file("engine.log"), stderr: dir.file("engine.err"))
            defer { engine.terminate() }
            let website = try ChildProcess(
                BuildProducts.path("website"), [], environment: common.merging(["WEBSITE_PORT": "\(websitePort)"]) { $1 },
                stdout: dir.file("website.log"), stderr: dir.file("website.err"))
            defer { website.terminate() }
            func logs() -> String {
                ["engine.log", "engine.err", "website.log", "website.err"].map {
                    "\($0):\n" + String(((try? String(contentsOfFile: dir.file($0), encoding: .utf8)) ?? "").suffix(2500))
                }.joined(separator: "\n")
            }
            let health = "http://127.0.0.1:\(websitePort)/api/health"

            // The backfill is history (nothing trades on it); the next candle closes the cross-up
            // candle: a paper buy, stored.
            let backfilled = try await eventually(60) { await count("SELECT COUNT(*) FROM candles") == closes.count }
            try #require(backfilled, "\(logs())")
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, rows + [FakeCandle(time: minute + 60, close: "9")])
            let bought = try await eventually(100) {
                await count("SELECT COUNT(*) FROM orders WHERE status = 'filled' AND side = 'buy'") == 1
            }
            try #require(bought, "\(logs())")
            #expect(try await eventually(20) { (try? await HTTP.get(health))?.status == 200 }, "\(logs())")

            // The server goes away: the website says so, every service keeps running.
            try await cluster.control("stop")
            let degraded = try await eventually(20) {
                guard let answer = try? await HTTP.get(health) else { return false }
                return answer.status == 503 && HTTP.json(answer.body)["status"] as? String == "degraded"
            }
            #expect(degraded, "\(logs())")
            try await Task.sleep(for: .seconds(3))  // heartbeats, ticker polls and equity writes fail meanwhile
            #expect(engine.poll() == nil && website.poll() == nil, "\(logs())")

            // Back on the same port: the pools reconnect by themselves.
            try await cluster.control("start")
            #expect(try await eventually(30) { (try? await HTTP.get(health))?.status == 200 }, "\(logs())")

            // The exit is traded after the restart: 9 → 5 → 4 takes the fast SMA below the slow one.
            await fake.setCandles(
                pairKey: "XXBTZUSD", interval: 1,
                rows + [FakeCandle(time: minute + 60, close: "5"), FakeCandle(time: minute + 120, close: "4"),
                        FakeCandle(time: minute + 180, close: "4")])
            let sold = try await eventually(100) { await count("SELECT COUNT(*) FROM trades WHERE status = 'closed'") == 1 }
            #expect(sold, "\(logs())")
            #expect(await count("SELECT COUNT(*) FROM orders") == 2)
            #expect(await count("SELECT COUNT(*) FROM orders WHERE status <> 'filled'") == 0)
            #expect(await count("SELECT COUNT(*) FROM fills") == 2)
            #expect(await count("SELECT COUNT(*) FROM positions") == 0)
            // Every candle the engine saw is stored once (the backfill, and the three after it).
            #expect(await count("SELECT COUNT(*) FROM candles") == closes.count + 3)
            #expect(engine.poll() == nil && website.poll() == nil, "\(logs())")
            #expect(!logs().contains("exiting after a fatal error"), "\(logs())")
            let beats = try await store.heartbeats()
            #expect(beats.contains { $0.service == .tradingEngine && Date().timeIntervalSince($0.lastBeat) < 5 }, "\(beats)")
        }
    }
}
