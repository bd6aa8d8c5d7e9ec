import Foundation

/// Everything the services persist. The SQLite implementation is ``SQLiteStorage``; SQL dialect
/// details stay inside implementations so another backend can follow.
public protocol Storage: Sendable {
    /// Succeeds when the database answers a trivial query.
    func ping() async throws

    /// Inserts or replaces the heartbeat row of `heartbeat.service`.
    func recordHeartbeat(_ heartbeat: Heartbeat) async throws
    /// Every service's latest heartbeat.
    func heartbeats() async throws -> [Heartbeat]

    /// Inserts candles, replacing any stored candle with the same pair, interval and open time.
    func upsertCandles(_ candles: [Candle]) async throws
    /// Candles of one pair and interval, oldest first.
    func candles(pair: String, intervalMinutes: Int) async throws -> [Candle]
}

/// Hands out a ``Storage`` on demand, so a service can start, and report, while the database is
/// unreachable, and reconnect once it is back.
public protocol StorageProvider: Sendable {
    func storage() async throws -> any Storage
}

/// A provider for a storage that is already open.
public struct OpenStorage: StorageProvider {
    let value: any Storage
    public init(_ storage: any Storage) { value = storage }
    public func storage() async throws -> any Storage { value }
}
