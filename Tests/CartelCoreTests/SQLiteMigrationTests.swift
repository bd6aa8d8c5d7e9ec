@testable import CartelCore
import Foundation
import GRDB
import Testing
import TestSupport

/// Migration v4 on a database written by v3: nothing is lost, and what v4 adds is derived from
/// what was there.
@Suite struct SQLiteMigrationTests {
    @Test func aVersion3DatabaseMigratesWithFinalCandlesAndPaperLedgerRows() async throws {
        let dir = try TemporaryDirectory(prefix: "migrate")
        defer { dir.remove() }
        let path = dir.file("old.sqlite")
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v3-kraken-nonce")
        try await queue.write { db in
            for minute in 0..<3 {
                try db.execute(
                    sql: """
                        INSERT INTO candles VALUES ('BTC/USD', 1, ?, '1', '1', '1', '1', '1', '1', 1, '2025-01-01 00:00:00.000')
                        """,
                    arguments: [String(format: "2025-01-01 00:0%d:00.000", minute)])
            }
            try db.execute(sql: """
                INSERT INTO strategies (id, name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at)
                    VALUES (1, 's', 'sma-cross', 'BTC/USD', 1, '{"stop_loss":1}', 1, '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000');
                INSERT INTO orders (id, strategy_id, client_order_id, mode, pair, side, order_type, quantity, status, created_at, updated_at)
                    VALUES (1, 1, 'sc-1-0-buy', 'paper', 'BTC/USD', 'buy', 'market', '2', 'filled', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000');
                INSERT INTO fills (order_id, time, quantity, price, fee) VALUES (1, '2025-01-01 00:00:00.000', '2', '10', '0.08');
                INSERT INTO trades (strategy_id, pair, status, quantity, entry_order_id, entry_time, entry_price, entry_fee)
                    VALUES (1, 'BTC/USD', 'open', '2', 1, '2025-01-01 00:00:00.000', '10', '0.08');
                INSERT INTO positions VALUES (1, 'BTC/USD', '2', '10', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000');
                INSERT INTO equity_snapshots (time, cash, positions_value, equity, realized_pnl, unrealized_pnl, fees)
                    VALUES ('2025-01-01 00:01:00.000', '9979.92', '20', '9999.92', '0', '0', '0.08');
                """)
        }
        let storage = try SQLiteStorage(path: path)
        #expect(try await storage.appliedMigrations().last == "v7-alert-destinations")
        // Every candle with a later one is final; the newest is not.
        let final = try await storage.closedCandles(pair: "BTC/USD", intervalMinutes: 1, after: nil)
        #expect(final.count == 2)
        #expect(try await storage.candles(pair: "BTC/USD", intervalMinutes: 1).count == 3)
        // The paper ledger replays as before; the position and equity belong to paper.
        let fills = try await storage.ledgerFills(mode: .paper, after: 0)
        #expect(fills.map(\.fill.cost) == [20])
        #expect(try await storage.ledgerFills(mode: .live, after: 0).isEmpty)
        #expect(try await storage.positionLevels(mode: .paper) == [1: ExitLevels()])
        #expect(try await storage.peakEquity(mode: .paper, since: nil) == Decimal(string: "9999.92"))
        #expect(try await storage.peakEquity(mode: .live, since: nil) == nil)
        // A parameter of exactly 1 reads back as a number (it once read as a boolean).
        #expect(try await storage.strategies().first?.parameters == ["stop_loss": 1])
    }

    /// v7 rebuilds the outbox: the rows and their ids survive, the status gains `skipped`, and
    /// the triggers that fill it still fire (they were dropped and re-created around the rebuild).
    @Test func aVersion6OutboxMigratesWithItsRowsAndTriggers() async throws {
        let dir = try TemporaryDirectory(prefix: "migrate")
        defer { dir.remove() }
        let path = dir.file("old.sqlite")
        let queue = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(queue, upTo: "v6-alert-outbox")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO alert_outbox (id, kind, payload, status, attempts, last_error, created_at, updated_at)
                    VALUES (41, 'message', '{"text":"old"}', 'failed', 1, '403 blocked', '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000'),
                           (42, 'message', '{"text":"waiting"}', 'pending', 0, NULL, '2025-01-01 00:00:00.000', '2025-01-01 00:00:00.000');
                """)
        }
        try queue.close()
        let storage = try SQLiteStorage(path: path)
        let pending = try await storage.pendingAlerts(limit: 10)
        #expect(pending.map(\.id) == [42])
        #expect(pending.first?.deliveredTo == [])
        try await storage.markAlert(id: 42, status: .skipped, error: "not selected", at: Date())
        try await storage.setPause(PauseState(paused: true, by: "test", at: Date()))
        let after = try await storage.pendingAlerts(limit: 10)
        #expect(after.map(\.kind) == ["pause"])
        #expect(after.first.map { $0.id > 42 } == true)
    }
}
