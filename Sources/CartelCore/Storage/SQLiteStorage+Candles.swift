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
        for candle in Candle.newestPerSeries(candles) {
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

extension SQLiteStorage {
    /// Final candles of one pair and interval for analysis (backtests, optimisation), oldest
    /// first, between `from` and `to` (inclusive, either open): prices as doubles read straight
    /// from SQLite's text without a `Decimal` or a `String` per value. The span is cut in time
    /// into one slice per core and the slices are read at once, each on its own connection of
    /// the pool (each slice is one consistent snapshot; candles already final do not change).
    /// A stored value that is not a plain decimal is a ``StorageError`` naming the candle.
    public func closedAnalysisCandles(
        pair: String, intervalMinutes: Int, from: Date?, to: Date?, jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    ) async throws -> [StrategyCandle] {
        let bounds = try await pool.read { db -> (String, String)? in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT MIN(open_time), MAX(open_time) FROM candles WHERE pair = ? AND interval_minutes = ? AND open_time >= ? AND open_time <= ?",
                arguments: [pair, intervalMinutes, from.map(UTCTime.sqlite) ?? "", to.map(UTCTime.sqlite) ?? "~"])
            guard let first: String = row?[0], let last: String = row?[1] else { return nil }
            return (first, last)
        }
        guard let (firstText, lastText) = bounds else { return [] }
        var edges = [firstText]
        var firstBytes = Array(firstText.utf8), lastBytes = Array(lastText.utf8)
        if jobs > 1,
           let first = firstBytes.withUnsafeMutableBufferPointer({ ScannedTime.seconds(UnsafeBufferPointer($0)) }),
           let last = lastBytes.withUnsafeMutableBufferPointer({ ScannedTime.seconds(UnsafeBufferPointer($0)) }),
           last - first > Double(jobs * intervalMinutes * 60) {
            for piece in 1..<jobs {
                edges.append(UTCTime.sqlite(Date(timeIntervalSince1970: first + (last - first) * Double(piece) / Double(jobs))))
            }
        }
        // Slices [edge, next edge); the last one includes the last candle.
        let slices = edges.indices.map { index in
            (lower: edges[index], upper: index + 1 < edges.count ? edges[index + 1] : lastText, includeUpper: index + 1 == edges.count)
        }
        return try await withThrowingTaskGroup(of: (Int, [StrategyCandle]).self) { group in
            for (index, slice) in slices.enumerated() {
                group.addTask {
                    (index, try await self.pool.read { db in
                        try Self.analysisCandles(
                            db, pair: pair, intervalMinutes: intervalMinutes, lower: slice.lower, upper: slice.upper,
                            includeUpper: slice.includeUpper)
                    })
                }
            }
            var pieces = [[StrategyCandle]](repeating: [], count: slices.count)
            for try await (index, candles) in group { pieces[index] = candles }
            return pieces.count == 1 ? pieces[0] : Array(pieces.joined())
        }
    }

    static func analysisCandles(
        _ db: Database, pair: String, intervalMinutes: Int, lower: String, upper: String, includeUpper: Bool
    ) throws -> [StrategyCandle] {
        let connection = db.sqliteConnection
        var statement: OpaquePointer?
        let sql = """
            SELECT open_time, open, high, low, close, volume FROM candles
            WHERE pair = ? AND interval_minutes = ? AND closed = 1 AND open_time >= ? AND open_time \(includeUpper ? "<=" : "<") ?
            ORDER BY open_time
            """
        guard sqlite3_prepare_v2(connection, sql, -1, &statement, nil) == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: sqlite3_errcode(connection)),
                                message: String(cString: sqlite3_errmsg(connection)))
        }
        defer { sqlite3_finalize(statement) }
        bind(statement, 1, pair)
        sqlite3_bind_int64(statement, 2, Int64(intervalMinutes))
        bind(statement, 3, lower)
        bind(statement, 4, upper)
        var candles: [StrategyCandle] = []
        func text(_ column: Int32) -> UnsafeBufferPointer<UInt8> {
            let bytes = sqlite3_column_text(statement, column)
            return UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : Int(sqlite3_column_bytes(statement, column)))
        }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
            }
            let time = text(0)
            guard let seconds = ScannedTime.seconds(time) else {
                throw StorageError(.corruptValue, "candles.open_time holds '\(String(decoding: time, as: UTF8.self))', not a time")
            }
            func price(_ column: Int32, _ name: String) throws -> Double {
                let bytes = text(column)
                guard let value = ScannedDecimal(bytes) else {
                    throw StorageError(.corruptValue, "candles.\(name) at \(String(decoding: time, as: UTF8.self)) holds '\(String(decoding: bytes, as: UTF8.self))', not a decimal number")
                }
                return value.double
            }
            candles.append(StrategyCandle(
                time: Date(timeIntervalSince1970: seconds), open: try price(1, "open"), high: try price(2, "high"),
                low: try price(3, "low"), close: try price(4, "close"), volume: try price(5, "volume")))
        }
        return candles
    }
}
