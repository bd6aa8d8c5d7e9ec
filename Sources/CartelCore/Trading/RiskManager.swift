import Foundation

/// Account-wide risk limits: `STAKE_PERCENT` / `STAKE_AMOUNT`, `MAX_OPEN_POSITIONS`,
/// `MAX_DRAWDOWN_PERCENT`.
public struct RiskSettings: Sendable, Equatable {
    public enum Stake: Sendable, Equatable {
        /// This percent of current equity per trade.
        case percentOfEquity(Decimal)
        /// This much quote currency per trade.
        case fixed(Decimal)
    }

    public var stake: Stake
    public var maxOpenPositions: Int
    /// Peak-to-now equity fall, in percent, at which new entries stop.
    public var maxDrawdownPercent: Double

    public init(stake: Stake = .percentOfEquity(10), maxOpenPositions: Int = 3, maxDrawdownPercent: Double = 20) {
        self.stake = stake
        self.maxOpenPositions = maxOpenPositions
        self.maxDrawdownPercent = maxDrawdownPercent
    }
}

/// How one strategy instance's positions are closed besides its own exit signals.
public struct ExitRules: Sendable, Equatable {
    public enum Level: Sendable, Equatable {
        case none
        /// This percent away from the entry price.
        case percent(Decimal)
        /// This many ATRs (Wilder, ``atrPeriod``) away from the entry price.
        case atr(Double)
    }

    public var stopLoss: Level
    public var takeProfit: Level
    /// After a stop-loss exit, no new entry for this many candles of the strategy's interval.
    public var cooldownCandles: Int
    public var atrPeriod: Int

    public init(stopLoss: Level = .percent(5), takeProfit: Level = .percent(10), cooldownCandles: Int = 3, atrPeriod: Int = 14) {
        self.stopLoss = stopLoss
        self.takeProfit = takeProfit
        self.cooldownCandles = cooldownCandles
        self.atrPeriod = atrPeriod
    }

    /// Names of the per-strategy settings that sit beside a strategy's own parameters
    /// (`stop_loss=3` percent, `stop_loss_atr=2`, `take_profit=6`, `take_profit_atr=4`, `cooldown=5`).
    public static let parameterNames: Set<String> = ["stop_loss", "stop_loss_atr", "take_profit", "take_profit_atr", "cooldown"]

    /// These rules with any per-strategy settings from `parameters` applied (0 turns a level off).
    public func overridden(by parameters: [String: Double], strategy: String) throws -> ExitRules {
        var rules = self
        func check(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
            guard let value = parameters[name] else { return nil }
            guard value.isFinite, value == 0 || range.contains(value) else {
                throw StrategyParameter.Invalid(strategy: strategy, message: "\(name)=\(value) is outside \(range.lowerBound)...\(range.upperBound) (0 turns it off)")
            }
            return value
        }
        if parameters["stop_loss"] != nil, parameters["stop_loss_atr"] != nil {
            throw StrategyParameter.Invalid(strategy: strategy, message: "set stop_loss or stop_loss_atr, not both")
        }
        if parameters["take_profit"] != nil, parameters["take_profit_atr"] != nil {
            throw StrategyParameter.Invalid(strategy: strategy, message: "set take_profit or take_profit_atr, not both")
        }
        if let value = try check("stop_loss", 0.1...90) { rules.stopLoss = value == 0 ? .none : .percent(Decimal(string: "\(value)")!) }
        if let value = try check("stop_loss_atr", 0.1...50) { rules.stopLoss = value == 0 ? .none : .atr(value) }
        if let value = try check("take_profit", 0.1...1000) { rules.takeProfit = value == 0 ? .none : .percent(Decimal(string: "\(value)")!) }
        if let value = try check("take_profit_atr", 0.1...100) { rules.takeProfit = value == 0 ? .none : .atr(value) }
        if let value = try check("cooldown", 1...10_000) {
            guard value == value.rounded() else {
                throw StrategyParameter.Invalid(strategy: strategy, message: "cooldown=\(value) must be a whole number of candles")
            }
            rules.cooldownCandles = Int(value)
        }
        return rules
    }

