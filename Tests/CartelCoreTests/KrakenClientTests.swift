import CartelCore
import Foundation
import Logging
import Metrics
import Prometheus
import TestSupport
import Synchronization
import Testing

@Suite struct KrakenClientTests {
    func client(
        _ url: String, fake: FakeKraken? = nil, attempts: Int = 3, timeout: Duration = .seconds(5),
        breaker: Int = 5, coolDown: Duration = .seconds(30), metrics: any MetricsFactory = PrometheusMetricsFactory(registry: .init())
    ) throws -> KrakenClient<SystemTime> {
        try client(url, fake: fake, attempts: attempts, timeout: timeout, breaker: breaker, coolDown: coolDown, metrics: metrics, clock: SystemTime())
    }

    func client<C: TimeSource>(
        _ url: String, fake: FakeKraken? = nil, attempts: Int = 3, timeout: Duration = .seconds(5),
        breaker: Int = 5, coolDown: Duration = .seconds(30), metrics: any MetricsFactory = PrometheusMetricsFactory(registry: .init()), clock: C,
        onBreakerChange: (@Sendable (String, Bool) -> Void)? = nil
    ) throws -> KrakenClient<C> {
        try KrakenClient(
            configuration: KrakenConfiguration(
                baseURL: url, publicRequestsPerSecond: 1000, timeout: timeout, maxAttempts: attempts,
                breakerThreshold: breaker, breakerCoolDown: coolDown, retryBase: .milliseconds(10),
                apiKey: fake?.apiKey, apiSecret: fake?.secretBase64),
            clock: clock, logger: Logger(label: "test"), metrics: metrics, onBreakerChange: onBreakerChange)
    }

    @Test func publicEndpointsDecodeKrakensAnswers() async throws {
        try await withFakeKraken { fake, url in
            let kraken = try client(url)
            #expect(try await kraken.serverTime().unixtime == 1_688_669_448)
            #expect(try await kraken.systemStatus().isOnline)
            #expect(try await kraken.assetPairs()["XXBTZUSD"]?.altname == "XBTUSD")
            #expect(try await kraken.tickers(pairKeys: ["XXBTZUSD"])["XXBTZUSD"]?.bid == Decimal(string: "30300.0"))
            #expect(try await kraken.depth(pairKey: "XXBTZUSD")["XXBTZUSD"]?.asks.isEmpty == false)
            #expect(try await kraken.trades(pairKey: "XXBTZUSD").trades.count == 3)
            let requests = await fake.requests()
            try #require(requests.map(\.endpoint) == ["Time", "SystemStatus", "AssetPairs", "Ticker", "Depth", "Trades"])
            #expect(requests.allSatisfy { $0.method == "GET" })
            #expect(requests[3].query["pair"] == "XXBTZUSD")
        }
    }

    @Test func privateCallsAreSignedAsKrakenVerifiesThem() async throws {
        try await withFakeKraken { fake, url in
            let kraken = try client(url, fake: fake)
            #expect(try await kraken.balance()["XXBT"] == Decimal(string: "1011.19088779"))
            #expect(try await kraken.tradeBalance().equity == Decimal(string: "382.2032"))
            #expect(try await kraken.openOrders().isEmpty == false)
            #expect(try await kraken.queryOrders(txids: ["OBCMZD-JIEE7-77TH3F"]).isEmpty == false)
            #expect(try await kraken.cancelOrder(txid: "OYVGEW-VYV5B-UUEXSK").count == 1)
            let requests = await fake.requests()
            #expect(requests.count == 5)
            #expect(requests.allSatisfy { $0.method == "POST" && $0.signatureValid == true })
            let nonces = requests.compactMap { UInt64($0.query["nonce"] ?? "") }
            #expect(nonces.count == 5)
            #expect(zip(nonces, nonces.dropFirst()).allSatisfy { $0 < $1 })
        }
    }

