import Foundation
import Logging
import Metrics

/// The trading core: configured strategy instances, the risk manager, a broker and the exact
/// ledger of the broker's mode, persisted through ``LedgerStorage``. Closed candles, ticker
/// prices, reconciliation rounds and balance checks go in; signals, orders, fills, trades,
/// positions and equity snapshots come out, in storage.
///
/// Guarantees:
/// - **One operation at a time.** Every public operation runs alone (``exclusively(_:)``): an
///   actor would let a ticker, a candle and a reconciliation interleave at each `await`, and a
///   booking that copied the ledger before a write could then lose another's position.
/// - **One order in flight per strategy.** While a strategy's order is submitting, open on the
///   exchange or of unknown outcome, the strategy places nothing else: no second exit of a
///   position whose exit is on its way, no second entry. Restarts rebuild this from storage.
/// - **Nothing is sent twice.** Client order ids derive from the strategy, the candle and the
///   side (UNIQUE in storage); an order whose outcome is unknown is looked up by its `userref`
///   (its own id), never resent.
/// - **Each mode has its own ledger.** Paper fills never reach the live ledger; the live (and
///   validate) ledger starts from Kraken's balances, which are checked against it periodically.
/// - **Positions stay protected.** Stop-loss and take-profit are stored with each position and
///   restored on start; they keep working when the strategy is disabled or edited (disabling
///   stops new entries only).
public actor TradingEngine {
    struct Instance {
        var record: StrategyRecord
        var strategy: any Strategy
        var exits: ExitRules
        var atr: ATR?
        var latestATR: Double?
        /// Not yet fed the stored history (new, or rebuilt after a change in the table).
        var fresh = true
    }

    /// What a placement came to.
    enum Placement {
        case filled
        /// Accepted, or of unknown outcome: in flight until reconciled.
        case pending
        case notPlaced
    }

    /// Why new entries are refused besides the risk rules. Exits always run.
    enum HaltCause: String, CaseIterable {
        /// The stored fills do not replay into a ledger a spot account could hold.
        case ledger
        /// The live ledger has no starting balance yet (Kraken's `Balance` unavailable).
        case account
        /// Kraken's balances and the ledger disagree.
        case balance
        /// The exchange executed something the ledger had to book beyond its limits.
        case anomaly
    }

    /// An order of unknown outcome that Kraken still does not list after this long was never placed.
    public static let unknownOrderGrace: TimeInterval = 60

    let storage: any LedgerStorage
    let broker: any Broker
    let configuration: TradingConfiguration
    let instruments: (any InstrumentDirectory)?
    let clock: any WallClock
    let logger: Logger
    let metrics: any MetricsFactory
    public nonisolated let mode: TradingMode
    var ledger: PortfolioLedger
    var account: LedgerAccount?
    var risk: RiskManager
    var instances: [Int64: Instance] = [:]
    /// Every row of the `strategies` table, enabled or not (a disabled strategy's position is still managed).
    var known: [Int64: StrategyRecord] = [:]
    var marks: [String: Decimal] = [:]
    /// Stop-loss and take-profit of each open position, by strategy id, as stored with it.
    var levels: [Int64: ExitLevels] = [:]
    var inFlight: [Int64: OrderRecord] = [:]
    var halts: [HaltCause: String] = [:]
    var lots: [String: LotRules] = [:]
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(
        storage: any LedgerStorage, broker: any Broker, configuration: TradingConfiguration, instruments: (any InstrumentDirectory)? = nil,
        clock: any WallClock = SystemTime(), logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.storage = storage
        self.broker = broker
        self.configuration = configuration
        self.instruments = instruments
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        mode = broker.mode
        ledger = PortfolioLedger(startingBalance: configuration.startingBalance)
        risk = RiskManager(settings: configuration.risk, execution: configuration.paper)
    }

    /// Runs `body` with no other engine operation interleaved (first come, first served).
    func exclusively<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }

    // MARK: - Start

    /// Opens the mode's account, rebuilds its ledger from the stored fills, restores exit levels,
    /// the drawdown peak and cooldowns, takes up orders left unfinished by a stop, and loads the
    /// strategies. Returns the strategies that will run (enabled and valid). A ledger that does
    /// not replay cleanly is reported and halts new entries; it never stops the engine.
    @discardableResult
    public func start() async throws -> [StrategyRecord] {
        try await exclusively {
            let now = clock.wallTime
            try await noteModeChange(at: now)
            known = Dictionary(uniqueKeysWithValues: try await storage.strategies().map { ($0.id, $0) })
            try await openAccount(at: now)
            try await rebuildLedger()
            levels = try await storage.positionLevels(mode: mode)
            risk = RiskManager(settings: configuration.risk, execution: configuration.paper)
            if let peak = try await storage.peakEquity(mode: mode) { _ = risk.observe(equity: peak.doubleValue) }
            if let message = risk.observe(equity: ledger.equity(marks: [:]).doubleValue) { logger.critical("\(message)") }
            for (id, until) in try await storage.cooldowns(mode: mode) {
                risk.restoreCooldown(strategyKey: String(id), until: until)
            }
            try await takeUpUnfinishedOrders(at: now)
            return try await loadStrategies()
        }
    }

    func noteModeChange(at now: Date) async throws {
        let previous = try await storage.engineState("trading_mode")
        if let previous, previous != mode.rawValue {
            logger.notice(
                "trading mode changed: each mode keeps its own ledger, positions of the previous mode stay there and are not traded",
                metadata: ["from": "\(previous)", "to": "\(mode.rawValue)"])
        }
        if previous != mode.rawValue { try await storage.setEngineState("trading_mode", mode.rawValue, at: now) }
    }

    /// The account the mode's ledger starts from: `PAPER_STARTING_BALANCE` on paper; for
    /// validate and live the one stored at the first start in that mode, made then from
    /// Kraken's balances. Without it (Kraken unreachable at a first start) entries stay halted
    /// and the balance check tries again.
    func openAccount(at now: Date) async throws {
        if mode == .paper {
            account = LedgerAccount(mode: .paper, quoteAsset: "", startingBalance: configuration.startingBalance, createdAt: now)
            return
        }
        if let stored = try await storage.ledgerAccount(mode: mode) {
            account = stored
            halts[.account] = nil
            return
        }
        do {
            let quote = try await quoteAsset()
            guard let balances = try await broker.balances() else {
                throw LedgerProblem("the \(mode.rawValue) broker reports no balances")
            }
            let opened = LedgerAccount(
                mode: mode, quoteAsset: quote, startingBalance: balances[quote] ?? 0, holdings: balances.filter { $0.key != quote },
                createdAt: now)
            try await storage.saveLedgerAccount(opened)
            account = try await storage.ledgerAccount(mode: mode) ?? opened
            halts[.account] = nil
            logger.notice(
                "ledger opened from Kraken's balances", metadata: ["mode": "\(mode.rawValue)", "cash": "\(opened.startingBalance)", "asset": "\(quote)"])
        } catch {
            halt(.account, "the \(mode.rawValue) ledger starts from Kraken's balances, which are not available yet (\(error)); retrying")
        }
    }

    /// The one asset every traded pair is quoted in: the live ledger keeps one cash balance.
    func quoteAsset() async throws -> String {
        let pairs = Set(known.values.filter(\.enabled).map(\.pair))
        guard !pairs.isEmpty else { throw LedgerProblem("no strategy is enabled, so the quote currency is unknown") }
        var quotes: Set<String> = []
        for pair in pairs {
            guard let instrument = await instruments?.instrument(for: pair) else { throw LedgerProblem("Kraken's description of \(pair) is not known") }
            quotes.insert(instrument.quoteAsset)
        }
        guard quotes.count == 1, let quote = quotes.first else {
            throw LedgerProblem("the strategies trade in several quote currencies (\(quotes.sorted().joined(separator: ", "))); live trading keeps one cash balance")
        }
        return quote
    }

    /// Replays every stored fill of the mode. Fills happened: each is booked, and any that a spot
    /// account could not have made (after `PAPER_STARTING_BALANCE` was lowered, say) is reported
    /// and halts new entries until the ledger replays cleanly.
    func rebuildLedger() async throws {
        var rebuilt = PortfolioLedger(startingBalance: account?.startingBalance ?? 0)
        var anomalies: [String] = []
        for stored in try await storage.ledgerFills(mode: mode) {
            let (_, anomaly) = rebuilt.record(
                stored.fill, side: stored.side, strategyKey: String(stored.strategyID), pair: stored.pair, reason: stored.reason)
            if let anomaly { anomalies.append("order \(stored.orderID): \(anomaly)") }
        }
        ledger = rebuilt
        halts[.ledger] = nil
        if let first = anomalies.first {
            halt(.ledger, "the \(mode.rawValue) ledger does not replay as a spot account: \(anomalies.count) fill(s) exceed it, the first \(first)"
                + (mode == .paper ? " (was PAPER_STARTING_BALANCE lowered since they were made?)" : ""))
        }
    }

    /// Orders a stop left unfinished: on paper (and validate, where nothing executes) an order
    /// still `submitting` never reached a fill and is abandoned; live ones stay in flight — one
    /// still `submitting` may have reached Kraken, so its outcome becomes unknown and it is
    /// looked up by its userref, never resent.
    func takeUpUnfinishedOrders(at now: Date) async throws {
        inFlight = [:]
        for order in try await storage.unfinishedOrders(mode: mode) {
            guard mode == .live else {
                try await storage.updateOrder(
                    id: order.id, status: .abandoned, exchangeOrderID: nil, error: "engine stopped before the fill was booked", at: now)
                logger.warning("order left unfinished by a stop marked abandoned", metadata: ["order": "\(order.clientOrderID)"])
                continue
            }
            var order = order
            if order.status == .submitting {
                try await storage.updateOrder(
                    id: order.id, status: .unknown, exchangeOrderID: nil, error: "engine stopped before Kraken answered", at: now)
                order.status = .unknown
                order.updatedAt = now
                logger.error(
                    "order sent before a stop has no known outcome: looking it up on Kraken by its userref, never resending it",
                    metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)"])
            }
            inFlight[order.strategyID] = order
        }
    }

    // MARK: - Strategies

    /// (Re)reads the `strategies` table: new or changed rows get a fresh strategy value (told
    /// whether the ledger holds a position for it), disabled or removed rows stop trading. Their
    /// open positions stay protected by the stored exits until they close.
    @discardableResult
    public func reloadStrategies() async throws -> [StrategyRecord] {
        try await exclusively { try await loadStrategies() }
    }

    func loadStrategies() async throws -> [StrategyRecord] {
        let records = try await storage.strategies()
        known = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        var running: [Int64: Instance] = [:]
        for record in records where record.enabled {
            if let current = instances[record.id], current.record == record {
                running[record.id] = current
                continue
            }
            do {
                var strategy = try StrategyCatalog.make(kind: record.kind, parameters: record.parameters)
                let exits = try configuration.exits.overridden(by: record.parameters, strategy: record.kind)
                strategy.setPosition(open: holdsOrBuying(record.id))
                running[record.id] = Instance(record: record, strategy: strategy, exits: exits, atr: exits.usesATR ? ATR(period: exits.atrPeriod) : nil)
            } catch {
                logger.error("strategy not started", metadata: ["strategy": "\(record.name)", "error": "\(error)"])
            }
        }
        for id in instances.keys where running[id] == nil && ledger.positions[String(id)] != nil {
            logger.notice(
                "strategy stopped with an open position: its stop-loss and take-profit protect it until it closes",
                metadata: ["strategy": "\(known[id]?.name ?? String(id))"])
        }
        instances = running
        return running.values.map(\.record).sorted { $0.id < $1.id }
    }

    /// Feeds every fresh strategy the stored final candles of its pair and interval that closed
    /// by `time` (history: nothing trades). Called before live candles are processed, so
    /// strategies added or changed while running start warm too.
    public func warmUpFresh(from storage: any Storage, before time: Date) async throws {
        try await exclusively { try await warmFresh(from: storage, before: time) }
    }

    func warmFresh(from candles: any Storage, before time: Date) async throws {
        let fresh = Dictionary(grouping: instances.values.filter(\.fresh).map(\.record)) {
            StrategyKey(pair: $0.pair, interval: $0.intervalMinutes)
        }
        for (key, records) in fresh {
            let history = try await candles.closedCandles(pair: key.pair, intervalMinutes: key.interval, after: nil)
                .filter { $0.closeTime <= time }
            let ids = Set(records.map(\.id))
            learn(from: history, only: ids)
            for id in ids { instances[id]?.fresh = false }
            logger.info("strategies warmed up", metadata: ["pair": "\(key.pair)", "interval": "\(key.interval)", "candles": "\(history.count)"])
        }
    }

    /// Candles from before the engine started, or stale ones: strategies and ATRs learn from
    /// them, nothing trades.
    public func warmUp(_ candles: [Candle], only ids: Set<Int64>? = nil) async {
        await exclusively { learn(from: candles, only: ids) }
    }

    func learn(from candles: [Candle], only ids: Set<Int64>?) {
        for candle in candles {
            let analysis = StrategyCandle(candle)
            for id in instanceIDs(for: candle) where ids?.contains(id) ?? true {
                guard var instance = instances[id] else { continue }
                instance.latestATR = instance.atr?.update(high: analysis.high, low: analysis.low, close: analysis.close)
                _ = instance.strategy.onCandle(analysis)
                instance.strategy.setPosition(open: holdsOrBuying(id))
                instances[id] = instance
            }
            marks[candle.pair] = candle.close
        }
    }

    // MARK: - Events

    /// A final candle that closed while the engine runs: every strategy bound to its pair and
    /// interval decides, entries and exits are executed, and the account's equity is recorded.
    public func onClosedCandle(_ candle: Candle) async throws {
        try await exclusively {
            marks[candle.pair] = candle.close
            let analysis = StrategyCandle(candle)
            for id in instanceIDs(for: candle) {
                guard var instance = instances[id] else { continue }
                instance.latestATR = instance.atr?.update(high: analysis.high, low: analysis.low, close: analysis.close)
                let signal = instance.strategy.onCandle(analysis)
                instances[id] = instance
                if signal.action != .hold {
                    Counter(label: "trading_signals_total", dimensions: [("action", signal.action.rawValue)], factory: metrics).increment()
                }
                switch signal.action {
                case .hold: continue
                case .enter: try await enter(id, signal: signal, candle: candle)
                case .exit: try await exit(id, signal: signal, candle: candle)
                }
            }
            try await recordEquity(at: candle.closeTime)
        }
    }

    /// A ticker price: every open position in `pair` whose stored stop-loss or take-profit it
    /// reaches is sold — whether or not its strategy still runs — unless an order of that
    /// strategy is already in flight.
    public func onPrice(_ price: Decimal, pair: String, at time: Date) async throws {
        try await exclusively {
            marks[pair] = price
            for (key, position) in ledger.positions.sorted(by: { $0.key < $1.key }) where position.pair == pair {
                guard let id = Int64(key), let trigger = levels[id]?.trigger(at: price), inFlight[id] == nil else { continue }
                let interval = known[id]?.intervalMinutes ?? 1
                let signalID = try await storage.recordSignal(
                    strategyID: id, pair: pair, intervalMinutes: interval, candleTime: time, signal: StrategySignal(.exit, trigger.rawValue, confidence: 1),
                    price: price, at: clock.wallTime)
                let placement = try await place(
                    strategyID: id, signalID: signalID, clientOrderID: "sc-\(id)-\(Int(time.timeIntervalSince1970))-\(trigger.rawValue)",
                    pair: pair, side: .sell, quantity: position.quantity, referencePrice: price, time: time, reason: trigger.rawValue)
                instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
                if trigger == .stopLoss, placement != .notPlaced,
                    let until = risk.recordStopOut(strategyKey: key, at: time, rules: exitRules(for: id), intervalMinutes: interval)
                {
                    try await storage.saveCooldown(mode: mode, strategyID: id, until: until)
                }
            }
        }
    }

    /// Settles orders in flight with the exchange: accepted ones are asked about by exchange id
    /// (fills booked exactly as executed, unfilled ends closed); ones of unknown outcome are
    /// looked up by userref — found, they continue as accepted orders; not listed by Kraken
    /// ``unknownOrderGrace`` after they were sent, they were never placed and are abandoned.
    public func reconcile() async throws {
        try await exclusively {
            let pending = inFlight.values.sorted { $0.id < $1.id }
            guard !pending.isEmpty else { return }
            let now = clock.wallTime
            let exchangeIDs = pending.compactMap(\.exchangeOrderID)
            let updates = exchangeIDs.isEmpty ? [:] : try await broker.reconcile(exchangeIDs)
            for order in pending {
                if let txid = order.exchangeOrderID {
                    if let update = updates[txid] { try await apply(update, to: order, at: now) }
                    continue
                }
                if let found = try await broker.find(userref: order.userref) {
                    try await storage.updateOrder(id: order.id, status: .open, exchangeOrderID: found.exchangeOrderID, error: nil, at: now)
                    var accepted = order
                    accepted.status = .open
                    accepted.exchangeOrderID = found.exchangeOrderID
                    inFlight[order.strategyID] = accepted
                    logger.notice(
                        "order of unknown outcome found on Kraken",
                        metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)", "txid": "\(found.exchangeOrderID)"])
                    try await apply(found.update, to: accepted, at: now)
                } else if now.timeIntervalSince(order.updatedAt) >= Self.unknownOrderGrace {
                    try await storage.updateOrder(
                        id: order.id, status: .abandoned, exchangeOrderID: nil,
                        error: "Kraken lists no order with userref \(order.userref): it was never placed (not resent)", at: now)
                    finish(order)
                    logger.warning(
                        "order of unknown outcome was never placed; not resent",
                        metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)"])
                }
            }
        }
    }

    /// Compares the ledger with Kraken's balances (validate and live): cash with the quote
    /// asset, positions plus the holdings at the start with each base asset. A difference is
    /// reported as `critical` once and halts new entries until they agree again. Skipped while
    /// orders are in flight (balances move before they are booked). Opens the account first if
    /// Kraken was unreachable when the engine started.
    public func syncBalances() async throws {
        try await exclusively {
            guard mode != .paper else { return }
            if account == nil {
                try await openAccount(at: clock.wallTime)
                if account != nil { try await rebuildLedger() }
            }
            guard let account, inFlight.isEmpty, let balances = try await broker.balances() else { return }
            var traded: [Instrument] = []
            for pair in Set(ledger.positions.values.map(\.pair)).union(known.values.filter(\.enabled).map(\.pair)).sorted() {
                if let instrument = await instruments?.instrument(for: pair) { traded.append(instrument) }
            }
            let differences = BalanceCheck.differences(
                ledger: ledger, account: account, balances: balances, instruments: traded, cashTolerance: configuration.balanceTolerance)
            if differences.isEmpty {
                if halts[.balance] != nil {
                    halts[.balance] = nil
                    logger.notice("ledger agrees with Kraken's balances again; entries resume")
                }
                return
            }
            halt(.balance, "the ledger and Kraken's balances differ: " + differences.map(\.description).joined(separator: "; "))
        }
    }

    // MARK: - State for status, metrics and tests

    /// The ledger as it stands.
    public var currentLedger: PortfolioLedger { ledger }

    /// Why new entries are halted, once the drawdown kill switch has fired.
    public var haltReason: String? { risk.haltReason }

    /// Every reason new entries are refused now (drawdown, ledger, account, balances).
    public var entryHalts: [String] { ([risk.haltReason] + HaltCause.allCases.map { halts[$0] }).compactMap { $0 } }

    /// Stop-loss and take-profit of each open position, by strategy id.
    public var positionLevels: [Int64: ExitLevels] { levels }

    /// Orders in flight, by strategy id.
    public var ordersInFlight: [Int64: OrderRecord] { inFlight }

    /// Pairs the ledger holds positions in (their tickers drive stop-loss and take-profit).
    public var pairsWithPositions: Set<String> { Set(ledger.positions.values.map(\.pair)) }

    // MARK: - Execution

    func instanceIDs(for candle: Candle) -> [Int64] {
        instances.filter { $0.value.record.pair == candle.pair && $0.value.record.intervalMinutes == candle.intervalMinutes }
            .keys.sorted()
    }

    /// The pair's lot rules from the instrument directory (generic ones while it does not know
    /// the pair, e.g. before the collector first stored Kraken's pairs).
    func lot(_ pair: String) async -> LotRules {
        if let rules = lots[pair] { return rules }
        guard let rules = await instruments?.instrument(for: pair)?.lot else { return .generic }
        lots[pair] = rules
        return rules
    }

    /// Whether the strategy holds a position or has a buy on its way (what it should believe).
    func holdsOrBuying(_ id: Int64) -> Bool {
        ledger.positions[String(id)] != nil || inFlight[id]?.side == .buy
    }

    /// The exit rules of a strategy, also when it no longer runs (from its stored parameters).
    func exitRules(for id: Int64) -> ExitRules {
        if let exits = instances[id]?.exits { return exits }
        guard let record = known[id] else { return configuration.exits }
        return (try? configuration.exits.overridden(by: record.parameters, strategy: record.kind)) ?? configuration.exits
    }

    func halt(_ cause: HaltCause, _ reason: String) {
        guard halts[cause] != reason else { return }
        halts[cause] = reason
        logger.critical("\(reason); no new entries (exits still run)")
    }

    func enter(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        guard let record = instances[id]?.record else { return }
        let signalID = try await storage.recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close, at: clock.wallTime)
        guard let instance = instances[id] else { return }
        let decision: RiskManager.EntryDecision
        if let halted = HaltCause.allCases.lazy.compactMap({ self.halts[$0] }).first {
            decision = .reject(halted)
        } else if inFlight[id] != nil {
            decision = .reject("an order of this strategy is still in flight")
        } else if !RiskManager.levelsAvailable(rules: instance.exits, atr: instance.latestATR) {
            decision = .reject("its ATR-based exit cannot be placed yet: ATR(\(instance.exits.atrPeriod)) is still warming up")
        } else {
            let pendingEntries = inFlight.values.filter { $0.side == .buy && ledger.positions[String($0.strategyID)] == nil }.count
            decision = risk.decideEntry(
                strategyKey: String(id), price: candle.close, equity: ledger.equity(marks: marks), cash: ledger.cash,
                openPositions: ledger.positions.count + pendingEntries, holdsPosition: ledger.positions[String(id)] != nil,
                lot: await lot(record.pair), now: candle.closeTime)
        }
        guard case .enter(let quantity) = decision else {
            if case .reject(let reason) = decision {
                logger.notice("entry refused", metadata: ["strategy": "\(record.name)", "reason": "\(reason)"])
            }
            instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
            return
        }
        _ = try await place(
            strategyID: id, signalID: signalID, clientOrderID: "sc-\(id)-\(Int(candle.openTime.timeIntervalSince1970))-buy", pair: record.pair,
            side: .buy, quantity: quantity, referencePrice: candle.close, time: candle.closeTime, reason: signal.reason)
        instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
    }

    func exit(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        guard let record = instances[id]?.record, let position = ledger.positions[String(id)] else { return }
        guard inFlight[id] == nil else {
            logger.notice("exit not sent: an order of this strategy is still in flight", metadata: ["strategy": "\(record.name)"])
            instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
            return
        }
        let signalID = try await storage.recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close, at: clock.wallTime)
        _ = try await place(
            strategyID: id, signalID: signalID, clientOrderID: "sc-\(id)-\(Int(candle.openTime.timeIntervalSince1970))-sell",
            pair: position.pair, side: .sell, quantity: position.quantity, referencePrice: candle.close, time: candle.closeTime,
            reason: signal.reason)
        instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
    }

    /// Records the order (`submitting`, its userref = its id), asks the broker, and settles the
    /// outcome. The order is in flight for its strategy from before the broker is asked until it ends.
    func place(
        strategyID: Int64, signalID: Int64, clientOrderID: String, pair: String, side: OrderSide, quantity: Decimal,
        referencePrice: Decimal, time: Date, reason: String
    ) async throws -> Placement {
        var order = OrderRecord(
            strategyID: strategyID, signalID: signalID, clientOrderID: clientOrderID, mode: mode, pair: pair, side: side, quantity: quantity,
            status: .submitting, createdAt: time, updatedAt: clock.wallTime, reason: reason)
        do {
            order.id = try await storage.recordOrder(order, at: order.updatedAt)
        } catch let error as StorageError where error.kind == .duplicate {
            // The same client order id exists: this candle was already acted on before a restart.
            logger.warning("order not placed twice", metadata: ["order": "\(clientOrderID)"])
            return .notPlaced
        }
        order.userref = Int32(truncatingIfNeeded: order.id)
        inFlight[strategyID] = order
        Counter(label: "trading_orders_total", dimensions: [("side", side.rawValue), ("mode", mode.rawValue)], factory: metrics).increment()
        let request = OrderRequest(
            clientOrderID: clientOrderID, strategyKey: String(strategyID), userref: order.userref, pair: pair, side: side,
            quantity: quantity, referencePrice: referencePrice, time: time)
        let outcome: BrokerOutcome
        do {
            outcome = try await broker.execute(request, lot: await lot(pair))
        } catch {
            // A broker that throws gives no answer: on live that means unknown, elsewhere nothing executed.
            outcome = mode == .live ? .unknown("\(error)") : .rejected("\(error)")
        }
        return try await settle(order, outcome)
    }

    func settle(_ order: OrderRecord, _ outcome: BrokerOutcome) async throws -> Placement {
        let now = clock.wallTime
        let metadata: Logger.Metadata = ["order": "\(order.clientOrderID)", "userref": "\(order.userref)", "mode": "\(mode.rawValue)"]
        switch outcome {
        case .filled(let fill):
            return try await book(fill, order: order, fromExchange: false) ? .filled : .notPlaced
        case .accepted(let txid):
            try await storage.updateOrder(id: order.id, status: .open, exchangeOrderID: txid, error: nil, at: now)
            inFlight[order.strategyID]?.status = .open
            inFlight[order.strategyID]?.exchangeOrderID = txid
            logger.info("order accepted by Kraken", metadata: metadata.merging(["txid": "\(txid)"]) { $1 })
            return .pending
        case .validated(let description):
            try await storage.updateOrder(id: order.id, status: .validated, exchangeOrderID: nil, error: nil, at: now)
            finish(order)
            logger.info("order validated by Kraken, nothing executed", metadata: metadata.merging(["description": "\(description)"]) { $1 })
            return .notPlaced
        case .rejected(let why):
            try await storage.updateOrder(id: order.id, status: .rejected, exchangeOrderID: nil, error: why, at: now)
            finish(order)
            logger.error("order rejected", metadata: metadata.merging(["reason": "\(why)"]) { $1 })
            return .notPlaced
        case .unknown(let why) where mode == .live:
            try await storage.updateOrder(id: order.id, status: .unknown, exchangeOrderID: nil, error: why, at: now)
            inFlight[order.strategyID]?.status = .unknown
            inFlight[order.strategyID]?.updatedAt = now
            logger.error(
                "order outcome unknown: Kraken may have it; looking it up by its userref, never resending it",
                metadata: metadata.merging(["error": "\(why)"]) { $1 })
            return .pending
        case .unknown(let why):
            // validate=true executes nothing, whatever happened to the answer.
            try await storage.updateOrder(id: order.id, status: .abandoned, exchangeOrderID: nil, error: "no answer to a validate-only order: \(why)", at: now)
            finish(order)
            logger.warning("validate-only order got no answer", metadata: metadata.merging(["error": "\(why)"]) { $1 })
            return .notPlaced
        }
    }

    func apply(_ update: OrderUpdate, to order: OrderRecord, at now: Date) async throws {
        switch update {
        case .filled(let fill):
            _ = try await book(fill, order: order, fromExchange: true)
        case .ended(let why):
            try await storage.updateOrder(id: order.id, status: .canceled, exchangeOrderID: nil, error: why, at: now)
            finish(order)
            logger.warning("exchange order ended unfilled", metadata: ["order": "\(order.clientOrderID)", "reason": "\(why)"])
        case .open:
            break
        }
    }

    /// The order is over: its strategy may place orders again and believes what the ledger says.
    func finish(_ order: OrderRecord) {
        if inFlight[order.strategyID]?.id == order.id { inFlight[order.strategyID] = nil }
        instances[order.strategyID]?.strategy.setPosition(open: holdsOrBuying(order.strategyID))
    }

    /// Books a fill in memory and in storage (one transaction with its order, trade and position,
    /// and the position's exit levels). A paper fill the ledger refuses is not booked (the order
    /// is rejected); an exchange fill happened, so it is booked whatever the ledger thinks and
    /// anything a spot account could not have done is reported and halts entries. Returns
    /// whether it was booked.
    func book(_ fill: Fill, order: OrderRecord, fromExchange: Bool) async throws -> Bool {
        let id = order.strategyID, key = String(order.strategyID), reason = order.reason ?? "reconciled"
        var next = ledger
        let trade: ClosedTrade?
        if fromExchange {
            let result = next.record(fill, side: order.side, strategyKey: key, pair: order.pair, reason: reason)
            if case .nonPositive(let what)? = result.anomaly {
                try await storage.updateOrder(
                    id: order.id, status: .rejected, exchangeOrderID: nil, error: "Kraken reported an impossible fill (\(what))", at: clock.wallTime)
                finish(order)
                logger.critical("exchange fill not booked: impossible values", metadata: ["order": "\(order.clientOrderID)", "fill": "\(fill)"])
                return false
            }
            trade = result.trade
            if let anomaly = result.anomaly {
                halt(.anomaly, "Kraken executed order \(order.clientOrderID) beyond what the ledger held (\(anomaly)); booked as it happened")
            }
        } else {
            do {
                trade = try next.apply(fill, side: order.side, strategyKey: key, pair: order.pair, reason: reason)
            } catch {
                try await storage.updateOrder(id: order.id, status: .rejected, exchangeOrderID: nil, error: "fill not booked: \(error)", at: clock.wallTime)
                finish(order)
                logger.error("fill refused by the ledger", metadata: ["order": "\(order.clientOrderID)", "error": "\(error)"])
                return false
            }
        }
        let position = next.positions[key]
        var protection = ExitLevels()
        if let position {
            protection = order.side == .buy
                ? RiskManager.exitLevels(
                    entry: position.averagePrice, rules: exitRules(for: id), atr: instances[id]?.latestATR, lot: await lot(order.pair))
                : levels[id] ?? ExitLevels()
        }
        try await storage.recordFill(
            LedgerFill(orderID: order.id, strategyID: id, pair: order.pair, side: order.side, fill: fill, reason: reason),
            position: position, levels: protection, closedTrade: trade, orderFilled: true)
        ledger = next
        levels[id] = position == nil ? nil : protection
        finish(order)
        Counter(label: "trading_fills_total", dimensions: [("side", order.side.rawValue)], factory: metrics).increment()
        logger.info(
            "order filled",
            metadata: ["order": "\(order.clientOrderID)", "side": "\(order.side.rawValue)", "quantity": "\(fill.quantity)",
                       "price": "\(fill.price)", "fee": "\(fill.fee)", "mode": "\(mode.rawValue)"])
        return true
    }

    func recordEquity(at time: Date) async throws {
        let snapshot = EquitySnapshot(time: time, ledger: ledger, marks: marks)
        try await storage.recordEquity(snapshot, mode: mode)
        // Gauges for dashboards (analysis values; the exact figures are in equity_snapshots).
        Gauge(label: "trading_equity", factory: metrics).record(snapshot.equity.doubleValue)
        Gauge(label: "trading_open_positions", factory: metrics).record(ledger.positions.count)
        if let message = risk.observe(equity: snapshot.equity.doubleValue) {
            logger.critical("\(message)")
        }
    }
}

extension TradingEngine {
    public struct StrategyKey: Sendable, Hashable {
        public var pair: String
        public var interval: Int
    }

    /// The pairs and intervals the running strategies trade.
    public func strategyKeys() -> [StrategyKey] {
        Set(instances.values.map { StrategyKey(pair: $0.record.pair, interval: $0.record.intervalMinutes) })
            .sorted { ($0.pair, $0.interval) < ($1.pair, $1.interval) }
    }

    public func runningStrategies() -> [StrategyRecord] { instances.values.map(\.record).sorted { $0.id < $1.id } }
}

/// Why a ledger cannot be opened or trusted; for logs.
struct LedgerProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
