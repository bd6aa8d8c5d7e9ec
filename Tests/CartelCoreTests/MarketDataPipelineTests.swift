import CartelCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import TestSupport
import Testing

@Suite struct MarketDataPipelineTests {
    @Test func csvWithAnyColumnOrderAndTimeFormatsParses() throws {
        let csv = """
            Volume,Close,Date,Open,High,Low,Extra
            10.5,101.25,2024-01-01T00:00:00Z,100,102,99.5,x
            3,100,2024-01-01 00:01:00,101.25,101.5,99,y
            1.25,100.5,1704067320,100,100.75,100,z

            """
        let candles = try CandleCSV.parse(csv, pair: "BTC/USD", intervalMinutes: 1)
        try #require(candles.count == 3)
        #expect(candles.map { Int($0.openTime.timeIntervalSince1970) } == [1_704_067_200, 1_704_067_260, 1_704_067_320])
        #expect(candles[0].close == Decimal(string: "101.25"))
        #expect(candles[0].volume == Decimal(string: "10.5"))
        #expect(try CandleCSV.parse("time,open,high,low,close,volume\n2024-03-05,1,1,1,1,1", pair: "X/Y", intervalMinutes: 1440)
            .first?.openTime == Date(timeIntervalSince1970: 1_709_596_800))
    }

    @Test(arguments: [
        ("time,open,high,low,close\n1,1,1,1,1", "header has no volume column"),
        ("time,open,high,low,close,volume\n1,1,1,1,abc,1", "line 2: close 'abc' is not a decimal number"),
        ("time,open,high,low,close,volume\nyesterday,1,1,1,1,1", "line 2: time 'yesterday'"),
        ("time,open,high,low,close,volume\n1,1,1", "line 2: expected 6 fields"),
        ("time,open,high,low,close,volume\n1,5,4,1,3,1", "line 2: low/high do not bracket"),
        ("", "the file is empty"),
    ])
    func badCSVIsAClearErrorNamingTheLine(_ input: (String, String)) {
        let error = #expect(throws: CandleCSV.ParseError.self) {
            try CandleCSV.parse(input.0, pair: "BTC/USD", intervalMinutes: 1)
        }
        #expect(error?.description.contains(input.1) == true, "\(String(describing: error))")
    }

    @Test func marketDataSettingsParseAndRejectBadValues() throws {
        let config = try MarketDataConfiguration(settings: .values([
            "TRADING_PAIRS": "btc/usd, ETH/USD,BTC/USD", "CANDLE_INTERVALS": "60,1,15,1", "TICKER_POLL_SECONDS": "2",
        ]))
        #expect(config.pairs == ["BTC/USD", "ETH/USD"])
        #expect(config.intervals == [1, 15, 60])
        #expect(config.metricsPort == 9092)
        #expect(throws: ConfigurationError.self) { try MarketDataConfiguration(settings: .values(["TRADING_PAIRS": "BTCUSD"])) }
        #expect(throws: ConfigurationError.self) { try MarketDataConfiguration(settings: .values(["CANDLE_INTERVALS": "2"])) }
        #expect(throws: ConfigurationError.self) { try MarketDataConfiguration(settings: .values(["CANDLE_INTERVALS": "1,x"])) }
        #expect(throws: ConfigurationError.self) { try KrakenConfiguration(settings: .values(["KRAKEN_API_URL": "ftp://x"])) }
        #expect(throws: ConfigurationError.self) { try KrakenConfiguration(settings: .values(["KRAKEN_TIER": "gold"])) }
        let halfCredentials = #expect(throws: ConfigurationError.self) {
            try KrakenConfiguration(settings: .values(["KRAKEN_API_KEY": "k"]))
        }
        #expect(halfCredentials?.key == "KRAKEN_API_SECRET")
        let badSecret = #expect(throws: ConfigurationError.self) {
            try KrakenConfiguration(settings: .values(["KRAKEN_API_KEY": "k", "KRAKEN_API_SECRET": "not base64 at all!"]))
        }
        #expect(badSecret?.description.contains("not base64 at all") == false)
    }

    @Test func theFeedDeliversEveryPublishedCandleToEachSubscriber() async throws {
        let feed = CandleFeed()
        let a = feed.subscribe()
        let b = feed.subscribe()
        let candle = Candle(pair: "BTC/USD", intervalMinutes: 1, openTime: Date(timeIntervalSince1970: 60), open: 1,
                            high: 1, low: 1, close: 1, vwap: 1, volume: 1, tradeCount: 1)
        feed.publish(candle)
        var ia = a.makeAsyncIterator()
        var ib = b.makeAsyncIterator()
        #expect(await ia.next() == candle)
        #expect(await ib.next() == candle)
        #expect(feed.subscriberCount == 2)
    }

    @Test func metricsAndHealthEndpointsServePrometheusTextAndJSON() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = PrometheusMetricsFactory(registry: registry)
        let health = CollectorHealth()
        let app = MetricsServer.buildApplication(
            host: "127.0.0.1", port: 0, registry: registry, service: .marketData,
            check: { MetricsServer.Check(healthy: health.lastSuccess != nil, details: [:]) },
            logger: Logger(label: "test"))
        let dir = try TemporaryDirectory(prefix: "metrics")
        defer { dir.remove() }
        let sink = CandleSink(storage: try SQLiteStorage(path: dir.file("db.sqlite")), feed: CandleFeed(), metrics: metrics)
        let candle = Candle(pair: "BTC/USD", intervalMinutes: 1, openTime: Date(timeIntervalSince1970: 60), open: 1,
                            high: 1, low: 1, close: 1, vwap: 1, volume: 1, tradeCount: 1)
        try await sink.ingest([candle], closedBefore: Date(timeIntervalSince1970: 120), now: Date(timeIntervalSince1970: 125))
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .serviceUnavailable) }
            health.recordSuccess(at: Date())
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(HTTP.json(String(buffer: response.body))["status"] as? String == "ok")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#"candles_stored_total{pair="BTC/USD",interval="1"} 1"#))
            }
        }
    }

    @Test func replayFeedsACSVThroughTheBinaryIntoStorage() async throws {
        let dir = try TemporaryDirectory(prefix: "replay")
        defer { dir.remove() }
        let rows = (0..<20).map { "\(1_704_067_200 + $0 * 60),100,101,99,100.\($0),2" }
        try (["time,open,high,low,close,volume"] + rows).joined(separator: "\n")
            .write(toFile: dir.file("history.csv"), atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.run(
            BuildProducts.path("market-data"), ["--replay", dir.file("history.csv"), "--speed", "200", "--pair", "ETH/USD"],
            environment: [
                "DATABASE_URL": "sqlite:\(dir.file("db.sqlite"))", "KRAKEN_API_URL": "http://127.0.0.1:1",
                "MARKET_DATA_METRICS_PORT": "\(try ListeningSocket.freePort())",
            ], timeout: 60)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("replay finished candles=20"))
        let candles = try await SQLiteStorage(path: dir.file("db.sqlite")).candles(pair: "ETH/USD", intervalMinutes: 1)
        #expect(candles.count == 20)
        #expect(candles.last?.close == Decimal(string: "100.19"))
    }
}
