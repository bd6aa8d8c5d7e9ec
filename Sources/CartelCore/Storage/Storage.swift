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
    /// Candles that opened before `closedBefore` are final (a later candle exists) and are
    /// marked so, in the same transaction; a final candle never becomes unfinished again.
    func upsertCandles(_ candles: [Candle], closedBefore: Date?, at time: Date) async throws
    /// Candles of one pair and interval, oldest first.
    func candles(pair: String, intervalMinutes: Int) async throws -> [Candle]
    /// Candles of one pair and interval that opened after `time` (all when nil), oldest first,
    /// the unfinished last one included.
    func candles(pair: String, intervalMinutes: Int, after time: Date?) async throws -> [Candle]
    /// Only the final candles (those the collector has seen a later candle after), oldest first:
    /// what strategies trade on and backtests replay.
    func closedCandles(pair: String, intervalMinutes: Int, after time: Date?) async throws -> [Candle]
    /// The open time of the newest stored candle of a pair and interval.
    func latestCandleTime(pair: String, intervalMinutes: Int) async throws -> Date?
    /// Deletes candles of one interval that opened before `cutoff`; returns how many.
    func deleteCandles(intervalMinutes: Int, olderThan cutoff: Date) async throws -> Int

    func recordTicker(_ ticker: TickerSnapshot) async throws
    func latestTicker(pair: String) async throws -> TickerSnapshot?

    func recordCollectionSuccess(pair: String, at time: Date) async throws
    func recordCollectionError(pair: String, error: String, status: String) async throws
    func collectionStatus() async throws -> [CollectionStatus]

    /// The cached Kraken `AssetPairs` result (JSON), so pairs resolve while Kraken is down.
    func saveAssetPairs(_ json: Data, at time: Date) async throws
    func cachedAssetPairs() async throws -> Data?
}

extension Storage {
    /// Stores history whose every candle is final (imports, tests, benchmarks).
    public func upsertCandles(_ candles: [Candle]) async throws {
        try await upsertCandles(candles, closedBefore: .distantFuture, at: Date())
    }
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
