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
}

/// Runs one strategy over history with the same risk manager, paper execution and ledger the
/// engine uses. A signal on a candle's close fills at the next candle's open; stop-loss and
/// take-profit are checked against each later candle's range (a gap through the level fills at
/// the open; when one candle reaches both, the stop-loss is assumed to come first).
public enum Backtester {
    enum PendingOrder { case enter, exit(String) }

    public static func run<S: Strategy>(_ strategy: S, candles: [StrategyCandle], configuration config: BacktestConfiguration) -> BacktestResult {
        var strategy = strategy
        var ledger = PortfolioLedger(startingBalance: config.startingBalance)
        var risk = RiskManager(settings: config.risk, costMargin: config.paper.costMargin)
        var atr = config.exits.usesATR ? ATR(period: config.exits.atrPeriod) : nil
        var latestATR: Double?
        var curve = EquityCurve()
        var trades: [ClosedTrade] = []
        var rejected = 0
        var lastRejection: String?
        var haltReason: String?

        var pending: PendingOrder?
        var levels = ExitLevels()
        // Floating-point mirrors for the per-candle checks; the ledger holds the exact values.
        var stopLevel = -Double.infinity
        var profitLevel = Double.infinity
        var cash = config.startingBalance.doubleValue
        var quantity = 0.0
        let key = config.strategyKey

        func price(_ value: Double) -> Decimal { config.lot.roundPrice(Decimal(value)) }

        func sell(at reference: Decimal, time: Date, reason: String) {
            guard let position = ledger.positions[key] else { return }
            let fill = config.paper.fill(side: .sell, quantity: position.quantity, referencePrice: reference, lot: config.lot, at: time)
            // A sell of what is held at a positive price cannot be refused by the ledger.
            if let trade = try? ledger.apply(fill, side: .sell, strategyKey: key, pair: config.pair, reason: reason) {
                trades.append(trade)
            }
            cash = ledger.cash.doubleValue
            quantity = 0
            stopLevel = -.infinity
            profitLevel = .infinity
        }

        for candle in candles {
            if let order = pending {
                pending = nil
                let open = price(candle.open)
                switch order {
                case .enter:
                    let equity = ledger.cash + (ledger.positions.isEmpty ? 0 : ledger.positionsValue(marks: [config.pair: open]))
                    let decision = risk.decideEntry(
                        strategyKey: key, price: open, equity: equity, cash: ledger.cash, openPositions: ledger.positions.count,
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
                            rejected += 1
                            lastRejection = "\(error)"
                            strategy.setPosition(open: false)
                        }
                    case .reject(let reason):
                        rejected += 1
                        lastRejection = reason
                        strategy.setPosition(open: false)
                    }
                case .exit(let reason):
                    sell(at: open, time: candle.time, reason: reason)
                }
            }

            if quantity > 0 {
                if candle.low <= stopLevel, let stop = levels.stopLoss {
                    sell(at: candle.open < stopLevel ? price(candle.open) : stop, time: candle.time, reason: ExitLevels.Trigger.stopLoss.rawValue)
                    risk.recordStopOut(strategyKey: key, at: candle.time, rules: config.exits, intervalMinutes: config.intervalMinutes)
                    strategy.setPosition(open: false)
                } else if candle.high >= profitLevel, let target = levels.takeProfit {
                    sell(at: candle.open > profitLevel ? price(candle.open) : target, time: candle.time, reason: ExitLevels.Trigger.takeProfit.rawValue)
                    strategy.setPosition(open: false)
                }
            }

            if atr != nil { latestATR = atr!.update(high: candle.high, low: candle.low, close: candle.close) }

            let signal = strategy.onCandle(candle)
            switch signal.action {
            case .enter where quantity == 0: pending = .enter
            case .exit where quantity > 0: pending = .exit(signal.reason)
            default: break
            }

            let equity = cash + quantity * candle.close
            curve.record(equity)
            if haltReason == nil, let reason = risk.observe(equity: equity) { haltReason = reason }
        }

        let lastClose = candles.last.map { price($0.close) }
        let marks = lastClose.map { [config.pair: $0] } ?? [:]
        let stats = PerformanceStats(
            trades: trades, fees: ledger.fees, curve: curve, intervalMinutes: config.intervalMinutes,
            startingBalance: config.startingBalance, finalEquity: ledger.equity(marks: marks))
        return BacktestResult(
            trades: trades, stats: stats, ledger: ledger, candles: candles.count, rejectedEntries: rejected,
            lastRejection: lastRejection, haltReason: haltReason)
    }
}
