import Foundation
import Logging
import Metrics

/// The trading core: configured strategy instances, the risk manager, a broker and the exact
/// ledger, persisted through ``LedgerStorage``. Closed candles and ticker prices go in; signals,
/// orders, fills, trades, positions and equity snapshots come out, in storage.
///
/// Restart safety: the ledger is rebuilt by replaying every stored fill; an order's client id is
/// derived from the strategy, the candle and the side, so processing the same candle again after
/// a crash cannot place a second order (the `orders.client_order_id` UNIQUE constraint refuses
/// it); a paper order found still `submitting` never filled (fills are written in one
/// transaction with the order's status) and is marked `abandoned`, not repeated.
public actor TradingEngine {
    struct Instance {
        var record: StrategyRecord
        var strategy: any Strategy
        var exits: ExitRules
        var atr: ATR?
        var latestATR: Double?
        var levels = ExitLevels()
        /// Not yet fed the stored history (new, or rebuilt after a change in the table).
        var fresh = true
    }

    let storage: any LedgerStorage
    let broker: any Broker
    let configuration: TradingConfiguration
    let logger: Logger
    let metrics: any MetricsFactory
    var ledger: PortfolioLedger
    var risk: RiskManager
    var instances: [Int64: Instance] = [:]
    var marks: [String: Decimal] = [:]
    var lots: [String: LotRules] = [:]

    public init(
        storage: any LedgerStorage, broker: any Broker, configuration: TradingConfiguration, logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.storage = storage
        self.broker = broker
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        ledger = PortfolioLedger(startingBalance: configuration.startingBalance)
        risk = RiskManager(settings: configuration.risk, costMargin: configuration.paper.costMargin)
    }

    /// Loads the strategies, rebuilds the ledger from the stored fills and settles orders left
    /// unfinished by a crash. Returns the strategies that will run (enabled and valid).
    @discardableResult
    public func start(now: Date = Date()) async throws -> [StrategyRecord] {
        var ledger = PortfolioLedger(startingBalance: configuration.startingBalance)
        for stored in try await storage.ledgerFills() {
            try ledger.apply(stored.fill, side: stored.side, strategyKey: String(stored.strategyID), pair: stored.pair, reason: stored.reason)
        }
        self.ledger = ledger
        // The kill switch remembers the peak across restarts (and fires now if already below it).
        risk = RiskManager(settings: configuration.risk, costMargin: configuration.paper.costMargin)
        if let peak = try await storage.peakEquity() { _ = risk.observe(equity: peak.doubleValue) }
        if let message = risk.observe(equity: ledger.equity(marks: [:]).doubleValue) { logger.critical("\(message)") }
        for order in try await storage.unfinishedOrders() where order.status == .submitting {
            if order.mode == .paper {
                try await storage.updateOrder(
                    id: order.id, status: .abandoned, exchangeOrderID: nil, error: "engine stopped before the fill was booked", at: now)
                logger.warning("order left unfinished by a stop marked abandoned", metadata: ["order": "\(order.clientOrderID)"])
            } else {
                // It may or may not have reached Kraken: never sent again, left for a person to check.
                logger.critical(
                    "order sent before a stop has no known outcome: check Kraken's orders with this userref",
                    metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)"])
            }
        }
        return try await reloadStrategies()
    }

    /// (Re)reads the `strategies` table: new or changed rows get a fresh strategy value (told
    /// whether the ledger holds a position for it), disabled or removed rows stop.
    @discardableResult
    public func reloadStrategies() async throws -> [StrategyRecord] {
        var running: [Int64: Instance] = [:]
        for record in try await storage.strategies() where record.enabled {
            if let current = instances[record.id], current.record == record {
                running[record.id] = current
                continue
            }
            do {
                var strategy = try StrategyCatalog.make(kind: record.kind, parameters: record.parameters)
                let exits = try configuration.exits.overridden(by: record.parameters, strategy: record.kind)
                strategy.setPosition(open: ledger.positions[String(record.id)] != nil)
                var instance = Instance(record: record, strategy: strategy, exits: exits, atr: exits.usesATR ? ATR(period: exits.atrPeriod) : nil)
                instance.levels = exitLevels(for: instance)
                running[record.id] = instance
            } catch {
                logger.error("strategy not started", metadata: ["strategy": "\(record.name)", "error": "\(error)"])
            }
        }
        instances = running
        return running.values.map(\.record).sorted { $0.id < $1.id }
    }

    /// Feeds every fresh strategy the stored candles of its pair and interval that closed by
    /// `time` (history: nothing trades). Called before live candles are processed, so strategies
    /// added or changed while running start warm too.
    public func warmUpFresh(from storage: any Storage, before time: Date) async throws {
        let fresh = Dictionary(grouping: instances.values.filter(\.fresh).map(\.record)) {
            StrategyKey(pair: $0.pair, interval: $0.intervalMinutes)
        }
        for (key, records) in fresh {
            let history = try await storage.candles(pair: key.pair, intervalMinutes: key.interval, after: nil)
                .filter { $0.openTime.addingTimeInterval(Double(key.interval * 60)) <= time }
            warmUp(history, only: Set(records.map(\.id)))
            logger.info("strategies warmed up", metadata: ["pair": "\(key.pair)", "interval": "\(key.interval)", "candles": "\(history.count)"])
        }
        for id in instances.keys where instances[id]!.fresh { instances[id]!.fresh = false }
    }

    /// Pairs the ledger holds positions in (their tickers drive stop-loss and take-profit).
    public var pairsWithPositions: Set<String> { Set(ledger.positions.values.map(\.pair)) }

    /// Candles from before the engine started: strategies and ATRs learn from them, nothing trades.
    public func warmUp(_ candles: [Candle], only ids: Set<Int64>? = nil) {
        for candle in candles {
            for id in instanceIDs(for: candle) where ids?.contains(id) ?? true {
                let analysis = StrategyCandle(candle)
                instances[id]!.latestATR = instances[id]!.atr?.update(high: analysis.high, low: analysis.low, close: analysis.close)
                _ = instances[id]!.strategy.onCandle(analysis)
                instances[id]!.strategy.setPosition(open: ledger.positions[String(id)] != nil)
            }
            marks[candle.pair] = candle.close
        }
    }

    /// A candle that closed while the engine runs: every strategy bound to its pair and interval
    /// decides, entries and exits are executed, and the account's equity is recorded.
    public func onClosedCandle(_ candle: Candle) async throws {
        marks[candle.pair] = candle.close
        let analysis = StrategyCandle(candle)
        for id in instanceIDs(for: candle) {
            instances[id]!.latestATR = instances[id]!.atr?.update(high: analysis.high, low: analysis.low, close: analysis.close)
            let signal = instances[id]!.strategy.onCandle(analysis)
            if signal.action != .hold {
                Counter(label: "trading_signals_total", dimensions: [("action", signal.action.rawValue)], factory: metrics).increment()
            }
            switch signal.action {
            case .hold: continue
            case .enter: try await enter(id, signal: signal, candle: candle)
            case .exit: try await exit(id, signal: signal, candle: candle)
            }
        }
        try await recordEquity(at: candle.openTime.addingTimeInterval(Double(candle.intervalMinutes * 60)))
    }

    /// A ticker price: positions in `pair` whose stop-loss or take-profit it reaches are sold.
    public func onPrice(_ price: Decimal, pair: String, at time: Date) async throws {
        marks[pair] = price
        for id in instances.keys.sorted() where instances[id]!.record.pair == pair && ledger.positions[String(id)] != nil {
            guard let trigger = instances[id]!.levels.trigger(at: price) else { continue }
            let record = instances[id]!.record
            let signal = StrategySignal(.exit, trigger.rawValue, confidence: 1)
            let signalID = try await storage.recordSignal(
                strategyID: id, pair: pair, intervalMinutes: record.intervalMinutes, candleTime: time, signal: signal, price: price)
            let clientID = "sc-\(id)-\(Int(time.timeIntervalSince1970))-\(trigger.rawValue)"
            try await sell(id, signalID: signalID, clientID: clientID, price: price, time: time, reason: trigger.rawValue)
            instances[id]!.strategy.setPosition(open: false)
            if trigger == .stopLoss {
                risk.recordStopOut(strategyKey: String(id), at: time, rules: instances[id]!.exits, intervalMinutes: record.intervalMinutes)
            }
        }
    }

    /// The ledger as it stands (for status pages, metrics and tests).
    public var currentLedger: PortfolioLedger { ledger }

    /// Why new entries are halted, once the drawdown kill switch has fired.
    public var haltReason: String? { risk.haltReason }

    public func setLotRules(_ rules: LotRules, pair: String) { lots[pair] = rules }

    /// Books what the exchange did with accepted (`open`) orders: fills go through the ledger
    /// and storage like paper fills; orders that ended with nothing executed are closed.
    public func reconcile(now: Date = Date()) async throws {
        let open = try await storage.unfinishedOrders().filter { $0.status == .open && $0.exchangeOrderID != nil }
        guard !open.isEmpty else { return }
        let updates = try await broker.reconcile(open.compactMap(\.exchangeOrderID))
        for order in open {
            switch updates[order.exchangeOrderID!] {
            case .filled(let fill):
                // Kraken executed something the ledger cannot hold (it should never happen): say
                // so loudly and keep the order visible rather than booking a wrong ledger.
                guard try await book(fill, orderID: order.id, clientOrderID: order.clientOrderID, strategyID: order.strategyID,
                                     pair: order.pair, side: order.side, reason: "reconciled", at: now, critical: true)
                else { continue }
                if var instance = instances[order.strategyID] {
                    instance.strategy.setPosition(open: ledger.positions[String(order.strategyID)] != nil)
                    instance.levels = exitLevels(for: instance)
                    instances[order.strategyID] = instance
                }
                logger.info("exchange fill booked", metadata: ["order": "\(order.clientOrderID)", "quantity": "\(fill.quantity)", "price": "\(fill.price)"])
            case .ended(let reason):
                try await storage.updateOrder(id: order.id, status: .rejected, exchangeOrderID: nil, error: reason, at: now)
                logger.warning("exchange order ended unfilled", metadata: ["order": "\(order.clientOrderID)", "reason": "\(reason)"])
            case .open, nil:
                continue
            }
        }
    }

    // MARK: - Execution

    func instanceIDs(for candle: Candle) -> [Int64] {
        instances.keys.sorted().filter {
            instances[$0]!.record.pair == candle.pair && instances[$0]!.record.intervalMinutes == candle.intervalMinutes
        }
    }

    func lot(_ pair: String) -> LotRules { lots[pair] ?? .generic }

    func enter(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        let record = instances[id]!.record
        let time = candle.openTime.addingTimeInterval(Double(candle.intervalMinutes * 60))
        let signalID = try await storage.recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close)
        let decision = risk.decideEntry(
            strategyKey: String(id), price: candle.close, equity: ledger.equity(marks: marks), cash: ledger.cash,
            openPositions: ledger.positions.count, holdsPosition: ledger.positions[String(id)] != nil, lot: lot(record.pair), now: time)
        guard case .enter(let quantity) = decision else {
            if case .reject(let reason) = decision {
                logger.notice("entry refused", metadata: ["strategy": "\(record.name)", "reason": "\(reason)"])
            }
            instances[id]!.strategy.setPosition(open: ledger.positions[String(id)] != nil)
            return
        }
        let request = OrderRequest(
            clientOrderID: "sc-\(id)-\(Int(candle.openTime.timeIntervalSince1970))-buy", strategyKey: String(id), userref: record.userref,
            pair: record.pair, side: .buy, quantity: quantity, referencePrice: candle.close, time: time)
        guard try await place(request, strategyID: id, signalID: signalID, reason: signal.reason) else {
            instances[id]!.strategy.setPosition(open: false)
            return
        }
        instances[id]!.levels = exitLevels(for: instances[id]!)
    }

    func exit(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        let record = instances[id]!.record
        guard ledger.positions[String(id)] != nil else { return }
        let signalID = try await storage.recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close)
        try await sell(
            id, signalID: signalID, clientID: "sc-\(id)-\(Int(candle.openTime.timeIntervalSince1970))-sell", price: candle.close,
            time: candle.openTime.addingTimeInterval(Double(candle.intervalMinutes * 60)), reason: signal.reason)
    }

    func sell(_ id: Int64, signalID: Int64, clientID: String, price: Decimal, time: Date, reason: String) async throws {
        guard let position = ledger.positions[String(id)] else { return }
        let request = OrderRequest(
            clientOrderID: clientID, strategyKey: String(id), userref: instances[id]!.record.userref, pair: position.pair, side: .sell,
            quantity: position.quantity, referencePrice: price, time: time)
        if try await place(request, strategyID: id, signalID: signalID, reason: reason) {
            instances[id]!.levels = ExitLevels()
        }
    }

    /// Records the order, asks the broker, books what came back. True when it filled.
    func place(_ request: OrderRequest, strategyID: Int64, signalID: Int64, reason: String) async throws -> Bool {
        let orderID: Int64
        do {
            orderID = try await storage.recordOrder(OrderRecord(
                strategyID: strategyID, signalID: signalID, clientOrderID: request.clientOrderID, userref: request.userref,
                mode: broker.mode, pair: request.pair, side: request.side, quantity: request.quantity, status: .submitting,
                createdAt: request.time))
        } catch let error as StorageError where error.kind == .duplicate {
            // The same client order id exists: this candle was already acted on before a restart.
            logger.warning("order not placed twice", metadata: ["order": "\(request.clientOrderID)"])
            return false
        }
        Counter(label: "trading_orders_total", dimensions: [("side", request.side.rawValue), ("mode", broker.mode.rawValue)], factory: metrics)
            .increment()
        let outcome: BrokerOutcome
        do {
            outcome = try await broker.execute(request, lot: lot(request.pair))
        } catch {
            try await storage.updateOrder(id: orderID, status: .rejected, exchangeOrderID: nil, error: "\(error)", at: request.time)
            logger.error("order failed", metadata: ["order": "\(request.clientOrderID)", "error": "\(error)"])
            return false
        }
        switch outcome {
        case .filled(let fill):
            guard try await book(fill, orderID: orderID, clientOrderID: request.clientOrderID, strategyID: strategyID, pair: request.pair,
                                 side: request.side, reason: reason, at: request.time, critical: false)
            else { return false }
            logger.info(
                "order filled",
                metadata: ["order": "\(request.clientOrderID)", "side": "\(request.side.rawValue)", "quantity": "\(fill.quantity)",
                           "price": "\(fill.price)", "fee": "\(fill.fee)", "mode": "\(broker.mode.rawValue)"])
            return true
        case .accepted(let exchangeID):
            try await storage.updateOrder(id: orderID, status: .open, exchangeOrderID: exchangeID, error: nil, at: request.time)
            return false
        case .validated(let description):
            try await storage.updateOrder(id: orderID, status: .validated, exchangeOrderID: nil, error: nil, at: request.time)
            logger.info("order validated by Kraken, nothing executed", metadata: ["order": "\(request.clientOrderID)", "description": "\(description)"])
            return false
        case .rejected(let reason):
            try await storage.updateOrder(id: orderID, status: .rejected, exchangeOrderID: nil, error: reason, at: request.time)
            logger.error("order rejected", metadata: ["order": "\(request.clientOrderID)", "reason": "\(reason)"])
            return false
        }
    }

    /// Books a fill: through a copy of the ledger first (which refuses what a spot account cannot
    /// do), then storage in one transaction, then the ledger itself. False when refused (the order
    /// is marked rejected with the reason).
    func book(
        _ fill: Fill, orderID: Int64, clientOrderID: String, strategyID: Int64, pair: String, side: OrderSide, reason: String,
        at time: Date, critical: Bool
    ) async throws -> Bool {
        let key = String(strategyID)
        var next = ledger
        let trade: ClosedTrade?
        do {
            trade = try next.apply(fill, side: side, strategyKey: key, pair: pair, reason: reason)
        } catch {
            try await storage.updateOrder(id: orderID, status: .rejected, exchangeOrderID: nil, error: "fill not booked: \(error)", at: time)
            logger.log(level: critical ? .critical : .error, "fill refused by the ledger", metadata: ["order": "\(clientOrderID)", "error": "\(error)"])
            return false
        }
        try await storage.recordFill(
            LedgerFill(orderID: orderID, strategyID: strategyID, pair: pair, side: side, fill: fill, reason: reason),
            position: next.positions[key], closedTrade: trade, orderFilled: true)
        ledger = next
        Counter(label: "trading_fills_total", dimensions: [("side", side.rawValue)], factory: metrics).increment()
        return true
    }

    /// Stop-loss and take-profit of the instance's open position (none when flat).
    func exitLevels(for instance: Instance) -> ExitLevels {
        guard let position = ledger.positions[String(instance.record.id)] else { return ExitLevels() }
        return RiskManager.exitLevels(entry: position.averagePrice, rules: instance.exits, atr: instance.latestATR, lot: lot(instance.record.pair))
    }

    func recordEquity(at time: Date) async throws {
        let snapshot = EquitySnapshot(time: time, ledger: ledger, marks: marks)
        try await storage.recordEquity(snapshot)
        // Gauges for dashboards (analysis values; the exact figures are in equity_snapshots).
        Gauge(label: "trading_equity", factory: metrics).record(snapshot.equity.doubleValue)
        Gauge(label: "trading_open_positions", factory: metrics).record(ledger.positions.count)
        if let message = risk.observe(equity: snapshot.equity.doubleValue) {
            logger.critical("\(message)")
        }
    }
}
