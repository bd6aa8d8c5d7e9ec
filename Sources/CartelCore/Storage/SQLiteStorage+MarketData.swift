import Foundation
import GRDB

extension SQLiteStorage {
    public func recordTicker(_ ticker: TickerSnapshot) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO tickers (pair, time, bid, ask, last, volume_24h, vwap_24h, low_24h, high_24h,
                                         open_today, trade_count_24h)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    ticker.pair, UTCTime.sqlite(ticker.time), DecimalText.string(ticker.bid), DecimalText.string(ticker.ask),
                    DecimalText.string(ticker.last), DecimalText.string(ticker.volume24h),
                    DecimalText.string(ticker.vwap24h), DecimalText.string(ticker.low24h),
                    DecimalText.string(ticker.high24h), DecimalText.string(ticker.openToday), ticker.tradeCount24h,
                ])
        }
    }

    public func latestTicker(pair: String) async throws -> TickerSnapshot? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT * FROM tickers WHERE pair = ? ORDER BY time DESC, id DESC LIMIT 1", arguments: [pair])
            else { return nil }
            func decimal(_ column: String) throws -> Decimal {
                try DecimalText.decimal(row[column], column: "tickers.\(column)")
            }
            return TickerSnapshot(
                pair: row["pair"], time: row["time"], bid: try decimal("bid"), ask: try decimal("ask"),
                last: try decimal("last"), volume24h: try decimal("volume_24h"), vwap24h: try decimal("vwap_24h"),
                low24h: try decimal("low_24h"), high24h: try decimal("high_24h"),
                openToday: try decimal("open_today"), tradeCount24h: row["trade_count_24h"])
        }
    }

    public func latestCandleTime(pair: String, intervalMinutes: Int) async throws -> Date? {
        try await pool.read { db in
            try Date.fetchOne(
                db, sql: "SELECT MAX(open_time) FROM candles WHERE pair = ? AND interval_minutes = ?",
                arguments: [pair, intervalMinutes])
        }
    }

    public func deleteCandles(intervalMinutes: Int, olderThan cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM candles WHERE interval_minutes = ? AND open_time < ?",
                arguments: [intervalMinutes, UTCTime.sqlite(cutoff)])
            return db.changesCount
        }
    }

    /// Records a successful collection for `pair`: refreshes counts and bounds from `candles`.
    public func recordCollectionSuccess(pair: String, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO market_data_collection (pair, status, data_points, oldest, newest, error_count, last_collected)
                    SELECT ?, 'collecting', COUNT(*), MIN(open_time), MAX(open_time), 0, ?
                    FROM candles WHERE pair = ?
                    ON CONFLICT (pair) DO UPDATE SET
                        status = 'collecting', data_points = excluded.data_points, oldest = excluded.oldest,
                        newest = excluded.newest, last_collected = excluded.last_collected
                    """,
                arguments: [pair, UTCTime.sqlite(time), pair])
        }
    }

    /// Records a failed collection attempt for `pair`.
    public func recordCollectionError(pair: String, error: String, status: String = "error") async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO market_data_collection (pair, status, last_error, error_count)
                    VALUES (?, ?, ?, 1)
                    ON CONFLICT (pair) DO UPDATE SET
                        status = excluded.status, last_error = excluded.last_error,
                        error_count = market_data_collection.error_count + 1
                    """,
                arguments: [pair, status, error])
        }
    }

    public func collectionStatus() async throws -> [CollectionStatus] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM market_data_collection ORDER BY pair").map { row in
                CollectionStatus(
                    pair: row["pair"], status: row["status"], dataPoints: row["data_points"], oldest: row["oldest"],
                    newest: row["newest"], lastError: row["last_error"], errorCount: row["error_count"],
                    lastCollected: row["last_collected"])
            }
        }
    }

    /// Replaces the cached `AssetPairs` answer.
    public func saveAssetPairs(_ json: Data, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO kraken_asset_pairs (id, body, updated_at) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                    """,
                arguments: [String(decoding: json, as: UTF8.self), UTCTime.sqlite(time)])
        }
    }

    public func cachedAssetPairs() async throws -> Data? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT body FROM kraken_asset_pairs WHERE id = 1").map { Data($0.utf8) }
        }
    }
}

extension SQLiteStorage: KrakenNonceStore {
    /// One counter for every process on this database: the increment and the read happen in
    /// one write transaction, so two processes never get the same nonce.
    public func reserveNonce(atLeast floor: UInt64) async throws -> UInt64 {
        try await pool.write { db in
            let stored = try String.fetchOne(db, sql: "SELECT value FROM kraken_nonce WHERE id = 1").flatMap(UInt64.init) ?? 0
            let next = max(stored + 1, floor)
            try db.execute(
                sql: "INSERT INTO kraken_nonce (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                arguments: ["\(next)"])
            return next
        }
    }

    /// The highest nonce handed out so far (0 when none).
    public func lastNonce() async throws -> UInt64 {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM kraken_nonce WHERE id = 1").flatMap(UInt64.init) ?? 0
        }
    }
}
