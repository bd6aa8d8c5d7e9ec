import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Follows the `events` journal (written by every service in the same transaction as what it
/// reports) and fans each new event out to the `/api/events` streams, at most `maxClients` of
/// them. Every `heartbeatEvery` each stream gets a keep-alive; old events are pruned after
/// `keep`. On graceful shutdown every stream ends, so the HTTP server can drain.
public actor EventHub<C: TimeSource>: Service {
    public enum Item: Sendable, Equatable {
        case event(StoredEvent)
        case keepAlive
    }

    let storage: any StorageProvider
    let clock: C
    let poll: Duration
    let heartbeatEvery: Duration
    let keep: TimeInterval
    public let maxClients: Int
    let logger: Logger
    var clients: [Int: AsyncStream<Item>.Continuation] = [:]
    var nextClient = 0
    var lastID: Int64? {
        didSet { followed.store(lastID ?? -1, ordering: .relaxed) }
    }
    /// The newest event this hub has seen, readable without waiting on the actor; -1 while it
    /// is not following the journal (not started, or the database was never readable). Answers
    /// cached under this value are current to within one poll.
    public nonisolated let followed = Atomic<Int64>(-1)
    var stopped = false
    let onClientsChanged: @Sendable (Int) -> Void
    /// Redis deliveries (a commit was announced): each makes the hub read the journal now
    /// rather than at its next poll. The journal stays what is streamed.
    let wakeUps: AsyncStream<RedisLink.Delivery>?
    nonisolated let wakePending = WakeFlag()

    /// - Parameter poll: how often the journal is read without a wake-up (a catch-up when
    ///   `wakeUps` come from Redis).
    public init(
        storage: any StorageProvider, clock: C, maxClients: Int, poll: Duration = .milliseconds(250), heartbeatEvery: Duration = .seconds(15),
        keep: TimeInterval = 86_400, wakeUps: AsyncStream<RedisLink.Delivery>? = nil, logger: Logger,
        onClientsChanged: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.wakeUps = wakeUps
        self.storage = storage
        self.clock = clock
        self.maxClients = maxClients
        self.poll = poll
        self.heartbeatEvery = heartbeatEvery
        self.keep = keep
        self.logger = logger
        self.onClientsChanged = onClientsChanged
    }

    /// A new subscriber's stream and its id, or nil when `maxClients` are connected (or the
    /// hub has stopped). The stream buffers the newest 1,000 items for a slow reader.
    public func subscribe() -> (id: Int, stream: AsyncStream<Item>)? {
        guard !stopped, clients.count < maxClients else { return nil }
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = nextClient
        nextClient += 1
        clients[id] = continuation
        onClientsChanged(clients.count)
        return (id, stream)
    }

    public func unsubscribe(_ id: Int) {
        clients.removeValue(forKey: id)?.finish()
        onClientsChanged(clients.count)
    }

    public var clientCount: Int { clients.count }

    public func run() async throws {
        // Timer ticks (every poll: a step, and the keep-alive and prune schedules) and wake-ups
        // (a Redis message announced a commit: a step now) go through one stream, so steps
        // never overlap.
        let (ticks, tick) = AsyncStream<Bool>.makeStream()
        let poll = self.poll
        let clock = self.clock
        let wakeUps = self.wakeUps
        let pending = wakePending
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while (try? await clock.sleep(for: poll)) != nil { tick.yield(true) }
                    tick.finish()
                }
                if let wakeUps {
                    group.addTask {
                        // At most one wake-up waits: a burst of messages during a step is one more step.
                        for await _ in wakeUps where !pending.raise() {
                            tick.yield(false)
                        }
                    }
                }
                await self.follow(ticks)
                group.cancelAll()
            }
        }
        stop()
    }

    /// Steps on every tick and wake-up until the ticks end (cancellation).
    func follow(_ ticks: AsyncStream<Bool>) async {
        var sinceKeepAlive = Duration.zero
        var sincePrune = Duration.seconds(3600)
        var failures = 0
        await step(failures: &failures)
        for await isTimer in ticks {
            if !isTimer { wakePending.lower() }
            await step(failures: &failures)
            guard isTimer else { continue }
            sinceKeepAlive += poll
            sincePrune += poll
            if sinceKeepAlive >= heartbeatEvery {
                broadcast(.keepAlive)
                sinceKeepAlive = .zero
            }
            if sincePrune >= .seconds(600) {
                sincePrune = .zero
                await prune()
            }
        }
    }

    func step(failures: inout Int) async {
        do {
            try await step()
            if failures > 0 { logger.info("events journal readable again") }
            failures = 0
        } catch {
            if failures % 40 == 0 { logger.warning("cannot read the events journal", metadata: ["error": "\(error)"]) }
            failures += 1
        }
    }

    func stop() {
        stopped = true
        for continuation in clients.values { continuation.finish() }
        clients.removeAll()
        onClientsChanged(0)
    }

    /// Reads what was stored since the last look and hands it to every stream.
    public func step() async throws {
        let store = try await storage.storage()
        guard let journal = store as? any DashboardStorage else { return }
        guard let last = lastID else {
            lastID = try await journal.latestEventID()
            return
        }
        let events = try await journal.events(after: last, limit: 500)
        for event in events { broadcast(.event(event)) }
        if let newest = events.last { lastID = newest.id }
    }

    func broadcast(_ item: Item) {
        for continuation in clients.values { continuation.yield(item) }
    }

    func prune() async {
        do {
            guard let journal = try await storage.storage() as? any DashboardStorage else { return }
            let removed = try await journal.pruneEvents(olderThan: clock.wallTime.addingTimeInterval(-keep))
            if removed > 0 { logger.debug("pruned old events", metadata: ["count": "\(removed)"]) }
            // The alert outbox too, so it stays bounded when no service sends alerts.
            if let outbox = journal as? any AlertStorage {
                _ = try await outbox.pruneAlerts(olderThan: clock.wallTime.addingTimeInterval(-7 * 86_400))
            }
        } catch {
            logger.warning("cannot prune the events journal", metadata: ["error": "\(error)"])
        }
    }
}

/// Whether a wake-up is already waiting to be handled.
final class WakeFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    /// Raises the flag; returns whether it was already raised.
    func raise() -> Bool { raised.exchange(true, ordering: .acquiringAndReleasing) }
    func lower() { raised.store(false, ordering: .releasing) }
}

/// The Server-Sent Events wire format.
public enum ServerSentEvents {
    /// `id:`, `event:` (the kind) and `data:` (the JSON payload, with the id and time added).
    public static func frame(_ event: StoredEvent) -> String {
        var data = event.payload.trimmingCharacters(in: .whitespacesAndNewlines)
        if data.hasPrefix("{"), data.hasSuffix("}") {
            let body = data.dropFirst().dropLast()
            data = "{\"eventId\":\(event.id),\"at\":\"\(UTCTime.iso8601(event.createdAt, fractional: false))\""
                + (body.trimmingCharacters(in: .whitespaces).isEmpty ? "" : ",") + body + "}"
        }
        // A payload never holds a raw newline (JSON escapes them); guard anyway: one data line each.
        let lines = data.split(separator: "\n", omittingEmptySubsequences: false).map { "data: \($0)" }.joined(separator: "\n")
        return "id: \(event.id)\nevent: \(event.kind)\n\(lines)\n\n"
    }

    public static let keepAlive = ": keep-alive\n\n"
    /// Sent first: how long a browser waits before reconnecting.
    public static let preamble = "retry: 3000\n: connected\n\n"
}
