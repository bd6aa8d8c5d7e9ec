import Foundation
import PostgresNIO

/// ``LedgerStorage`` on PostgreSQL: the rows and rules of the SQLite ledger. Each fill is booked
/// in one transaction with its order, trade and position rows, under a transaction-scoped
/// advisory lock, so fills are booked one at a time as SQLite's single writer books them (two
/// fills of one strategy must not both find "no open trade"). The new rows of `orders` and
/// `trades` come from ``LedgerRowPlan``, the same exact arithmetic the SQLite backend uses.
extension PostgresStore: LedgerStorage {
    /// The advisory lock every ledger write that reads before it writes takes for its
    /// transaction (`pg_advisory_xact_lock`).
    static let ledgerLock: Int64 = 0x5347_4C45_4447_4552  // "SGLEDGER"

    public func seedStrategies(_ specs: [StrategySpec], at time: Date) async throws -> Int {
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.ledgerLock))", logger: logger)
            let rows = try await connection.query("SELECT COUNT(*)::BIGINT FROM strategies", logger: logger)
            for try await (count) in rows.decode(Int64.self) where count > 0 { return 0 }
            for spec in specs {
                try await connection.query("""
                    INSERT INTO strategies (name, kind, pair, interval_minutes, parameters, enabled, created_at, updated_at)
                    VALUES (\(spec.name), \(spec.kind), \(spec.pair), \(spec.intervalMinutes), \(try SQLiteStorage.json(spec.parameters)),
                            1, \(time), \(time))
                    """, logger: logger)
            }
            return specs.count
        }
    }

    public func strategies() async throws -> [StrategyRecord] {
        let rows = try await client.query(
            "SELECT id, name, kind, pair, interval_minutes, parameters, enabled, updated_at FROM strategies ORDER BY id", logger: logger)
        var records: [StrategyRecord] = []
        for try await (id, name, kind, pair, interval, parameters, enabled, updated)
            in rows.decode((Int64, String, String, String, Int, String, Int16, Date).self) {
            records.append(StrategyRecord(
                id: id, name: name, kind: kind, pair: pair, intervalMinutes: interval,
                parameters: try SQLiteStorage.parameters(parameters, strategy: name), enabled: enabled != 0, updatedAt: updated))
        }
        return records
    }

    public func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal, at time: Date
    ) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO signals (strategy_id, pair, interval_minutes, candle_time, action, reason, confidence, price, created_at)
            VALUES (\(strategyID), \(pair), \(intervalMinutes), \(candleTime), \(signal.action.rawValue), \(signal.reason),
                    \(signal.confidence), \(DecimalText.string(price))::NUMERIC, \(time))
            RETURNING id
            """, logger: logger)
        return try await Self.single(rows, "signals.id")
    }

    public func recordOrder(_ order: OrderRecord, at time: Date) async throws -> Int64 {
        do {
            return try await transaction { connection in
                // No order goes out from an engine that does not hold the lock (it is lost while
                // the server restarts; another engine may hold it now).
                try await engineSession.check(connection, logger: logger)
                let rows = try await connection.query("""
                    INSERT INTO orders (strategy_id, signal_id, client_order_id, exchange_order_id, mode, pair, side,
                        order_type, quantity, status, error, entry_atr, created_at, updated_at)
                    VALUES (\(order.strategyID), \(order.signalID), \(order.clientOrderID), \(order.exchangeOrderID),
                            \(order.mode.rawValue), \(order.pair), \(order.side.rawValue), 'market',
                            \(DecimalText.string(order.quantity))::NUMERIC, \(order.status.rawValue), \(order.error), \(order.atr),
                            \(order.createdAt), \(time))
                    RETURNING id
                    """, logger: logger)
                let id = try await Self.single(rows, "orders.id")
                guard id <= Int64(Int32.max) else {
                    throw StorageError(.corruptValue, "order id \(id) no longer fits Kraken's 32-bit userref")
                }
                try await connection.query("UPDATE orders SET userref = id WHERE id = \(id)", logger: logger)
                return id
            }
        } catch let error as PSQLError
            where error.serverInfo?[.sqlState] == "23505" && error.serverInfo?[.constraintName] == "orders_client_order_id_key"
        {
            // Only the client order id: any other unique key failing is a real error, not "placed before".
            throw StorageError(.duplicate, "an order with client id \(order.clientOrderID) exists already")
        }
    }

    public func updateOrder(id: Int64, status: OrderRecord.Status, exchangeOrderID: String?, error: String?, at time: Date) async throws {
        let rows = try await client.query("""
            UPDATE orders SET status = \(status.rawValue), exchange_order_id = COALESCE(\(exchangeOrderID), exchange_order_id),
                error = COALESCE(\(error), error), updated_at = \(time)
            WHERE id = \(id) RETURNING id
            """, logger: logger)
        var changed = 0
        for try await _ in rows.decode(Int64.self) { changed += 1 }
        guard changed == 1 else { throw StorageError(.corruptValue, "no order \(id) to update") }
    }

    /// The columns ``order(_:)`` decodes, `o` being `orders` and `s` its signal.
    static let orderColumns = """
        o.id, o.strategy_id, o.signal_id, o.client_order_id, o.exchange_order_id, o.userref, o.mode, o.pair, o.side, o.quantity::TEXT,
        o.status, o.error, o.created_at, o.updated_at, o.entry_atr, s.reason
        """

    static func orders(_ rows: PostgresRowSequence) async throws -> [OrderRecord] {
        var orders: [OrderRecord] = []
        for try await (id, strategyID, signalID, clientID, exchangeID, userref, modeText, pair, sideText, quantity, statusText, error, created,
                       updated, atr, reason)
            in rows.decode((Int64, Int64, Int64?, String, String?, Int64?, String, String, String, String, String, String?, Date, Date,
                            Double?, String?).self) {
            guard let status = OrderRecord.Status(rawValue: statusText), let mode = TradingMode(rawValue: modeText),
                let side = OrderSide(rawValue: sideText)
            else {
                throw StorageError(.corruptValue, "order \(id) has status '\(statusText)', mode '\(modeText)', side '\(sideText)'")
            }
            orders.append(OrderRecord(
                id: id, strategyID: strategyID, signalID: signalID, clientOrderID: clientID, exchangeOrderID: exchangeID,
                userref: Int32(truncatingIfNeeded: userref ?? 0), mode: mode, pair: pair, side: side,
                quantity: try DecimalText.decimal(quantity, column: "orders.quantity"), status: status, error: error, createdAt: created,
                updatedAt: updated, reason: reason, atr: atr))
        }
        return orders
    }

    public func unfinishedOrders(mode: TradingMode) async throws -> [OrderRecord] {
        try await Self.orders(try await client.query("""
            SELECT \(unescaped: Self.orderColumns) FROM orders o LEFT JOIN signals s ON s.id = o.signal_id
            WHERE o.status IN ('submitting', 'open', 'unknown') AND o.mode = \(mode.rawValue) ORDER BY o.id
            """, logger: logger))
    }

    public func abandonedOrders(mode: TradingMode, since: Date) async throws -> [OrderRecord] {
        try await Self.orders(try await client.query("""
            SELECT \(unescaped: Self.orderColumns) FROM orders o LEFT JOIN signals s ON s.id = o.signal_id
            WHERE o.status = 'abandoned' AND o.mode = \(mode.rawValue) AND o.updated_at >= \(since) ORDER BY o.id
            """, logger: logger))
    }

    public func recordFill(_ fill: LedgerFill, position: Position?, levels: ExitLevels, closedTrade: ClosedTrade?, orderFilled: Bool) async throws {
        let text = DecimalText.string
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.ledgerLock))", logger: logger)
            var mode: String?
            for try await (found) in try await connection.query(
                "SELECT mode FROM orders WHERE id = \(fill.orderID) FOR UPDATE", logger: logger
            ).decode(String.self) { mode = found }
            guard let mode else { throw StorageError(.corruptValue, "fill for unknown order \(fill.orderID)") }
            let time = fill.fill.time
            try await connection.query("""
                INSERT INTO fills (order_id, exchange_trade_id, time, quantity, price, fee, cost)
                VALUES (\(fill.orderID), \(fill.fill.tradeID), \(time), \(text(fill.fill.quantity))::NUMERIC,
                        \(text(fill.fill.price))::NUMERIC, \(text(fill.fill.fee))::NUMERIC,
                        \(LedgerRowPlan.storedCost(fill.fill).map(text))::NUMERIC)
                """, logger: logger)

            var fills: [LedgerRowPlan.StoredFill] = []
            for try await (quantity, price, fee, cost) in try await connection.query(
                "SELECT quantity::TEXT, price::TEXT, fee::TEXT, cost::TEXT FROM fills WHERE order_id = \(fill.orderID) ORDER BY id",
                logger: logger
            ).decode((String, String, String, String?).self) {
                fills.append(LedgerRowPlan.StoredFill(
                    quantity: try DecimalText.decimal(quantity, column: "fills.quantity"), price: try DecimalText.decimal(price, column: "fills.price"),
                    fee: try DecimalText.decimal(fee, column: "fills.fee"), cost: try cost.map { try DecimalText.decimal($0, column: "fills.cost") }))
            }
            let totals = LedgerRowPlan.orderTotals(fills)
            let status = orderFilled ? OrderRecord.Status.filled.rawValue : OrderRecord.Status.open.rawValue
            try await connection.query("""
                UPDATE orders SET filled_quantity = \(text(totals.filledQuantity))::NUMERIC,
                    average_price = \(text(totals.averagePrice))::NUMERIC, fee = \(text(totals.fee))::NUMERIC, status = \(status),
                    updated_at = \(time)
                WHERE id = \(fill.orderID)
                """, logger: logger)

            try await Self.updateTrade(connection, mode: mode, fill: fill, position: position, closedTrade: closedTrade, logger: logger)

            if let position {
                try await connection.query("""
                    INSERT INTO positions (mode, strategy_id, pair, quantity, average_price, stop_loss, take_profit, opened_at, updated_at)
                    VALUES (\(mode), \(fill.strategyID), \(fill.pair), \(text(position.quantity))::NUMERIC,
                            \(text(position.averagePrice.rounded(16, .plain)))::NUMERIC, \(levels.stopLoss.map(text))::NUMERIC,
                            \(levels.takeProfit.map(text))::NUMERIC, \(position.openedAt), \(time))
                    ON CONFLICT (mode, strategy_id, pair) DO UPDATE SET
                        quantity = excluded.quantity, average_price = excluded.average_price, stop_loss = excluded.stop_loss,
                        take_profit = excluded.take_profit, updated_at = excluded.updated_at
                    """, logger: logger)
            } else {
                try await connection.query(
                    "DELETE FROM positions WHERE mode = \(mode) AND strategy_id = \(fill.strategyID) AND pair = \(fill.pair)", logger: logger)
            }
        }
    }

    /// Writes the change ``LedgerRowPlan/tradeChange(open:fill:position:closedTrade:)`` asks for.
    static func updateTrade(
        _ connection: PostgresConnection, mode: String, fill: LedgerFill, position: Position?, closedTrade: ClosedTrade?, logger: Logger
    ) async throws {
        var open: LedgerRowPlan.OpenTrade?
        for try await (id, quantity, entryPrice, entryFee, exitQuantity, exitPrice, exitFee, pnl) in try await connection.query("""
            SELECT id, quantity::TEXT, entry_price::TEXT, entry_fee::TEXT, exit_quantity::TEXT, exit_price::TEXT, exit_fee::TEXT,
                   realized_pnl::TEXT
            FROM trades WHERE mode = \(mode) AND strategy_id = \(fill.strategyID) AND status = 'open' ORDER BY id DESC LIMIT 1
            FOR UPDATE
            """, logger: logger).decode((Int64, String, String, String, String, String?, String?, String?).self) {
            func decimal(_ text: String?, _ column: String) throws -> Decimal {
                try text.map { try DecimalText.decimal($0, column: "trades.\(column)") } ?? 0
            }
            open = LedgerRowPlan.OpenTrade(
                id: id, quantity: try decimal(quantity, "quantity"), entryPrice: try decimal(entryPrice, "entry_price"),
                entryFee: try decimal(entryFee, "entry_fee"), exitQuantity: try decimal(exitQuantity, "exit_quantity"),
                exitPrice: try decimal(exitPrice, "exit_price"), exitFee: try decimal(exitFee, "exit_fee"), realizedPnL: try decimal(pnl, "realized_pnl"))
        }
        let text = DecimalText.string
        let time = fill.fill.time
        switch LedgerRowPlan.tradeChange(open: open, fill: fill, position: position, closedTrade: closedTrade) {
        case .none:
            return
        case .open(let quantity, let entryPrice, let entryFee):
            try await connection.query("""
                INSERT INTO trades (mode, strategy_id, pair, status, quantity, entry_order_id, entry_time, entry_price, entry_fee)
                VALUES (\(mode), \(fill.strategyID), \(fill.pair), 'open', \(text(quantity))::NUMERIC, \(fill.orderID), \(time),
                        \(text(entryPrice))::NUMERIC, \(text(entryFee))::NUMERIC)
                """, logger: logger)
        case .addEntry(let id, let quantity, let entryPrice, let entryFee):
            try await connection.query("""
                UPDATE trades SET quantity = \(text(quantity))::NUMERIC, entry_price = \(text(entryPrice))::NUMERIC,
                    entry_fee = \(text(entryFee))::NUMERIC
                WHERE id = \(id)
                """, logger: logger)
        case .exitOnly(let closed, let quantity, let entryPrice, let exitPrice, let exitFee, let pnl, let reason):
            try await connection.query("""
                INSERT INTO trades (mode, strategy_id, pair, status, quantity, entry_time, entry_price, entry_fee, exit_quantity,
                    exit_order_id, exit_time, exit_price, exit_fee, realized_pnl, exit_reason)
                VALUES (\(mode), \(fill.strategyID), \(fill.pair), \(closed ? "closed" : "open"), \(text(quantity))::NUMERIC, \(time),
                        \(text(entryPrice))::NUMERIC, 0, \(text(quantity))::NUMERIC, \(fill.orderID), \(time), \(text(exitPrice))::NUMERIC,
                        \(text(exitFee))::NUMERIC, \(text(pnl))::NUMERIC, \(reason))
                """, logger: logger)
        case .addExit(let id, let closed, let sold, let exitPrice, let exitFee, let pnl, let reason):
            try await connection.query("""
                UPDATE trades SET status = \(closed ? "closed" : "open"), exit_quantity = \(text(sold))::NUMERIC,
                    exit_order_id = \(fill.orderID), exit_time = \(time), exit_price = \(text(exitPrice))::NUMERIC,
                    exit_fee = \(text(exitFee))::NUMERIC, realized_pnl = \(text(pnl))::NUMERIC, exit_reason = \(reason)
                WHERE id = \(id)
                """, logger: logger)
        }
    }

    public func lastFillID() async throws -> Int64 {
        let rows = try await client.query("SELECT COALESCE(MAX(id), 0)::BIGINT FROM fills", logger: logger)
        return try await Self.single(rows, "fills.id")
    }

    public func savePositionLevels(mode: TradingMode, strategyID: Int64, levels: ExitLevels) async throws {
        try await client.query("""
            UPDATE positions SET stop_loss = \(levels.stopLoss.map(DecimalText.string))::NUMERIC,
                take_profit = \(levels.takeProfit.map(DecimalText.string))::NUMERIC
            WHERE mode = \(mode.rawValue) AND strategy_id = \(strategyID)
            """, logger: logger)
    }

    public func ledgerFills(mode: TradingMode, after fillID: Int64) async throws -> [LedgerFill] {
        let rows = try await client.query("""
            SELECT f.id, f.order_id, f.exchange_trade_id, f.time, f.quantity::TEXT, f.price::TEXT, f.fee::TEXT, f.cost::TEXT,
                   o.strategy_id, o.pair, o.side, COALESCE(s.reason, '')
            FROM fills f JOIN orders o ON o.id = f.order_id LEFT JOIN signals s ON s.id = o.signal_id
            WHERE o.mode = \(mode.rawValue) AND f.id > \(fillID)
            ORDER BY f.id
            """, logger: logger)
        var fills: [LedgerFill] = []
        for try await (id, orderID, tradeID, time, quantity, price, fee, cost, strategyID, pair, sideText, reason)
            in rows.decode((Int64, Int64, String?, Date, String, String, String, String?, Int64, String, String, String).self) {
            guard let side = OrderSide(rawValue: sideText) else { throw StorageError(.corruptValue, "orders.side '\(sideText)' is not buy/sell") }
            fills.append(LedgerFill(
                id: id, orderID: orderID, strategyID: strategyID, pair: pair, side: side,
                fill: Fill(
                    quantity: try DecimalText.decimal(quantity, column: "fills.quantity"), price: try DecimalText.decimal(price, column: "fills.price"),
                    fee: try DecimalText.decimal(fee, column: "fills.fee"), time: time, tradeID: tradeID,
                    cost: try cost.map { try DecimalText.decimal($0, column: "fills.cost") }),
                reason: reason))
        }
        return fills
    }

    public func positionLevels(mode: TradingMode) async throws -> [Int64: ExitLevels] {
        let rows = try await client.query(
            "SELECT strategy_id, stop_loss::TEXT, take_profit::TEXT FROM positions WHERE mode = \(mode.rawValue)", logger: logger)
        var levels: [Int64: ExitLevels] = [:]
        for try await (strategyID, stop, target) in rows.decode((Int64, String?, String?).self) {
            levels[strategyID] = ExitLevels(
                stopLoss: try stop.map { try DecimalText.decimal($0, column: "positions.stop_loss") },
                takeProfit: try target.map { try DecimalText.decimal($0, column: "positions.take_profit") })
        }
        return levels
    }

    public func recordEquity(_ snapshot: EquitySnapshot, mode: TradingMode) async throws {
        let text = DecimalText.string
        try await client.query("""
            INSERT INTO equity_snapshots (mode, time, cash, positions_value, equity, realized_pnl, unrealized_pnl, fees)
            VALUES (\(mode.rawValue), \(snapshot.time), \(text(snapshot.cash))::NUMERIC, \(text(snapshot.positionsValue))::NUMERIC,
                    \(text(snapshot.equity))::NUMERIC, \(text(snapshot.realisedPnL))::NUMERIC, \(text(snapshot.unrealisedPnL))::NUMERIC,
                    \(text(snapshot.fees))::NUMERIC)
            """, logger: logger)
    }

    public func peakEquity(mode: TradingMode, since: Date?) async throws -> Decimal? {
        // NUMERIC compares exactly: the maximum itself, no candidates to re-check.
        let rows = try await client.query("""
            SELECT MAX(equity)::TEXT FROM equity_snapshots WHERE mode = \(mode.rawValue) AND time >= \(since ?? .distantPast)
            """, logger: logger)
        for try await (peak) in rows.decode(String?.self) {
            return try peak.map { try DecimalText.decimal($0, column: "equity_snapshots.equity") }
        }
        return nil
    }

    public func closedTrades(mode: TradingMode) async throws -> [(strategyID: Int64, trade: ClosedTrade)] {
        let rows = try await client.query("""
            SELECT strategy_id, pair, quantity::TEXT, entry_time, entry_price::TEXT, entry_fee::TEXT, exit_time, exit_price::TEXT,
                   exit_fee::TEXT, realized_pnl::TEXT, exit_reason
            FROM trades WHERE status = 'closed' AND mode = \(mode.rawValue) ORDER BY exit_time, id
            """, logger: logger)
        var trades: [(strategyID: Int64, trade: ClosedTrade)] = []
        for try await (strategyID, pair, quantityText, entryTime, entryText, entryFee, exitTime, exitText, exitFee, pnl, reason)
            in rows.decode((Int64, String, String, Date, String, String, Date?, String?, String?, String?, String?).self) {
            func decimal(_ text: String?, _ column: String) throws -> Decimal { try DecimalText.decimal(text, column: "trades.\(column)") }
            guard let exitTime else { throw StorageError(.corruptValue, "closed trade of strategy \(strategyID) has no exit_time") }
            let quantity = try decimal(quantityText, "quantity"), entry = try decimal(entryText, "entry_price")
            let exit = try decimal(exitText, "exit_price")
            trades.append((strategyID, ClosedTrade(
                strategyKey: String(strategyID), pair: pair, quantity: quantity, entryTime: entryTime, entryPrice: entry,
                entryFee: try decimal(entryFee, "entry_fee"), exitTime: exitTime, exitPrice: exit, exitFee: try decimal(exitFee, "exit_fee"),
                grossPnL: (exit - entry) * quantity, netPnL: try decimal(pnl, "realized_pnl"), exitReason: reason ?? "")))
        }
        return trades
    }

    public func ledgerAccount(mode: TradingMode) async throws -> LedgerAccount? {
        // One snapshot for the account and its adjustments.
        try await transaction { connection in
            var account: LedgerAccount?
            for try await (quote, starting, holdingsText, afterFill, created) in try await connection.query("""
                SELECT quote_asset, starting_balance::TEXT, holdings, after_fill_id, created_at FROM ledger_accounts WHERE mode = \(mode.rawValue)
                """, logger: logger).decode((String, String, String, Int64, Date).self) {
                let holdings: [String: String]
                do {
                    holdings = try JSONDecoder().decode([String: String].self, from: Data(holdingsText.utf8))
                } catch {
                    throw StorageError(.corruptValue, "ledger_accounts.holdings of \(mode.rawValue) is not a JSON object of decimals: \(holdingsText)")
                }
                account = LedgerAccount(
                    mode: mode, quoteAsset: quote, startingBalance: try DecimalText.decimal(starting, column: "ledger_accounts.starting_balance"),
                    holdings: try holdings.mapValues { try DecimalText.decimal($0, column: "ledger_accounts.holdings") },
                    afterFillID: afterFill, createdAt: created)
            }
            guard let account else { return nil }
            var adjustments: [LedgerAdjustment] = []
            for try await (asset, amount, note, created, afterFill) in try await connection.query("""
                SELECT asset, amount::TEXT, note, created_at, after_fill_id FROM ledger_adjustments WHERE mode = \(mode.rawValue) ORDER BY id
                """, logger: logger).decode((String, String, String, Date, Int64).self) {
                adjustments.append(LedgerAdjustment(
                    mode: mode, asset: asset, amount: try DecimalText.decimal(amount, column: "ledger_adjustments.amount"), note: note,
                    createdAt: created, afterFillID: afterFill))
            }
            return account.adjusted(by: adjustments)
        }
    }

    public func saveLedgerAccount(_ account: LedgerAccount) async throws {
        let holdings = String(decoding: try JSONEncoder.sorted.encode(account.holdings.mapValues(DecimalText.string)), as: UTF8.self)
        try await client.query("""
            INSERT INTO ledger_accounts (mode, quote_asset, starting_balance, holdings, after_fill_id, created_at)
            VALUES (\(account.mode.rawValue), \(account.quoteAsset), \(DecimalText.string(account.startingBalance))::NUMERIC, \(holdings),
                    \(account.afterFillID), \(account.createdAt))
            ON CONFLICT (mode) DO NOTHING
            """, logger: logger)
    }

    public func recordAdjustments(_ adjustments: [LedgerAdjustment]) async throws {
        try await transaction { connection in
            // The same lock as fills: "after the last fill" must not miss one being booked.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.ledgerLock))", logger: logger)
            let lastFill = try await Self.single(
                try await connection.query("SELECT COALESCE(MAX(id), 0)::BIGINT FROM fills", logger: logger), "fills.id")
            for adjustment in adjustments {
                try await connection.query("""
                    INSERT INTO ledger_adjustments (mode, asset, amount, note, after_fill_id, created_at)
                    VALUES (\(adjustment.mode.rawValue), \(adjustment.asset), \(DecimalText.string(adjustment.amount))::NUMERIC,
                            \(adjustment.note), \(lastFill), \(adjustment.createdAt))
                    """, logger: logger)
            }
        }
    }

    public func cooldowns(mode: TradingMode) async throws -> [Int64: Date] {
        let rows = try await client.query("SELECT strategy_id, until FROM strategy_cooldowns WHERE mode = \(mode.rawValue)", logger: logger)
        var result: [Int64: Date] = [:]
        for try await (strategyID, until) in rows.decode((Int64, Date).self) { result[strategyID] = until }
        return result
    }

    public func saveCooldown(mode: TradingMode, strategyID: Int64, until: Date) async throws {
        try await client.query("""
            INSERT INTO strategy_cooldowns (mode, strategy_id, until) VALUES (\(mode.rawValue), \(strategyID), \(until))
            ON CONFLICT (mode, strategy_id) DO UPDATE SET until = GREATEST(strategy_cooldowns.until, excluded.until)
            """, logger: logger)
    }

    public func engineState(_ key: String) async throws -> String? {
        let rows = try await client.query("SELECT value FROM engine_state WHERE key = \(key)", logger: logger)
        for try await (value) in rows.decode(String.self) { return value }
        return nil
    }

    public func setEngineState(_ key: String, _ value: String, at time: Date) async throws {
        try await client.query("""
            INSERT INTO engine_state (key, value, updated_at) VALUES (\(key), \(value), \(time))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, logger: logger)
    }

    /// Runs `body` in one transaction; what failed inside is thrown as itself (not wrapped).
    func transaction<T>(
        isolation: isolated (any Actor)? = #isolation, file: String = #fileID, line: Int = #line,
        _ body: (PostgresConnection) async throws -> sending T
    ) async throws -> sending T {
        do {
            return try await client.withTransaction(logger: logger, file: file, line: line, isolation: isolation, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.beginError ?? error.commitError ?? error
        }
    }

    /// The one BIGINT a query returns.
    static func single(_ rows: PostgresRowSequence, _ what: String) async throws -> Int64 {
        for try await (value) in rows.decode(Int64.self) { return value }
        throw StorageError(.corruptValue, "no \(what) returned")
    }
}
