import Foundation
import GRDB

extension SQLiteStorage: LedgerStorage {
    public func seedStrategies(_ specs: [StrategySpec], at time: Date) async throws -> Int {
        try await pool.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM strategies") == 0 else { return 0 }
            for spec in specs {
                try db.execute(
                    sql: """
                        INSERT INTO strategies (name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, 1, ?, ?)
                        """,
                    arguments: [spec.name, spec.kind, spec.pair, spec.intervalMinutes, try Self.json(spec.parameters),
                                UTCTime.sqlite(time), UTCTime.sqlite(time)])
            }
            return specs.count
        }
    }

    public func strategies() async throws -> [StrategyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM strategies ORDER BY id").map { row in
                let text: String = row["parameters"]
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                    throw StorageError(.corruptValue, "strategies.parameters of '\(row["name"] as String)' is not a JSON object")
                }
                var parameters: [String: Double] = [:]
                for (key, value) in object {
                    guard let number = value as? NSNumber, !(value is Bool) else {
                        throw StorageError(.corruptValue, "strategies.parameters '\(key)' of '\(row["name"] as String)' is not a number")
                    }
                    parameters[key] = number.doubleValue
                }
                return StrategyRecord(
                    id: row["id"], name: row["name"], kind: row["kind"], pair: row["pair"], intervalMinutes: row["interval_minutes"],
                    parameters: parameters, enabled: row["enabled"], updatedAt: row["updated_at"])
            }
        }
    }

    public func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal
    ) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO signals (strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [strategyID, pair, intervalMinutes, UTCTime.sqlite(candleTime), signal.action.rawValue, signal.reason,
                            signal.confidence, DecimalText.string(price), UTCTime.sqlite(Date())])
            return db.lastInsertedRowID
        }
    }

    public func recordOrder(_ order: OrderRecord) async throws -> Int64 {
        try await pool.write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO orders (strategy_id, signal_id, client_order_id, exchange_order_id, userref, mode, pair, side,
                            order_type, quantity, status, error, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'market', ?, ?, ?, ?, ?)
                        """,
                    arguments: [order.strategyID, order.signalID, order.clientOrderID, order.exchangeOrderID, order.userref,
                                order.mode.rawValue, order.pair, order.side.rawValue, DecimalText.string(order.quantity),
                                order.status.rawValue, order.error, UTCTime.sqlite(order.createdAt), UTCTime.sqlite(order.createdAt)])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StorageError(.duplicate, "an order with client id \(order.clientOrderID) exists already")
            }
            return db.lastInsertedRowID
        }
    }

    public func updateOrder(id: Int64, status: OrderRecord.Status, exchangeOrderID: String?, error: String?, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE orders SET status = ?, exchange_order_id = COALESCE(?, exchange_order_id), error = COALESCE(?, error),
                        updated_at = ? WHERE id = ?
                    """,
                arguments: [status.rawValue, exchangeOrderID, error, UTCTime.sqlite(time), id])
            guard db.changesCount == 1 else { throw StorageError(.corruptValue, "no order \(id) to update") }
        }
    }

    public func unfinishedOrders() async throws -> [OrderRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM orders WHERE status IN ('submitting', 'open') ORDER BY id").map(Self.order)
        }
    }

    public func recordFill(_ fill: LedgerFill, position: Position?, closedTrade: ClosedTrade?, orderFilled: Bool) async throws {
        try await pool.write { db in
            let time = UTCTime.sqlite(fill.fill.time)
            try db.execute(
                sql: "INSERT INTO fills (order_id, exchange_trade_id, time, quantity, price, fee) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [fill.orderID, fill.fill.tradeID, time, DecimalText.string(fill.fill.quantity),
                            DecimalText.string(fill.fill.price), DecimalText.string(fill.fill.fee)])
            // The order's totals are recomputed from its fills, exactly (TEXT decimals summed in Swift).
            let rows = try Row.fetchAll(db, sql: "SELECT quantity, price, fee FROM fills WHERE order_id = ?", arguments: [fill.orderID])
            var quantity = Decimal(0), notional = Decimal(0), fee = Decimal(0)
            for row in rows {
                let q = try DecimalText.decimal(row["quantity"], column: "fills.quantity")
                quantity += q
                notional += q * (try DecimalText.decimal(row["price"], column: "fills.price"))
                fee += try DecimalText.decimal(row["fee"], column: "fills.fee")
            }
            try db.execute(
                sql: """
                    UPDATE orders SET filled_quantity = ?, average_price = ?, fee = ?, status = ?, updated_at = ? WHERE id = ?
                    """,
                arguments: [DecimalText.string(quantity), DecimalText.string((notional / quantity).rounded(16, .plain)),
                            DecimalText.string(fee), orderFilled ? OrderRecord.Status.filled.rawValue : OrderRecord.Status.open.rawValue,
                            time, fill.orderID])
            guard db.changesCount == 1 else { throw StorageError(.corruptValue, "fill for unknown order \(fill.orderID)") }

            if fill.side == .buy {
                let open = try Int64.fetchOne(
                    db, sql: "SELECT id FROM trades WHERE strategy_id = ? AND status = 'open'", arguments: [fill.strategyID])
                if open == nil {
                    try db.execute(
                        sql: """
                            INSERT INTO trades (strategy_id, pair, status, quantity, entry_order_id, entry_time, entry_price, entry_fee)
                            VALUES (?, ?, 'open', ?, ?, ?, ?, ?)
                            """,
                        arguments: [fill.strategyID, fill.pair, DecimalText.string(fill.fill.quantity), fill.orderID, time,
                                    DecimalText.string(fill.fill.price), DecimalText.string(fill.fill.fee)])
                } else if let position {
                    try db.execute(
                        sql: "UPDATE trades SET quantity = ?, entry_price = ?, entry_fee = ? WHERE id = ?",
                        arguments: [DecimalText.string(position.quantity), DecimalText.string(position.averagePrice.rounded(16, .plain)),
                                    DecimalText.string(position.entryFees), open])
                }
            } else if let closedTrade, position == nil {
                try db.execute(
                    sql: """
                        UPDATE trades SET status = 'closed', exit_order_id = ?, exit_time = ?, exit_price = ?, exit_fee = ?,
                            realized_pnl = ?, exit_reason = ?
                        WHERE strategy_id = ? AND status = 'open'
                        """,
                    arguments: [fill.orderID, time, DecimalText.string(closedTrade.exitPrice), DecimalText.string(closedTrade.exitFee),
                                DecimalText.string(closedTrade.netPnL), closedTrade.exitReason, fill.strategyID])
            }

            if let position {
                try db.execute(
                    sql: """
                        INSERT INTO positions (strategy_id, pair, quantity, average_price, opened_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (strategy_id, pair) DO UPDATE SET
                            quantity = excluded.quantity, average_price = excluded.average_price, updated_at = excluded.updated_at
                        """,
                    arguments: [fill.strategyID, fill.pair, DecimalText.string(position.quantity),
                                DecimalText.string(position.averagePrice.rounded(16, .plain)), UTCTime.sqlite(position.openedAt), time])
            } else {
                try db.execute(sql: "DELETE FROM positions WHERE strategy_id = ? AND pair = ?", arguments: [fill.strategyID, fill.pair])
            }
        }
    }

    public func ledgerFills() async throws -> [LedgerFill] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT f.order_id, f.exchange_trade_id, f.time, f.quantity, f.price, f.fee, o.strategy_id, o.pair, o.side,
                        COALESCE(s.reason, '') AS reason
                    FROM fills f JOIN orders o ON o.id = f.order_id LEFT JOIN signals s ON s.id = o.signal_id
                    ORDER BY f.id
                    """
            ).map { row in
                let sideText: String = row["side"]
                guard let side = OrderSide(rawValue: sideText) else {
                    throw StorageError(.corruptValue, "orders.side '\(sideText)' is not buy/sell")
                }
                return LedgerFill(
                    orderID: row["order_id"], strategyID: row["strategy_id"], pair: row["pair"], side: side,
                    fill: Fill(
                        quantity: try DecimalText.decimal(row["quantity"], column: "fills.quantity"),
                        price: try DecimalText.decimal(row["price"], column: "fills.price"),
                        fee: try DecimalText.decimal(row["fee"], column: "fills.fee"), time: row["time"], tradeID: row["exchange_trade_id"]),
                    reason: row["reason"])
            }
        }
    }

    public func recordEquity(_ snapshot: EquitySnapshot) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO equity_snapshots (time, cash, positions_value, equity, realized_pnl, unrealized_pnl, fees)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [UTCTime.sqlite(snapshot.time), DecimalText.string(snapshot.cash), DecimalText.string(snapshot.positionsValue),
                            DecimalText.string(snapshot.equity), DecimalText.string(snapshot.realisedPnL),
                            DecimalText.string(snapshot.unrealisedPnL), DecimalText.string(snapshot.fees)])
        }
    }

    public func peakEquity() async throws -> Decimal? {
        try await pool.read { db in
            // SQLite narrows it down as REAL (one row per candle adds up); the exact maximum of
            // the few top candidates is taken in Decimal.
            try String.fetchAll(db, sql: "SELECT equity FROM equity_snapshots ORDER BY CAST(equity AS REAL) DESC LIMIT 16")
                .map { try DecimalText.decimal($0, column: "equity_snapshots.equity") }.max()
        }
    }

    public func closedTrades() async throws -> [(strategyID: Int64, trade: ClosedTrade)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM trades WHERE status = 'closed' ORDER BY exit_time, id").map { row in
                func decimal(_ column: String) throws -> Decimal { try DecimalText.decimal(row[column], column: "trades.\(column)") }
                let quantity = try decimal("quantity"), entry = try decimal("entry_price"), exit = try decimal("exit_price")
                let id: Int64 = row["strategy_id"]
                return (id, ClosedTrade(
                    strategyKey: String(id), pair: row["pair"], quantity: quantity, entryTime: row["entry_time"], entryPrice: entry,
                    entryFee: try decimal("entry_fee"), exitTime: row["exit_time"], exitPrice: exit, exitFee: try decimal("exit_fee"),
                    grossPnL: (exit - entry) * quantity, netPnL: try decimal("realized_pnl"), exitReason: row["exit_reason"] ?? ""))
            }
        }
    }

    static func order(_ row: Row) throws -> OrderRecord {
        let statusText: String = row["status"], modeText: String = row["mode"], sideText: String = row["side"]
        guard let status = OrderRecord.Status(rawValue: statusText), let mode = TradingMode(rawValue: modeText),
            let side = OrderSide(rawValue: sideText)
        else {
            throw StorageError(.corruptValue, "order \(row["id"] as Int64) has status '\(statusText)', mode '\(modeText)', side '\(sideText)'")
        }
        return OrderRecord(
            id: row["id"], strategyID: row["strategy_id"], signalID: row["signal_id"], clientOrderID: row["client_order_id"],
            exchangeOrderID: row["exchange_order_id"], userref: Int32(truncatingIfNeeded: (row["userref"] as Int64?) ?? 0), mode: mode,
            pair: row["pair"], side: side, quantity: try DecimalText.decimal(row["quantity"], column: "orders.quantity"), status: status,
            error: row["error"], createdAt: row["created_at"])
    }

    static func json(_ parameters: [String: Double]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: parameters, options: [.sortedKeys]), as: UTF8.self)
    }
}
