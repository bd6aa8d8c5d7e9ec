import Foundation
import Hummingbird
import Synchronization

/// Bodies of read-only answers kept in memory and served again while nothing they depend on
/// has changed: keyed by the request, valid under a marker (the newest event the hub has seen,
/// which moves with every stored candle, order, fill, ...) and, optionally, for a short time. A
/// load of dashboards and scripts polling the same URL then costs no database reads.
final class ResponseCache: Sendable {
    struct Entry: Sendable {
        var marker: Int64
        var storedAt: ContinuousClock.Instant
        var status: HTTPResponse.Status
        var body: ByteBuffer
    }

    let entries = Mutex<[String: Entry]>([:])
    let maxEntries: Int

    init(maxEntries: Int = 256) {
        self.maxEntries = maxEntries
    }

    /// The JSON answer for `key`: cached if it was stored under `marker` (and, with `maxAge`, no
    /// longer ago than that), else built by `make` and kept. A negative marker means "not
    /// following changes": nothing is cached then.
    func json(
        _ key: String, marker: Int64, maxAge: Duration? = nil, make: () async throws -> (HTTPResponse.Status, ByteBuffer)
    ) async throws -> Response {
        let now = ContinuousClock.now
        if let cached = cached(key, marker: marker, maxAge: maxAge, now: now) { return cached }
        let (status, body) = try await make()
        if marker >= 0 {
            entries.withLock { entries in
                if entries.count >= maxEntries, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = Entry(marker: marker, storedAt: now, status: status, body: body)
            }
        }
        return Self.response(status, body)
    }

    /// The answer stored for `key` under `marker`, if any (and young enough).
    func cached(_ key: String, marker: Int64, maxAge: Duration? = nil, now: ContinuousClock.Instant = .now) -> Response? {
        guard marker >= 0, let entry = entries.withLock({ $0[key] }), entry.marker == marker,
            maxAge.map({ entry.storedAt.duration(to: now) < $0 }) ?? true
        else { return nil }
        return Self.response(entry.status, entry.body)
    }

    static let jsonFields: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]

    static func response(_ status: HTTPResponse.Status, _ body: ByteBuffer) -> Response {
        Response(
            status: status, headers: jsonFields,
            body: .init(byteBuffer: body))
    }
}