    @Test func validateOrdersCarryValidateAndUserrefAndReturnNoTxid() async throws {
        try await withFakeKraken { fake, url in
            await fake.enqueue("AddOrder", .fixture("kraken_private_AddOrder_validate.json"))
            let kraken = try client(url, fake: fake)
            let result = try await kraken.addOrder(KrakenOrderRequest(
                pairKey: "XXBTZUSD", side: .buy, kind: .market, volume: Decimal(string: "0.002")!, userref: 42,
                validateOnly: true))
            #expect(result.txid == nil)
            let sent = try #require(await fake.requests().last)
            #expect(sent.signatureValid == true)
            #expect(sent.query["validate"] == "true")
            #expect(sent.query["userref"] == "42")
            #expect(sent.query["volume"] == "0.002")
            #expect(sent.query["ordertype"] == "market")
        }
    }

    @Test func concurrentPrivateCallsAreSerialisedSoNoncesArriveInOrder() async throws {
        try await withFakeKraken { fake, url in
            let kraken = try client(url, fake: fake, attempts: 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 { group.addTask { _ = try await kraken.balance() } }
                try await group.waitForAll()
            }
            let requests = await fake.requests()
            #expect(requests.count == 12)
            #expect(requests.allSatisfy { $0.signatureValid == true })
        }
    }

    @Test func noncesKeepIncreasingAcrossRestartsThroughTheStore() async throws {
        let dir = try TemporaryDirectory(prefix: "nonce")
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        // A previous run (or a clock that later stepped back) used a nonce far in the future.
        let future: UInt64 = UInt64(Date().timeIntervalSince1970 * 1_000_000) + 3_600_000_000
        #expect(try await storage.reserveNonce(atLeast: future) == future)
        try await withFakeKraken { fake, url in
            let kraken = try KrakenClient(
                configuration: KrakenConfiguration(
                    baseURL: url, apiKey: fake.apiKey, apiSecret: fake.secretBase64),
                clock: SystemTime(), logger: Logger(label: "test"),
                metrics: PrometheusMetricsFactory(registry: .init()), nonceStore: storage)
            _ = try await kraken.balance()
            let sent = try #require(UInt64(await fake.requests().last?.query["nonce"] ?? ""))
            #expect(sent > future)
            #expect(try await storage.lastNonce() == sent)
        }
    }

    /// Two processes signing with one key on one database draw from one counter: every nonce
    /// handed out is new, whichever process asks and however their clocks read.
    @Test func twoClientsOnOneDatabaseNeverShareANonce() async throws {
        let dir = try TemporaryDirectory(prefix: "nonce-shared")
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        let first = try SQLiteStorage(path: path), second = try SQLiteStorage(path: path)
        let floor = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        async let a = (0..<200).asyncMap { _ in try await first.reserveNonce(atLeast: floor) }
        async let b = (0..<200).asyncMap { _ in try await second.reserveNonce(atLeast: floor) }
        let all = try await a + b
        #expect(Set(all).count == 400)
        #expect(all.allSatisfy { $0 >= floor })
        #expect(try await first.lastNonce() == all.max())
    }

    @Test func privateCallsWithoutCredentialsAreAConfigurationError() async throws {
        let kraken = try client("http://127.0.0.1:1")
        let error = await #expect(throws: KrakenError.self) { try await kraken.balance() }
        #expect(error?.kind == .fixConfiguration)
    }

    @Test func retryLaterFailuresAreRetriedUntilTheySucceed() async throws {
        try await withFakeKraken { fake, url in
            await fake.enqueue(
                "Ticker", .status(502, "<html><body>Bad Gateway</body></html>"),
                .fixture("kraken_error_EAPI_Rate_limit_exceeded.json"))
            let kraken = try client(url)
            #expect(try await kraken.tickers(pairKeys: ["XXBTZUSD"]).count == 1)
            #expect(await fake.requests().count == 3)
        }
    }

    @Test func configurationErrorsAreNotRetried() async throws {
        try await withFakeKraken { fake, url in
            await fake.enqueue("Ticker", .fixture("kraken_error_EQuery_Unknown_asset_pair.json"))
            let kraken = try client(url)
            let error = await #expect(throws: KrakenError.self) { try await kraken.tickers(pairKeys: ["NOPE"]) }
            #expect(error?.kind == .fixConfiguration)
            #expect(await fake.requests().count == 1)
        }
    }

