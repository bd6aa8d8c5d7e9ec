@testable import CartelCore
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// ``DashboardStorage`` on both backends: the website's pages, the events journal and the change
/// marker, from the same rows.
@Suite struct DashboardStorageContractTests {
    static let t0 = Date(timeIntervalSince1970: 1_735_689_600)  // 2025-01-01, a whole hour
    /// The end of the seeded history: a whole hour, so both seeds book the same candles.
    static let end = Date(timeIntervalSince1970: 1_764_201_600)  // 2025-11-27

    /// A value of a flat JSON object.
    enum JSONValue: Decodable, Equatable {
        case string(String), number(Decimal), bool(Bool), null

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let flag = try? container.decode(Bool.self) {
                self = .bool(flag)
            } else if let number = try? container.decode(Decimal.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }

    /// The JSON object of an event's payload (the backends format JSON differently: compare
    /// what it says); nil when it is not a flat object.
    static func object(_ payload: String) -> [String: JSONValue]? {
        try? JSONDecoder().decode([String: JSONValue].self, from: Data(payload.utf8))
    }

    static func snapshot(_ offset: TimeInterval, cash: String, mode: TradingMode = .paper) -> (EquitySnapshot, TradingMode) {
        var snapshot = EquitySnapshot(time: t0.addingTimeInterval(offset), ledger: PortfolioLedger(startingBalance: 0), marks: [:])
        snapshot.cash = Decimal(string: cash)!
        snapshot.positionsValue = Decimal(string: "0.000000000000000001")!
        snapshot.fees = Decimal(string: "1.25")!
        return (snapshot, mode)
    }

    /// Everything the website reads of a seeded database.
    struct Reads {
        var candles: [Candle]
        var closedBefore: [Candle]
        var series: [CandleSeriesRow]
        var positions: [PositionRow]
        var trades: [TradeRow]
        var signals: [SignalRow]
        var orders: [OrderRow]
        var equity: [EquityRow]
        var coarse: [EquityRow]
        var range: ClosedRange<Date>?
        var events: [StoredEvent]

        init(_ storage: any DashboardStorage) async throws {
            candles = try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 60, limit: 10, before: nil, closedOnly: false)
            closedBefore = try await storage.recentCandles(
                pair: "BTC/USD", intervalMinutes: 60, limit: 5, before: DashboardStorageContractTests.end.addingTimeInterval(-6 * 3600), closedOnly: true)
            series = try await storage.candleSeries()
            positions = try await storage.openPositions(mode: .paper)
            trades = try await storage.trades(mode: .paper, query: TradeQuery(limit: 1000))
            signals = try await storage.signals(limit: 1000, strategyID: nil)
            orders = try await storage.orders(mode: .paper, limit: 1000, strategyID: nil)
            range = try await storage.equityRange(mode: .paper)
            let from = range?.lowerBound ?? .distantPast, to = range?.upperBound ?? .distantPast
            equity = try await storage.equity(mode: .paper, from: from, to: to, stepSeconds: 1)
            coarse = try await storage.equity(mode: .paper, from: from, to: to, stepSeconds: 7200)
            events = try await storage.events(after: 0, limit: 100_000)
        }
    }

