@testable import CartelCore
import Foundation
import GRDB
import Logging
import PostgresNIO
import TestSupport
import Testing

extension StorageBackend {
    /// A ledger database of this backend, and a way to read one column of one row as text.
    func withLedger(_ body: @Sendable (any Storage & LedgerStorage, _ text: @escaping @Sendable (String) async throws -> String?) async throws -> Void)
        async throws
    {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory(prefix: "ledger-contract")
            defer { dir.remove() }
            let storage = try SQLiteStorage(path: dir.file("db.sqlite"))
            try await body(storage) { sql in try await storage.query(sql).first?.first ?? nil }
        case .postgres:
            try await PostgresTestDatabase.with { store, _ in
                try await store.migrate()
                try await body(store) { sql in
                    let rows = try await store.client.query(PostgresQuery(unsafeSQL: "SELECT (q.v)::TEXT FROM (\(sql)) AS q(v)"), logger: store.logger)
                    for try await (value) in rows.decode(String?.self) { return value }
                    return nil
                }
            }
        }
    }
}

extension StorageBackend {
    /// A `DATABASE_URL` for a service process, and a way to read one column of one row as text
    /// (it throws until the service created the tables).
    func withDatabase(_ body: @Sendable (String, _ text: @escaping @Sendable (String) async throws -> String?) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let dir = try TemporaryDirectory(prefix: "service-db")
            defer { dir.remove() }
            let path = dir.file("db.sqlite")
            try await body("sqlite:\(path)") { sql in
                guard FileManager.default.fileExists(atPath: path) else { throw StorageError(.unavailable, "no database yet") }
                return try await DatabaseQueue(path: path).read { db in
                    try Row.fetchOne(db, sql: sql).flatMap { row in row.databaseValues.first.map { "\($0.storage.value ?? "")" } }
                }
            }
        case .postgres:
            try await PostgresTestDatabase.with { store, url in
                // The throwaway server trusts local connections: its URL holds no password.
                try #require(url.password == nil)
                try await body(url.redacted) { sql in
                    let rows = try await store.client.query(PostgresQuery(unsafeSQL: "SELECT (q.v)::TEXT FROM (\(sql)) AS q(v)"), logger: store.logger)
                    for try await (value) in rows.decode(String?.self) { return value }
                    return nil
                }
            }
        }
    }
}