    public var usesATR: Bool {
        if case .atr = stopLoss { return true }
        if case .atr = takeProfit { return true }
        return false
    }
}

/// Stop-loss and take-profit levels of one open position.
public struct ExitLevels: Sendable, Equatable {
    public var stopLoss: Decimal?
    public var takeProfit: Decimal?

    public init(stopLoss: Decimal? = nil, takeProfit: Decimal? = nil) {
        self.stopLoss = stopLoss
        self.takeProfit = takeProfit
    }

    public enum Trigger: String, Sendable, Equatable {
        case stopLoss = "stop-loss"
        case takeProfit = "take-profit"
    }

    /// Which level `price` has reached, if any (stop-loss first: the cautious reading).
    public func trigger(at price: Decimal) -> Trigger? {
        if let stopLoss, price <= stopLoss { return .stopLoss }
        if let takeProfit, price >= takeProfit { return .takeProfit }
        return nil
    }
}

/// Decides whether an entry may happen and how big it is; watches equity for the drawdown kill
/// switch and stop-outs for cooldowns. A pure value: the engine and the backtester own one each.
public struct RiskManager: Sendable {
    public enum EntryDecision: Sendable, Equatable {
        case enter(quantity: Decimal)
        case reject(String)
    }

    public let settings: RiskSettings
    /// How a buy is priced (slippage, fee, rounding): an entry is sized so that its full cost
    /// fits the cash. For live orders it is the configured estimate of Kraken's costs.
    public let execution: PaperExecution
    public private(set) var peakEquity: Double = 0
    /// Equity at or below which the kill switch fires (updated with each new peak).
    private var haltBelow = -Double.infinity
    /// Why entries are halted, once the kill switch has fired.
    public private(set) var haltReason: String?
    /// The end of each strategy's cooldown after a stop-loss (stored, so restarts keep them).
    public private(set) var cooldownUntil: [String: Date] = [:]

    /// The stake as a fraction, computed once.
    private let stakeFraction: Decimal?

    public init(settings: RiskSettings, execution: PaperExecution = PaperExecution(slippageBasisPoints: 0, feePercent: 0)) {
        self.settings = settings
        self.execution = execution
        if case .percentOfEquity(let percent) = settings.stake {
            stakeFraction = percent * Decimal.hundredth
        } else {
            stakeFraction = nil
        }
    }

    /// Records the account's equity (every candle). Returns the halt message the first time the
    /// drawdown reaches `MAX_DRAWDOWN_PERCENT`. Drawdown is a ratio for a threshold, so it is
    /// computed in floating point; the money itself stays exact in the ledger.
    @inline(__always)
    public mutating func observe(equity: Double) -> String? {
        if equity > peakEquity {
            peakEquity = equity
            haltBelow = equity * (1 - settings.maxDrawdownPercent / 100)
            return nil
        }
        guard equity <= haltBelow, haltReason == nil, peakEquity > 0 else { return nil }
        return halt(equity: equity)
    }

    private mutating func halt(equity: Double) -> String? {
        let drawdown = (peakEquity - equity) / peakEquity * 100
        guard drawdown >= settings.maxDrawdownPercent else { return nil }
        let reason = "drawdown kill switch: equity \(NumberText.hundredths(equity)) is \(NumberText.hundredths(drawdown))% below its peak \(NumberText.hundredths(peakEquity)) (MAX_DRAWDOWN_PERCENT=\(NumberText.hundredths(settings.maxDrawdownPercent))); no new entries"
        haltReason = reason
        return reason
    }

    /// Records a stop-loss exit: the strategy may not enter again until `cooldownCandles`
    /// candles of `intervalMinutes` have passed. Returns the end of the cooldown, if any.
    @discardableResult
    public mutating func recordStopOut(strategyKey: String, at time: Date, rules: ExitRules, intervalMinutes: Int) -> Date? {
        guard rules.cooldownCandles > 0 else { return nil }
        let until = time.addingTimeInterval(Double(rules.cooldownCandles * intervalMinutes * 60))
        cooldownUntil[strategyKey] = until
        return until
    }

