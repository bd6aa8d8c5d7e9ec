import Foundation
import PostgresNIO

/// ``DashboardStorage`` on PostgreSQL: the pages and the journal ``SQLiteStorage`` serves, from
/// the same rows. Money is read as exact decimal text; text is sorted byte by byte (`COLLATE
/// "C"`), as SQLite sorts it, whatever the database's collation.
extension PostgresStore: DashboardStorage {
    public func recentCandles(pair: String, intervalMinutes: Int, limit: Int, before: Date?, closedOnly: Bool) async throws -> [Candle] {
        try await Self.candles(try await client.query("""
            SELECT \(unescaped: Self.candleColumns) FROM candles
            WHERE pair = \(pair) AND interval_minutes = \(intervalMinutes) AND open_time < COALESCE(\(before), 'infinity'::TIMESTAMPTZ)
              AND closed >= \(closedOnly ? 1 : 0)
            ORDER BY open_time DESC LIMIT \(Self.limit(limit))
            """, logger: logger)).reversed()
    }

    public func openPositions(mode: TradingMode) async throws -> [PositionRow] {
        let rows = try await client.query("""
            SELECT strategy_id, pair, quantity::TEXT, average_price::TEXT, stop_loss::TEXT, take_profit::TEXT, opened_at
            FROM positions WHERE mode = \(mode.rawValue) ORDER BY strategy_id, pair COLLATE "C"
            """, logger: logger)
        var positions: [PositionRow] = []
        for try await (strategyID, pair, quantity, average, stop, target, opened)
            in rows.decode((Int64, String, String, String, String?, String?, Date).self) {
            positions.append(PositionRow(
                strategyID: strategyID, pair: pair, quantity: try DecimalText.decimal(quantity, column: "positions.quantity"),
                averagePrice: try DecimalText.decimal(average, column: "positions.average_price"),
                stopLoss: try stop.map { try DecimalText.decimal($0, column: "positions.stop_loss") },
                takeProfit: try target.map { try DecimalText.decimal($0, column: "positions.take_profit") }, openedAt: opened))
        }
        return positions
    }

    public func trades(mode: TradingMode, query: TradeQuery) async throws -> [TradeRow] {
        // A filter that is not given is a NULL parameter, which passes every row.
        let rows = try await client.query("""
            SELECT id, strategy_id, pair, status, quantity::TEXT, exit_quantity::TEXT, entry_time, entry_price::TEXT, entry_fee::TEXT,
                   exit_time, exit_price::TEXT, exit_fee::TEXT, realized_pnl::TEXT, exit_reason
            FROM trades
            WHERE mode = \(mode.rawValue)
              AND (\(query.strategyID)::BIGINT IS NULL OR strategy_id = \(query.strategyID))
              AND (\(query.pair)::TEXT IS NULL OR pair = \(query.pair))
              AND (\(query.from)::TIMESTAMPTZ IS NULL OR entry_time >= \(query.from))
              AND (\(query.to)::TIMESTAMPTZ IS NULL OR entry_time <= \(query.to))
              AND (\(query.closedFrom)::TIMESTAMPTZ IS NULL OR exit_time >= \(query.closedFrom))
              AND (\(query.closedBefore)::TIMESTAMPTZ IS NULL OR exit_time < \(query.closedBefore))
              AND (\(query.beforeID)::BIGINT IS NULL OR id < \(query.beforeID))
            ORDER BY id DESC LIMIT \(Self.limit(query.limit))
            """, logger: logger)
        var trades: [TradeRow] = []
        for try await (id, strategyID, pair, status, quantity, exitQuantity, entryTime, entryPrice, entryFee, exitTime, exitPrice, exitFee, pnl, reason)
            in rows.decode((Int64, Int64?, String, String, String, String, Date, String, String, Date?, String?, String?, String?, String?).self) {
            func decimal(_ text: String, _ column: String) throws -> Decimal { try DecimalText.decimal(text, column: "trades.\(column)") }
            func optional(_ text: String?, _ column: String) throws -> Decimal? { try text.map { try decimal($0, column) } }
            trades.append(TradeRow(
                id: id, strategyID: strategyID, pair: pair, status: status, quantity: try decimal(quantity, "quantity"),
                exitQuantity: try decimal(exitQuantity, "exit_quantity"), entryTime: entryTime, entryPrice: try decimal(entryPrice, "entry_price"),
                entryFee: try decimal(entryFee, "entry_fee"), exitTime: exitTime, exitPrice: try optional(exitPrice, "exit_price"),
                exitFee: try optional(exitFee, "exit_fee"), realisedPnL: try optional(pnl, "realized_pnl"), exitReason: reason))
        }
        return trades
    }

