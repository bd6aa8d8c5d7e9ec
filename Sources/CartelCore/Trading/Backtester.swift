import Foundation

/// Everything a backtest needs besides the strategy and the candles.
public struct BacktestConfiguration: Sendable, Equatable {
    public var strategyKey: String
    public var pair: String
    public var intervalMinutes: Int
    public var startingBalance: Decimal
    public var risk: RiskSettings
    public var exits: ExitRules
    public var paper: PaperExecution
    public var lot: LotRules

    public init(
        strategyKey: String, pair: String, intervalMinutes: Int, startingBalance: Decimal = 10_000,
        risk: RiskSettings = RiskSettings(), exits: ExitRules = ExitRules(), paper: PaperExecution = PaperExecution(),
        lot: LotRules = .generic
    ) {
        self.strategyKey = strategyKey
        self.pair = pair
        self.intervalMinutes = intervalMinutes
        self.startingBalance = startingBalance
        self.risk = risk
        self.exits = exits
        self.paper = paper
        self.lot = lot
    }
}

extension BacktestConfiguration {
    /// The engine's account, risk, exit and paper-fill settings for a backtest of `strategy`.
    init(trading: TradingConfiguration, strategy: String, pair: String, intervalMinutes: Int) {
        self.init(
            strategyKey: strategy, pair: pair, intervalMinutes: intervalMinutes, startingBalance: trading.startingBalance,
            risk: trading.risk, exits: trading.exits, paper: trading.paper)
    }
}

public struct BacktestResult: Sendable {
    public var trades: [ClosedTrade]
    public var stats: PerformanceStats
    /// The ledger at the end (an entry still open is valued at the last close in `stats`).
    public var ledger: PortfolioLedger
    public var candles: Int
    /// Entries the risk manager refused, with the last reason.
    public var rejectedEntries: Int
    public var lastRejection: String?
    /// Set when the drawdown kill switch fired.
    public var haltReason: String?
    /// The equity curve, its drawdowns and time in the market (for the report's figures and charts).
    public var track: BacktestTrack
}

/// Runs one strategy over history with the same risk manager, paper execution and ledger the
/// engine uses. A signal on a candle's close fills at the next candle's open; stop-loss and
/// take-profit are checked against each later candle's range (a gap through the level fills at
/// the open; when one candle reaches both, the stop-loss is assumed to come first).
public enum Backtester {
    @_specialize(exported: false, kind: full, where S == RSIStrategy)
    @_specialize(exported: false, kind: full, where S == SMACrossStrategy)
    @_specialize(exported: false, kind: full, where S == RSIPullbackStrategy)
    @_specialize(exported: false, kind: full, where S == QuantumOscillatorStrategy)
    @_specialize(exported: false, kind: full, where S == BollingerBreakoutStrategy)
    @_specialize(exported: false, kind: full, where S == MACDStrategy)
    public static func run<S: Strategy>(_ strategy: S, candles: [StrategyCandle], configuration: BacktestConfiguration) -> BacktestResult {
        var run = BacktestRun(strategy: strategy, configuration: configuration)
        run.track = BacktestTrack(candles: candles.count)
        candles.withUnsafeBufferPointer { buffer in
            for candle in buffer { run.step(candle) }
        }
        run.track.finish(first: candles.first, last: candles.last)
        return run.finish(lastClose: candles.last?.close, candles: candles.count)
    }
}

/// The state of one backtest. The per-candle path works in floating point mirrors of the
/// position (for the level checks and the equity curve); every fill goes through the exact ledger.
struct BacktestRun<S: Strategy> {
    enum Pending { case none, enter, exit }

    var strategy: S
    let config: BacktestConfiguration
    var ledger: PortfolioLedger
    var risk: RiskManager
    var atr: ATR?
    var latestATR: Double?
    var curve = EquityCurve()
    var trades: [ClosedTrade] = []
    var rejected = 0
    var lastRejection: String?
    var haltReason: String?
    var pending = Pending.none
    var pendingReason = ""
    var levels = ExitLevels()
    var stopLevel = -Double.infinity
    var profitLevel = Double.infinity
    var cash: Double
    var quantity = 0.0
    var track = BacktestTrack(candles: 0)

    init(strategy: S, configuration: BacktestConfiguration) {
        self.strategy = strategy
        config = configuration
        ledger = PortfolioLedger(startingBalance: configuration.startingBalance)
        risk = RiskManager(settings: configuration.risk, execution: configuration.paper)
        atr = configuration.exits.usesATR ? ATR(period: configuration.exits.atrPeriod) : nil
        cash = configuration.startingBalance.doubleValue
    }

