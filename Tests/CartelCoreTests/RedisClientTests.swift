import CartelCore
import Foundation
import Logging
import Metrics
import Prometheus
import Testing
import TestSupport

/// The Redis client against a real `redis-server` (Debian's): commands, pipelining, pub/sub
/// (also with `redis-cli` as the other process), authentication, unix sockets, and the link's
/// reconnection when the server is killed and comes back.
@Suite(.serialized) struct RedisClientTests {
    static let logger = Logger(label: "redis-test")

    func uniqueKey(_ name: String) -> String { "test:\(name):\(UUID().uuidString)" }

    @Test func commandsAnswerAsRedisSays() async throws {
        let connection = try await RedisConnection.connect(to: try RedisServer.sharedURL())
        defer { Task { await connection.close() } }
        try await connection.ping()
        let key = uniqueKey("set")
        #expect(try await connection.get(key) == nil)
        try await connection.set(key, "42.10000000", expiresInSeconds: 30)
        #expect(try await connection.get(key) == Array("42.10000000".utf8))
        guard case .integer(let ttl) = try await connection.send(["TTL", key]) else { Issue.record("TTL is not an integer"); return }
        #expect((1...30).contains(ttl))
        #expect(try await connection.delete([key, uniqueKey("absent")]) == 1)
        #expect(try await connection.get(key) == nil)
        // An error reply throws with Redis's message; the connection stays usable.
        await #expect(throws: RedisError.self) { try await connection.send(["NOSUCHCOMMAND"]) }
        let wrongType = uniqueKey("list")
        _ = try await connection.send(["RPUSH", wrongType, "x"])
        do {
            _ = try await connection.get(wrongType)
            Issue.record("GET of a list succeeded")
        } catch let error as RedisError {
            #expect(error.kind == .server)
            #expect(error.message.hasPrefix("WRONGTYPE"))
        }
        try await connection.ping()
        _ = try await connection.delete([wrongType])
    }