    /// Restores a cooldown recorded before a restart.
    public mutating func restoreCooldown(strategyKey: String, until: Date) {
        cooldownUntil[strategyKey] = max(cooldownUntil[strategyKey] ?? until, until)
    }

    /// Whether `strategyKey` may enter at `price` now, and with what quantity.
    public func decideEntry(
        strategyKey: String, price: Decimal, equity: Decimal, cash: Decimal, openPositions: Int, holdsPosition: Bool,
        lot: LotRules, now: Date
    ) -> EntryDecision {
        if let haltReason { return .reject(haltReason) }
        if holdsPosition { return .reject("already holds a position") }
        if openPositions >= settings.maxOpenPositions {
            return .reject("\(openPositions) positions open, MAX_OPEN_POSITIONS is \(settings.maxOpenPositions)")
        }
        if let until = cooldownUntil[strategyKey], now < until {
            return .reject("cooling down after a stop-loss until \(UTCTime.iso8601(until, fractional: false))")
        }
        guard price > 0 else { return .reject("no valid price") }
        let wanted: Decimal = switch settings.stake {
        case .percentOfEquity: equity * stakeFraction!
        case .fixed(let amount): amount
        }
        var quantity = lot.roundQuantity(wanted / price)
        if execution.buyCost(quantity: quantity, referencePrice: price, lot: lot) > cash {
            quantity = affordableQuantity(cash: cash, price: price, lot: lot)
        }
        guard quantity > 0, quantity >= lot.minimumQuantity else {
            return .reject("stake \(min(wanted, cash).rounded(2, .down)) buys \(quantity), below the pair's minimum order \(lot.minimumQuantity)")
        }
        return .enter(quantity: quantity)
    }

    /// The largest lot-rounded quantity whose whole cost — the slipped price rounded up, times
    /// the quantity, plus the fee rounded up — fits `cash`.
    func affordableQuantity(cash: Decimal, price: Decimal, lot: LotRules) -> Decimal {
        guard cash > 0 else { return 0 }
        let unit = execution.buyPrice(price, lot: lot) * (1 + execution.feeFraction)
        var quantity = lot.roundQuantity(cash / unit)
        // The estimate ignores the fee's rounding up: step down until it really fits (one or two steps).
        while quantity > 0, execution.buyCost(quantity: quantity, referencePrice: price, lot: lot) > cash {
            quantity -= lot.quantityStep
        }
        return max(quantity, 0)
    }

    /// Whether the rules can place their levels now: an ATR-based level needs a warm ATR. An
    /// entry whose configured stop cannot be computed is not taken.
    public static func levelsAvailable(rules: ExitRules, atr: Double?) -> Bool {
        !rules.usesATR || (atr?.isFinite ?? false)
    }

    /// Stop-loss and take-profit levels for an entry filled at `price`; `atr` is the latest ATR
    /// when the rules use it (nil while it warms up, which leaves that level unset).
    public static func exitLevels(entry price: Decimal, rules: ExitRules, atr: Double?, lot: LotRules) -> ExitLevels {
        func level(_ rule: ExitRules.Level, below: Bool) -> Decimal? {
            switch rule {
            case .none: return nil
            case .percent(let percent):
                let fraction = percent * Decimal.hundredth
                let factor = below ? 1 - fraction : 1 + fraction
                return lot.roundPrice(price * factor)
            case .atr(let multiple):
                guard let atr, atr.isFinite else { return nil }
                let distance = Decimal(multiple * atr)
                let level = lot.roundPrice(below ? price - distance : price + distance)
                // A stop at or below zero never triggers: no level rather than a false one.
                return level > 0 ? level : nil
            }
        }
        return ExitLevels(stopLoss: level(rules.stopLoss, below: true), takeProfit: level(rules.takeProfit, below: false))
    }

}
