import CartelCore
import Foundation
import Logging
import Prometheus
import Synchronization
import TestSupport
import Testing

/// The collector against the fake Kraken: backfill, live closes, every failure, recovery.
@Suite struct MarketDataCollectorTests {
    /// Candle open times a minute apart, ending well in the past (so every candle "has closed").
    static func times(_ count: Int, start: Int? = nil) -> [Int] {
        let base = start ?? (Int(Date().timeIntervalSince1970) / 60 * 60 - 3600)
        return (0..<count).map { base + $0 * 60 }
    }

    static func rows(_ times: [Int]) -> [FakeCandle] {
        times.enumerated().map { FakeCandle(time: $0.element, close: "30000.\($0.offset)") }
    }

    final class Received: Sendable {
        let value = Mutex<[Candle]>([])
        var candles: [Candle] { value.withLock { $0 } }
    }

    /// Runs a collector for BTC/USD (1-minute candles, 1-second polls) until `body` returns, on
    /// a manual clock that moves in 50 ms steps whenever the collector waits: its polls, backoffs
    /// and schedules take no real time (HTTP to the fake and its timeouts are real).
    func collecting(
        url: String, storage: SQLiteStorage, pairs: [String] = ["BTC/USD"], timeout: Duration = .seconds(2),
        _ body: (Received, ManualClock) async throws -> Void
    ) async throws {
        let clock = ManualClock(wallTime: Date())
        let feed = CandleFeed()
        let received = Received()
        let stream = feed.subscribe()
        let kraken = try KrakenClient(
            configuration: KrakenConfiguration(
                baseURL: url, publicRequestsPerSecond: 100, timeout: timeout, maxAttempts: 1, breakerThreshold: 3,
                breakerCoolDown: .seconds(1), retryBase: .milliseconds(10)),
            clock: clock, logger: Logger(label: "test"),
            metrics: PrometheusMetricsFactory(registry: .init()))
        let collector = MarketDataCollector(
            configuration: MarketDataConfiguration(pairs: pairs, intervals: [1], tickerPollSeconds: 1),
            client: kraken, storage: storage, sink: CandleSink(storage: storage, feed: feed), health: CollectorHealth(),
            clock: clock, logger: Logger(label: "test"), random: { 0.5 })
        try await clock.drive(step: .milliseconds(50)) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await collector.run() }
                group.addTask {
                    for await candle in stream { received.value.withLock { $0.append(candle) } }
                }
                try await body(received, clock)
                group.cancelAll()
            }
        }
    }

    func stored(_ storage: SQLiteStorage) async throws -> [Candle] {
        try await storage.candles(pair: "BTC/USD", intervalMinutes: 1)
    }

    @Test func backfillsHistoryThenPublishesEachNewlyClosedCandleOnce() async throws {
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let times = Self.times(12)
        try await withFakeKraken { fake, url in
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(Array(times.prefix(10))))
            try await collecting(url: url, storage: storage) { received, clock in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 10 })
                #expect(received.candles.isEmpty, "history at start is not news")
                await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(times))
                #expect(await Processes.eventually(10) { received.candles.count == 2 })
                // Several more polls publish nothing twice.
                #expect(await clock.elapse(.seconds(5)))
                #expect(received.candles.map { Int($0.openTime.timeIntervalSince1970) } == [times[9], times[10]])
            }
            let candles = try await stored(storage)
            #expect(candles.map { Int($0.openTime.timeIntervalSince1970) } == times)
            #expect(candles.last?.close == Decimal(string: "30000.11"))
            // Final: every candle with a later one; Kraken's last, unfinished candle is not.
            let final = try await storage.closedCandles(pair: "BTC/USD", intervalMinutes: 1, after: nil)
            #expect(final.map { Int($0.openTime.timeIntervalSince1970) } == Array(times.dropLast()))
            #expect(try await storage.latestTicker(pair: "BTC/USD")?.last == Decimal(string: "30303.2"))
            let status = try await storage.collectionStatus()
            #expect(status.first?.pair == "BTC/USD")
            #expect(status.first?.status == "collecting")
            #expect(status.first?.dataPoints == 12)
            let sinces = await fake.requests().filter { $0.endpoint == "OHLC" }.compactMap { $0.query["since"] }
            #expect(sinces.contains("\(times[8])"), "later calls ask from Kraken's last")
        }
    }

    static let failures: [(String, FakeKraken.Answer)] =
        Fixtures.names(in: "kraken", prefix: "kraken_error_").map { ($0, FakeKraken.Answer.fixture($0)) } + [
            ("HTTP 500 HTML", .status(500, "<html><body><h1>500 Internal Server Error</h1></body></html>")),
            ("HTTP 502 HTML", .status(502, "<html><head><title>502 Bad Gateway</title></head></html>")),
            ("truncated JSON", .truncated("kraken_public_OHLC.json")),
            ("slow answer", .delayed(.seconds(4), .fixture("kraken_public_OHLC.json"))),
        ]

    @Test(arguments: failures.map(\.0))
    func survivesEachFailureAndLosesOrDuplicatesNoCandle(_ name: String) async throws {
        let answer = Self.failures.first { $0.0 == name }!.1
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let times = Self.times(8)
        try await withFakeKraken { fake, url in
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(Array(times.prefix(5))))
            try await collecting(url: url, storage: storage, timeout: .milliseconds(800)) { received, clock in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 5 })
                // The exchange misbehaves twice while three more candles appear.
                await fake.enqueue("OHLC", answer, answer)
                await fake.enqueue("Ticker", answer)
                await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(times))
                #expect(await Processes.eventually(20) { received.candles.count >= 3 })
                #expect(await clock.elapse(.seconds(5)))
                #expect(received.candles.map { Int($0.openTime.timeIntervalSince1970) } == Array(times[4...6]))
            }
            #expect(try await stored(storage).map { Int($0.openTime.timeIntervalSince1970) } == times)
            let status = try await storage.collectionStatus().first
            #expect((status?.errorCount ?? 0) >= 1, "the failure is recorded")
            #expect(status?.lastError?.isEmpty == false)
        }
    }

    @Test func recoversWhenKrakenComesBackAfterConnectionsWereRefused() async throws {
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let port = try ListeningSocket.freePort()
        let url = "http://127.0.0.1:\(port)"
        let times = Self.times(4)
        try await collecting(url: url, storage: storage, timeout: .milliseconds(500)) { _, _ in
            #expect(await Processes.eventually(5) { (try? await storage.collectionStatus().first?.errorCount ?? 0) ?? 0 >= 1 })
            try await withFakeKraken(port: port) { fake, _ in
                await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(times))
                #expect(await Processes.eventually(30) { (try? await stored(storage).count) == 4 })
            }
        }
        #expect(try await storage.collectionStatus().first?.status == "collecting")
    }

    @Test func anUnknownPairIsReportedAndTheOthersAreStillCollected() async throws {
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await withFakeKraken { fake, url in
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(Self.times(3)))
            try await collecting(url: url, storage: storage, pairs: ["BTC/USD", "DOGE/USD"]) { _, _ in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 3 })
                // The status row is written right after the candles: wait for it too.
                #expect(await Processes.eventually(10) {
                    (try? await storage.collectionStatus().first { $0.pair == "BTC/USD" }?.status) == "collecting"
                })
            }
            let status = try await storage.collectionStatus()
            #expect(status.first { $0.pair == "DOGE/USD" }?.status == "unknown pair")
            #expect(status.first { $0.pair == "BTC/USD" }?.status == "collecting")
        }
    }

    @Test func pairsResolveFromTheStoredCopyWhileAssetPairsFails() async throws {
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        // One set of times for both runs: computed twice, a minute boundary between the two
        // calls would shift the second set and store four candles instead of three.
        let times = Self.times(3)
        try await withFakeKraken { fake, url in
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(Array(times.prefix(2))))
            try await collecting(url: url, storage: storage) { _, _ in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 2 })
            }
        }
        #expect(try await storage.cachedAssetPairs() != nil)
        try await withFakeKraken { fake, url in
            await fake.setDefault("AssetPairs", .status(503, "<html>maintenance</html>"))
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(times))
            try await collecting(url: url, storage: storage) { _, _ in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 3 })
            }
        }
    }

    @Test func retentionDeletesOldOneMinuteCandlesOnly() async throws {
        let dir = try TemporaryDirectory(prefix: "collector")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let old = Date().addingTimeInterval(-8 * 86_400)
        func candle(_ interval: Int) -> Candle {
            Candle(pair: "BTC/USD", intervalMinutes: interval, openTime: old, open: 1, high: 1, low: 1, close: 1,
                   vwap: 1, volume: 1, tradeCount: 1)
        }
        try await storage.upsertCandles([candle(1), candle(60)])
        try await withFakeKraken { fake, url in
            await fake.setCandles(pairKey: "XXBTZUSD", interval: 1, Self.rows(Self.times(2)))
            try await collecting(url: url, storage: storage) { _, _ in
                #expect(await Processes.eventually(10) { (try? await stored(storage).count) == 2 })
            }
        }
        #expect(try await storage.candles(pair: "BTC/USD", intervalMinutes: 60).count == 1)
        #expect(try await stored(storage).allSatisfy { $0.openTime > old })
    }
}
