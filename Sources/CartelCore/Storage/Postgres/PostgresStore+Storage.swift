import Foundation
import PostgresNIO

/// ``Storage`` on PostgreSQL: the same rows and the same rules as ``SQLiteStorage``. Money goes
/// in and out as exact decimal text (`$1::NUMERIC`, `col::TEXT`), never through a double.
extension PostgresStore: Storage {
    /// Fails after `PostgresStore.pingTimeout` when no connection answers: while the server is
    /// down the pool keeps requests waiting for a new connection, and a health check must not.
    public func ping() async throws {
        let answered = try await Self.within(Self.pingTimeout) { try await self.client.query("SELECT 1", logger: self.logger) }
        guard answered else {
            throw StorageError(.unavailable, "PostgreSQL at \(url.redacted) did not answer within \(Self.pingTimeout)")
        }
    }

    /// Runs `operation`, giving up (and cancelling it) after `limit`: true when it finished in
    /// time. For reads only: a write given up on may still commit.
    /// `onTimeout` runs first when it gave up (closing a connection whose query ignores
    /// cancellation).
    static func within(
        _ limit: Duration, onTimeout: @escaping @Sendable () async -> Void = {}, _ operation: @escaping @Sendable () async throws -> some Sendable
    ) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try await operation()
                return true
            }
            group.addTask {
                try await Task.sleep(for: limit)
                await onTimeout()
                return false
            }
            defer { group.cancelAll() }
            return try await group.next() ?? false
        }
    }

    public func recordHeartbeat(_ heartbeat: Heartbeat) async throws {
        try await client.query("""
            INSERT INTO service_heartbeats
                (service, pid, host, version, started_at, last_beat, state, detail, interval_seconds, resident_bytes)
            VALUES (\(heartbeat.service.rawValue), \(Int(heartbeat.pid)), \(heartbeat.host), \(heartbeat.version),
                    \(heartbeat.startedAt), \(heartbeat.lastBeat), \(heartbeat.state.rawValue), \(heartbeat.detail),
                    \(heartbeat.intervalSeconds), \(heartbeat.residentBytes.map { Int64(clamping: $0) }))
            ON CONFLICT (service) DO UPDATE SET
                pid = excluded.pid, host = excluded.host, version = excluded.version,
                started_at = excluded.started_at, last_beat = excluded.last_beat, state = excluded.state,
                detail = excluded.detail, interval_seconds = excluded.interval_seconds, resident_bytes = excluded.resident_bytes
            """, logger: logger)
    }

    public func heartbeats() async throws -> [Heartbeat] {
        let rows = try await client.query("""
            SELECT service, pid, host, version, started_at, last_beat, state, detail, interval_seconds, resident_bytes
            FROM service_heartbeats ORDER BY service
            """, logger: logger)
        var beats: [Heartbeat] = []
        for try await (service, pid, host, version, started, last, stateText, detail, interval, resident)
            in rows.decode((String, Int, String, String, Date, Date, String, String?, Int, Int64?).self) {
            // Rows of services this build does not know are skipped, not fatal.
            guard let name = ServiceName(rawValue: service) else { continue }
            guard let state = HeartbeatState(rawValue: stateText) else {
                throw StorageError(.corruptValue, "service_heartbeats.state '\(stateText)' is not running/stopped")
            }
            beats.append(Heartbeat(
                service: name, pid: Int32(truncatingIfNeeded: pid), host: host, version: version, startedAt: started, lastBeat: last,
                state: state, detail: detail, intervalSeconds: interval, residentBytes: resident.map { UInt64(clamping: $0) }))
        }
        return beats
    }

    public func upsertCandles(_ candles: [Candle], closedBefore: Date?, at time: Date) async throws {
        guard !candles.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            for candle in candles {
                let closed = closedBefore.map { candle.openTime < $0 ? 1 : 0 } ?? 0
                try await connection.query("""
                    INSERT INTO candles
                        (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at, closed)
                    VALUES (\(candle.pair), \(candle.intervalMinutes), \(candle.openTime),
                            \(DecimalText.string(candle.open))::NUMERIC, \(DecimalText.string(candle.high))::NUMERIC,
                            \(DecimalText.string(candle.low))::NUMERIC, \(DecimalText.string(candle.close))::NUMERIC,
                            \(DecimalText.string(candle.vwap))::NUMERIC, \(DecimalText.string(candle.volume))::NUMERIC,
                            \(candle.tradeCount), \(time), \(closed))
                    ON CONFLICT (pair, interval_minutes, open_time) DO UPDATE SET
                        open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
                        vwap = excluded.vwap, volume = excluded.volume, trade_count = excluded.trade_count,
                        updated_at = excluded.updated_at, closed = GREATEST(candles.closed, excluded.closed)
                    """, logger: logger)
            }
            // One `candle` event per pair and interval: its newest candle, as SQLite records it.
            for candle in Candle.newestPerSeries(candles) {
                let closed = closedBefore.map { candle.openTime < $0 } ?? false
                try await connection.query("""
                    INSERT INTO events (kind, payload, created_at) VALUES ('candle', json_build_object(
                        'pair', \(candle.pair)::TEXT, 'intervalMinutes', \(candle.intervalMinutes)::INTEGER,
                        'openTime', \(UTCTime.iso8601(candle.openTime, fractional: false))::TEXT,
                        'open', \(DecimalText.string(candle.open))::TEXT, 'high', \(DecimalText.string(candle.high))::TEXT,
                        'low', \(DecimalText.string(candle.low))::TEXT, 'close', \(DecimalText.string(candle.close))::TEXT,
                        'volume', \(DecimalText.string(candle.volume))::TEXT, 'closed', \(closed)::BOOLEAN)::TEXT, \(time))
                    """, logger: logger)
            }
        }
    }

    public func candles(pair: String, intervalMinutes: Int) async throws -> [Candle] {
        try await candles(pair: pair, intervalMinutes: intervalMinutes, after: nil)
    }

    public func candles(pair: String, intervalMinutes: Int, after time: Date?) async throws -> [Candle] {
        try await candles(pair: pair, intervalMinutes: intervalMinutes, after: time, closedOnly: false)
    }

    public func closedCandles(pair: String, intervalMinutes: Int, after time: Date?) async throws -> [Candle] {
        try await candles(pair: pair, intervalMinutes: intervalMinutes, after: time, closedOnly: true)
    }

    func candles(pair: String, intervalMinutes: Int, after time: Date?, closedOnly: Bool) async throws -> [Candle] {
        try await Self.candles(try await client.query("""
            SELECT \(unescaped: Self.candleColumns) FROM candles
            WHERE pair = \(pair) AND interval_minutes = \(intervalMinutes) AND open_time > \(time ?? .distantPast)
              AND closed >= \(closedOnly ? 1 : 0)
            ORDER BY open_time
            """, logger: logger))
    }

    /// The columns ``candles(_:)`` decodes.
    static let candleColumns =
        "pair, interval_minutes, open_time, open::TEXT, high::TEXT, low::TEXT, close::TEXT, vwap::TEXT, volume::TEXT, trade_count"

    /// Candles from rows of ``candleColumns``, prices exact.
    static func candles(_ rows: PostgresRowSequence) async throws -> [Candle] {
        var candles: [Candle] = []
        for try await (pair, interval, openTime, open, high, low, close, vwap, volume, count)
            in rows.decode((String, Int, Date, String, String, String, String, String, String, Int).self) {
            func decimal(_ text: String, _ column: String) throws -> Decimal { try DecimalText.decimal(text, column: "candles.\(column)") }
            candles.append(Candle(
                pair: pair, intervalMinutes: interval, openTime: openTime, open: try decimal(open, "open"),
                high: try decimal(high, "high"), low: try decimal(low, "low"), close: try decimal(close, "close"),
                vwap: try decimal(vwap, "vwap"), volume: try decimal(volume, "volume"), tradeCount: count))
        }
        return candles
    }

    public func latestCandleTime(pair: String, intervalMinutes: Int) async throws -> Date? {
        let rows = try await client.query(
            "SELECT MAX(open_time) FROM candles WHERE pair = \(pair) AND interval_minutes = \(intervalMinutes)", logger: logger)
        for try await (time) in rows.decode(Date?.self) { return time }
        return nil
    }

    public func deleteCandles(intervalMinutes: Int, olderThan cutoff: Date) async throws -> Int {
        let rows = try await client.query("""
            WITH deleted AS (DELETE FROM candles WHERE interval_minutes = \(intervalMinutes) AND open_time < \(cutoff) RETURNING 1)
            SELECT COUNT(*)::BIGINT FROM deleted
            """, logger: logger)
        for try await (count) in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    public func recordTicker(_ ticker: TickerSnapshot) async throws {
        try await client.query("""
            INSERT INTO tickers (pair, time, bid, ask, last, volume_24h, vwap_24h, low_24h, high_24h, open_today, trade_count_24h)
            VALUES (\(ticker.pair), \(ticker.time), \(DecimalText.string(ticker.bid))::NUMERIC, \(DecimalText.string(ticker.ask))::NUMERIC,
                    \(DecimalText.string(ticker.last))::NUMERIC, \(DecimalText.string(ticker.volume24h))::NUMERIC,
                    \(DecimalText.string(ticker.vwap24h))::NUMERIC, \(DecimalText.string(ticker.low24h))::NUMERIC,
                    \(DecimalText.string(ticker.high24h))::NUMERIC, \(DecimalText.string(ticker.openToday))::NUMERIC,
                    \(ticker.tradeCount24h))
            """, logger: logger)
    }

    public func latestTicker(pair: String) async throws -> TickerSnapshot? {
        let rows = try await client.query("""
            SELECT pair, time, bid::TEXT, ask::TEXT, last::TEXT, volume_24h::TEXT, vwap_24h::TEXT, low_24h::TEXT, high_24h::TEXT,
                   open_today::TEXT, trade_count_24h
            FROM tickers WHERE pair = \(pair) ORDER BY time DESC, id DESC LIMIT 1
            """, logger: logger)
        for try await (pair, time, bid, ask, last, volume, vwap, low, high, open, count)
            in rows.decode((String, Date, String, String, String, String, String, String, String, String, Int).self) {
            func decimal(_ text: String, _ column: String) throws -> Decimal { try DecimalText.decimal(text, column: "tickers.\(column)") }
            return TickerSnapshot(
                pair: pair, time: time, bid: try decimal(bid, "bid"), ask: try decimal(ask, "ask"), last: try decimal(last, "last"),
                volume24h: try decimal(volume, "volume_24h"), vwap24h: try decimal(vwap, "vwap_24h"), low24h: try decimal(low, "low_24h"),
                high24h: try decimal(high, "high_24h"), openToday: try decimal(open, "open_today"), tradeCount24h: count)
        }
        return nil
    }

    public func recordCollectionSuccess(pair: String, at time: Date) async throws {
        try await client.query("""
            INSERT INTO market_data_collection (pair, status, data_points, oldest, newest, error_count, last_collected)
            SELECT \(pair), 'collecting', COUNT(*), MIN(open_time), MAX(open_time), 0, \(time)
            FROM candles WHERE pair = \(pair)
            ON CONFLICT (pair) DO UPDATE SET
                status = 'collecting', data_points = excluded.data_points, oldest = excluded.oldest,
                newest = excluded.newest, last_collected = excluded.last_collected
            """, logger: logger)
    }

    public func recordCollectionError(pair: String, error: String, status: String) async throws {
        try await client.query("""
            INSERT INTO market_data_collection (pair, status, last_error, error_count) VALUES (\(pair), \(status), \(error), 1)
            ON CONFLICT (pair) DO UPDATE SET
                status = excluded.status, last_error = excluded.last_error,
                error_count = market_data_collection.error_count + 1
            """, logger: logger)
    }

    public func collectionStatus() async throws -> [CollectionStatus] {
        let rows = try await client.query("""
            SELECT pair, status, data_points, oldest, newest, last_error, error_count, last_collected
            FROM market_data_collection ORDER BY pair
            """, logger: logger)
        var statuses: [CollectionStatus] = []
        for try await (pair, status, points, oldest, newest, lastError, errors, collected)
            in rows.decode((String, String, Int64, Date?, Date?, String?, Int, Date?).self) {
            statuses.append(CollectionStatus(
                pair: pair, status: status, dataPoints: Int(points), oldest: oldest, newest: newest, lastError: lastError,
                errorCount: errors, lastCollected: collected))
        }
        return statuses
    }

    public func saveAssetPairs(_ json: Data, at time: Date) async throws {
        try await client.query("""
            INSERT INTO kraken_asset_pairs (id, body, updated_at) VALUES (1, \(String(decoding: json, as: UTF8.self)), \(time))
            ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
            """, logger: logger)
    }

    public func cachedAssetPairs() async throws -> Data? {
        let rows = try await client.query("SELECT body FROM kraken_asset_pairs WHERE id = 1", logger: logger)
        for try await (body) in rows.decode(String.self) { return Data(body.utf8) }
        return nil
    }
}