    public func signals(limit: Int, strategyID: Int64?) async throws -> [SignalRow] {
        let rows = try await client.query("""
            SELECT id, strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price::TEXT, created_at
            FROM signals
            WHERE action <> 'hold' AND (\(strategyID)::BIGINT IS NULL OR strategy_id = \(strategyID))
            ORDER BY id DESC LIMIT \(Self.limit(limit))
            """, logger: logger)
        var signals: [SignalRow] = []
        for try await (id, strategy, pair, interval, candleTime, action, reason, confidence, price, created)
            in rows.decode((Int64, Int64, String, Int, Date, String, String, Double, String, Date).self) {
            signals.append(SignalRow(
                id: id, strategyID: strategy, pair: pair, intervalMinutes: interval, candleTime: candleTime, action: action, reason: reason,
                confidence: confidence, price: try DecimalText.decimal(price, column: "signals.price"), createdAt: created))
        }
        return signals
    }

    public func orders(mode: TradingMode, limit: Int, strategyID: Int64?) async throws -> [OrderRow] {
        let rows = try await client.query("""
            SELECT id, strategy_id, client_order_id, exchange_order_id, mode, pair, side, quantity::TEXT, status, filled_quantity::TEXT,
                   average_price::TEXT, fee::TEXT, error, created_at, updated_at
            FROM orders
            WHERE mode = \(mode.rawValue) AND (\(strategyID)::BIGINT IS NULL OR strategy_id = \(strategyID))
            ORDER BY id DESC LIMIT \(Self.limit(limit))
            """, logger: logger)
        var orders: [OrderRow] = []
        for try await (id, strategy, clientID, exchangeID, mode, pair, side, quantity, status, filled, average, fee, error, created, updated)
            in rows.decode((Int64, Int64?, String, String?, String, String, String, String, String, String, String?, String, String?, Date, Date).self) {
            orders.append(OrderRow(
                id: id, strategyID: strategy, clientOrderID: clientID, exchangeOrderID: exchangeID, mode: mode, pair: pair, side: side,
                quantity: try DecimalText.decimal(quantity, column: "orders.quantity"), status: status,
                filledQuantity: try DecimalText.decimal(filled, column: "orders.filled_quantity"),
                averagePrice: try average.map { try DecimalText.decimal($0, column: "orders.average_price") },
                fee: try DecimalText.decimal(fee, column: "orders.fee"), error: error, createdAt: created, updatedAt: updated))
        }
        return orders
    }

    public func equity(mode: TradingMode, from: Date, to: Date, stepSeconds: Int) async throws -> [EquityRow] {
        // The last snapshot of each bucket: a running equity curve keeps its shape and its
        // latest point, however many snapshots there are. Buckets are whole Unix seconds divided
        // by the step, truncated, as SQLite's integer division of `strftime('%s', time)`.
        let rows = try await client.query("""
            SELECT time, cash::TEXT, positions_value::TEXT, equity::TEXT, realized_pnl::TEXT, unrealized_pnl::TEXT, fees::TEXT
            FROM equity_snapshots WHERE id IN (
                SELECT MAX(id) FROM equity_snapshots
                WHERE mode = \(mode.rawValue) AND time >= \(from) AND time <= \(to)
                GROUP BY div(floor(extract(epoch FROM time))::NUMERIC, \(max(stepSeconds, 1))::NUMERIC))
            ORDER BY time, id
            """, logger: logger)
        var points: [EquityRow] = []
        for try await (time, cash, positions, equity, realised, unrealised, fees)
            in rows.decode((Date, String, String, String, String, String, String).self) {
            func decimal(_ text: String, _ column: String) throws -> Decimal { try DecimalText.decimal(text, column: "equity_snapshots.\(column)") }
            points.append(EquityRow(
                time: time, cash: try decimal(cash, "cash"), positionsValue: try decimal(positions, "positions_value"),
                equity: try decimal(equity, "equity"), realisedPnL: try decimal(realised, "realized_pnl"),
                unrealisedPnL: try decimal(unrealised, "unrealized_pnl"), fees: try decimal(fees, "fees")))
        }
        return points
    }

