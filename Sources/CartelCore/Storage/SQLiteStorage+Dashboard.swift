import Foundation
import GRDB

extension SQLiteStorage: DashboardStorage {
    public func recentCandles(pair: String, intervalMinutes: Int, limit: Int, before: Date?, closedOnly: Bool) async throws -> [Candle] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM candles WHERE pair = ? AND interval_minutes = ? AND open_time < ?"
                    + (closedOnly ? " AND closed = 1" : "") + " ORDER BY open_time DESC LIMIT ?",
                arguments: [pair, intervalMinutes, before.map(UTCTime.sqlite) ?? "9999-12-31 23:59:59.999", limit]
            ).reversed().map(Self.candle)
        }
    }

    static func candle(_ row: Row) throws -> Candle {
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

    public func openPositions(mode: TradingMode) async throws -> [PositionRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM positions WHERE mode = ? ORDER BY strategy_id, pair", arguments: [mode.rawValue]).map { row in
                PositionRow(
                    strategyID: row["strategy_id"], pair: row["pair"],
                    quantity: try DecimalText.decimal(row["quantity"], column: "positions.quantity"),
                    averagePrice: try DecimalText.decimal(row["average_price"], column: "positions.average_price"),
                    stopLoss: try (row["stop_loss"] as String?).map { try DecimalText.decimal($0, column: "positions.stop_loss") },
                    takeProfit: try (row["take_profit"] as String?).map { try DecimalText.decimal($0, column: "positions.take_profit") },
                    openedAt: row["opened_at"])
            }
        }
    }

    public func trades(mode: TradingMode, query: TradeQuery) async throws -> [TradeRow] {
        var conditions = ["mode = ?"]
        var arguments: [any DatabaseValueConvertible] = [mode.rawValue]
        if let id = query.strategyID {
            conditions.append("strategy_id = ?")
            arguments.append(id)
        }
        if let pair = query.pair {
            conditions.append("pair = ?")
            arguments.append(pair)
        }
        if let from = query.from {
            conditions.append("entry_time >= ?")
            arguments.append(UTCTime.sqlite(from))
        }
        if let to = query.to {
            conditions.append("entry_time <= ?")
            arguments.append(UTCTime.sqlite(to))
        }
        if let closedFrom = query.closedFrom {
            conditions.append("exit_time >= ?")
            arguments.append(UTCTime.sqlite(closedFrom))
        }
        if let closedBefore = query.closedBefore {
            conditions.append("exit_time < ?")
            arguments.append(UTCTime.sqlite(closedBefore))
        }
        if let before = query.beforeID {
            conditions.append("id < ?")
            arguments.append(before)
        }
        arguments.append(query.limit)
        let sql = "SELECT * FROM trades WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?"
        let values = arguments.map(\.databaseValue)
        return try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values)).map { row in
                func decimal(_ column: String) throws -> Decimal { try DecimalText.decimal(row[column], column: "trades.\(column)") }
                func optional(_ column: String) throws -> Decimal? {
                    try (row[column] as String?).map { try DecimalText.decimal($0, column: "trades.\(column)") }
                }
                return TradeRow(
                    id: row["id"], strategyID: row["strategy_id"], pair: row["pair"], status: row["status"],
                    quantity: try decimal("quantity"), exitQuantity: try decimal("exit_quantity"), entryTime: row["entry_time"],
                    entryPrice: try decimal("entry_price"), entryFee: try decimal("entry_fee"), exitTime: row["exit_time"],
                    exitPrice: try optional("exit_price"), exitFee: try optional("exit_fee"), realisedPnL: try optional("realized_pnl"),
                    exitReason: row["exit_reason"])
            }
        }
    }

    public func signals(limit: Int, strategyID: Int64?) async throws -> [SignalRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM signals WHERE action != 'hold'" + (strategyID == nil ? "" : " AND strategy_id = ?")
                    + " ORDER BY id DESC LIMIT ?",
                arguments: StatementArguments(strategyID.map { [$0, limit] as [any DatabaseValueConvertible] } ?? [limit])
            ).map { row in
                SignalRow(
                    id: row["id"], strategyID: row["strategy_id"], pair: row["pair"], intervalMinutes: row["interval_minutes"],
                    candleTime: row["candle_time"], action: row["action"], reason: row["reason"], confidence: row["confidence"],
                    price: try DecimalText.decimal(row["price"], column: "signals.price"), createdAt: row["created_at"])
            }
        }
    }

    public func orders(mode: TradingMode, limit: Int, strategyID: Int64?) async throws -> [OrderRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM orders WHERE mode = ?" + (strategyID == nil ? "" : " AND strategy_id = ?") + " ORDER BY id DESC LIMIT ?",
                arguments: StatementArguments(
                    strategyID.map { [mode.rawValue, $0, limit] as [any DatabaseValueConvertible] } ?? [mode.rawValue, limit])
            ).map { row in
                OrderRow(
                    id: row["id"], strategyID: row["strategy_id"], clientOrderID: row["client_order_id"],
                    exchangeOrderID: row["exchange_order_id"], mode: row["mode"], pair: row["pair"], side: row["side"],
                    quantity: try DecimalText.decimal(row["quantity"], column: "orders.quantity"), status: row["status"],
                    filledQuantity: try DecimalText.decimal(row["filled_quantity"], column: "orders.filled_quantity"),
                    averagePrice: try (row["average_price"] as String?).map { try DecimalText.decimal($0, column: "orders.average_price") },
                    fee: try DecimalText.decimal(row["fee"], column: "orders.fee"), error: row["error"], createdAt: row["created_at"],
                    updatedAt: row["updated_at"])
            }
        }
    }

    public func equity(mode: TradingMode, from: Date, to: Date, stepSeconds: Int) async throws -> [EquityRow] {
        try await pool.read { db in
            // The last snapshot of each bucket: a running equity curve keeps its shape and its
            // latest point, however many snapshots there are.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM equity_snapshots WHERE id IN (
                        SELECT MAX(id) FROM equity_snapshots
                        WHERE mode = ? AND time >= ? AND time <= ?
                        GROUP BY CAST(strftime('%s', time) AS INTEGER) / ?)
                    ORDER BY time, id
                    """,
                arguments: [mode.rawValue, UTCTime.sqlite(from), UTCTime.sqlite(to), max(stepSeconds, 1)]
            ).map { row in
                func decimal(_ column: String) throws -> Decimal { try DecimalText.decimal(row[column], column: "equity_snapshots.\(column)") }
                return EquityRow(
                    time: row["time"], cash: try decimal("cash"), positionsValue: try decimal("positions_value"), equity: try decimal("equity"),
                    realisedPnL: try decimal("realized_pnl"), unrealisedPnL: try decimal("unrealized_pnl"), fees: try decimal("fees"))
            }
        }
    }

    public func equityRange(mode: TradingMode) async throws -> ClosedRange<Date>? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT MIN(time) AS first, MAX(time) AS last FROM equity_snapshots WHERE mode = ?", arguments: [mode.rawValue]),
                let first = row["first"] as Date?, let last = row["last"] as Date?
            else { return nil }
            return first...max(first, last)
        }
    }

    public func updateStrategy(id: Int64, enabled: Bool?, parameters: [String: Double]?, at time: Date) async throws -> StrategyRecord? {
        let json = try parameters.map { try Self.json($0) }
        try await pool.write { db in
            if let enabled {
                try db.execute(sql: "UPDATE strategies SET enabled = ?, updated_at = ? WHERE id = ?", arguments: [enabled, UTCTime.sqlite(time), id])
            }
            if let json {
                try db.execute(sql: "UPDATE strategies SET parameters = ?, updated_at = ? WHERE id = ?", arguments: [json, UTCTime.sqlite(time), id])
            }
        }
        return try await strategies().first { $0.id == id }
    }

    public func events(after id: Int64, limit: Int) async throws -> [StoredEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", arguments: [id, limit]).map { row in
                StoredEvent(id: row["id"], kind: row["kind"], payload: row["payload"], createdAt: row["created_at"])
            }
        }
    }

    public func latestEventID() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? 0 }
    }

    public func pruneEvents(olderThan cutoff: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM events WHERE created_at < ?", arguments: [UTCTime.sqlite(cutoff)])
            return db.changesCount
        }
    }

    public func candleSeries() async throws -> [CandleSeriesRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT pair, interval_minutes, COUNT(*) AS n, MIN(open_time) AS oldest, MAX(open_time) AS newest
                FROM candles GROUP BY pair, interval_minutes ORDER BY pair, interval_minutes
                """).map { row in
                CandleSeriesRow(pair: row["pair"], intervalMinutes: row["interval_minutes"], count: row["n"], oldest: row["oldest"], newest: row["newest"])
            }
        }
    }

    public func changeMarker() async throws -> String {
        try await pool.read { db in
            // Every value as text: a missing one (an empty table) is NULL.
            let row = try Row.fetchOne(db, sql: """
                SELECT CAST((SELECT MAX(id) FROM events) AS TEXT) AS events, CAST((SELECT MAX(id) FROM equity_snapshots) AS TEXT) AS equity,
                       CAST((SELECT MAX(updated_at) FROM strategies) AS TEXT) AS strategies,
                       CAST((SELECT value FROM engine_state WHERE key = 'trading_mode') AS TEXT) AS mode,
                       CAST((SELECT MAX(id) FROM ledger_adjustments) AS TEXT) AS adjustments, CAST((SELECT COUNT(*) FROM ledger_accounts) AS TEXT) AS accounts
                """)
            let parts: [String?] = [row?["events"], row?["equity"], row?["strategies"], row?["mode"], row?["adjustments"], row?["accounts"]]
            return parts.map { $0 ?? "-" }.joined(separator: "|")
        }
    }
}
