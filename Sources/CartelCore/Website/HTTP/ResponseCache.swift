import Foundation
import Hummingbird
import Synchronization

/// Bodies of read-only answers kept in memory and served again while nothing they depend on
/// has changed: keyed by the request, valid under a marker (the newest event the hub has seen,
/// which moves with every stored candle, order, fill, ...) and, optionally, for a short time. A
/// load of dashboards and scripts polling the same URL then costs no database reads.
///
/// Which requests are kept, and under what, is decided in one place (`slot(path:query:)`): the
/// routes and the connection-level lane (`CachedAnswerHandler`) both ask it.
final class ResponseCache: Sendable {
    struct Entry: Sendable {
        var marker: Int64
        var storedAt: ContinuousClock.Instant
        var status: HTTPResponse.Status
        var body: ByteBuffer
    }

    /// Where one request's answer is kept: its route template (for metrics), its key, the marker
    /// it must have been stored under and, optionally, how long it stays good.
    struct Slot: Sendable, Equatable {
        var route: String
        var key: String
        var marker: Int64
        var maxAge: Duration?
    }

    let entries = Mutex<[String: Entry]>([:])
    let maxEntries: Int
    /// The newest event the hub has seen (negative before it has looked).
    let followed: @Sendable () -> Int64

    init(maxEntries: Int = 256, followed: @escaping @Sendable () -> Int64) {
        self.maxEntries = maxEntries
        self.followed = followed
    }

    /// The slot of a `GET path?query`, or nil for a request that is never cached.
    /// - `/api/health` (no query): recomputed at most every half second, so a health check
    ///   polled in a tight loop (a load balancer, a script) reads the database twice a second.
    /// - `/api/candles`: until the next stored candle (every candle write is an event), keyed by
    ///   the query exactly as sent. Only a query that passed the route's checks is ever stored,
    ///   so a repeated one is answered without parsing it again.
    func slot(path: String, query: String?) -> Slot? {
        switch path {
        case "/api/health" where query?.isEmpty ?? true: Self.health
        case "/api/candles": candles(query: query)
        default: nil
        }
    }

    static let health = Slot(route: "/api/health", key: "health", marker: 0, maxAge: .milliseconds(500))

    func candles(query: String?) -> Slot {
        Slot(route: "/api/candles", key: "candles?" + (query ?? ""), marker: followed(), maxAge: nil)
    }

    /// The answer stored in `slot` when it is still good: stored under its marker (a negative
    /// marker means "not following changes": nothing is cached then) and young enough.
    func entry(_ slot: Slot, now: ContinuousClock.Instant = .now) -> Entry? {
        guard slot.marker >= 0, let entry = entries.withLock({ $0[slot.key] }), entry.marker == slot.marker,
            slot.maxAge.map({ entry.storedAt.duration(to: now) < $0 }) ?? true
        else { return nil }
        return entry
    }

    /// The JSON answer for `slot`: cached if still good, else built by `make` and kept.
    func json(_ slot: Slot, make: () async throws -> (HTTPResponse.Status, ByteBuffer)) async throws -> Response {
        let now = ContinuousClock.now
        if let entry = entry(slot, now: now) { return Self.response(entry.status, entry.body) }
        let (status, body) = try await make()
        if slot.marker >= 0 {
            entries.withLock { entries in
                if entries.count >= maxEntries, entries[slot.key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[slot.key] = Entry(marker: slot.marker, storedAt: now, status: status, body: body)
            }
        }
        return Self.response(status, body)
    }

    static let jsonFields: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]

    static func response(_ status: HTTPResponse.Status, _ body: ByteBuffer) -> Response {
        Response(
            status: status, headers: jsonFields,
            body: .init(byteBuffer: body))
    }
}