    @inline(__always)
    mutating func step(_ candle: StrategyCandle) {
        if pending != .none { fillPending(at: candle) }
        if quantity > 0 {
            if candle.low <= stopLevel {
                stopOut(candle)
            } else if candle.high >= profitLevel {
                takeProfit(candle)
            }
        }
        if atr != nil { latestATR = atr!.update(high: candle.high, low: candle.low, close: candle.close) }

        let signal = strategy.onCandle(candle)
        if signal.action == .enter, quantity == 0 {
            pending = .enter
        } else if signal.action == .exit, quantity > 0 {
            pending = .exit
            pendingReason = signal.reason
        }
        let equity = cash + quantity * candle.close
        curve.record(equity)
        track.record(equity: equity, time: candle.time, invested: quantity > 0)
        if let reason = risk.observe(equity: equity), haltReason == nil { haltReason = reason }
    }

    func price(_ value: Double) -> Decimal { config.lot.roundPrice(Decimal(value)) }

    mutating func fillPending(at candle: StrategyCandle) {
        let order = pending
        pending = .none
        let open = price(candle.open)
        guard order == .enter else {
            sell(at: open, time: candle.time, reason: pendingReason)
            return
        }
        let key = config.strategyKey
        guard RiskManager.levelsAvailable(rules: config.exits, atr: latestATR) else {
            refuse("the ATR-based exit cannot be placed yet: ATR(\(config.exits.atrPeriod)) is still warming up")
            return
        }
        let decision = risk.decideEntry(
            strategyKey: key, price: open, equity: ledger.cash, cash: ledger.cash, openPositions: ledger.positions.count,
            holdsPosition: ledger.positions[key] != nil, lot: config.lot, now: candle.time)
        switch decision {
        case .enter(let size):
            let fill = config.paper.fill(side: .buy, quantity: size, referencePrice: open, lot: config.lot, at: candle.time)
            do {
                try ledger.apply(fill, side: .buy, strategyKey: key, pair: config.pair)
                levels = RiskManager.exitLevels(entry: fill.price, rules: config.exits, atr: latestATR, lot: config.lot)
                stopLevel = levels.stopLoss?.doubleValue ?? -.infinity
                profitLevel = levels.takeProfit?.doubleValue ?? .infinity
                cash = ledger.cash.doubleValue
                quantity = size.doubleValue
            } catch {
                refuse("\(error)")
            }
        case .reject(let reason):
            refuse(reason)
        }
    }

    mutating func refuse(_ reason: String) {
        rejected += 1
        lastRejection = reason
        strategy.setPosition(open: false)
    }

    mutating func stopOut(_ candle: StrategyCandle) {
        guard let stop = levels.stopLoss else { return }
        sell(at: candle.open < stopLevel ? price(candle.open) : stop, time: candle.time, reason: ExitLevels.Trigger.stopLoss.rawValue)
        risk.recordStopOut(strategyKey: config.strategyKey, at: candle.time, rules: config.exits, intervalMinutes: config.intervalMinutes)
        strategy.setPosition(open: false)
    }

    mutating func takeProfit(_ candle: StrategyCandle) {
        guard let target = levels.takeProfit else { return }
        sell(at: candle.open > profitLevel ? price(candle.open) : target, time: candle.time, reason: ExitLevels.Trigger.takeProfit.rawValue)
        strategy.setPosition(open: false)
    }

    mutating func sell(at reference: Decimal, time: Date, reason: String) {
        guard let position = ledger.positions[config.strategyKey] else { return }
        let fill = config.paper.fill(side: .sell, quantity: position.quantity, referencePrice: reference, lot: config.lot, at: time)
        // A sell of what is held at a positive price cannot be refused by the ledger.
        if let trade = try? ledger.apply(fill, side: .sell, strategyKey: config.strategyKey, pair: config.pair, reason: reason) {
            trades.append(trade)
        }
        cash = ledger.cash.doubleValue
        quantity = 0
        stopLevel = -.infinity
        profitLevel = .infinity
    }

    func finish(lastClose: Double?, candles: Int) -> BacktestResult {
        let marks = lastClose.map { [config.pair: price($0)] } ?? [:]
        let stats = PerformanceStats(
            trades: trades, fees: ledger.fees, curve: curve, intervalMinutes: config.intervalMinutes,
            startingBalance: config.startingBalance, finalEquity: ledger.equity(marks: marks))
        return BacktestResult(
            trades: trades, stats: stats, ledger: ledger, candles: candles, rejectedEntries: rejected,
            lastRejection: lastRejection, haltReason: haltReason, track: track)
    }
}