    public func equityRange(mode: TradingMode) async throws -> ClosedRange<Date>? {
        let rows = try await client.query("SELECT MIN(time), MAX(time) FROM equity_snapshots WHERE mode = \(mode.rawValue)", logger: logger)
        for try await (first, last) in rows.decode((Date?, Date?).self) {
            guard let first, let last else { return nil }
            return first...max(first, last)
        }
        return nil
    }

    public func updateStrategy(id: Int64, enabled: Bool?, parameters: [String: Double]?, at time: Date) async throws -> StrategyRecord? {
        let json = try parameters.map { try SQLiteStorage.json($0) }
        try await transaction { connection in
            if let enabled {
                try await connection.query(
                    "UPDATE strategies SET enabled = \(Int16(enabled ? 1 : 0)), updated_at = \(time) WHERE id = \(id)", logger: logger)
            }
            if let json {
                try await connection.query("UPDATE strategies SET parameters = \(json), updated_at = \(time) WHERE id = \(id)", logger: logger)
            }
        }
        return try await strategies().first { $0.id == id }
    }

    public func events(after id: Int64, limit: Int) async throws -> [StoredEvent] {
        let rows = try await client.query(
            "SELECT id, kind, payload, created_at FROM events WHERE id > \(id) ORDER BY id LIMIT \(Self.limit(limit))", logger: logger)
        var events: [StoredEvent] = []
        for try await (id, kind, payload, created) in rows.decode((Int64, String, String, Date).self) {
            events.append(StoredEvent(id: id, kind: kind, payload: payload, createdAt: created))
        }
        return events
    }

    public func latestEventID() async throws -> Int64 {
        try await Self.single(try await client.query("SELECT COALESCE(MAX(id), 0)::BIGINT FROM events", logger: logger), "events.id")
    }

    public func pruneEvents(olderThan cutoff: Date) async throws -> Int {
        let rows = try await client.query("""
            WITH deleted AS (DELETE FROM events WHERE created_at < \(cutoff) RETURNING 1) SELECT COUNT(*)::BIGINT FROM deleted
            """, logger: logger)
        return Int(try await Self.single(rows, "count"))
    }

    public func candleSeries() async throws -> [CandleSeriesRow] {
        let rows = try await client.query("""
            SELECT pair, interval_minutes, COUNT(*)::BIGINT, MIN(open_time), MAX(open_time)
            FROM candles GROUP BY pair, interval_minutes ORDER BY pair COLLATE "C", interval_minutes
            """, logger: logger)
        var series: [CandleSeriesRow] = []
        for try await (pair, interval, count, oldest, newest) in rows.decode((String, Int, Int64, Date, Date).self) {
            series.append(CandleSeriesRow(pair: pair, intervalMinutes: interval, count: Int(count), oldest: oldest, newest: newest))
        }
        return series
    }

    public func changeMarker() async throws -> String {
        // The parts SQLite composes, read in one statement (one snapshot); a missing one (an
        // empty table) is NULL.
        let rows = try await client.query("""
            SELECT (SELECT MAX(id) FROM events)::TEXT, (SELECT MAX(id) FROM equity_snapshots)::TEXT,
                   (SELECT MAX(updated_at) FROM strategies)::TEXT, (SELECT value FROM engine_state WHERE key = 'trading_mode'),
                   (SELECT MAX(id) FROM ledger_adjustments)::TEXT, (SELECT COUNT(*) FROM ledger_accounts)::TEXT
            """, logger: logger)
        for try await (events, equity, strategies, mode, adjustments, accounts)
            in rows.decode((String?, String?, String?, String?, String?, String?).self) {
            return [events, equity, strategies, mode, adjustments, accounts].map { $0 ?? "-" }.joined(separator: "|")
        }
        throw StorageError(.corruptValue, "no change marker returned")
    }
}