    @Test func aSlowAnswerTimesOutAsRetryLater() async throws {
        try await withFakeKraken { fake, url in
            await fake.enqueue("Time", .delayed(.seconds(3), .fixture("kraken_public_Time.json")))
            let kraken = try client(url, attempts: 1, timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = await #expect(throws: KrakenError.self) { try await kraken.serverTime() }
            #expect(error?.kind == .retryLater)
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    @Test func connectionRefusedIsRetryLater() async throws {
        let port = try ListeningSocket.freePort()
        let kraken = try client("http://127.0.0.1:\(port)", attempts: 2, timeout: .seconds(1))
        let error = await #expect(throws: KrakenError.self) { try await kraken.serverTime() }
        #expect(error?.kind == .retryLater)
    }

    @Test func theBreakerOpensFailsFastThenRecoversThroughAProbe() async throws {
        try await withFakeKraken { fake, url in
            await fake.setDefault("Time", .status(500, "<html>down</html>"))
            let registry = PrometheusCollectorRegistry()
            // The breaker's cool-down runs on a manual clock: the test moves it instead of sleeping.
            let clock = ManualClock()
            let told = Mutex<[String]>([])
            let kraken = try client(
                url, attempts: 1, breaker: 2, coolDown: .milliseconds(300),
                metrics: PrometheusMetricsFactory(registry: registry), clock: clock,
                onBreakerChange: { group, opened in told.withLock { $0.append("\(group) \(opened ? "open" : "closed")") } })
            // Calls 10 ms apart: the public pacing (1 ms at 1,000 per second) never has to wait.
            for _ in 0..<2 {
                clock.advance(by: .milliseconds(10))
                _ = try? await kraken.serverTime()
            }
            #expect(await kraken.breakerState(.public) == .open)
            clock.advance(by: .milliseconds(10))
            let error = await #expect(throws: KrakenError.self) { try await kraken.serverTime() }
            #expect(error?.message.contains("circuit breaker") == true)
            #expect(await fake.requests().count == 2)  // the third call never left
            #expect(registry.emitToString().contains(#"kraken_breaker_state{group="public"} 2"#))
            // A probe that fails opens it again, without telling anyone a second time.
            clock.advance(by: .milliseconds(350))
            _ = try? await kraken.serverTime()
            #expect(await kraken.breakerState(.public) == .open)
            #expect(told.withLock { $0 } == ["public open"])

            await fake.setDefault("Time", .fixture("kraken_public_Time.json"))
            clock.advance(by: .milliseconds(350))
            #expect(try await kraken.serverTime().unixtime == 1_688_669_448)
            #expect(await kraken.breakerState(.public) == .closed)
            let text = registry.emitToString()
            #expect(text.contains(#"kraken_breaker_state{group="public"} 0"#))
            #expect(text.contains(#"kraken_requests_total{endpoint="Time",outcome="ok"} 1"#))
            #expect(text.contains(#"kraken_requests_total{endpoint="Time",outcome="retryLater"} 3"#))
            #expect(told.withLock { $0 } == ["public open", "public closed"])
        }
    }

    @Test func secretsNeverReachMetricsOrDescriptions() async throws {
        try await withFakeKraken { fake, url in
            let registry = PrometheusCollectorRegistry()
            let kraken = try client(url, fake: fake, metrics: PrometheusMetricsFactory(registry: registry))
            _ = try await kraken.balance()
            let text = registry.emitToString()
            #expect(!text.contains(fake.apiKey))
            #expect(!text.contains(fake.secretBase64))
            let config = try KrakenConfiguration(settings: .values([
                "KRAKEN_API_KEY": fake.apiKey, "KRAKEN_API_SECRET": fake.secretBase64,
            ]))
            #expect(!config.description.contains(fake.apiKey))
            #expect(config.description.contains("credentials: set"))
        }
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