    /// The real paper engine books the same history into a SQLite file and a PostgreSQL
    /// database: every page reads the same on both, to the digit.
    @Test func theSameBookingsReadTheSameOnBothBackends() async throws {
        let dir = try TemporaryDirectory(prefix: "dashboard-parity")
        defer { dir.remove() }
        let sqlite = try SQLiteStorage(path: dir.file("db.sqlite"))
        // One wall time for both engines: the orders' times are the same too.
        let seeded = try await DashboardSeed.seed(sqlite, cycles: 3, end: Self.end, clock: ManualClock(wallTime: Self.end))
        #expect(seeded.trades >= 3)
        let expected = try await Reads(sqlite)
        try await PostgresTestDatabase.with { store, _ in
            try await store.migrate()
            let summary = try await DashboardSeed.seed(store, cycles: 3, end: Self.end, clock: ManualClock(wallTime: Self.end))
            #expect(summary.trades == seeded.trades && summary.totalPnL == seeded.totalPnL)
            let actual = try await Reads(store)
            #expect(actual.candles.count == 10 && actual.candles == expected.candles)
            #expect(actual.closedBefore.count == 5 && actual.closedBefore == expected.closedBefore)
            #expect(actual.series == expected.series)
            #expect(actual.positions.count == 1 && actual.positions == expected.positions)
            #expect(actual.trades.count == seeded.trades + 1 && actual.trades == expected.trades)
            #expect(!actual.signals.isEmpty && actual.signals == expected.signals)
            #expect(actual.orders.count == seeded.trades * 2 + 1 && actual.orders == expected.orders)
            #expect(actual.equity.count > 10 && actual.equity == expected.equity)
            #expect(actual.coarse.count < actual.equity.count && actual.coarse == expected.coarse)
            #expect(actual.range != nil && actual.range == expected.range)
            // The journal: the same events in the same order, saying the same things (candle
            // events carry the wall-clock time of their write).
            #expect(actual.events.map(\.id) == expected.events.map(\.id))
            #expect(actual.events.map(\.kind) == expected.events.map(\.kind))
            #expect(actual.events.allSatisfy { Self.object($0.payload) != nil })
            #expect(actual.events.map { Self.object($0.payload) } == expected.events.map { Self.object($0.payload) })
            #expect(actual.events.filter { $0.kind != "candle" }.map(\.createdAt) == expected.events.filter { $0.kind != "candle" }.map(\.createdAt))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func tradePagesFollowTheirCursorAndEveryFilter(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, _ in
            let storage = stores[0]
            let seeded = try await DashboardSeed.seed(storage, cycles: 4, end: Self.end)
            let all = try await storage.trades(mode: .paper, query: TradeQuery(limit: 1000))
            #expect(all.count == seeded.trades + 1 && all.count >= 5 && all.map(\.id) == all.map(\.id).sorted(by: >))
            #expect(all.first?.status == "open" && all.dropFirst().allSatisfy { $0.status == "closed" && $0.exitTime != nil })
            // Pages of two by cursor: each page continues where the last ended.
            var paged: [TradeRow] = []
            var cursor: Int64?
            repeat {
                let page = try await storage.trades(mode: .paper, query: TradeQuery(limit: 2, beforeID: cursor))
                paged += page
                cursor = page.count == 2 ? page.last?.id : nil
            } while cursor != nil
            #expect(paged == all)
            // Each filter, against the same rule applied to every trade.
            let closed = all.filter { $0.exitTime != nil }
            let middle = closed[1].entryTime, exit = closed[2].exitTime!
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(strategyID: 1)) == all)
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(strategyID: 2)).isEmpty)
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(pair: "BTC/USD")) == all)
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(pair: "btc/usd")).isEmpty)
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(from: middle)) == all.filter { $0.entryTime >= middle })
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(to: middle)) == all.filter { $0.entryTime <= middle })
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(closedFrom: exit)) == closed.filter { $0.exitTime! >= exit })
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(closedBefore: exit)) == closed.filter { $0.exitTime! < exit })
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(from: middle, beforeID: all[1].id, closedBefore: exit)) ==
                all.filter { $0.entryTime >= middle && $0.exitTime.map { $0 < exit } == true && $0.id < all[1].id })
            #expect(try await storage.trades(mode: .live, query: TradeQuery()).isEmpty)
            // SQLite reads a negative limit as none.
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(limit: -1)) == all)
            #expect(try await storage.trades(mode: .paper, query: TradeQuery(limit: 0)).isEmpty)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func equityKeepsTheLastSnapshotOfEachStepExactly(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, _ in
            let storage = stores[0]
            #expect(try await storage.equityRange(mode: .paper) == nil)
            #expect(try await storage.equity(mode: .paper, from: .distantPast, to: .distantFuture, stepSeconds: 60).isEmpty)
            let rows = [
                Self.snapshot(0, cash: "100"), Self.snapshot(30, cash: "101"), Self.snapshot(59.5, cash: "102"),
                Self.snapshot(60, cash: "103"), Self.snapshot(119.999, cash: "10000.000000000000000001"), Self.snapshot(120, cash: "105"),
                Self.snapshot(3600, cash: "106"), Self.snapshot(90, cash: "999", mode: .live),
                // Written last but earlier in its minute: the newest row of a step is its point.
                Self.snapshot(10, cash: "107"),
            ]
            for (snapshot, mode) in rows { try await storage.recordEquity(snapshot, mode: mode) }
            let minutes = try await storage.equity(mode: .paper, from: Self.t0, to: Self.t0.addingTimeInterval(3600), stepSeconds: 60)
            #expect(minutes.map(\.time) == [10, 119.999, 120, 3600].map { Self.t0.addingTimeInterval($0) })
            #expect(minutes.map(\.cash) == ["107", "10000.000000000000000001", "105", "106"].map { Decimal(string: $0)! })
            #expect(minutes[1].equity == Decimal(string: "10000.000000000000000002")! && minutes[1].fees == Decimal(string: "1.25")!)
            #expect(minutes[1].positionsValue == Decimal(string: "0.000000000000000001")! && minutes[1].realisedPnL == 0)
            // Both ends are inclusive; a step of 0 is one second.
            let inner = try await storage.equity(mode: .paper, from: Self.t0.addingTimeInterval(30), to: Self.t0.addingTimeInterval(120), stepSeconds: 0)
            #expect(inner.map(\.time) == [30, 59.5, 60, 119.999, 120].map { Self.t0.addingTimeInterval($0) })
            let hours = try await storage.equity(mode: .paper, from: .distantPast, to: .distantFuture, stepSeconds: 3600)
            #expect(hours.map(\.cash) == [107, 106])
            #expect(try await storage.equityRange(mode: .paper) == Self.t0...Self.t0.addingTimeInterval(3600))
            #expect(try await storage.equityRange(mode: .live) == Self.t0.addingTimeInterval(90)...Self.t0.addingTimeInterval(90))
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func candlesSeriesPositionsSignalsAndOrders(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, _ in
            let storage = stores[0]
            func candle(_ pair: String, _ interval: Int, _ index: Int, close: String) -> Candle {
                let price = Decimal(string: close)!
                return Candle(
                    pair: pair, intervalMinutes: interval, openTime: Self.t0.addingTimeInterval(Double(index * interval * 60)), open: price,
                    high: price, low: price, close: price, vwap: price, volume: Decimal(string: "0.00000001")!, tradeCount: index)
            }
            let btc = (0..<6).map { candle("BTC/USD", 1, $0, close: "6800\($0).123456789012345678") }
            try await storage.upsertCandles(btc, closedBefore: Self.t0.addingTimeInterval(240), at: Self.t0)
            try await storage.upsertCandles([candle("ETH/USD", 5, 0, close: "3000"), candle("ETH/USD", 5, 1, close: "3001"), candle("BTC/USD", 60, 0, close: "1")])
            // The newest `limit` before the bound, oldest first; final ones only when asked.
            #expect(try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 1, limit: 3, before: nil, closedOnly: false) == Array(btc[3...]))
            #expect(try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 1, limit: 3, before: nil, closedOnly: true) == Array(btc[1...3]))
            #expect(try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 1, limit: 2, before: btc[2].openTime, closedOnly: false) == Array(btc[0...1]))
            #expect(try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 1, limit: -1, before: nil, closedOnly: false) == btc)
            #expect(try await storage.recentCandles(pair: "BTC/USD", intervalMinutes: 5, limit: 3, before: nil, closedOnly: false).isEmpty)
            #expect(try await storage.candleSeries() == [
                CandleSeriesRow(pair: "BTC/USD", intervalMinutes: 1, count: 6, oldest: Self.t0, newest: Self.t0.addingTimeInterval(300)),
                CandleSeriesRow(pair: "BTC/USD", intervalMinutes: 60, count: 1, oldest: Self.t0, newest: Self.t0),
                CandleSeriesRow(pair: "ETH/USD", intervalMinutes: 5, count: 2, oldest: Self.t0, newest: Self.t0.addingTimeInterval(300)),
            ])

            let specs = [
                StrategySpec(kind: "sma-cross", pair: "BTC/USD", intervalMinutes: 60, parameters: ["fast": 2, "slow": 4]),
                StrategySpec(kind: "sma-cross", pair: "ETH/USD", intervalMinutes: 60, parameters: ["fast": 2, "slow": 4]),
            ]
            _ = try await storage.seedStrategies(specs, at: Self.t0)
            var signals: [Int64] = []
            for (index, action) in [StrategySignal.Action.enter, .hold, .exit, .enter].enumerated() {
                signals.append(try await storage.recordSignal(
                    strategyID: Int64(index % 2 + 1), pair: index % 2 == 0 ? "BTC/USD" : "ETH/USD", intervalMinutes: 60,
                    candleTime: Self.t0.addingTimeInterval(Double(index * 3600)), signal: StrategySignal(action, "reason \(index)", confidence: 0.25),
                    price: Decimal(string: "100.000000000000000001")! + Decimal(index), at: Self.t0.addingTimeInterval(Double(index))))
            }
            let listed = try await storage.signals(limit: 10, strategyID: nil)
            #expect(listed.map(\.id) == [signals[3], signals[2], signals[0]])
            #expect(listed[0] == SignalRow(
                id: signals[3], strategyID: 2, pair: "ETH/USD", intervalMinutes: 60, candleTime: Self.t0.addingTimeInterval(3 * 3600), action: "enter",
                reason: "reason 3", confidence: 0.25, price: Decimal(string: "103.000000000000000001")!, createdAt: Self.t0.addingTimeInterval(3)))
            #expect(try await storage.signals(limit: 1, strategyID: nil).map(\.id) == [signals[3]])
            #expect(try await storage.signals(limit: 10, strategyID: 1).map(\.id) == [signals[2], signals[0]])

            var ids: [Int64] = []
            for (index, (mode, strategy)) in [(TradingMode.paper, Int64(1)), (.paper, 2), (.live, 1), (.paper, 1)].enumerated() {
                var order = LedgerStorageContractTests.order("o\(index)", side: index == 3 ? .sell : .buy, quantity: Decimal(string: "0.00012345")!,
                                                             mode: mode, strategy: strategy)
                order.signalID = signals[0]
                ids.append(try await storage.recordOrder(order, at: Self.t0.addingTimeInterval(Double(index))))
            }
            try await storage.updateOrder(id: ids[1], status: .rejected, exchangeOrderID: "OXYZ", error: "EOrder:Insufficient funds", at: Self.t0.addingTimeInterval(9))
            let orders = try await storage.orders(mode: .paper, limit: 10, strategyID: nil)
            #expect(orders.map(\.id) == [ids[3], ids[1], ids[0]])
            #expect(orders[1] == OrderRow(
                id: ids[1], strategyID: 2, clientOrderID: "o1", exchangeOrderID: "OXYZ", mode: "paper", pair: "BTC/USD", side: "buy",
                quantity: Decimal(string: "0.00012345")!, status: "rejected", filledQuantity: 0, averagePrice: nil, fee: 0,
                error: "EOrder:Insufficient funds", createdAt: Self.t0, updatedAt: Self.t0.addingTimeInterval(9)))
            #expect(try await storage.orders(mode: .paper, limit: 2, strategyID: 1).map(\.id) == [ids[3], ids[0]])
            #expect(try await storage.orders(mode: .live, limit: 10, strategyID: nil).map(\.id) == [ids[2]])

            // Positions of a mode with their exit levels, by strategy.
            #expect(try await storage.openPositions(mode: .paper).isEmpty)
            for (strategy, price) in [(Int64(2), "3000.5"), (1, "68000.25")] {
                let buy = try await storage.recordOrder(
                    LedgerStorageContractTests.order("p\(strategy)", side: .buy, quantity: 2, strategy: strategy), at: Self.t0)
                let fill = Fill(quantity: 2, price: Decimal(string: price)!, fee: 0, time: Self.t0.addingTimeInterval(Double(strategy)))
                try await storage.recordFill(
                    LedgerFill(orderID: buy, strategyID: strategy, pair: strategy == 1 ? "BTC/USD" : "ETH/USD", side: .buy, fill: fill, reason: ""),
                    position: Position(strategyKey: "\(strategy)", pair: strategy == 1 ? "BTC/USD" : "ETH/USD", quantity: 2, cost: fill.cost, entryFees: 0,
                                       openedAt: fill.time),
                    levels: ExitLevels(stopLoss: strategy == 1 ? 60_000 : nil, takeProfit: Decimal(string: "70000.5")!), closedTrade: nil, orderFilled: true)
            }
            let positions = try await storage.openPositions(mode: .paper)
            #expect(positions == [
                PositionRow(
                    strategyID: 1, pair: "BTC/USD", quantity: 2, averagePrice: Decimal(string: "68000.25")!, stopLoss: 60_000,
                    takeProfit: Decimal(string: "70000.5")!, openedAt: Self.t0.addingTimeInterval(1)),
                PositionRow(
                    strategyID: 2, pair: "ETH/USD", quantity: 2, averagePrice: Decimal(string: "3000.5")!, stopLoss: nil,
                    takeProfit: Decimal(string: "70000.5")!, openedAt: Self.t0.addingTimeInterval(2)),
            ])
            #expect(try await storage.openPositions(mode: .live).isEmpty)
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func updatingAStrategyChangesOnlyWhatIsGivenAndMovesTheMarker(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, _ in
            let storage = stores[0]
            _ = try await storage.seedStrategies([LedgerStorageContractTests.spec], at: Self.t0)
            let before = try await storage.changeMarker()
            #expect(try await storage.changeMarker() == before)
            let disabled = try #require(try await storage.updateStrategy(id: 1, enabled: false, parameters: nil, at: Self.t0.addingTimeInterval(60)))
            #expect(!disabled.enabled && disabled.parameters == ["fast": 2, "slow": 4] && disabled.updatedAt == Self.t0.addingTimeInterval(60))
            let marker = try await storage.changeMarker()
            #expect(marker != before)
            let tuned = try #require(try await storage.updateStrategy(
                id: 1, enabled: true, parameters: ["fast": 3, "slow": 8.5], at: Self.t0.addingTimeInterval(120)))
            #expect(tuned.enabled && tuned.parameters == ["fast": 3, "slow": 8.5] && tuned.updatedAt == Self.t0.addingTimeInterval(120))
            #expect(try await storage.changeMarker() != marker)
            #expect(try await storage.updateStrategy(id: 1, enabled: nil, parameters: nil, at: Self.t0.addingTimeInterval(180)) == tuned)
            #expect(try await storage.updateStrategy(id: 99, enabled: false, parameters: ["fast": 1], at: Self.t0) == nil)
            #expect(try await storage.strategies() == [tuned])
        }
    }

    @Test(arguments: StorageBackend.allCases)
    func theJournalPagesAndPrunesAndTheMarkerMovesWithWhatTheFiguresComeFrom(_ backend: StorageBackend) async throws {
        try await backend.withStores(1) { stores, sql in
            let storage = stores[0]
            #expect(try await storage.latestEventID() == 0)
            #expect(try await storage.events(after: 0, limit: 10).isEmpty)
            var marker = try await storage.changeMarker()
            /// Runs `change` and expects it to move the marker (or not).
            func expectMarker(moves: Bool, _ change: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                try await change()
                let next = try await storage.changeMarker()
                #expect((next != marker) == moves, "\(marker) → \(next)", sourceLocation: sourceLocation)
                marker = next
            }
            // Events written by the triggers (a service's state, a pause) and by the candle upsert.
            let beat = Heartbeat(
                service: .marketData, pid: 7, host: "vps-1", version: "1.0", startedAt: Self.t0, lastBeat: Self.t0, state: .running, detail: nil,
                intervalSeconds: 5, residentBytes: nil)
            try await expectMarker(moves: true) { try await storage.recordHeartbeat(beat) }
            var later = beat
            later.lastBeat = Self.t0.addingTimeInterval(5)
            try await expectMarker(moves: false) { try await storage.recordHeartbeat(later) }  // the same state: no event
            later.lastBeat = Self.t0.addingTimeInterval(3600)
            later.state = .stopped
            try await expectMarker(moves: true) { try await storage.recordHeartbeat(later) }
            try await expectMarker(moves: true) {
                try await storage.upsertCandles([Candle(
                    pair: "BTC/USD", intervalMinutes: 1, openTime: Self.t0, open: 1, high: 1, low: 1, close: 1, vwap: 1, volume: 1, tradeCount: 1)],
                    closedBefore: nil, at: Self.t0.addingTimeInterval(7200))
            }
            try await expectMarker(moves: true) { try await storage.setPause(PauseState(paused: true, by: "cli", at: Self.t0.addingTimeInterval(9000))) }
            try await expectMarker(moves: false) {
                try await storage.recordTicker(TickerSnapshot(
                    pair: "BTC/USD", time: Self.t0, bid: 1, ask: 1, last: 1, volume24h: 1, vwap24h: 1, low24h: 1, high24h: 1, openToday: 1, tradeCount24h: 1))
            }
            // What the ledger figures come from besides events.
            try await expectMarker(moves: true) { try await storage.recordEquity(Self.snapshot(0, cash: "1").0, mode: .paper) }
            try await expectMarker(moves: true) { _ = try await storage.seedStrategies([LedgerStorageContractTests.spec], at: Self.t0) }
            try await expectMarker(moves: true) { try await storage.setEngineState("trading_mode", "live", at: Self.t0) }
            try await expectMarker(moves: false) { try await storage.setEngineState("something_else", "x", at: Self.t0) }
            try await expectMarker(moves: true) {
                try await storage.saveLedgerAccount(LedgerAccount(mode: .live, quoteAsset: "ZUSD", startingBalance: 100, createdAt: Self.t0))
            }
            try await expectMarker(moves: true) {
                try await storage.recordAdjustments([LedgerAdjustment(mode: .live, asset: "ZUSD", amount: 5, note: "deposit", createdAt: Self.t0)])
            }

            let events = try await storage.events(after: 0, limit: 10)
            #expect(events.map(\.kind) == ["service", "service", "candle", "pause"])
            #expect(events.map(\.id) == events.map(\.id).sorted() && Set(events.map(\.id)).count == 4)
            #expect(events.map(\.createdAt) == [0, 3600, 7200, 9000].map { Self.t0.addingTimeInterval($0) })
            #expect(Self.object(events[1].payload) == ["service": .string("market-data"), "state": .string("stopped"), "pid": .number(7), "host": .string("vps-1")])
            #expect(Self.object(events[3].payload) == ["paused": .bool(true), "by": .string("cli"), "at": .string("2025-01-01T02:30:00Z")])
            #expect(try await storage.latestEventID() == events[3].id)
            // Pages: after an id, at most `limit`, in id order.
            #expect(try await storage.events(after: events[0].id, limit: 2) == Array(events[1...2]))
            #expect(try await storage.events(after: events[3].id, limit: 10).isEmpty)
            #expect(try await storage.events(after: 0, limit: -1) == events)
            // Pruning by the time of the news; the newest id stays the newest.
            #expect(try await storage.pruneEvents(olderThan: Self.t0) == 0)
            #expect(try await storage.pruneEvents(olderThan: Self.t0.addingTimeInterval(7200)) == 2)
            #expect(try await storage.events(after: 0, limit: 10) == Array(events[2...]))
            #expect(try await storage.latestEventID() == events[3].id)
            #expect(try await sql.text("SELECT COUNT(*) FROM events") == "2")
        }
    }

    /// PostgreSQL gives `events` ids in commit order, as SQLite's single writer does: an event
    /// written while another transaction holds an uncommitted one waits for it, so a follower
    /// never sees a later id first and then skips the earlier one for good.
    @Test func onPostgreSQLEventsCommitInIdOrder() async throws {
        try await PostgresTestDatabase.with { store, _ in
            try await store.migrate()
            let (opened, open) = AsyncStream<Void>.makeStream()
            let (released, release) = AsyncStream<Void>.makeStream()
            // The first transaction stays open until the check below is done, however slow the machine.
            async let first: Void = store.client.withTransaction(logger: store.logger) { connection in
                try await connection.query(
                    "INSERT INTO events (kind, payload, created_at) VALUES ('pause', '{\"paused\":true}', now())", logger: store.logger)
                open.yield()
                for await _ in released { break }
            }
            for await _ in opened { break }
            let beat = Heartbeat(
                service: .marketData, pid: 7, host: "vps-1", version: "1.0", startedAt: Self.t0, lastBeat: Self.t0, state: .running, detail: nil,
                intervalSeconds: 5, residentBytes: nil)
            async let second: Void = store.recordHeartbeat(beat)  // its trigger writes a `service` event
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await store.events(after: 0, limit: 10).isEmpty, "an event committed ahead of a lower id")
            release.yield()
            try await first
            try await second
            let events = try await store.events(after: 0, limit: 10)
            #expect(events.map(\.kind) == ["pause", "service"] && events[0].id < events[1].id)
            #expect(try await store.latestEventID() == events[1].id)
        }
    }
}
