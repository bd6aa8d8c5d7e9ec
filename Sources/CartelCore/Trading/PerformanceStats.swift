import Foundation

/// Running statistics of an equity curve: peak, worst drawdown, and the per-period returns that
/// the Sharpe ratio is built from. Analysis values, so floating point.
public struct EquityCurve: Sendable, Equatable {
    public private(set) var peak: Double = 0
    /// Worst peak-to-trough fall so far, as a fraction (0.25 = 25 %).
    public private(set) var maxDrawdown: Double = 0
    public private(set) var count = 0
    private var previous: Double = 0
    private var returnSum: Double = 0
    private var returnSquares: Double = 0

    public init() {}

    @inline(__always)
    public mutating func record(_ equity: Double) {
        if count > 0, previous > 0, equity != previous {
            let change = equity / previous - 1
            returnSum += change
            returnSquares += change * change
        }
        previous = equity
        count += 1
        if equity > peak {
            peak = equity
        } else if peak > 0 {
            let drawdown = (peak - equity) / peak
            if drawdown > maxDrawdown { maxDrawdown = drawdown }
        }
    }

    /// Annualised Sharpe ratio of the per-period returns (risk-free rate 0): mean / sample
    /// standard deviation × √(periods per year). Nil with fewer than two returns or no variation.
    public func sharpe(periodsPerYear: Double) -> Double? {
        let n = Double(count - 1)
        guard n >= 2 else { return nil }
        let mean = returnSum / n
        let variance = (returnSquares - n * mean * mean) / (n - 1)
        guard variance > 1e-18 else { return nil }
        return mean / variance.squareRoot() * periodsPerYear.squareRoot()
    }
}

/// What a strategy achieved: counts and money exact, ratios in floating point.
public struct PerformanceStats: Sendable, Equatable, Codable {
    public var trades: Int
    public var wins: Int
    public var losses: Int
    /// Winning trades (net of fees) as a percentage of all closed trades; nil without trades.
    public var winRatePercent: Double?
    /// Net P&L of the closed trades (after fees).
    public var totalPnL: Decimal
    public var fees: Decimal
    public var averageWin: Decimal?
    public var averageLoss: Decimal?
    /// Gross winnings ÷ gross losses (net of fees); nil when nothing was lost.
    public var profitFactor: Double?
    public var maxDrawdownPercent: Double
    /// Annualised, from per-candle equity returns; nil when it cannot be computed.
    public var sharpe: Double?
    public var startingBalance: Decimal
    public var finalEquity: Decimal

    public init(trades closed: [ClosedTrade], fees: Decimal, curve: EquityCurve, intervalMinutes: Int,
                startingBalance: Decimal, finalEquity: Decimal) {
        let winners = closed.filter { $0.netPnL > 0 }
        let losers = closed.filter { $0.netPnL <= 0 }
        let won = winners.reduce(Decimal(0)) { $0 + $1.netPnL }
        let lost = losers.reduce(Decimal(0)) { $0 + $1.netPnL }
        trades = closed.count
        wins = winners.count
        losses = losers.count
        winRatePercent = closed.isEmpty ? nil : Double(winners.count) / Double(closed.count) * 100
        totalPnL = won + lost
        self.fees = fees
        averageWin = winners.isEmpty ? nil : (won / Decimal(winners.count)).rounded(8, .plain)
        averageLoss = losers.isEmpty ? nil : (lost / Decimal(losers.count)).rounded(8, .plain)
        profitFactor = lost < 0 ? won.doubleValue / -lost.doubleValue : nil
        maxDrawdownPercent = curve.maxDrawdown * 100
        sharpe = curve.sharpe(periodsPerYear: 525_600 / Double(max(intervalMinutes, 1)))
        self.startingBalance = startingBalance
        self.finalEquity = finalEquity
    }
}

extension PerformanceStats {
    /// Statistics of a live strategy from its closed trades: its equity curve is the starting
    /// balance plus its cumulative net P&L after each trade, and Sharpe is annualised by how
    /// often it trades (per-trade returns × √(trades per year)).
    public init(closedTrades trades: [ClosedTrade], startingBalance: Decimal) {
        var curve = EquityCurve()
        var equity = startingBalance
        curve.record(equity.doubleValue)
        for trade in trades {
            equity += trade.netPnL
            curve.record(equity.doubleValue)
        }
        var minutesPerTrade = 525_600
        if let first = trades.first, let last = trades.last, trades.count > 1 {
            let span = last.exitTime.timeIntervalSince(first.entryTime) / 60
            minutesPerTrade = max(1, Int(span / Double(trades.count)))
        }
        self.init(
            trades: trades, fees: trades.reduce(0) { $0 + $1.entryFee + $1.exitFee }, curve: curve, intervalMinutes: minutesPerTrade,
            startingBalance: startingBalance, finalEquity: equity)
    }
}

extension PerformanceStats {
    /// The capital a strategy put at risk: the most one of its trades cost, entry fee included
    /// (1 when it has none, so that an empty curve stays defined).
    public static func capitalUsed(by trades: [ClosedTrade]) -> Decimal {
        trades.map { $0.entryPrice * $0.quantity + $0.entryFee }.max() ?? 1
    }
}

/// Numbers for people to read (not money).
public enum NumberText {
    /// `value` rounded to two decimal places: `12.35`, `-3.6`, `20.0`.
    public static func hundredths(_ value: Double) -> String {
        guard value.isFinite else { return value.description }
        return ((value * 100).rounded() / 100).description
    }

    /// A parameter value as written: whole numbers without `.0` (`14`, `0.5`, `2.25`).
    public static func plain(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : value.description
    }
}
