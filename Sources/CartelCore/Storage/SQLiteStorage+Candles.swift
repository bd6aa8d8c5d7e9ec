import Foundation
import GRDB
import GRDBSQLite

extension SQLiteStorage {
    /// One prepared statement per call and values bound straight to SQLite: the collector
    /// writes up to 720 candles per OHLC answer, and this is its hot path.
    public func upsertCandles(_ candles: [Candle], closedBefore: Date?, at time: Date) async throws {
        guard !candles.isEmpty else { return }
        let now = UTCTime.sqlite(time)
        try await pool.write { db in
            let connection = db.sqliteConnection
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(connection, Self.upsertCandleSQL, -1, &statement, nil) == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(connection)),
                                    message: String(cString: sqlite3_errmsg(connection)))
            }
            defer { sqlite3_finalize(statement) }
            for candle in candles {
                sqlite3_reset(statement)
                Self.bind(statement, 1, candle.pair)
                sqlite3_bind_int64(statement, 2, Int64(candle.intervalMinutes))
                Self.bind(statement, 3, UTCTime.sqlite(candle.openTime))
                Self.bind(statement, 4, DecimalText.string(candle.open))
                Self.bind(statement, 5, DecimalText.string(candle.high))
                Self.bind(statement, 6, DecimalText.string(candle.low))
                Self.bind(statement, 7, DecimalText.string(candle.close))
                Self.bind(statement, 8, DecimalText.string(candle.vwap))
                Self.bind(statement, 9, DecimalText.string(candle.volume))
                sqlite3_bind_int64(statement, 10, Int64(candle.tradeCount))
                Self.bind(statement, 11, now)
                sqlite3_bind_int64(statement, 12, closedBefore.map { candle.openTime < $0 ? 1 : 0 } ?? 0)
                let code = sqlite3_step(statement)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code),
                                        message: String(cString: sqlite3_errmsg(connection)))
                }
            }
            try Self.recordCandleEvents(candles, closedBefore: closedBefore, at: now, in: db)
        }
    }

    /// One `candle` event per pair and interval in the batch: its newest candle (what a live
    /// chart needs), not one per row, so a backfill of thousands of candles stays one event.
    static func recordCandleEvents(_ candles: [Candle], closedBefore: Date?, at now: String, in db: Database) throws {
        var newest: [String: Candle] = [:]
        for candle in candles {
            let key = "\(candle.pair)|\(candle.intervalMinutes)"
            if let current = newest[key], current.openTime >= candle.openTime { continue }
            newest[key] = candle
        }
        for candle in newest.values.sorted(by: { ($0.pair, $0.intervalMinutes) < ($1.pair, $1.intervalMinutes) }) {
            let closed = closedBefore.map { candle.openTime < $0 } ?? false
            try db.execute(
                sql: """
                    INSERT INTO events (kind, payload, created_at) VALUES ('candle', json_object(
                        'pair', ?, 'intervalMinutes', ?, 'openTime', ?, 'open', ?, 'high', ?, 'low', ?, 'close', ?,
                        'volume', ?, 'closed', json(?)), ?)
                    """,
                arguments: [
                    candle.pair, candle.intervalMinutes, UTCTime.iso8601(candle.openTime, fractional: false),
                    DecimalText.string(candle.open), DecimalText.string(candle.high), DecimalText.string(candle.low),
                    DecimalText.string(candle.close), DecimalText.string(candle.volume), closed ? "true" : "false", now,
                ])
        }
    }

    static let upsertCandleSQL = """
        INSERT INTO candles
            (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at, closed)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (pair, interval_minutes, open_time) DO UPDATE SET
            open = excluded.open, high = excluded.high, low = excluded.low,
            close = excluded.close, vwap = excluded.vwap, volume = excluded.volume,
            trade_count = excluded.trade_count, updated_at = excluded.updated_at,
            closed = MAX(candles.closed, excluded.closed)
        """

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func bind(_ statement: OpaquePointer?, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                _ = sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), transient)
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
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM candles WHERE pair = ? AND interval_minutes = ? AND open_time > ?"
                    + (closedOnly ? " AND closed = 1" : "") + " ORDER BY open_time",
                arguments: [pair, intervalMinutes, time.map(UTCTime.sqlite) ?? ""]
            ).map(Self.candle)
        }
    }
}
