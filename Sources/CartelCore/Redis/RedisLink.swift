import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// A service's link to Redis (`REDIS_URL`): one command connection (publishing, the cache) and,
/// when the service listens to channels, a dedicated subscriber connection. Both reconnect by
/// themselves with capped exponential backoff. Redis is optional: while it is unreachable or
/// refuses the password, publishing drops messages (readers catch up from storage), the cache
/// misses (readers go to the database), `status` says why, and nothing waits on it or exits.
public final class RedisLink: Service, EventPublisher, SharedCache, BusListener, Sendable {
    /// What a subscriber of the link receives.
    public enum Delivery: Sendable, Equatable {
        /// A message on a subscribed channel.
        case message(RedisMessage)
        /// The subscriber connection is (again) subscribed: messages may have been missed
        /// before this, so catch up from storage.
        case subscribed
    }

    public let url: RedisURL
    public let source: ServiceName
    let channels: [String]
    let commandTimeout: Duration
    let backoff: Backoff
    let pingEvery: Duration
    let logger: Logger
    let metrics: any MetricsFactory

    struct State {
        var command: RedisConnection?
        var commandProblem: String? = "connecting"
        var subscriberProblem: String? = "connecting"
        var listeners: [Int: AsyncStream<Delivery>.Continuation] = [:]
        var nextListener = 0
        /// Commands issued before the first connection attempt ended (a service announces its
        /// start, a replay its first candle, before Redis has answered): sent once connected,
        /// dropped if that attempt fails. At most ``startupBacklog``.
        var beforeFirstConnection: [[String]]? = []
    }

    static let startupBacklog = 1_000

    let state = Mutex(State())

