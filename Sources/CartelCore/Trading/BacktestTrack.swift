import Foundation

/// What a backtest records beside the ledger, candle by candle, in constant memory per candle
/// count: about 2,000 sampled points of the equity curve (each with the lowest equity since the
/// last point, so the drawdown chart keeps its troughs), time in the market, downside returns
/// (Sortino) and the longest time under a previous peak. Analysis values, so floating point.
public struct BacktestTrack: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var time: Date
        public var equity: Double
        /// The lowest equity since the previous point.
        public var low: Double
        /// The deepest drawdown since the previous point, each against the peak at its time, as a fraction.
        public var drawdown: Double
    }

    public private(set) var points: [Point] = []
    public private(set) var candles = 0
    public private(set) var investedCandles = 0
    public private(set) var peak = 0.0
    public private(set) var firstTime: Date?
    public private(set) var lastTime: Date?
    /// First open and last close of the candles (buy and hold).
    public private(set) var firstOpen: Double?
    public private(set) var lastClose: Double?
    /// Longest stretch from a peak to the time equity first got back to it (or to the end).
    public private(set) var longestDrawdown: TimeInterval = 0
    var downsideSquares = 0.0
    var returns = 0
    var previous = 0.0
    var peakTime: Date?
    var underwater = false
    var stride = 1
    var sinceSample = 0
    var sampleLow = Double.infinity
    var sampleDrawdown = 0.0

    init(candles: Int) {
        stride = max(1, candles / 2_000)
        points.reserveCapacity(candles / stride + 2)
    }

    @inline(__always)
    mutating func record(equity: Double, time: Date, invested: Bool) {
        candles += 1
        if invested { investedCandles += 1 }
        if previous > 0, equity != previous {
            let change = equity / previous - 1
            if change < 0 { downsideSquares += change * change }
        }
        if candles > 1 { returns += 1 }
        previous = equity
        if equity >= peak {
            if underwater, let peakTime { longestDrawdown = max(longestDrawdown, time.timeIntervalSince(peakTime)) }
            underwater = false
            peak = equity
            peakTime = time
        } else {
            underwater = true
        }
        sampleLow = min(sampleLow, equity)
        // Against the peak at the time: a later, higher peak in the same sample must not deepen it.
        if peak > 0 { sampleDrawdown = max(sampleDrawdown, (peak - equity) / peak) }
        sinceSample += 1
        if sinceSample == stride || candles == 1 {
            points.append(Point(time: time, equity: equity, low: sampleLow, drawdown: sampleDrawdown))
            sinceSample = 0
            sampleLow = .infinity
            sampleDrawdown = 0
        }
        if firstTime == nil { firstTime = time }
        lastTime = time
    }

    mutating func finish(first: StrategyCandle?, last: StrategyCandle?) {
        if sinceSample > 0, let lastTime {
            points.append(Point(time: lastTime, equity: previous, low: sampleLow, drawdown: sampleDrawdown))
            sinceSample = 0
        }
        if underwater, let peakTime, let lastTime { longestDrawdown = max(longestDrawdown, lastTime.timeIntervalSince(peakTime)) }
        firstOpen = first?.open
        lastClose = last?.close
    }

    /// Annualised Sortino ratio: mean return over the downside deviation (returns below 0).
    func sortino(meanReturn: Double, periodsPerYear: Double) -> Double? {
        guard returns >= 2, downsideSquares > 0 else { return nil }
        let downside = (downsideSquares / Double(returns)).squareRoot()
        return meanReturn / downside * periodsPerYear.squareRoot()
    }
}

/// The figures of a backtest report, as backtesting.py's summary gives them: return, CAGR,
/// risk-adjusted ratios, drawdown depth and duration, trade quality and time in the market,
/// next to buying and holding over the same candles.
public struct BacktestSummary: Sendable, Equatable, Codable {
    public var start: Date?
    public var end: Date?
    public var totalReturnPercent: Double
    public var buyAndHoldReturnPercent: Double?
    /// Compound annual growth over the span of the candles; nil for a span under a day.
    public var cagrPercent: Double?
    public var sharpe: Double?
    public var sortino: Double?
    /// CAGR over maximum drawdown; nil without a drawdown or a CAGR.
    public var calmar: Double?
    public var maxDrawdownPercent: Double
    /// Seconds from a peak until equity got back to it (or to the end of the test).
    public var maxDrawdownDurationSeconds: Double
    public var winRatePercent: Double?
    public var profitFactor: Double?
    /// Average net P&L per closed trade.
    public var expectancy: Decimal?
    public var bestTradePercent: Double?
    public var worstTradePercent: Double?
    /// Share of candles with a position open.
    public var exposurePercent: Double
    public var peakEquity: Double

    public init(_ result: BacktestResult, intervalMinutes: Int) {
        let stats = result.stats, track = result.track
        let starting = stats.startingBalance.doubleValue, final = stats.finalEquity.doubleValue
        start = track.firstTime
        end = track.lastTime
        totalReturnPercent = starting > 0 ? (final / starting - 1) * 100 : 0
        if let open = track.firstOpen, let close = track.lastClose, open > 0 {
            buyAndHoldReturnPercent = (close / open - 1) * 100
        }
        // The span covers the last candle too.
        let span = (track.lastTime?.timeIntervalSince(track.firstTime ?? .distantPast) ?? 0) + Double(intervalMinutes) * 60
        let years = span / (365.25 * 86_400)
        if span >= 86_400, starting > 0, final > 0 {
            // Nil rather than infinity when a short span compounds beyond a double (JSON has no inf).
            cagrPercent = Self.finite((pow(final / starting, 1 / years) - 1) * 100)
        }
        sharpe = stats.sharpe
        let periodsPerYear = 525_600 / Double(max(intervalMinutes, 1))
        if track.returns >= 2, starting > 0, final > 0 {
            // The mean per-candle log growth, as a simple return: what Sortino's numerator needs.
            let meanReturn = exp(log(final / starting) / Double(track.returns)) - 1
            sortino = track.sortino(meanReturn: meanReturn, periodsPerYear: periodsPerYear).flatMap(Self.finite)
        }
        maxDrawdownPercent = stats.maxDrawdownPercent
        if let cagrPercent, stats.maxDrawdownPercent > 0 { calmar = Self.finite(cagrPercent / stats.maxDrawdownPercent) }
        maxDrawdownDurationSeconds = track.longestDrawdown
        winRatePercent = stats.winRatePercent
        profitFactor = stats.profitFactor
        if !result.trades.isEmpty {
            expectancy = (stats.totalPnL / Decimal(result.trades.count)).rounded(8, .plain)
            let percents = result.trades.map { trade -> Double in
                let cost = (trade.entryPrice * trade.quantity + trade.entryFee).doubleValue
                return cost > 0 ? trade.netPnL.doubleValue / cost * 100 : 0
            }
            bestTradePercent = percents.max()
            worstTradePercent = percents.min()
        }
        exposurePercent = track.candles > 0 ? Double(track.investedCandles) / Double(track.candles) * 100 : 0
        peakEquity = track.peak
    }

    static func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
}
