@testable import CartelCore
import Foundation
import GRDB
import TestSupport
import Testing

@Suite struct SQLiteStorageTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory(prefix: "storage") }

    static let migrations = ["v1-foundation", "v2-kraken-asset-pairs", "v3-kraken-nonce", "v4-final-candles-and-ledgers-per-mode", "v5-events-and-service-memory", "v6-alert-outbox", "v7-alert-destinations",
    ]

    @Test func migrationsCreateTheWholeSchema() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("nested/dirs/db.sqlite"))
        let tables = try await storage.tableNames()
        for table in [
            "candles", "tickers", "market_data_collection", "strategies", "signals", "orders", "fills",
            "trades", "positions", "equity_snapshots", "service_heartbeats", "events", "alert_outbox",
        ] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        #expect(try await storage.appliedMigrations() == Self.migrations)
        let mode = try await storage.query("PRAGMA journal_mode")
        #expect(mode == [["wal"]])
    }

    @Test func reopeningAMigratedDatabaseKeepsItsData() async throws {
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        try await SQLiteStorage(path: path).recordHeartbeat(Self.heartbeat(pid: 7))
        let reopened = try SQLiteStorage(path: path)
        #expect(try await reopened.appliedMigrations() == Self.migrations)
        #expect(try await reopened.heartbeats().map(\.pid) == [7])
    }

    @Test func heartbeatUpsertKeepsOneRowPerService() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.recordHeartbeat(Self.heartbeat(pid: 1))
        var second = Self.heartbeat(pid: 2)
        second.state = .stopped
        second.detail = "graceful"
        try await storage.recordHeartbeat(second)
        let rows = try await storage.heartbeats()
        #expect(rows.count == 1)
        #expect(rows.first?.pid == 2)
        #expect(rows.first?.state == .stopped)
        #expect(rows.first?.detail == "graceful")
        #expect(rows.first?.lastBeat == second.lastBeat)
    }

    @Test func candleUpsertReplacesTheUnfinishedCandleAndKeepsDecimalsExact() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        let time = Date(timeIntervalSince1970: 1_700_000_040)
        var candle = Self.candle(time: time, close: "68123.4")
        try await storage.upsertCandles([candle])
        candle.close = Decimal(string: "68123.123456789012345678")!
        candle.volume = Decimal(string: "0.00000001")!
        try await storage.upsertCandles([candle, Self.candle(time: time.addingTimeInterval(60), close: "1")])
        let stored = try await storage.candles(pair: "BTC/USD", intervalMinutes: 1)
        #expect(stored.count == 2)
        #expect(stored.first == candle)
        #expect(stored.first?.close.description == "68123.123456789012345678")
        let text = try await storage.query("SELECT volume FROM candles ORDER BY open_time LIMIT 1")
        #expect(text == [["0.00000001"]])
    }

    @Test func aCorruptStoredDecimalIsAnErrorNotZero() async throws {
        defer { dir.remove() }
        let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
        try await storage.upsertCandles([Self.candle(time: Date(timeIntervalSince1970: 0), close: "5")])
        try await storage.pool.write { db in try db.execute(sql: "UPDATE candles SET close = '5e3'") }
        await #expect(throws: StorageError.self) {
            _ = try await storage.candles(pair: "BTC/USD", intervalMinutes: 1)
        }
    }

    @Test(arguments: ["", "-", ".", "1e5", "NaN", "12,5", "1.2.3", " 1", "0x10"])
    func decimalTextRejectsAnythingButPlainNumbers(_ text: String) {
        #expect(DecimalText.parse(text) == nil)
    }

    @Test func decimalTextReadsPlainNumbers() {
        #expect(DecimalText.parse("-0.5") == Decimal(string: "-0.5"))
        #expect(DecimalText.parse("42") == 42)
    }

    @Test func aDatabaseUnderARegularFileIsUnavailable() throws {
        defer { dir.remove() }
        _ = FileManager.default.createFile(atPath: dir.file("plain"), contents: Data("x".utf8))
        let error = #expect(throws: StorageError.self) { try SQLiteStorage(path: dir.file("plain/db.sqlite")) }
        #expect(error?.kind == .unavailable)
    }

    static func heartbeat(pid: Int32) -> Heartbeat {
        Heartbeat(
            service: .tradingEngine, pid: pid, host: "h", version: "v",
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), lastBeat: Date(timeIntervalSince1970: 1_700_000_100.25),
            state: .running, intervalSeconds: 5)
    }

    static func candle(time: Date, close: String) -> Candle {
        let price = Decimal(string: close)!
        return Candle(
            pair: "BTC/USD", intervalMinutes: 1, openTime: time, open: price, high: price, low: price,
            close: price, vwap: price, volume: 1, tradeCount: 3)
    }
}

@Suite struct StorageTextFormatTests {
    @Test func fastDecimalTextMatchesDescriptionForRandomValues() {
        #expect(DecimalText.fastPathWorks)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let mantissa = Decimal(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64.random(in: 0...63, using: &generator))
            let scale = Int.random(in: -20...10, using: &generator)
            var value = Decimal()
            var m = mantissa
            _ = NSDecimalMultiplyByPowerOf10(&value, &m, Int16(scale), .plain)
            if Bool.random(using: &generator) { value.negate() }
            #expect(DecimalText.string(value) == value.description, "\(value)")
        }
        for text in ["0.00000001", "30300.10000", "-0.5", "123456789012345678901234567890.5"] {
            let value = Decimal(string: text)!
            #expect(DecimalText.string(value) == value.description)
        }
    }

    @Test func fastTimeTextMatchesGRDBsOwnDateFormat() throws {
        for _ in 0..<20_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...4_000_000_000).rounded(.down) / 1
                + Double(Int.random(in: 0..<1000)) / 1000)
            #expect(UTCTime.sqlite(date) == String.fromDatabaseValue(date.databaseValue), "\(date.timeIntervalSince1970)")
        }
        #expect(UTCTime.sqlite(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00.000")
        #expect(UTCTime.sqlite(Date(timeIntervalSince1970: 1_709_596_800.25)) == "2024-03-05 00:00:00.250")
    }

    /// Whole seconds as Foundation's ISO 8601 style writes them; milliseconds rounded to the
    /// nearest (Foundation truncates, so 33.507 stored as 33.50699… would read .506).
    @Test func isoTimeTextMatchesFoundationsISO8601() {
        let whole = Date.ISO8601FormatStyle()
        for _ in 0..<5_000 {
            let millis = Int64.random(in: 0...4_000_000_000_000)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let second = Date(timeIntervalSince1970: Double(millis / 1000))
            let expected = whole.format(second).dropLast() + "." + String(String(millis % 1000 + 1000).dropFirst()) + "Z"
            #expect(UTCTime.iso8601(date) == expected, "\(millis)")
            #expect(UTCTime.iso8601(second, fractional: false) == whole.format(second), "\(millis)")
        }
        #expect(UTCTime.iso8601(Date(timeIntervalSince1970: 1_764_104_822.123)) == "2025-11-25T21:07:02.123Z")
    }
}