/// ``LedgerStorage`` on both backends: the same rows, to the digit, for the same bookings.
@Suite struct LedgerStorageContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_735_689_600)
    static let spec = StrategySpec(kind: "sma-cross", pair: "BTC/USD", intervalMinutes: 60, parameters: ["fast": 2, "slow": 4])

    static func order(_ client: String, side: OrderSide, quantity: Decimal, mode: TradingMode = .paper, strategy: Int64 = 1) -> OrderRecord {
        OrderRecord(
            strategyID: strategy, signalID: nil, clientOrderID: client, mode: mode, pair: "BTC/USD", side: side, quantity: quantity,
            status: .submitting, createdAt: t0)
    }

    static func closed(_ quantity: Decimal, entry: Decimal, exit: Decimal, pnl: Decimal) -> ClosedTrade {
        ClosedTrade(
            strategyKey: "1", pair: "BTC/USD", quantity: quantity, entryTime: t0, entryPrice: entry, entryFee: 0, exitTime: t0, exitPrice: exit,
            exitFee: 0, grossPnL: (exit - entry) * quantity, netPnL: pnl, exitReason: "take profit")
    }

    @Test(arguments: StorageBackend.allCases)
    func ordersGetTheirUserrefRefuseADuplicateClientIDAndChangeStatus(_ backend: StorageBackend) async throws {
        try await backend.withLedger { storage, text in
            #expect(try await storage.seedStrategies([Self.spec], at: Self.t0) == 1)
            #expect(try await storage.seedStrategies([Self.spec], at: Self.t0) == 0)
            let strategy = try #require(try await storage.strategies().first)
            #expect(strategy.name == "sma-cross:BTC/USD:60" && strategy.enabled && strategy.parameters == ["fast": 2, "slow": 4])

            let signal = try await storage.recordSignal(
                strategyID: strategy.id, pair: "BTC/USD", intervalMinutes: 60, candleTime: Self.t0,
                signal: StrategySignal(.enter, "fast crossed above slow"),
                price: Decimal(string: "68000.123456789")!, at: Self.t0)
            var order = Self.order("sc-1", side: .buy, quantity: Decimal(string: "0.00012345")!, strategy: strategy.id)
            order.signalID = signal
            order.atr = 12.5
            let id = try await storage.recordOrder(order, at: Self.t0)
            await #expect(throws: StorageError.self) { try await storage.recordOrder(order, at: Self.t0) }
            #expect(try await text("SELECT COUNT(*) FROM orders") == "1")
            #expect(try await text("SELECT userref FROM orders") == "\(id)")
            #expect(try await text("SELECT price FROM signals") == "68000.123456789")

            var unfinished = try await storage.unfinishedOrders(mode: .paper)
            #expect(unfinished.map(\.id) == [id] && unfinished[0].quantity == Decimal(string: "0.00012345"))
            #expect(unfinished[0].reason == "fast crossed above slow" && unfinished[0].atr == 12.5 && unfinished[0].userref == Int32(id))
            #expect(try await storage.unfinishedOrders(mode: .live).isEmpty)

            try await storage.updateOrder(id: id, status: .open, exchangeOrderID: "OABC", error: nil, at: Self.t0.addingTimeInterval(1))
            try await storage.updateOrder(id: id, status: .abandoned, exchangeOrderID: nil, error: "never seen", at: Self.t0.addingTimeInterval(2))
            unfinished = try await storage.unfinishedOrders(mode: .paper)
            #expect(unfinished.isEmpty)
            let abandoned = try await storage.abandonedOrders(mode: .paper, since: Self.t0.addingTimeInterval(2))
            #expect(abandoned.map(\.exchangeOrderID) == ["OABC"] && abandoned[0].error == "never seen")
            #expect(try await storage.abandonedOrders(mode: .paper, since: Self.t0.addingTimeInterval(3)).isEmpty)
            await #expect(throws: StorageError.self) {
                try await storage.updateOrder(id: 999, status: .open, exchangeOrderID: nil, error: nil, at: Self.t0)
            }
        }
    }

    /// Two buys and two sells, one with an exchange cost that is not quantity × price: the
    /// order totals, the trade, the position and the replayed fills are exact on both backends.
    @Test(arguments: StorageBackend.allCases)
    func fillsBookTheOrderTradeAndPositionExactly(_ backend: StorageBackend) async throws {
        try await backend.withLedger { storage, text in
            _ = try await storage.seedStrategies([Self.spec], at: Self.t0)
            let buy = try await storage.recordOrder(Self.order("b", side: .buy, quantity: 3), at: Self.t0)
            let pieces: [Fill] = [
                Fill(quantity: 1, price: Decimal(string: "100.1")!, fee: Decimal(string: "0.4004")!, time: Self.t0),
                Fill(quantity: 2, price: Decimal(string: "100.2")!, fee: Decimal(string: "0.8016")!, time: Self.t0.addingTimeInterval(1),
                     tradeID: "T2", cost: Decimal(string: "200.40000001")!),
            ]
            var held = Decimal(0), cost = Decimal(0)
            for (index, piece) in pieces.enumerated() {
                held += piece.quantity
                cost += piece.cost
                let position = Position(strategyKey: "1", pair: "BTC/USD", quantity: held, cost: cost, entryFees: 0, openedAt: Self.t0)
                try await storage.recordFill(
                    LedgerFill(orderID: buy, strategyID: 1, pair: "BTC/USD", side: .buy, fill: piece, reason: "enter"), position: position,
                    levels: ExitLevels(stopLoss: 95, takeProfit: Decimal(string: "110.55")!), closedTrade: nil, orderFilled: index == 1)
            }
            #expect(try await text("SELECT status FROM orders WHERE id = \(buy)") == "filled")
            #expect(try await text("SELECT filled_quantity FROM orders WHERE id = \(buy)") == "3")
            #expect(try await text("SELECT average_price FROM orders WHERE id = \(buy)") == "100.16666667")
            #expect(try await text("SELECT fee FROM orders WHERE id = \(buy)") == "1.202")
            #expect(try await text("SELECT cost FROM fills WHERE exchange_trade_id = 'T2'") == "200.40000001")
            #expect(try await text("SELECT COUNT(*) FROM fills WHERE cost IS NULL") == "1")
            #expect(try await text("SELECT entry_price FROM trades") == "100.16666667")
            #expect(try await text("SELECT quantity FROM positions") == "3")
            #expect(try await storage.positionLevels(mode: .paper) == [1: ExitLevels(stopLoss: 95, takeProfit: Decimal(string: "110.55")!)])
            try await storage.savePositionLevels(mode: .paper, strategyID: 1, levels: ExitLevels(stopLoss: 96, takeProfit: nil))
            #expect(try await storage.positionLevels(mode: .paper) == [1: ExitLevels(stopLoss: 96, takeProfit: nil)])

            let sell = try await storage.recordOrder(Self.order("s", side: .sell, quantity: 3), at: Self.t0)
            let exits: [(Fill, Position?, ClosedTrade)] = [
                (Fill(quantity: 1, price: 105, fee: Decimal(string: "0.42")!, time: Self.t0.addingTimeInterval(60)),
                 Position(strategyKey: "1", pair: "BTC/USD", quantity: 2, cost: Decimal(string: "200.40000001")!, entryFees: 0, openedAt: Self.t0),
                 Self.closed(1, entry: Decimal(string: "100.1")!, exit: 105, pnl: Decimal(string: "4.0796")!)),
                (Fill(quantity: 2, price: 106, fee: Decimal(string: "0.848")!, time: Self.t0.addingTimeInterval(61)), nil,
                 Self.closed(2, entry: Decimal(string: "100.200000005")!, exit: 106, pnl: Decimal(string: "9.95119999")!)),
            ]
            for (index, (piece, position, closed)) in exits.enumerated() {
                try await storage.recordFill(
                    LedgerFill(orderID: sell, strategyID: 1, pair: "BTC/USD", side: .sell, fill: piece, reason: "exit"), position: position,
                    levels: ExitLevels(), closedTrade: closed, orderFilled: index == 1)
            }
            #expect(try await text("SELECT COUNT(*) FROM positions") == "0")
            #expect(try await text("SELECT status FROM trades") == "closed")
            #expect(try await text("SELECT exit_quantity FROM trades") == "3")
            #expect(try await text("SELECT exit_price FROM trades") == "105.6666666666666667")
            #expect(try await text("SELECT exit_fee FROM trades") == "1.268")
            #expect(try await text("SELECT realized_pnl FROM trades") == "14.03079999")
            let trades = try await storage.closedTrades(mode: .paper)
            #expect(trades.count == 1 && trades[0].strategyID == 1 && trades[0].trade.netPnL == Decimal(string: "14.03079999"))
            #expect(trades[0].trade.exitReason == "take profit" && trades[0].trade.exitTime == Self.t0.addingTimeInterval(61))

            let replay = try await storage.ledgerFills(mode: .paper, after: 0)
            #expect(replay.map(\.fill.cost) == [Decimal(string: "100.1")!, Decimal(string: "200.40000001")!, 105, 212])
            #expect(replay.map(\.side) == [.buy, .buy, .sell, .sell] && replay[1].fill.tradeID == "T2")
            #expect(try await storage.ledgerFills(mode: .paper, after: replay[1].id).count == 2)
            #expect(try await storage.ledgerFills(mode: .live, after: 0).isEmpty)
            #expect(try await storage.lastFillID() == replay[3].id)

            // A fill of an order that does not exist is refused and leaves nothing behind.
            await #expect(throws: StorageError.self) {
                try await storage.recordFill(
                    LedgerFill(orderID: 777, strategyID: 1, pair: "BTC/USD", side: .buy, fill: pieces[0], reason: ""), position: nil,
                    levels: ExitLevels(), closedTrade: nil, orderFilled: true)
            }
            #expect(try await text("SELECT COUNT(*) FROM fills") == "4")
        }
    }

    /// Buys of one strategy booked at once (by several tasks; on PostgreSQL over several
    /// connections) add up in one open trade: no two of them find "no open trade".
    @Test(arguments: StorageBackend.allCases)
    func concurrentFillsOfOneStrategyShareOneTrade(_ backend: StorageBackend) async throws {
        try await backend.withLedger { storage, text in
            _ = try await storage.seedStrategies([Self.spec], at: Self.t0)
            var orders: [Int64] = []
            for index in 0..<8 { orders.append(try await storage.recordOrder(Self.order("c\(index)", side: .buy, quantity: 1), at: Self.t0)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, order) in orders.enumerated() {
                    group.addTask {
                        let fill = Fill(quantity: 1, price: Decimal(100 + index), fee: 0, time: Self.t0.addingTimeInterval(Double(index)))
                        try await storage.recordFill(
                            LedgerFill(orderID: order, strategyID: 1, pair: "BTC/USD", side: .buy, fill: fill, reason: ""), position: nil,
                            levels: ExitLevels(), closedTrade: nil, orderFilled: true)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await text("SELECT COUNT(*) FROM trades") == "1")
            #expect(try await text("SELECT quantity FROM trades") == "8")
            #expect(try await text("SELECT entry_price FROM trades") == "103.5")
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func equityCooldownsAccountsAdjustmentsAndEngineState(_ backend: StorageBackend) async throws {
        try await backend.withLedger { storage, _ in
            _ = try await storage.seedStrategies([Self.spec], at: Self.t0)
            #expect(try await storage.peakEquity(mode: .paper, since: nil) == nil)
            // Values whose order differs as text and as numbers; one beyond a double's digits.
            for (offset, cash) in ["9999.99", "10000.000000000000000001", "10000", "950.5"].enumerated() {
                var snapshot = EquitySnapshot(time: Self.t0.addingTimeInterval(Double(offset * 60)), ledger: PortfolioLedger(startingBalance: 0), marks: [:])
                snapshot.cash = Decimal(string: cash)!
                try await storage.recordEquity(snapshot, mode: .paper)
            }
            #expect(try await storage.peakEquity(mode: .paper, since: nil) == Decimal(string: "10000.000000000000000001"))
            #expect(try await storage.peakEquity(mode: .paper, since: Self.t0.addingTimeInterval(120)) == 10_000)
            #expect(try await storage.peakEquity(mode: .live, since: nil) == nil)

            try await storage.saveCooldown(mode: .paper, strategyID: 1, until: Self.t0.addingTimeInterval(600))
            try await storage.saveCooldown(mode: .paper, strategyID: 1, until: Self.t0.addingTimeInterval(300))  // never shortened
            #expect(try await storage.cooldowns(mode: .paper) == [1: Self.t0.addingTimeInterval(600)])
            #expect(try await storage.cooldowns(mode: .live).isEmpty)

            let account = LedgerAccount(
                mode: .live, quoteAsset: "USD", startingBalance: Decimal(string: "1234.5678")!, holdings: ["XBT": Decimal(string: "0.0001")!],
                createdAt: Self.t0)
            try await storage.saveLedgerAccount(account)
            var other = account
            other.startingBalance = 1
            try await storage.saveLedgerAccount(other)  // the first one stays
            try await storage.recordAdjustments([
                LedgerAdjustment(mode: .live, asset: "USD", amount: Decimal(string: "-34.5678")!, note: "withdrawal", createdAt: Self.t0),
            ])
            let stored = try #require(try await storage.ledgerAccount(mode: .live))
            #expect(stored.startingBalance == Decimal(string: "1234.5678")! && stored.capital == 1200)
            #expect(stored.holdings == ["XBT": Decimal(string: "0.0001")!] && stored.deposits.map(\.afterFillID) == [0])
            #expect(stored.lastAdjustedAt == Self.t0)
            #expect(try await storage.ledgerAccount(mode: .paper) == nil)

            #expect(try await storage.engineState("k") == nil)
            try await storage.setEngineState("k", "1", at: Self.t0)
            try await storage.setEngineState("k", "two", at: Self.t0)
            #expect(try await storage.engineState("k") == "two")
            try await storage.setPause(PauseState(paused: true, by: "test", at: Self.t0))
            #expect(try await storage.pauseState() == PauseState(paused: true, by: "test", at: Self.t0))
        }
    }
}
