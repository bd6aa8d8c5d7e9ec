@testable import CartelCore
import Foundation
import TestSupport
import Testing

/// The ``Storage`` protocol's behaviour, run against both backends: a real SQLite file and a
/// fresh database on the throwaway PostgreSQL server (`scripts/test.sh`).
enum StorageBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    func with(_ body: @Sendable (any Storage) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory(prefix: "contract")
            defer { dir.remove() }
            try await body(try SQLiteStorage(path: dir.file("db.sqlite")))
        case .postgres:
            try await PostgresTestDatabase.with { store, _ in
                try await store.migrate()
                try await body(store)
            }
        }
    }
}

@Suite struct StorageContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01

    static func candle(_ minute: Int, close: String, pair: String = "BTC/USD", interval: Int = 1) -> Candle {
        let price = Decimal(string: close)!
        return Candle(
            pair: pair, intervalMinutes: interval, openTime: t0.addingTimeInterval(Double(minute * 60)), open: price, high: price + 1,
            low: price - 1, close: price, vwap: price, volume: Decimal(string: "0.00000001")!, tradeCount: minute)
    }

    @Test(arguments: StorageBackend.allCases)
    func candlesAreUpsertedExactlyAndFinalCandlesStayFinal(_ backend: StorageBackend) async throws {
        try await backend.with { storage in
            let exact = "68123.123456789012345678"
            try await storage.upsertCandles([Self.candle(0, close: "100"), Self.candle(1, close: exact), Self.candle(2, close: "102")],
                                             closedBefore: Self.t0.addingTimeInterval(120), at: Self.t0)
            var all = try await storage.candles(pair: "BTC/USD", intervalMinutes: 1)
            #expect(all.map(\.close) == [100, Decimal(string: exact)!, 102])
            #expect(all[1].volume == Decimal(string: "0.00000001") && all[1].tradeCount == 1)
            #expect(try await storage.closedCandles(pair: "BTC/USD", intervalMinutes: 1, after: nil).count == 2)
            // A replacement updates the values; a final candle stays final even when a later
            // batch does not say so.
            try await storage.upsertCandles([Self.candle(1, close: "99.5")], closedBefore: nil, at: Self.t0.addingTimeInterval(180))
            all = try await storage.candles(pair: "BTC/USD", intervalMinutes: 1)
            #expect(all.count == 3 && all[1].close == Decimal(string: "99.5"))
            #expect(try await storage.closedCandles(pair: "BTC/USD", intervalMinutes: 1, after: nil).map(\.close) == [100, Decimal(string: "99.5")!])
            #expect(try await storage.candles(pair: "BTC/USD", intervalMinutes: 1, after: Self.t0).map(\.close) == [Decimal(string: "99.5")!, 102])
            #expect(try await storage.latestCandleTime(pair: "BTC/USD", intervalMinutes: 1) == Self.t0.addingTimeInterval(120))
            #expect(try await storage.latestCandleTime(pair: "ETH/USD", intervalMinutes: 1) == nil)
            #expect(try await storage.candles(pair: "BTC/USD", intervalMinutes: 5).isEmpty)
            #expect(try await storage.deleteCandles(intervalMinutes: 1, olderThan: Self.t0.addingTimeInterval(90)) == 2)
            #expect(try await storage.candles(pair: "BTC/USD", intervalMinutes: 1).map(\.close) == [102])
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func heartbeatsTickersCollectionStatusAndTheAssetPairCache(_ backend: StorageBackend) async throws {
        try await backend.with { storage in
            let beat = Heartbeat(
                service: .marketData, pid: 4242, host: "vps-1", version: "1.0", startedAt: Self.t0, lastBeat: Self.t0.addingTimeInterval(5),
                state: .running, detail: nil, intervalSeconds: 5, residentBytes: 12_345_678)
            try await storage.recordHeartbeat(beat)
            var later = beat
            later.lastBeat = Self.t0.addingTimeInterval(10)
            later.state = .stopped
            later.detail = "SIGTERM"
            try await storage.recordHeartbeat(later)
            #expect(try await storage.heartbeats() == [later])

            for (offset, last) in ["100.5", "101.25"].enumerated() {
                let price = Decimal(string: last)!
                try await storage.recordTicker(TickerSnapshot(
                    pair: "BTC/USD", time: Self.t0.addingTimeInterval(Double(offset)), bid: price - 1, ask: price + 1, last: price,
                    volume24h: Decimal(string: "1234.56789012")!, vwap24h: price, low24h: 90, high24h: 110, openToday: 95, tradeCount24h: 7))
            }
            let ticker = try await storage.latestTicker(pair: "BTC/USD")
            #expect(ticker?.last == Decimal(string: "101.25") && ticker?.volume24h == Decimal(string: "1234.56789012"))
            #expect(try await storage.latestTicker(pair: "ETH/USD") == nil)

            try await storage.upsertCandles([Self.candle(0, close: "1"), Self.candle(1, close: "2")])
            try await storage.recordCollectionSuccess(pair: "BTC/USD", at: Self.t0.addingTimeInterval(60))
            try await storage.recordCollectionError(pair: "ETH/USD", error: "EQuery:Unknown asset pair", status: "error")
            try await storage.recordCollectionError(pair: "ETH/USD", error: "timeout", status: "error")
            let status = try await storage.collectionStatus()
            #expect(status.map(\.pair) == ["BTC/USD", "ETH/USD"])
            #expect(status[0].dataPoints == 2 && status[0].oldest == Self.t0 && status[0].newest == Self.t0.addingTimeInterval(60))
            #expect(status[1].errorCount == 2 && status[1].lastError == "timeout")

            #expect(try await storage.cachedAssetPairs() == nil)
            try await storage.saveAssetPairs(Data(#"{"XXBTZUSD":{"altname":"XBTUSD"}}"#.utf8), at: Self.t0)
            #expect(try await storage.cachedAssetPairs() == Data(#"{"XXBTZUSD":{"altname":"XBTUSD"}}"#.utf8))
            try await storage.ping()
        }
    }
}
