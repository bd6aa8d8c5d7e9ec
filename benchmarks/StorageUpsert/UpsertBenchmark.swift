import CartelCore
import Foundation
import GRDBSQLite

/// `cartel-upsert-benchmark [COUNT] [BATCH]`: upserts COUNT candles (default 1,000,000) in
/// transactions of BATCH (default 720, one Kraken OHLC answer) through ``SQLiteStorage``, and
/// the same candles through a bare sqlite3 prepared-statement loop on the same schema and
/// pragmas, then prints both rates and their ratio. Each side runs twice on a fresh file (the
/// first pass inserts, the second replaces every row: the upsert path).
@main
struct UpsertBenchmark {
    static func main() async throws {
        let args = CommandLine.arguments
        let count = args.count > 1 ? Int(args[1]) ?? 1_000_000 : 1_000_000
        let batch = args.count > 2 ? Int(args[2]) ?? 720 : 720
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cartel-bench-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        print("candles: \(count), per transaction: \(batch), files in \(dir)")

        let ours = try await measureOurs(path: "\(dir)/ours.sqlite", count: count, batch: batch)
        let raw = try measureRaw(path: "\(dir)/raw.sqlite", template: "\(dir)/ours.sqlite", count: count, batch: batch)
        for (name, result) in [("SQLiteStorage (ours)", ours), ("bare sqlite3 loop", raw)] {
            print(String(format: "%-22@ insert %9.0f candles/s   upsert (replace) %9.0f candles/s", name as NSString,
                         result.insert, result.upsert))
        }
        print(String(format: "ratio ours/raw: insert %.2f, upsert %.2f (goal >= 0.50)", ours.insert / raw.insert, ours.upsert / raw.upsert))
    }

    static func candle(_ i: Int, base: Date) -> Candle {
        let price = Decimal(30_000) + Decimal(i % 10_000) / 100
        return Candle(
            pair: "BTC/USD", intervalMinutes: 1, openTime: base.addingTimeInterval(Double(i * 60)), open: price,
            high: price + 5, low: price - 5, close: price + Decimal(string: "0.5")!, vwap: price,
            volume: Decimal(i % 1000) / 1000 + Decimal(string: "0.00000001")!, tradeCount: i % 97)
    }

    static func measureOurs(path: String, count: Int, batch: Int) async throws -> (insert: Double, upsert: Double) {
        let storage = try SQLiteStorage(path: path)
        let base = Date(timeIntervalSince1970: 1_500_000_000)
        // Both sides get their input ready before the clock starts: domain values here, text there.
        let batches = stride(from: 0, to: count, by: batch).map { first in
            (first..<min(first + batch, count)).map { candle($0, base: base) }
        }
        var rates: [Double] = []
        for _ in 0..<2 {
            let start = ContinuousClock.now
            for candles in batches { try await storage.upsertCandles(candles) }
            rates.append(Double(count) / seconds(ContinuousClock.now - start))
        }
        return (rates[0], rates[1])
    }

    /// The same statement and values through sqlite3 directly; values are formatted before the
    /// clock starts, so the baseline is the bare database work.
    static func measureRaw(path: String, template: String, count: Int, batch: Int) throws -> (insert: Double, upsert: Double) {
        // Same schema and pragmas: copy the migrated, empty schema from a fresh SQLiteStorage.
        _ = try SQLiteStorage(path: path)
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else { throw Failure("open") }
        defer { sqlite3_close(db) }
        try exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; DELETE FROM candles")
        var statement: OpaquePointer?
        let sql = """
            INSERT INTO candles (pair, interval_minutes, open_time, open, high, low, close, vwap, volume, trade_count, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (pair, interval_minutes, open_time) DO UPDATE SET
                open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
                vwap = excluded.vwap, volume = excluded.volume, trade_count = excluded.trade_count,
                updated_at = excluded.updated_at
            """
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw Failure("prepare") }
        defer { sqlite3_finalize(statement) }
        let base = Date(timeIntervalSince1970: 1_500_000_000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        let rows: [[String]] = (0..<count).map { i in
            let c = candle(i, base: base)
            return [formatter.string(from: c.openTime) + ".000", c.open.description, c.high.description, c.low.description,
                    c.close.description, c.vwap.description, c.volume.description]
        }
        let now = "2026-11-25 00:00:00.000"
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        var rates: [Double] = []
        for _ in 0..<2 {
            let start = ContinuousClock.now
            var i = 0
            while i < count {
                try exec(db, "BEGIN IMMEDIATE")
                for j in i..<min(i + batch, count) {
                    let row = rows[j]
                    sqlite3_bind_text(statement, 1, "BTC/USD", -1, transient)
                    sqlite3_bind_int64(statement, 2, 1)
                    for (k, text) in row.enumerated() { sqlite3_bind_text(statement, Int32(k + 3), text, -1, transient) }
                    sqlite3_bind_int64(statement, 10, Int64(j % 97))
                    sqlite3_bind_text(statement, 11, now, -1, transient)
                    guard sqlite3_step(statement) == SQLITE_DONE else { throw Failure("step") }
                    sqlite3_reset(statement)
                }
                try exec(db, "COMMIT")
                i += batch
            }
            rates.append(Double(count) / seconds(ContinuousClock.now - start))
        }
        return (rates[0], rates[1])
    }

    static func exec(_ db: OpaquePointer?, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw Failure("\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