    @Test func pipelinedRepliesComeBackInOrder() async throws {
        // A generous deadline: the whole suite runs at once on small machines.
        let connection = try await RedisConnection.connect(to: try RedisServer.sharedURL(), commandTimeout: .seconds(60))
        defer { Task { await connection.close() } }
        let key = uniqueKey("counter")
        let replies = try await connection.pipeline(Array(repeating: ["INCR", key], count: 5_000))
        #expect(replies == (1...5_000).map { RESPValue.integer(Int64($0)) })
        // Many concurrent callers on one connection: each gets its own reply.
        let values = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let own = "\(key):\(index)"
                    try await connection.set(own, "value \(index)", expiresInSeconds: 60)
                    return (index, try await connection.get(own).map { String(decoding: $0, as: UTF8.self) })
                }
            }
            var values: [Int: String?] = [:]
            for try await (index, value) in group { values[index] = value }
            return values
        }
        #expect(values.count == 200)
        for (index, value) in values { #expect(value == "value \(index)") }
        _ = try await connection.delete([key] + (0..<200).map { "\(key):\($0)" })
    }

    @Test func messagesReachASubscriberAndStopAfterUnsubscribe() async throws {
        let url = try RedisServer.sharedURL()
        let (stream, continuation) = AsyncStream<RedisMessage>.makeStream()
        let subscriber = try await RedisConnection.connect(to: url) { continuation.yield($0) }
        let publisher = try await RedisConnection.connect(to: url)
        defer { Task { await subscriber.close(); await publisher.close() } }
        let channel = "signalcartel:test.\(UUID().uuidString)"
        try await subscriber.subscribe([channel])
        #expect(try await publisher.publish("one", to: channel) == 1)
        #expect(try await publisher.publish("two", to: channel) == 1)
        try await subscriber.unsubscribe([channel])
        #expect(try await publisher.publish("three", to: channel) == 0)
        var received: [String] = []
        for await message in stream {
            received.append(String(decoding: message.payload, as: UTF8.self))
            if received.count == 2 { break }
        }
        #expect(received == ["one", "two"])
    }

    /// The other end is a different process: `redis-cli` publishes to us, and subscribes to what we publish.
    @Test func publishAndSubscribeAcrossProcesses() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let channel = "signalcartel:candle.closed"
        let (stream, continuation) = AsyncStream<RedisMessage>.makeStream()
        let subscriber = try await RedisConnection.connect(to: server.url) { continuation.yield($0) }
        defer { Task { await subscriber.close() } }
        try await subscriber.subscribe([channel])
        let cli = try await ProcessRunner.run("/usr/bin/redis-cli", ["-p", "\(server.port)", "PUBLISH", channel, "from redis-cli"], timeout: 10)
        #expect(cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        for await message in stream {
            #expect(message == RedisMessage(channel: channel, payload: Array("from redis-cli".utf8)))
            break
        }

        // redis-cli subscribes in another process and prints what our client publishes.
        let output = server.directory.file("cli.out")
        let listener = try ChildProcess(
            "/usr/bin/redis-cli", ["-p", "\(server.port)", "--no-raw", "SUBSCRIBE", "signalcartel:fill"], stdout: output)
        defer { listener.terminate() }
        let publisher = try await RedisConnection.connect(to: server.url)
        defer { Task { await publisher.close() } }
        let deadline = Date().addingTimeInterval(10)
        while try await publisher.publish("{\"v\":1}", to: "signalcartel:fill") == 0, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        var printed = ""
        while Date() < deadline {
            printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if printed.contains("{\\\"v\\\":1}") { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(printed.contains("\"message\""))
        #expect(printed.contains("{\\\"v\\\":1}"))
    }

    @Test func aWrongPasswordIsAClearErrorThatNeverShowsIt() async throws {
        let server = try await RedisServer(password: "right-horse-battery")
        defer { server.stop() }
        var wrong = server.url
        wrong.password = "s3cret-wrong-pass"
        do {
            _ = try await RedisConnection.connect(to: wrong)
            Issue.record("a wrong password was accepted")
        } catch let error as RedisError {
            #expect(error.kind == .authentication)
            #expect(error.message.contains("refused the password"))
            #expect(!error.message.contains("s3cret-wrong-pass"))
            #expect(error.message.contains("redis://:***@127.0.0.1:\(server.port)/0"))
        }
        var none = server.url
        none.password = nil
        do {
            let connection = try await RedisConnection.connect(to: none)
            // Redis accepts the connection and refuses the first command.
            _ = try await connection.get("x")
            Issue.record("no password was accepted")
        } catch let error as RedisError {
            #expect(error.message.contains("NOAUTH") || error.kind == .authentication)
        }
        let right = try await RedisConnection.connect(to: server.url)
        try await right.ping()
        await right.close()
    }

    @Test func aUnixSocketAndADatabaseNumberWork() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let url = try RedisURL.parse("unix://\(server.socketPath)?db=3")
        let inThree = try await RedisConnection.connect(to: url)
        let inZero = try await RedisConnection.connect(to: server.url)
        defer { Task { await inThree.close(); await inZero.close() } }
        try await inThree.set("k", "three", expiresInSeconds: 60)
        #expect(try await inThree.get("k") == Array("three".utf8))
        #expect(try await inZero.get("k") == nil)
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        let port = try ListeningSocket.freePort()
        do {
            _ = try await RedisConnection.connect(to: try RedisURL.parse("redis://:pw-not-shown@127.0.0.1:\(port)/0"), timeout: .seconds(2))
            Issue.record("connected to nothing")
        } catch let error as RedisError {
            #expect(error.kind == .unreachable)
            #expect(error.message.contains("cannot connect to redis://:***@127.0.0.1:\(port)/0"))
            #expect(!error.message.contains("pw-not-shown"))
        }
    }

    /// A server that accepts the connection and then sends garbage: every waiting command fails.
    @Test func garbageFromTheServerFailsTheWaitingCommands() async throws {
        let socket = try ListeningSocket()
        defer { socket.close() }
        let serving = Task.detached { socket.acceptAndReply(Array("?not resp\r\n".utf8)) }
        let connection = try await RedisConnection.connect(to: RedisURL(endpoint: .tcp(host: "127.0.0.1", port: socket.port)))
        do {
            _ = try await connection.send(["PING"])
            Issue.record("garbage was taken for a reply")
        } catch let error as RedisError {
            #expect(error.kind == .protocolViolation || error.kind == .connectionClosed)
        }
        _ = await serving.value
        #expect(!connection.isActive)
    }

    /// The link while the server is killed and restarted: publishing drops (counted), the cache
    /// misses, the health detail says why; after the restart both connections come back, the
    /// subscriber says `subscribed` again and messages flow.
    @Test func theLinkReconnectsAfterTheServerIsKilled() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let registry = PrometheusCollectorRegistry()
        let metrics = PrometheusMetricsFactory(registry: registry)
        let link = RedisLink(
            url: server.url, source: .tradingEngine, channels: [BusEvent.channel("ticker")],
            backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(200)), pingEvery: .milliseconds(200), logger: Self.logger, metrics: metrics)
        let deliveries = link.subscribe()
        let running = Task { try await link.run() }
        defer { running.cancel() }
        var iterator = deliveries.makeAsyncIterator()
        #expect(await iterator.next() == .subscribed)
        try await waitUntil { link.problem == nil }
        #expect(link.healthDetail == "ok")

        link.cache("test:ticker", "{\"last\":\"1\"}", ttlSeconds: 60)
        try await waitUntil { await link.cached("test:ticker") != nil }
        link.publish("{\"n\":1}", to: BusEvent.channel("ticker"))
        #expect(await iterator.next() == .message(RedisMessage(channel: BusEvent.channel("ticker"), payload: Array("{\"n\":1}".utf8))))

        server.kill()
        try await waitUntil { link.problem != nil }
        #expect(link.healthDetail.hasPrefix("degraded: "))
        #expect(await link.cached("test:ticker") == nil)
        link.publish("{\"n\":2}", to: BusEvent.channel("ticker"))

        try await server.start()
        #expect(await iterator.next() == .subscribed)
        try await waitUntil { link.problem == nil }
        link.publish("{\"n\":3}", to: BusEvent.channel("ticker"))
        #expect(await iterator.next() == .message(RedisMessage(channel: BusEvent.channel("ticker"), payload: Array("{\"n\":3}".utf8))))
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains("redis_reconnects_total{connection=\"command\"} 1"))
        #expect(text.contains("redis_reconnects_total{connection=\"subscriber\"} 1"))
        #expect(text.contains("redis_messages_dropped_total{channel=\"signalcartel:ticker\"} 1"))
        #expect(text.contains("redis_messages_received_total{channel=\"signalcartel:ticker\"} 2"))
        #expect(text.contains("redis_cache_requests_total{result=\"hit\"} 1"))
        // The miss while down: "error" when asked on the dying connection, "unavailable" after.
        #expect(text.contains("redis_cache_requests_total{result=\"unavailable\"} 1") || text.contains("redis_cache_requests_total{result=\"error\"} 1"))
    }

    @Test func aWrongPasswordLeavesTheLinkDegradedNotDead() async throws {
        let server = try await RedisServer(password: "right-one")
        defer { server.stop() }
        var url = server.url
        url.password = "wrong-one-9f2"
        let link = RedisLink(url: url, source: .website, backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(100)), logger: Self.logger)
        let running = Task { try await link.run() }
        try await waitUntil { link.problem?.contains("refused the password") == true }
        #expect(!link.healthDetail.contains("wrong-one-9f2"))
        #expect(await link.cached("anything") == nil)
        link.publish(.pause(PauseState(paused: true, by: "test", at: Date())))
        running.cancel()
        // Cancelled, it ends (a shutdown is never held up by an unreachable Redis).
        _ = try? await running.value
    }

    func waitUntil(timeout: TimeInterval = 10, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !(await condition()) {
            guard Date() < deadline else {
                Issue.record("condition not met within \(timeout) s")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// `REDIS_URL` forms, and the bus payloads.
@Suite struct RedisURLAndBusTests {
    @Test func urlsParse() throws {
        #expect(try RedisURL.parse("redis://127.0.0.1:6380/2") == RedisURL(endpoint: .tcp(host: "127.0.0.1", port: 6380), database: 2))
        #expect(try RedisURL.parse("redis://localhost") == RedisURL(endpoint: .tcp(host: "localhost", port: 6379)))
        #expect(try RedisURL.parse("redis://:p%40ss@redis:6379/0") == RedisURL(endpoint: .tcp(host: "redis", port: 6379), password: "p@ss"))
        #expect(try RedisURL.parse("redis://app:pw@[::1]:7000/1") == RedisURL(endpoint: .tcp(host: "::1", port: 7000), user: "app", password: "pw", database: 1))
        #expect(try RedisURL.parse("unix:///run/redis/redis.sock") == RedisURL(endpoint: .unixSocket(path: "/run/redis/redis.sock")))
        #expect(try RedisURL.parse("unix://:pw@/run/redis.sock?db=4") == RedisURL(endpoint: .unixSocket(path: "/run/redis.sock"), password: "pw", database: 4))
        #expect(try RedisURL.parse("redis://:hunter2@h:1/0").description == "redis://:***@h:1/0")
        #expect(try RedisURL.parse("unix://:hunter2@/s.sock?db=1").description == "unix://:***@/s.sock?db=1")
    }

    @Test(arguments: [
        "localhost:6379", "http://h:1", "redis://", "redis://h:port", "redis://h:0", "redis://h/x", "redis://h/1?timeout=3",
        "unix://relative.sock", "rediss://:hunter2@h:6380/0", "redis://:hunter2@h:99999/0", "redis://hunter2@h:notaport/0",
        "redis://:hun?ter2@h:1/0",
    ])
    func badURLsAreRefusedWithoutTheirPassword(_ text: String) {
        do {
            _ = try RedisURL.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            let message = "\(error)"
            #expect(message.contains("REDIS_URL"))
            #expect(!message.contains("hunter2"))
        }
    }

    @Test func payloadsAreVersionedJSONWithExactDecimals() throws {
        let candle = Candle(
            pair: "BTC/USD", intervalMinutes: 1, openTime: Date(timeIntervalSince1970: 1_700_000_040), open: Decimal(string: "37000.1")!,
            high: Decimal(string: "37010.25")!, low: Decimal(string: "36990")!, close: Decimal(string: "37005.00000001")!,
            vwap: Decimal(string: "37001.5")!, volume: Decimal(string: "1.23456789")!, tradeCount: 17)
        let event = BusEvent.candleClosed(candle)
        let text = event.payload(source: .marketData, at: Date(timeIntervalSince1970: 1_700_000_100))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["v"] as? Int == 1)
        #expect(object["event"] as? String == "candle.closed")
        #expect(object["source"] as? String == "market-data")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["close"] as? String == "37005.00000001")
        #expect(data["volume"] as? String == "1.23456789")
        #expect(data["openTime"] as? String == "2023-11-14T22:14:00Z")
        let notice = try #require(BusNotice.decode(RedisMessage(channel: event.channel, payload: Array(text.utf8))))
        #expect(notice.event == "candle.closed")
        #expect(notice.data.pair == "BTC/USD")
        #expect(notice.data.interval == 1)
        // Another version, a mismatched channel, or junk are not ours.
        #expect(BusNotice.decode(RedisMessage(channel: event.channel, payload: Array(text.replacingOccurrences(of: "\"v\":1", with: "\"v\":2").utf8))) == nil)
        #expect(BusNotice.decode(RedisMessage(channel: BusEvent.channel("ticker"), payload: Array(text.utf8))) == nil)
        #expect(BusNotice.decode(RedisMessage(channel: event.channel, payload: Array("{not json".utf8))) == nil)
        #expect(Set(BusEvent.names).count == 8)
    }
}
