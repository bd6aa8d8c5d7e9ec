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

    /// An order of unknown outcome is taken as never placed once Kraken has not listed it in
    /// ``unknownOrderLookups`` successful lookups over at least this long (its order lists can
    /// lag a placement by seconds).
    public static let unknownOrderGrace: TimeInterval = 120
    public static let unknownOrderLookups = 3
    /// After the exchange refuses an exit, no new exit of that position for this long.
    public static let refusedExitBackoff: TimeInterval = 300
    /// Balances are not compared this soon after a booking (Kraken's own ledger may trail its fills).
    public static let bookingSettleTime: TimeInterval = 30

    let storage: any LedgerStorage
    let broker: any Broker
    let configuration: TradingConfiguration
    let instruments: (any InstrumentDirectory)?
    let clock: any WallClock
    let logger: Logger
    let metrics: any MetricsFactory
    /// Announces signals, orders, fills and closed trades once stored (Redis, when configured).
    let publisher: any EventPublisher
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
    /// Orders submitting, open on the exchange or of unknown outcome, by order id.
    var inFlight: [Int64: OrderRecord] = [:]
    /// Successful lookups that did not find an order of unknown outcome, by order id.
    var emptyLookups: [Int64: Int] = [:]
    /// No exit order for a strategy before this (after the exchange refused one), by strategy id.
    var exitBackoff: [Int64: Date] = [:]
    var lastBooking: Date?
    var halts: [HaltCause: String] = [:] {
        didSet {
            for cause in HaltCause.allCases where (oldValue[cause] == nil) != (halts[cause] == nil) {
                Gauge(label: "trading_halted", dimensions: [("cause", cause.rawValue)], factory: metrics).record(halts[cause] == nil ? 0 : 1)
            }
        }
    }
    var lots: [String: LotRules] = [:]
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(
        storage: any LedgerStorage, broker: any Broker, configuration: TradingConfiguration, instruments: (any InstrumentDirectory)? = nil,
        clock: any WallClock = SystemTime(), logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory,
        publisher: any EventPublisher = NoEventPublisher()
    ) {
        self.publisher = publisher
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
            // Measured from the last adoption of balances on: a withdrawal is not a drawdown.
            if let peak = try await storage.peakEquity(mode: mode, since: account?.lastAdjustedAt) {
                _ = risk.observe(equity: peak.doubleValue)
            }
            if let message = risk.observe(equity: ledger.equity(marks: [:]).doubleValue) {
                logger.critical("\(message)")
                await alert("risk", ServiceAlerts.killSwitch(message))
            }
            for (id, until) in try await storage.cooldowns(mode: mode) {
                risk.restoreCooldown(strategyKey: String(id), until: until)
            }
            try await takeUpUnfinishedOrders(at: now)
            let running = try await loadStrategies()
            try await protectPositions()
            registerMetrics()
            return running
        }
    }

    /// Every series the engine exports, present from the start (at zero, or at the rebuilt
    /// ledger's figures) rather than from its first event: dashboards and alert rules see them
    /// before the first order, and `rate()` counts that first order.
    func registerMetrics() {
        for side in [OrderSide.buy, .sell] {
            _ = Counter(label: "trading_orders_total", dimensions: [("side", side.rawValue), ("mode", mode.rawValue)], factory: metrics)
            _ = Counter(label: "trading_fills_total", dimensions: [("side", side.rawValue)], factory: metrics)
        }
        for action in [StrategySignal.Action.enter, .exit] {
            _ = Counter(label: "trading_signals_total", dimensions: [("action", action.rawValue)], factory: metrics)
        }
        _ = Timer(label: "trading_candle_latency_seconds", factory: metrics)
        for cause in HaltCause.allCases {
            Gauge(label: "trading_halted", dimensions: [("cause", cause.rawValue)], factory: metrics).record(halts[cause] == nil ? 0 : 1)
        }
        Gauge(label: "trading_halted", dimensions: [("cause", "drawdown")], factory: metrics).record(risk.haltReason == nil ? 0 : 1)
        recordLedgerGauges(ledger.equity(marks: marks))
    }

    /// Analysis values for dashboards (the exact figures are in the database).
    func recordLedgerGauges(_ equity: Decimal) {
        Gauge(label: "trading_equity", factory: metrics).record(equity.doubleValue)
        Gauge(label: "trading_realised_pnl", factory: metrics).record(ledger.realisedPnL.doubleValue)
        Gauge(label: "trading_open_positions", factory: metrics).record(ledger.positions.count)
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
                afterFillID: try await storage.lastFillID(), createdAt: now)
            try await storage.saveLedgerAccount(opened)
            account = try await storage.ledgerAccount(mode: mode) ?? opened
            halts[.account] = nil
            // Orders from before the account existed are in the balances it starts from.
            for order in try await storage.unfinishedOrders(mode: mode) {
                try await updateOrder(order, status: .abandoned, exchangeOrderID: nil,
                    error: "placed before the \(mode.rawValue) ledger was opened from Kraken's balances, which hold its outcome", at: now)
                inFlight[order.id] = nil
                logger.warning("order from before the ledger was opened is left to the balances", metadata: ["order": "\(order.clientOrderID)"])
            }
            logger.notice(
                "ledger opened from Kraken's balances", metadata: ["mode": "\(mode.rawValue)", "cash": "\(opened.startingBalance)", "asset": "\(quote)"])
        } catch {
            await halt(.account, "the \(mode.rawValue) ledger starts from Kraken's balances, which are not available yet (\(error)); retrying")
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
        guard let account else {
            ledger = PortfolioLedger(startingBalance: 0)
            return
        }
        let anomalies: [String]
        (ledger, anomalies) = try await LedgerReplay.rebuild(mode: mode, account: account, storage: storage)
        halts[.ledger] = nil
        if let first = anomalies.first {
            await halt(.ledger, "the \(mode.rawValue) ledger does not replay as a spot account: \(anomalies.count) fill(s) exceed it, the first \(first)"
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
                try await updateOrder(order, status: .abandoned, exchangeOrderID: nil, error: "engine stopped before the fill was booked", at: now)
                logger.warning("order left unfinished by a stop marked abandoned", metadata: ["order": "\(order.clientOrderID)"])
                continue
            }
            var order = order
            if order.status == .submitting {
                try await updateOrder(order, status: .unknown, exchangeOrderID: nil, error: "engine stopped before Kraken answered", at: now)
                order.status = .unknown
                order.updatedAt = now
                logger.error(
                    "order sent before a stop has no known outcome: looking it up on Kraken by its userref, never resending it",
                    metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)"])
            }
            inFlight[order.id] = order
        }
    }

    /// Gives every open position the exit levels its rules call for where none are stored (a
    /// database from before levels were stored, or an ATR level whose ATR was not warm when the
    /// fill was booked) and stores them. Positions keep their stored levels otherwise.
    func protectPositions() async throws {
        for (key, position) in ledger.positions.sorted(by: { $0.key < $1.key }) {
            guard let id = Int64(key) else { continue }
            let have = levels[id] ?? ExitLevels()
            let rules = exitRules(for: id)
            let wanted = RiskManager.exitLevels(
                entry: position.averagePrice, rules: rules, atr: instances[id]?.latestATR, lot: await lot(position.pair))
            var next = have
            if next.stopLoss == nil { next.stopLoss = wanted.stopLoss }
            if next.takeProfit == nil { next.takeProfit = wanted.takeProfit }
            guard next != have else { continue }
            try await storage.savePositionLevels(mode: mode, strategyID: id, levels: next)
            levels[id] = next
            logger.notice(
                "position's exit levels restored from its strategy's rules",
                metadata: ["strategy": "\(known[id]?.name ?? key)", "stopLoss": "\(next.stopLoss.map { "\($0)" } ?? "-")",
                           "takeProfit": "\(next.takeProfit.map { "\($0)" } ?? "-")"])
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
        if !fresh.isEmpty { try await protectPositions() }
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
                guard let id = Int64(key), let trigger = levels[id]?.trigger(at: price), !isBusy(id), mayExit(id) else { continue }
                let interval = known[id]?.intervalMinutes ?? 1
                let signalID = try await recordSignal(
                    strategyID: id, pair: pair, intervalMinutes: interval, candleTime: time, signal: StrategySignal(.exit, trigger.rawValue, confidence: 1),
                    price: price, at: clock.wallTime)
                _ = try await place(
                    strategyID: id, signalID: signalID, clientOrderID: "sc-\(id)-\(Int(time.timeIntervalSince1970))-\(trigger.rawValue)",
                    pair: pair, side: .sell, quantity: position.quantity, referencePrice: price, time: time, reason: trigger.rawValue)
                instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
            }
        }
    }

    /// Settles orders in flight with the exchange: accepted ones are asked about by exchange id
    /// (fills booked exactly as executed, unfilled ends closed); ones of unknown outcome are
    /// looked up (by userref, side, volume and time) — found, they continue as accepted orders;
    /// not listed by Kraken in ``unknownOrderLookups`` lookups over ``unknownOrderGrace``, they
    /// were never placed and are abandoned, never resent. The exchange is asked outside the
    /// engine's gate, so a slow Kraken never holds up a stop-loss; the answers are applied
    /// under it, to the orders still in flight. One failing lookup does not stop the others.
    public func reconcile() async throws {
        let pending = await exclusively { inFlight.values.sorted { $0.id < $1.id } }
        guard !pending.isEmpty else { return }
        var failures: [String] = []
        var updates: [String: OrderUpdate] = [:]
        let exchangeIDs = pending.compactMap(\.exchangeOrderID)
        if !exchangeIDs.isEmpty {
            do { updates = try await broker.reconcile(exchangeIDs) } catch { failures.append("QueryOrders: \(error)") }
        }
        var lookups: [Int64: FoundOrder?] = [:]
        for order in pending where order.exchangeOrderID == nil {
            do {
                lookups[order.id] = .some(try await broker.find(order))
            } catch {
                failures.append("lookup of \(order.clientOrderID): \(error)")
            }
        }
        try await exclusively {
            let now = clock.wallTime
            for order in pending {
                guard let current = inFlight[order.id] else { continue }
                if let txid = current.exchangeOrderID {
                    if let update = updates[txid] { try await apply(update, to: current, at: now) }
                } else if let lookup = lookups[order.id] {
                    try await settleLookup(lookup, of: current, at: now)
                }
            }
        }
        if !failures.isEmpty { throw LedgerProblem("orders not reconciled: " + failures.joined(separator: "; ")) }
    }

    func settleLookup(_ lookup: FoundOrder?, of order: OrderRecord, at now: Date) async throws {
        guard let found = lookup else {
            let misses = (emptyLookups[order.id] ?? 0) + 1
            emptyLookups[order.id] = misses
            guard misses >= Self.unknownOrderLookups, now.timeIntervalSince(order.updatedAt) >= Self.unknownOrderGrace else { return }
            try await updateOrder(order, status: .abandoned, exchangeOrderID: nil,
                error: "Kraken lists no such order under userref \(order.userref) after \(misses) lookups: it was never placed (not resent)", at: now)
            emptyLookups[order.id] = nil
            finish(order)
            logger.warning(
                "order of unknown outcome was never placed; not resent", metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)"])
            return
        }
        emptyLookups[order.id] = nil
        try await updateOrder(order, status: .open, exchangeOrderID: found.exchangeOrderID, error: nil, at: now)
        var accepted = order
        accepted.status = .open
        accepted.exchangeOrderID = found.exchangeOrderID
        inFlight[order.id] = accepted
        logger.notice(
            "order of unknown outcome found on Kraken",
            metadata: ["order": "\(order.clientOrderID)", "userref": "\(order.userref)", "txid": "\(found.exchangeOrderID)"])
        try await apply(found.update, to: accepted, at: now)
    }

    /// Compares the ledger with Kraken's balances (validate and live): cash with the quote
    /// asset, positions plus the holdings at the start with each base asset. A difference is
    /// reported as `critical` once and halts new entries until they agree again; agreement also
    /// clears the halts of fills that had exceeded the ledger (Kraken confirms what was booked).
    /// Skipped while orders are in flight or just after a booking (balances move before they are
    /// booked, and Kraken's ledger trails its fills). Kraken is asked outside the engine's gate.
    /// Opens the account first if Kraken was unreachable when the engine started.
    public func syncBalances() async throws {
        guard mode != .paper else { return }
        let ready = try await exclusively { () async throws -> Bool in
            if account == nil {
                try await openAccount(at: clock.wallTime)
                if account != nil { try await rebuildLedger() }
            }
            return account != nil && inFlight.isEmpty
        }
        let asked = clock.wallTime
        guard ready, let balances = try await broker.balances() else { return }
        await exclusively {
            // Balances asked for less than the settle time after a booking may predate it.
            guard let account, inFlight.isEmpty, lastBooking.map({ asked.timeIntervalSince($0) >= Self.bookingSettleTime }) ?? true
            else { return }
            let traded = await BalanceCheck.instruments(
                pairs: Set(ledger.positions.values.map(\.pair)).union(known.values.filter(\.enabled).map(\.pair)), quote: account.quoteAsset,
                directory: instruments)
            let differences = BalanceCheck.differences(
                ledger: ledger, account: account, balances: balances, instruments: traded, cashTolerance: configuration.balanceTolerance)
            guard differences.isEmpty else {
                await halt(.balance, "the ledger and Kraken's balances differ: " + differences.map(\.description).joined(separator: "; "))
                return
            }
            for cause in [HaltCause.balance, .anomaly, .ledger] where halts[cause] != nil {
                halts[cause] = nil
                logger.notice("ledger agrees with Kraken's balances: halt lifted", metadata: ["cause": "\(cause.rawValue)"])
                await alert("risk", ServiceAlerts.haltLifted(cause.rawValue))
            }
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
    public var ordersInFlight: [Int64: OrderRecord] {
        Dictionary(inFlight.values.map { ($0.strategyID, $0) }, uniquingKeysWith: { $0.id > $1.id ? $0 : $1 })
    }

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

    /// Whether an order of the strategy is in flight: it then places nothing else.
    func isBusy(_ id: Int64) -> Bool { inFlight.values.contains { $0.strategyID == id } }

    /// Whether the strategy holds a position or has a buy on its way (what it should believe).
    func holdsOrBuying(_ id: Int64) -> Bool {
        ledger.positions[String(id)] != nil || inFlight.values.contains { $0.strategyID == id && $0.side == .buy }
    }

    /// Whether an exit may be sent now (not within the backoff after the exchange refused one).
    func mayExit(_ id: Int64) -> Bool { exitBackoff[id].map { clock.wallTime >= $0 } ?? true }

    /// The exit rules of a strategy, also when it no longer runs (from its stored parameters).
    func exitRules(for id: Int64) -> ExitRules {
        if let exits = instances[id]?.exits { return exits }
        guard let record = known[id] else { return configuration.exits }
        return (try? configuration.exits.overridden(by: record.parameters, strategy: record.kind)) ?? configuration.exits
    }

    func halt(_ cause: HaltCause, _ reason: String) async {
        // A trader hears of a halt once (not of each changed figure while it lasts); the
        // balances of a live account being unavailable at start is retried, not news.
        if recordHalt(cause, reason), cause != .account { await alert("risk", ServiceAlerts.halted(reason)) }
    }

    /// Stops new entries for `cause`; returns whether the cause was not halted before.
    @discardableResult
    func recordHalt(_ cause: HaltCause, _ reason: String) -> Bool {
        guard halts[cause] != reason else { return false }
        let isNew = halts[cause] == nil
        halts[cause] = reason
        logger.critical("\(reason); no new entries (exits still run)")
        return isNew
    }

    /// Puts one of the engine's own alerts in the outbox (when the storage has one). Never
    /// throws: an alert that cannot be written is logged, and trading goes on.
    public func alert(_ kind: String, _ text: String) async {
        guard let outbox = storage as? any AlertStorage else { return }
        do {
            try await outbox.enqueueMessage(kind: kind, text: text, at: clock.wallTime)
        } catch {
            logger.warning("alert not written to the outbox", metadata: ["kind": "\(kind)", "error": "\(error)"])
        }
    }

    func enter(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        guard let record = instances[id]?.record else { return }
        let signalID = try await recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close, at: clock.wallTime)
        guard let instance = instances[id] else { return }
        let lot = await lot(record.pair)
        let planned = RiskManager.exitLevels(entry: candle.close, rules: instance.exits, atr: instance.latestATR, lot: lot)
        let decision: RiskManager.EntryDecision
        // Read from storage at every entry: a pause set by another process (the website, a
        // command) holds from the next candle on, and survives restarts.
        // A pause that cannot be read counts as a pause: entries wait, exits and the rest of
        // the candle go on.
        let pause: PauseState
        do {
            pause = try await storage.pauseState()
        } catch {
            pause = PauseState(paused: true, by: "unreadable pause state (\(error))", at: clock.wallTime)
        }
        if pause.paused {
            decision = .reject("entries are paused (by \(pause.by))")
        } else if let halted = HaltCause.allCases.lazy.compactMap({ self.halts[$0] }).first {
            decision = .reject(halted)
        } else if isBusy(id) {
            decision = .reject("an order of this strategy is still in flight")
        } else if instance.exits.stopLoss != .none, planned.stopLoss == nil {
            decision = .reject(
                instance.latestATR == nil
                    ? "its ATR-based stop-loss cannot be placed yet: ATR(\(instance.exits.atrPeriod)) is still warming up"
                    : "its stop-loss would be at or below zero")
        } else if let refusal = await quoteRefusal(record.pair) {
            decision = .reject(refusal)
        } else {
            // Buys on their way count as positions and hold their estimated cost out of the cash.
            let pendingBuys = inFlight.values.filter { $0.side == .buy }
            var reserved = Decimal(0)
            for order in pendingBuys {
                reserved += risk.execution.buyCost(quantity: order.quantity, referencePrice: marks[order.pair] ?? 0, lot: await self.lot(order.pair))
            }
            let pendingEntries = pendingBuys.filter { ledger.positions[String($0.strategyID)] == nil }.count
            decision = risk.decideEntry(
                strategyKey: String(id), price: candle.close, equity: ledger.equity(marks: marks), cash: max(ledger.cash - reserved, 0),
                openPositions: ledger.positions.count + pendingEntries, holdsPosition: ledger.positions[String(id)] != nil,
                lot: lot, now: candle.closeTime)
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
            side: .buy, quantity: quantity, referencePrice: candle.close, time: candle.closeTime, reason: signal.reason,
            atr: instance.latestATR)
        instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
    }

    /// Live and validate ledgers hold one cash balance: an entry in a pair quoted in another
    /// currency is refused.
    func quoteRefusal(_ pair: String) async -> String? {
        guard mode != .paper, let account else { return nil }
        guard let quote = await instruments?.instrument(for: pair)?.quoteAsset else {
            return "Kraken's description of \(pair) is not known, so neither is its quote currency"
        }
        return quote == account.quoteAsset ? nil : "\(pair) is quoted in \(quote), the ledger's cash is \(account.quoteAsset)"
    }

    /// Refusals the exchange will repeat for the same exit (a volume below its minimum,
    /// insufficient funds), as opposed to passing ones (rate limits, an open breaker, a lockout).
    static func refusalRepeats(_ reason: String) -> Bool {
        reason.contains("below") || reason.contains("EOrder:Insufficient funds") || reason.contains("EOrder:Order minimum")
            || reason.contains("EGeneral:Invalid arguments")
    }

    func exit(_ id: Int64, signal: StrategySignal, candle: Candle) async throws {
        guard let record = instances[id]?.record, let position = ledger.positions[String(id)], mayExit(id) else { return }
        guard !isBusy(id) else {
            logger.notice("exit not sent: an order of this strategy is still in flight", metadata: ["strategy": "\(record.name)"])
            instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
            return
        }
        let signalID = try await recordSignal(
            strategyID: id, pair: record.pair, intervalMinutes: record.intervalMinutes, candleTime: candle.openTime, signal: signal,
            price: candle.close, at: clock.wallTime)
        _ = try await place(
            strategyID: id, signalID: signalID, clientOrderID: "sc-\(id)-\(Int(candle.openTime.timeIntervalSince1970))-sell",
            pair: position.pair, side: .sell, quantity: position.quantity, referencePrice: candle.close, time: candle.closeTime,
            reason: signal.reason)
        instances[id]?.strategy.setPosition(open: holdsOrBuying(id))
    }

    /// Stores an order's new status, then announces it.
    func updateOrder(_ order: OrderRecord, status: OrderRecord.Status, exchangeOrderID: String?, error: String?, at time: Date) async throws {
        try await storage.updateOrder(id: order.id, status: status, exchangeOrderID: exchangeOrderID, error: error, at: time)
        publisher.publish(.order(BusEvent.OrderData(order, status: status, exchangeOrderID: exchangeOrderID ?? order.exchangeOrderID, error: error)))
    }

    /// Stores a signal, then announces it; returns its id.
    func recordSignal(
        strategyID: Int64, pair: String, intervalMinutes: Int, candleTime: Date, signal: StrategySignal, price: Decimal, at time: Date
    ) async throws -> Int64 {
        let id = try await storage.recordSignal(
            strategyID: strategyID, pair: pair, intervalMinutes: intervalMinutes, candleTime: candleTime, signal: signal, price: price, at: time)
        publisher.publish(.signal(BusEvent.SignalData(
            signalID: id, strategyID: strategyID, pair: pair, interval: intervalMinutes, signal: signal, price: price, candleTime: candleTime)))
        return id
    }

    /// Records the order (`submitting`, its userref = its id), asks the broker, and settles the
    /// outcome. The order is in flight for its strategy from before the broker is asked until it ends.
    func place(
        strategyID: Int64, signalID: Int64, clientOrderID: String, pair: String, side: OrderSide, quantity: Decimal,
        referencePrice: Decimal, time: Date, reason: String, atr: Double? = nil
    ) async throws -> Placement {
        let lot = await lot(pair)
        // The quantity the exchange will be sent (cut to the pair's lot), as the order row says.
        var order = OrderRecord(
            strategyID: strategyID, signalID: signalID, clientOrderID: clientOrderID, mode: mode, pair: pair, side: side,
            quantity: lot.roundQuantity(quantity), status: .submitting, createdAt: time, updatedAt: clock.wallTime, reason: reason, atr: atr)
        do {
            order.id = try await storage.recordOrder(order, at: order.updatedAt)
            publisher.publish(.order(BusEvent.OrderData(order, status: order.status, exchangeOrderID: nil, error: nil)))
        } catch let error as StorageError where error.kind == .duplicate {
            // The same client order id exists: this candle was already acted on before a restart.
            logger.warning("order not placed twice", metadata: ["order": "\(clientOrderID)"])
            return .notPlaced
        }
        order.userref = Int32(truncatingIfNeeded: order.id)
        inFlight[order.id] = order
        Counter(label: "trading_orders_total", dimensions: [("side", side.rawValue), ("mode", mode.rawValue)], factory: metrics).increment()
        let request = OrderRequest(
            clientOrderID: clientOrderID, strategyKey: String(strategyID), userref: order.userref, pair: pair, side: side,
            quantity: order.quantity, referencePrice: referencePrice, time: time)
        let outcome: BrokerOutcome
        do {
            outcome = try await broker.execute(request, lot: lot)
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
            try await updateOrder(order, status: .open, exchangeOrderID: txid, error: nil, at: now)
            inFlight[order.id]?.status = .open
            inFlight[order.id]?.exchangeOrderID = txid
            logger.info("order accepted by Kraken", metadata: metadata.merging(["txid": "\(txid)"]) { $1 })
            return .pending
        case .validated(let description):
            try await updateOrder(order, status: .validated, exchangeOrderID: nil, error: nil, at: now)
            finish(order)
            logger.info("order validated by Kraken, nothing executed", metadata: metadata.merging(["description": "\(description)"]) { $1 })
            return .notPlaced
        case .rejected(let why):
            try await updateOrder(order, status: .rejected, exchangeOrderID: nil, error: why, at: now)
            finish(order)
            if order.side == .sell, Self.refusalRepeats(why) {
                // An exit the exchange will refuse again (a remainder below its minimum order,
                // funds it does not see) is not retried on every ticker: once per backoff, and
                // said loudly. Passing refusals (rate limit, open breaker) are retried at once.
                exitBackoff[order.strategyID] = now.addingTimeInterval(Self.refusedExitBackoff)
                logger.critical(
                    "exit refused by the exchange: the position stays open; it is tried again in 5 minutes (sell it by hand if it cannot be sold)",
                    metadata: metadata.merging(["reason": "\(why)"]) { $1 })
            } else {
                logger.error("order rejected", metadata: metadata.merging(["reason": "\(why)"]) { $1 })
            }
            return .notPlaced
        case .unknown(let why) where mode == .live:
            try await updateOrder(order, status: .unknown, exchangeOrderID: nil, error: why, at: now)
            inFlight[order.id]?.status = .unknown
            inFlight[order.id]?.updatedAt = now
            logger.error(
                "order outcome unknown: Kraken may have it; looking it up by its userref, never resending it",
                metadata: metadata.merging(["error": "\(why)"]) { $1 })
            return .pending
        case .unknown(let why):
            // validate=true executes nothing, whatever happened to the answer.
            try await updateOrder(order, status: .abandoned, exchangeOrderID: nil, error: "no answer to a validate-only order: \(why)", at: now)
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
            try await updateOrder(order, status: .canceled, exchangeOrderID: nil, error: why, at: now)
            finish(order)
            logger.warning("exchange order ended unfilled", metadata: ["order": "\(order.clientOrderID)", "reason": "\(why)"])
        case .open:
            break
        }
    }

    /// The order is over: its strategy may place orders again and believes what the ledger says.
    func finish(_ order: OrderRecord) {
        inFlight[order.id] = nil
        emptyLookups[order.id] = nil
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
        var announce: String?
        if fromExchange {
            let result = next.record(fill, side: order.side, strategyKey: key, pair: order.pair, reason: reason)
            if case .nonPositive(let what)? = result.anomaly {
                try await updateOrder(order, status: .rejected, exchangeOrderID: nil, error: "Kraken reported an impossible fill (\(what))", at: clock.wallTime)
                finish(order)
                logger.critical("exchange fill not booked: impossible values", metadata: ["order": "\(order.clientOrderID)", "fill": "\(fill)"])
                return false
            }
            trade = result.trade
            if let anomaly = result.anomaly {
                // Entries stop at once; the trader is told once the fill is stored.
                let reason = "Kraken executed order \(order.clientOrderID) beyond what the ledger held (\(anomaly)); booked as it happened"
                if recordHalt(.anomaly, reason) { announce = reason }
            }
        } else {
            do {
                trade = try next.apply(fill, side: order.side, strategyKey: key, pair: order.pair, reason: reason)
            } catch {
                try await updateOrder(order, status: .rejected, exchangeOrderID: nil, error: "fill not booked: \(error)", at: clock.wallTime)
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
                    entry: position.averagePrice, rules: exitRules(for: id), atr: order.atr ?? instances[id]?.latestATR, lot: await lot(order.pair))
                : levels[id] ?? ExitLevels()
        }
        let booked = LedgerFill(orderID: order.id, strategyID: id, pair: order.pair, side: order.side, fill: fill, reason: reason)
        try await storage.recordFill(booked, position: position, levels: protection, closedTrade: trade, orderFilled: true)
        publisher.publish(.fill(BusEvent.FillData(booked)))
        publisher.publish(.order(BusEvent.OrderData(order, status: .filled, exchangeOrderID: order.exchangeOrderID, error: nil)))
        if let trade { publisher.publish(.tradeClosed(BusEvent.TradeClosedData(strategyID: id, trade))) }
        ledger = next
        levels[id] = position == nil ? nil : protection
        lastBooking = clock.wallTime
        finish(order)
        if let announce { await alert("risk", ServiceAlerts.halted(announce)) }
        if order.side == .sell, order.reason == ExitLevels.Trigger.stopLoss.rawValue,
            let until = risk.recordStopOut(
                strategyKey: key, at: order.createdAt, rules: exitRules(for: id), intervalMinutes: known[id]?.intervalMinutes ?? 1)
        {
            do {
                try await storage.saveCooldown(mode: mode, strategyID: id, until: until)
            } catch {
                // The fill is committed; the cooldown holds in memory and is only lost to a restart.
                logger.error("cooldown not stored", metadata: ["strategy": "\(id)", "error": "\(error)"])
            }
        }
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
        recordLedgerGauges(snapshot.equity)
        if let message = risk.observe(equity: snapshot.equity.doubleValue) {
            logger.critical("\(message)")
            await alert("risk", ServiceAlerts.killSwitch(message))
        }
        Gauge(label: "trading_halted", dimensions: [("cause", "drawdown")], factory: metrics).record(risk.haltReason == nil ? 0 : 1)
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
