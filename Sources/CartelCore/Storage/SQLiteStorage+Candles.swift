import Foundation
import GRDB

extension SQLiteStorage {
    public func upsertCandles(_ candles: [Candle]) async throws {
        guard !candles.isEmpty else { return }
        let now = Date()
        try await pool.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO candles
                    (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (pair, interval_minutes, open_time) DO UPDATE SET
                    open = excluded.open, high = excluded.high, low = excluded.low,
                    close = excluded.close, vwap = excluded.vwap, volume = excluded.volume,
                    trade_count = excluded.trade_count, updated_at = excluded.updated_at
                """)
            for candle in candles {
                try statement.execute(arguments: [
                    candle.pair, candle.intervalMinutes, candle.openTime,
                    DecimalText.string(candle.open), DecimalText.string(candle.high),
                    DecimalText.string(candle.low), DecimalText.string(candle.close),
                    DecimalText.string(candle.vwap), DecimalText.string(candle.volume),
                    candle.tradeCount, now,
                ])
            }
        }
    }

    public func candles(pair: String, intervalMinutes: Int) async throws -> [Candle] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM candles WHERE pair = ? AND interval_minutes = ? ORDER BY open_time",
                arguments: [pair, intervalMinutes]
            ).map { row in
                Candle(
                    pair: row["pair"], intervalMinutes: row["interval_minutes"], openTime: row["open_time"],
                    open: try DecimalText.decimal(row["open"], column: "candles.open"),
                    high: try DecimalText.decimal(row["high"], column: "candles.high"),
                    low: try DecimalText.decimal(row["low"], column: "candles.low"),
                    close: try DecimalText.decimal(row["close"], column: "candles.close"),
                    vwap: try DecimalText.decimal(row["vwap"], column: "candles.vwap"),
                    volume: try DecimalText.decimal(row["volume"], column: "candles.volume"),
                    tradeCount: row["trade_count"])
            }
        }
    }
}