    /// - Parameter channels: full channel names (`signalcartel:candle.closed`) this service
    ///   listens to; none opens no subscriber connection.
    public init(
        url: RedisURL, source: ServiceName, channels: [String] = [], commandTimeout: Duration = .seconds(2),
        backoff: Backoff = Backoff(base: .milliseconds(250), cap: .seconds(15)), pingEvery: Duration = .seconds(5), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.url = url
        self.source = source
        self.channels = channels
        self.commandTimeout = commandTimeout
        self.backoff = backoff
        self.pingEvery = pingEvery
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "redis"] = "\(url.redacted)"
        self.logger = logger
    }

    /// nil while everything is connected; else what is wrong, for health answers.
    public var problem: String? {
        state.withLock { state in
            if let problem = state.commandProblem { return problem }
            return channels.isEmpty ? nil : state.subscriberProblem
        }
    }

    /// `ok` or `degraded: <why>`: the health detail.
    public var healthDetail: String { problem.map { "degraded: \($0)" } ?? "ok" }

    /// Every delivery from now on; ends at shutdown. Buffers the newest 10,000.
    public func subscribe() -> AsyncStream<Delivery> {
        let (stream, continuation) = AsyncStream<Delivery>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = continuation
            return state.nextListener
        }
        continuation.onTermination = { [weak self] _ in _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) } }
        return stream
    }

    func deliver(_ delivery: Delivery) {
        for listener in state.withLock({ Array($0.listeners.values) }) { listener.yield(delivery) }
    }

    // MARK: - Publishing and the cache

    /// Publishes the event; a ticker is also cached as its pair's latest.
    public func publish(_ event: BusEvent) {
        let payload = event.payload(source: source, at: Date())
        publish(payload, to: event.channel)
        if case .ticker(let ticker) = event {
            cache(BusEvent.tickerCacheKey(ticker.pair), payload, ttlSeconds: BusEvent.tickerCacheSeconds)
        }
    }

    /// Sends `PUBLISH` without waiting for the reply.
    public func publish(_ payload: String, to channel: String) {
        send(["PUBLISH", channel, payload], channel: channel)
    }

    /// Sends a command without waiting; a `PUBLISH` (`channel` given) is counted as published
    /// or dropped.
    func send(_ command: [String], channel: String? = nil) {
        enum Route { case sent, queued, dropped }
        let route: Route = state.withLock { state in
            if let connection = state.command {
                // Under the lock: the backlog of the first connection goes out before this.
                transmit(command, channel: channel, on: connection)
                return .sent
            }
            if state.beforeFirstConnection != nil, state.beforeFirstConnection!.count < Self.startupBacklog {
                state.beforeFirstConnection!.append(command)
                return .queued
            }
            return .dropped
        }
        if route == .dropped, let channel {
            Counter(label: "redis_messages_dropped_total", dimensions: [("channel", channel)], factory: metrics).increment()
        }
    }

    func transmit(_ command: [String], channel: String?, on connection: RedisConnection) {
        let metrics = self.metrics
        connection.send(command) { result in
            guard let channel else { return }
            switch result {
            case .success(.integer):
                Counter(label: "redis_messages_published_total", dimensions: [("channel", channel)], factory: metrics).increment()
            default:
                Counter(label: "redis_messages_dropped_total", dimensions: [("channel", channel)], factory: metrics).increment()
            }
        }
    }

    /// The cached value, or nil on a miss, while Redis is down, or on any error (the caller
    /// reads the database instead).
    public func cached(_ key: String) async -> [UInt8]? {
        guard let connection = state.withLock({ $0.command }) else {
            countCache("unavailable")
            return nil
        }
        do {
            let value = try await connection.get(key)
            countCache(value == nil ? "miss" : "hit")
            return value
        } catch {
            countCache("error")
            return nil
        }
    }

    /// `SET key value EX ttl`, without waiting.
    public func cache(_ key: String, _ value: String, ttlSeconds: Int) {
        send(["SET", key, value, "EX", String(max(ttlSeconds, 1))])
    }

    /// `DEL key`, without waiting.
    public func forget(_ key: String) {
        send(["DEL", key])
    }

    func countCache(_ result: String) {
        Counter(label: "redis_cache_requests_total", dimensions: [("result", result)], factory: metrics).increment()
    }

    // MARK: - Connections

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.keepConnected("command") }
                if !self.channels.isEmpty { group.addTask { await self.keepConnected("subscriber") } }
            }
        }
        let listeners = state.withLock { state in
            state.command = nil
            defer { state.listeners.removeAll() }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }

    /// Connects, serves until the connection is lost, and reconnects with backoff, until cancelled.
    func keepConnected(_ role: String) async {
        var backoff = self.backoff
        var connectedBefore = false
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            let subscriber = role == "subscriber"
            do {
                let onMessage: (@Sendable (RedisMessage) -> Void)? = subscriber ? { @Sendable [weak self] message in self?.received(message) } : nil
                let connection = try await RedisConnection.connect(
                    to: url, timeout: .seconds(5), commandTimeout: commandTimeout, onMessage: onMessage)
                if subscriber {
                    do {
                        try await connection.subscribe(channels)
                    } catch {
                        await connection.close()
                        throw error
                    }
                }
                if connectedBefore { Counter(label: "redis_reconnects_total", dimensions: [("connection", role)], factory: metrics).increment() }
                connectedBefore = true
                failures = 0
                backoff.reset()
                var metadata: Logger.Metadata = ["connection": "\(role)"]
                if subscriber { metadata["channels"] = "\(channels.joined(separator: ","))" }
                logger.notice("redis connected", metadata: metadata)
                setConnected(role, connection)
                if subscriber { deliver(.subscribed) }
                // Both connections are pinged (PING is allowed while subscribed), so a dead peer
                // behind a half-open socket is noticed too.
                let lost = await serve(connection)
                setProblem(role, lost.summary)
                if !Task.isCancelled {
                    logger.warning("redis connection lost; reconnecting", metadata: ["connection": "\(role)", "reason": "\(lost.message)"])
                }
            } catch {
                let why = (error as? RedisError)?.message ?? "\(error)"
                setProblem(role, (error as? RedisError)?.summary ?? "unavailable")
                // The first failure and then every 20th: an outage does not flood the log.
                if failures % 20 == 0 {
                    logger.error("redis unavailable; retrying with backoff", metadata: ["connection": "\(role)", "error": "\(why)"])
                }
                failures += 1
            }
            let delay = backoff.next(unit: Double.random(in: 0.5..<1, using: &generator))
            do { try await Task.sleep(for: delay) } catch { break }
        }
    }

    /// Waits until the connection closes (it is pinged every `pingEvery`, so a server that
    /// stops answering is noticed too) or the task is cancelled; closes it. Returns why it ended.
    func serve(_ connection: RedisConnection) async -> RedisError {
        let pingEvery = self.pingEvery
        return await withTaskGroup(of: RedisError.self) { group in
            group.addTask {
                try? await connection.channel.closeFuture.get()
                return RedisError(.connectionClosed, "the server closed the connection")
            }
            group.addTask {
                do {
                    while true {
                        try await Task.sleep(for: pingEvery)
                        try await connection.ping()
                    }
                } catch is CancellationError {
                    return RedisError(.connectionClosed, "shutting down")
                } catch {
                    return error as? RedisError ?? RedisError(.connectionClosed, "\(error)")
                }
            }
            let first = await group.next() ?? RedisError(.connectionClosed, "shutting down")
            group.cancelAll()
            connection.channel.close(promise: nil)
            return first
        }
    }

    func received(_ message: RedisMessage) {
        Counter(label: "redis_messages_received_total", dimensions: [("channel", message.channel)], factory: metrics).increment()
        deliver(.message(message))
    }

    func setConnected(_ role: String, _ connection: RedisConnection) {
        state.withLock { state in
            if role == "command" {
                for command in state.beforeFirstConnection ?? [] {
                    transmit(command, channel: command.first == "PUBLISH" ? command[1] : nil, on: connection)
                }
                state.beforeFirstConnection = nil
                state.command = connection
                state.commandProblem = nil
            } else {
                state.subscriberProblem = nil
            }
        }
        Gauge(label: "redis_connected", dimensions: [("connection", role)], factory: metrics).record(1)
    }

    func setProblem(_ role: String, _ problem: String) {
        let dropped: [[String]] = state.withLock { state in
            if role == "command" {
                state.command = nil
                state.commandProblem = problem
                defer { state.beforeFirstConnection = nil }
                return state.beforeFirstConnection ?? []
            } else {
                state.subscriberProblem = problem
                return []
            }
        }
        for command in dropped where command.first == "PUBLISH" {
            Counter(label: "redis_messages_dropped_total", dimensions: [("channel", command[1])], factory: metrics).increment()
        }
        Gauge(label: "redis_connected", dimensions: [("connection", role)], factory: metrics).record(0)
    }
}
