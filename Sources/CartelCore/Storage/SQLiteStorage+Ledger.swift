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
                let name: String = row["name"]
                return StrategyRecord(
                    id: row["id"], name: name, kind: row["kind"], pair: row["pair"], intervalMinutes: row["interval_minutes"],
                    parameters: try Self.parameters(text, strategy: name), enabled: row["enabled"], updatedAt: row["updated_at"])
            }
        }
    }

    /// A strategy's parameters: a JSON object of numbers (`{"fast":10,"stop_loss":1}`).
    static func parameters(_ text: String, strategy name: String) throws -> [String: Double] {
        do {
            return try JSONDecoder().decode([String: Double].self, from: Data(text.utf8))
        } catch {
            throw StorageError(.corruptValue, "strategies.parameters of '\(name)' is not a JSON object of numbers: \(text)")
        }
    }

    public func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal, at time: Date
    ) async throws -> Int64 {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO signals (strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [strategyID, pair, intervalMinutes, UTCTime.sqlite(candleTime), signal.action.rawValue, signal.reason,
                            signal.confidence, DecimalText.string(price), UTCTime.sqlite(time)])
            return db.lastInsertedRowID
        }
    }

    public func recordOrder(_ order: OrderRecord, at time: Date) async throws -> Int64 {
        try await pool.write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO orders (strategy_id, signal_id, client_order_id, exchange_order_id, mode, pair, side,
                            order_type, quantity, status, error, entry_atr, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 'market', ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [order.strategyID, order.signalID, order.clientOrderID, order.exchangeOrderID,
                                order.mode.rawValue, order.pair, order.side.rawValue, DecimalText.string(order.quantity),
                                order.status.rawValue, order.error, order.atr, UTCTime.sqlite(order.createdAt), UTCTime.sqlite(time)])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StorageError(.duplicate, "an order with client id \(order.clientOrderID) exists already")
            }
            let id = db.lastInsertedRowID
            guard id <= Int64(Int32.max) else { throw StorageError(.corruptValue, "order id \(id) no longer fits Kraken's 32-bit userref") }
            try db.execute(sql: "UPDATE orders SET userref = id WHERE id = ?", arguments: [id])
            return id
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

    public func unfinishedOrders(mode: TradingMode) async throws -> [OrderRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT o.*, s.reason AS signal_reason FROM orders o LEFT JOIN signals s ON s.id = o.signal_id
                    WHERE o.status IN ('submitting', 'open', 'unknown') AND o.mode = ? ORDER BY o.id
                    """,
                arguments: [mode.rawValue]
            ).map(Self.order)
        }
    }

    public func recordFill(_ fill: LedgerFill, position: Position?, levels: ExitLevels, closedTrade: ClosedTrade?, orderFilled: Bool) async throws {
        try await pool.write { db in
            guard let mode = try String.fetchOne(db, sql: "SELECT mode FROM orders WHERE id = ?", arguments: [fill.orderID]) else {
                throw StorageError(.corruptValue, "fill for unknown order \(fill.orderID)")
            }
            let time = UTCTime.sqlite(fill.fill.time)
            try db.execute(
                sql: "INSERT INTO fills (order_id, exchange_trade_id, time, quantity, price, fee, cost) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [fill.orderID, fill.fill.tradeID, time, DecimalText.string(fill.fill.quantity),
                            DecimalText.string(fill.fill.price), DecimalText.string(fill.fill.fee),
                            LedgerRowPlan.storedCost(fill.fill).map(DecimalText.string)])
            try Self.updateOrderTotals(db, orderID: fill.orderID, filled: orderFilled, time: time)
            try Self.updateTrade(db, mode: mode, fill: fill, position: position, closedTrade: closedTrade, time: time)
            if let position {
                try db.execute(
                    sql: """
                        INSERT INTO positions (mode, strategy_id, pair, quantity, average_price, stop_loss, take_profit, opened_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (mode, strategy_id, pair) DO UPDATE SET
                            quantity = excluded.quantity, average_price = excluded.average_price, stop_loss = excluded.stop_loss,
                            take_profit = excluded.take_profit, updated_at = excluded.updated_at
                        """,
                    arguments: [mode, fill.strategyID, fill.pair, DecimalText.string(position.quantity),
                                DecimalText.string(position.averagePrice.rounded(16, .plain)), levels.stopLoss.map(DecimalText.string),
                                levels.takeProfit.map(DecimalText.string), UTCTime.sqlite(position.openedAt), time])
            } else {
                try db.execute(
                    sql: "DELETE FROM positions WHERE mode = ? AND strategy_id = ? AND pair = ?", arguments: [mode, fill.strategyID, fill.pair])
            }
        }
    }

    /// The order's totals, recomputed from its fills exactly (TEXT decimals summed in Swift).
    static func updateOrderTotals(_ db: Database, orderID: Int64, filled: Bool, time: String) throws {
        let fills = try Row.fetchAll(db, sql: "SELECT quantity, price, fee, cost FROM fills WHERE order_id = ?", arguments: [orderID]).map { row in
            let cost: String? = row["cost"]
            return LedgerRowPlan.StoredFill(
                quantity: try DecimalText.decimal(row["quantity"], column: "fills.quantity"),
                price: try DecimalText.decimal(row["price"], column: "fills.price"), fee: try DecimalText.decimal(row["fee"], column: "fills.fee"),
                cost: try cost.map { try DecimalText.decimal($0, column: "fills.cost") })
        }
        let totals = LedgerRowPlan.orderTotals(fills)
        try db.execute(
            sql: "UPDATE orders SET filled_quantity = ?, average_price = ?, fee = ?, status = ?, updated_at = ? WHERE id = ?",
            arguments: [DecimalText.string(totals.filledQuantity), DecimalText.string(totals.averagePrice), DecimalText.string(totals.fee),
                        filled ? OrderRecord.Status.filled.rawValue : OrderRecord.Status.open.rawValue, time, orderID])
    }

    /// Writes the change ``LedgerRowPlan/tradeChange(open:fill:position:closedTrade:)`` asks for.
    static func updateTrade(_ db: Database, mode: String, fill: LedgerFill, position: Position?, closedTrade: ClosedTrade?, time: String) throws {
        let open = try Row.fetchOne(
            db, sql: "SELECT * FROM trades WHERE mode = ? AND strategy_id = ? AND status = 'open' ORDER BY id DESC LIMIT 1",
            arguments: [mode, fill.strategyID]
        ).map { row in
            func decimal(_ column: String) throws -> Decimal {
                let text: String? = row[column]
                return try text.map { try DecimalText.decimal($0, column: "trades.\(column)") } ?? 0
            }
            return LedgerRowPlan.OpenTrade(
                id: row["id"], quantity: try decimal("quantity"), entryPrice: try decimal("entry_price"), entryFee: try decimal("entry_fee"),
                exitQuantity: try decimal("exit_quantity"), exitPrice: try decimal("exit_price"), exitFee: try decimal("exit_fee"),
                realizedPnL: try decimal("realized_pnl"))
        }
        let text = DecimalText.string
        switch LedgerRowPlan.tradeChange(open: open, fill: fill, position: position, closedTrade: closedTrade) {
        case .none:
            return
        case .open(let quantity, let entryPrice, let entryFee):
            try db.execute(
                sql: """
                    INSERT INTO trades (mode, strategy_id, pair, status, quantity, entry_order_id, entry_time, entry_price, entry_fee)
                    VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?)
                    """,
                arguments: [mode, fill.strategyID, fill.pair, text(quantity), fill.orderID, time, text(entryPrice), text(entryFee)])
        case .addEntry(let id, let quantity, let entryPrice, let entryFee):
            try db.execute(
                sql: "UPDATE trades SET quantity = ?, entry_price = ?, entry_fee = ? WHERE id = ?",
                arguments: [text(quantity), text(entryPrice), text(entryFee), id])
        case .exitOnly(let closed, let quantity, let entryPrice, let exitPrice, let exitFee, let pnl, let reason):
            try db.execute(
                sql: """
                    INSERT INTO trades (mode, strategy_id, pair, status, quantity, entry_time, entry_price, entry_fee, exit_quantity,
                        exit_order_id, exit_time, exit_price, exit_fee, realized_pnl, exit_reason)
                    VALUES (?, ?, ?, ?, ?, ?, ?, '0', ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [mode, fill.strategyID, fill.pair, closed ? "closed" : "open", text(quantity), time, text(entryPrice),
                            text(quantity), fill.orderID, time, text(exitPrice), text(exitFee), text(pnl), reason])
        case .addExit(let id, let closed, let sold, let exitPrice, let exitFee, let pnl, let reason):
            try db.execute(
                sql: """
                    UPDATE trades SET status = ?, exit_quantity = ?, exit_order_id = ?, exit_time = ?, exit_price = ?, exit_fee = ?,
                        realized_pnl = ?, exit_reason = ?
                    WHERE id = ?
                    """,
                arguments: [closed ? "closed" : "open", text(sold), fill.orderID, time, text(exitPrice), text(exitFee), text(pnl), reason, id])
        }
    }

    public func lastFillID() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM fills") ?? 0 }
    }

    public func savePositionLevels(mode: TradingMode, strategyID: Int64, levels: ExitLevels) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE positions SET stop_loss = ?, take_profit = ? WHERE mode = ? AND strategy_id = ?",
                arguments: [levels.stopLoss.map(DecimalText.string), levels.takeProfit.map(DecimalText.string), mode.rawValue, strategyID])
        }
    }

    public func ledgerFills(mode: TradingMode, after fillID: Int64) async throws -> [LedgerFill] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT f.id, f.order_id, f.exchange_trade_id, f.time, f.quantity, f.price, f.fee, f.cost, o.strategy_id, o.pair, o.side,
                        COALESCE(s.reason, '') AS reason
                    FROM fills f JOIN orders o ON o.id = f.order_id LEFT JOIN signals s ON s.id = o.signal_id
                    WHERE o.mode = ? AND f.id > ?
                    ORDER BY f.id
                    """,
                arguments: [mode.rawValue, fillID]
            ).map { row in
                let sideText: String = row["side"]
                guard let side = OrderSide(rawValue: sideText) else {
                    throw StorageError(.corruptValue, "orders.side '\(sideText)' is not buy/sell")
                }
                let cost: String? = row["cost"]
                return LedgerFill(
                    id: row["id"], orderID: row["order_id"], strategyID: row["strategy_id"], pair: row["pair"], side: side,
                    fill: Fill(
                        quantity: try DecimalText.decimal(row["quantity"], column: "fills.quantity"),
                        price: try DecimalText.decimal(row["price"], column: "fills.price"),
                        fee: try DecimalText.decimal(row["fee"], column: "fills.fee"), time: row["time"], tradeID: row["exchange_trade_id"],
                        cost: try cost.map { try DecimalText.decimal($0, column: "fills.cost") }),
                    reason: row["reason"])
            }
        }
    }

    public func positionLevels(mode: TradingMode) async throws -> [Int64: ExitLevels] {
        try await pool.read { db in
            var levels: [Int64: ExitLevels] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT strategy_id, stop_loss, take_profit FROM positions WHERE mode = ?", arguments: [mode.rawValue])
            {
                let stop: String? = row["stop_loss"], target: String? = row["take_profit"]
                levels[row["strategy_id"]] = ExitLevels(
                    stopLoss: try stop.map { try DecimalText.decimal($0, column: "positions.stop_loss") },
                    takeProfit: try target.map { try DecimalText.decimal($0, column: "positions.take_profit") })
            }
            return levels
        }
    }

    public func recordEquity(_ snapshot: EquitySnapshot, mode: TradingMode) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO equity_snapshots (mode, time, cash, positions_value, equity, realized_pnl, unrealized_pnl, fees)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [mode.rawValue, UTCTime.sqlite(snapshot.time), DecimalText.string(snapshot.cash),
                            DecimalText.string(snapshot.positionsValue), DecimalText.string(snapshot.equity),
                            DecimalText.string(snapshot.realisedPnL), DecimalText.string(snapshot.unrealisedPnL),
                            DecimalText.string(snapshot.fees)])
        }
    }

    public func peakEquity(mode: TradingMode, since: Date?) async throws -> Decimal? {
        try await pool.read { db in
            // SQLite narrows it down as REAL (one row per candle adds up); the exact maximum of
            // the few top candidates is taken in Decimal.
            try String.fetchAll(
                db,
                sql: "SELECT equity FROM equity_snapshots WHERE mode = ? AND time >= ? ORDER BY CAST(equity AS REAL) DESC LIMIT 16",
                arguments: [mode.rawValue, since.map(UTCTime.sqlite) ?? ""]
            ).map { try DecimalText.decimal($0, column: "equity_snapshots.equity") }.max()
        }
    }

    public func abandonedOrders(mode: TradingMode, since: Date) async throws -> [OrderRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM orders WHERE status = 'abandoned' AND mode = ? AND updated_at >= ? ORDER BY id",
                arguments: [mode.rawValue, UTCTime.sqlite(since)]
            ).map(Self.order)
        }
    }

    public func closedTrades(mode: TradingMode) async throws -> [(strategyID: Int64, trade: ClosedTrade)] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM trades WHERE status = 'closed' AND mode = ? ORDER BY exit_time, id", arguments: [mode.rawValue]
            ).map { row in
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

    public func ledgerAccount(mode: TradingMode) async throws -> LedgerAccount? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM ledger_accounts WHERE mode = ?", arguments: [mode.rawValue]) else {
                return nil
            }
            let holdings = try JSONDecoder().decode([String: String].self, from: Data((row["holdings"] as String).utf8))
            let account = LedgerAccount(
                mode: mode, quoteAsset: row["quote_asset"],
                startingBalance: try DecimalText.decimal(row["starting_balance"], column: "ledger_accounts.starting_balance"),
                holdings: try holdings.mapValues { try DecimalText.decimal($0, column: "ledger_accounts.holdings") },
                afterFillID: row["after_fill_id"], createdAt: row["created_at"])
            let adjustments = try Row.fetchAll(
                db, sql: "SELECT * FROM ledger_adjustments WHERE mode = ? ORDER BY id", arguments: [mode.rawValue]
            ).map { row in
                LedgerAdjustment(
                    mode: mode, asset: row["asset"], amount: try DecimalText.decimal(row["amount"], column: "ledger_adjustments.amount"),
                    note: row["note"], createdAt: row["created_at"], afterFillID: row["after_fill_id"])
            }
            return account.adjusted(by: adjustments)
        }
    }

    public func saveLedgerAccount(_ account: LedgerAccount) async throws {
        let holdings = String(
            decoding: try JSONEncoder.sorted.encode(account.holdings.mapValues(DecimalText.string)), as: UTF8.self)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO ledger_accounts (mode, quote_asset, starting_balance, holdings, after_fill_id, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (mode) DO NOTHING
                    """,
                arguments: [account.mode.rawValue, account.quoteAsset, DecimalText.string(account.startingBalance), holdings,
                            account.afterFillID, UTCTime.sqlite(account.createdAt)])
        }
    }

    public func recordAdjustments(_ adjustments: [LedgerAdjustment]) async throws {
        try await pool.write { db in
            let lastFill = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM fills") ?? 0
            for adjustment in adjustments {
                try db.execute(
                    sql: "INSERT INTO ledger_adjustments (mode, asset, amount, note, after_fill_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [adjustment.mode.rawValue, adjustment.asset, DecimalText.string(adjustment.amount), adjustment.note,
                                lastFill, UTCTime.sqlite(adjustment.createdAt)])
            }
        }
    }

    public func cooldowns(mode: TradingMode) async throws -> [Int64: Date] {
        try await pool.read { db in
            var result: [Int64: Date] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT strategy_id, until FROM strategy_cooldowns WHERE mode = ?", arguments: [mode.rawValue])
            {
                result[row["strategy_id"]] = row["until"]
            }
            return result
        }
    }

    public func saveCooldown(mode: TradingMode, strategyID: Int64, until: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO strategy_cooldowns (mode, strategy_id, until) VALUES (?, ?, ?)
                    ON CONFLICT (mode, strategy_id) DO UPDATE SET until = MAX(until, excluded.until)
                    """,
                arguments: [mode.rawValue, strategyID, UTCTime.sqlite(until)])
        }
    }

    public func engineState(_ key: String) async throws -> String? {
        try await pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM engine_state WHERE key = ?", arguments: [key]) }
    }

    public func setEngineState(_ key: String, _ value: String, at time: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO engine_state (key, value, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [key, value, UTCTime.sqlite(time)])
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
            error: row["error"], createdAt: row["created_at"], updatedAt: row["updated_at"],
            reason: row.hasColumn("signal_reason") ? row["signal_reason"] : nil, atr: row["entry_atr"])
    }

    static func json(_ parameters: [String: Double]) throws -> String {
        String(decoding: try JSONEncoder.sorted.encode(parameters), as: UTF8.self)
    }
}

extension JSONEncoder {
    /// Keys sorted, so stored JSON is stable.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
