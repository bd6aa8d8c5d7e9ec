import ArgumentParser
import Foundation

/// Options and work of `trading-engine backtest`: one strategy over candles from a CSV file or
/// from the database, through the same risk manager, paper execution and ledger as the engine.
/// The account, fee, slippage, stake and exit settings come from the environment like the
/// engine's (`PAPER_STARTING_BALANCE`, `TAKER_FEE_PERCENT`, `STOP_LOSS_PERCENT`, ...).
public struct BacktestOptions: ParsableArguments {
    @Option(help: "OHLCV CSV: header naming time (or date), open, high, low, close, volume.")
    public var csv: String?

    @Option(help: "Pair: candles come from the database (with --interval); with --csv, only a label.")
    public var pair: String?

    @Option(help: "Candle interval in minutes (required with --pair; with --csv, inferred when omitted).")
    public var interval: Int?

    @Option(help: "First candle time to use (Unix seconds or ISO 8601 date or date-time).")
    public var from: String?

    @Option(help: "Last candle time to use (Unix seconds or ISO 8601 date or date-time).")
    public var to: String?

    @Option(help: "Strategy: \(StrategyCatalog.kinds.joined(separator: ", ")).")
    public var strategy: String

    @Option(name: .customLong("param"), help: "name=value for the strategy or its exits (stop_loss, take_profit, stop_loss_atr, take_profit_atr, cooldown); repeatable.")
    public var parameters: [String] = []

    @Flag(help: "Print JSON (trades and stats) instead of text.")
    public var json = false

    @Option(name: .customLong("trades"), help: "Trades listed in the text report: the last N (default 50), or 'all'.")
    public var tradesShown = "50"

    public init() {}

    public func validate() throws {
        if (csv == nil) == (pair == nil && interval == nil) || (csv == nil && (pair == nil || interval == nil)) {
            throw ValidationError("give either --csv FILE or --pair PAIR --interval MINUTES")
        }
        if let interval, interval <= 0 { throw ValidationError("--interval must be a positive number of minutes") }
        _ = try tradeLimit()
    }

    /// `--trades`: nil for all.
    func tradeLimit() throws -> Int? {
        if tradesShown.lowercased() == "all" { return nil }
        guard let count = Int(tradesShown), count >= 0 else {
            throw ValidationError("--trades must be a number of trades (0 or more) or 'all', not '\(tradesShown)'")
        }
        return count
    }

    public func run(settings: Settings = .environment()) async throws {
        let trading: TradingConfiguration
        do {
            trading = try TradingConfiguration(settings: settings)
        } catch let error as ConfigurationError {
            throw ValidationError("\(error)")
        }
        let (candles, pairName, minutes) = try await loadCandles(settings: settings)
        let parameters: [String: Double]
        let result: BacktestResult
        do {
            parameters = try StrategyCatalog.parseParameters(self.parameters, strategy: strategy)
            let configuration = BacktestConfiguration(
                strategyKey: strategy, pair: pairName, intervalMinutes: minutes, startingBalance: trading.startingBalance,
                risk: trading.risk, exits: trading.exits, paper: trading.paper)
            result = try Backtester.run(kind: strategy, parameters: parameters, candles: candles, configuration: configuration)
        } catch let error as StrategyParameter.Invalid {
            throw ValidationError("\(error)")
        }
        let report = BacktestReport(strategy: strategy, parameters: parameters, pair: pairName, intervalMinutes: minutes, result: result)
        if json {
            try report.writeJSON { FileHandle.standardOutput.write(Data($0.utf8)) }
        } else {
            print(report.text(tradeLimit: try tradeLimit()), terminator: "")
        }
    }

    /// The candles to test on, oldest first, within `--from`/`--to`, with the pair's name and
    /// the interval (given, or inferred from a CSV's spacing).
    func loadCandles(settings: Settings) async throws -> ([StrategyCandle], String, Int) {
        let start = try from.map { try Self.time($0, option: "--from") }
        let end = try to.map { try Self.time($0, option: "--to") }
        var candles: [StrategyCandle]
        let pairName: String
        var minutes: Int
        if let csv {
            pairName = pair ?? "CSV"
            do {
                candles = try CandleCSV.readForAnalysis(path: csv)
            } catch {
                throw ValidationError("\(csv): \(error)")
            }
            // Files are almost always in time order: check in one pass, sort only when needed.
            if !zip(candles, candles.dropFirst()).allSatisfy({ $0.time <= $1.time }) {
                candles.sort { $0.time < $1.time }
            }
            if let start { candles.removeAll { $0.time < start } }
            if let end { candles.removeAll { $0.time > end } }
            minutes = interval ?? Self.inferredInterval(candles)
        } else {
            pairName = pair!.uppercased()
            minutes = interval!
            let configuration: ServiceConfiguration
            do {
                configuration = try ServiceConfiguration(service: .tradingEngine, settings: settings)
            } catch let error as ConfigurationError {
                throw ValidationError("\(error)")
            }
            // Final candles only: the unfinished last one is still changing.
            candles = try await SQLiteStorage(location: configuration.database)
                .closedAnalysisCandles(pair: pairName, intervalMinutes: minutes, from: start, to: end)
        }
        guard candles.count >= 2 else {
            throw ValidationError("only \(candles.count) candle(s) to test on\(csv == nil ? " for \(pairName) at \(minutes) min in the database" : "")")
        }
        return (candles, pairName, minutes)
    }

    static func time(_ text: String, option: String) throws -> Date {
        guard let date = CandleCSV.parseTime(text) else {
            throw ValidationError("\(option) '\(text)' is not Unix seconds or an ISO 8601 date or date-time")
        }
        return date
    }

    /// The most common spacing between consecutive candles, in whole minutes (at least 1).
    static func inferredInterval(_ candles: [StrategyCandle]) -> Int {
        var counts: [Int: Int] = [:]
        // Runs of equal spacing are counted at once: one dictionary update per gap, not per candle.
        var run = (minutes: 0, count: 0)
        for (previous, next) in zip(candles, candles.dropFirst()) {
            let minutes = Int((next.time.timeIntervalSince(previous.time) / 60).rounded())
            if minutes == run.minutes {
                run.count += 1
                continue
            }
            if run.minutes > 0 { counts[run.minutes, default: 0] += run.count }
            run = (minutes, 1)
        }
        if run.minutes > 0 { counts[run.minutes, default: 0] += run.count }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 1
    }
}

/// What `backtest` prints.
public struct BacktestReport: Encodable {
    public struct Trade: Encodable {
        public var entryTime: String
        public var exitTime: String
        public var entryPrice: Decimal
        public var exitPrice: Decimal
        public var quantity: Decimal
        public var fees: Decimal
        public var pnl: Decimal
        public var exitReason: String
    }

    public struct OpenPosition: Encodable {
        public var entryTime: String
        public var quantity: Decimal
        public var averagePrice: Decimal
    }

    public var strategy: String
    public var parameters: [String: Double]
    public var pair: String
    public var intervalMinutes: Int
    public var candles: Int
    public var trades: [Trade]
    public var stats: PerformanceStats
    public var openPosition: OpenPosition?
    public var rejectedEntries: Int
    public var lastRejection: String?
    public var haltReason: String?

    public init(strategy: String, parameters: [String: Double], pair: String, intervalMinutes: Int, result: BacktestResult) {
        self.strategy = strategy
        self.parameters = parameters
        self.pair = pair
        self.intervalMinutes = intervalMinutes
        candles = result.candles
        trades = result.trades.map {
            Trade(
                entryTime: UTCTime.iso8601($0.entryTime, fractional: false), exitTime: UTCTime.iso8601($0.exitTime, fractional: false),
                entryPrice: $0.entryPrice, exitPrice: $0.exitPrice, quantity: $0.quantity, fees: $0.entryFee + $0.exitFee,
                pnl: $0.netPnL, exitReason: $0.exitReason)
        }
        stats = result.stats
        openPosition = result.ledger.positions.values.first.map {
            OpenPosition(entryTime: UTCTime.iso8601($0.openedAt, fractional: false), quantity: $0.quantity, averagePrice: $0.averagePrice)
        }
        rejectedEntries = result.rejectedEntries
        lastRejection = result.lastRejection
        haltReason = result.haltReason
    }

    /// The same JSON as ``json()`` without its indentation, written in pieces of about 64 KiB:
    /// the figures first, then one trade at a time, so a run with many trades never holds its
    /// whole text (`backtest --json`).
    public func writeJSON(_ write: (String) -> Void) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var head = self
        head.trades = []
        var buffer = String(decoding: try encoder.encode(head), as: UTF8.self)
        // Sorted, "trades" is the last key: the head ends `"trades":[]}`.
        guard buffer.hasSuffix("\"trades\":[]}") else {
            write(try json())
            return
        }
        buffer.removeLast(2)
        for (index, trade) in trades.enumerated() {
            if index > 0 { buffer += "," }
            buffer += String(decoding: try encoder.encode(trade), as: UTF8.self)
            if buffer.utf8.count >= 65_536 {
                write(buffer)
                buffer = ""
            }
        }
        write(buffer + "]}\n")
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// The report as text; the trade list shows the last `tradeLimit` trades (nil: all of them),
    /// so a run with a million candles does not print a million lines.
    public func text(tradeLimit: Int? = 50) -> String {
        var lines = ["backtest \(strategy) on \(pair) \(intervalMinutes)m: \(candles) candles, \(trades.count) closed trades"]
        if !parameters.isEmpty {
            lines.append("parameters: " + parameters.keys.sorted().map { "\($0)=\(Self.number(parameters[$0]!))" }.joined(separator: " "))
        }
        let shown = tradeLimit.map { Array(trades.suffix($0)) } ?? trades
        if shown.count < trades.count {
            lines.append("the last \(shown.count) of \(trades.count) trades (--trades N or --trades all for more):")
        }
        if !shown.isEmpty {
            lines.append("entry time            exit time             entry price     exit price      quantity        fees        P&L         exit")
            for trade in shown {
                lines.append([
                    Self.pad(trade.entryTime, 21), Self.pad(trade.exitTime, 21), Self.pad("\(trade.entryPrice)", 15),
                    Self.pad("\(trade.exitPrice)", 15), Self.pad("\(trade.quantity)", 15), Self.pad("\(trade.fees.rounded(4, .plain))", 11),
                    Self.pad("\(trade.pnl.rounded(4, .plain))", 11), trade.exitReason,
                ].joined(separator: " "))
            }
        }
        if let openPosition {
            lines.append("still open: \(openPosition.quantity) since \(openPosition.entryTime) at \(openPosition.averagePrice.rounded(8, .plain))")
        }
        let s = stats
        lines.append("trades \(s.trades)  wins \(s.wins)  losses \(s.losses)  win rate \(s.winRatePercent.map { Self.number($0) + "%" } ?? "-")")
        lines.append("total P&L \(s.totalPnL.rounded(2, .plain))  fees \(s.fees.rounded(2, .plain))  average win \(s.averageWin.map { "\($0.rounded(2, .plain))" } ?? "-")  average loss \(s.averageLoss.map { "\($0.rounded(2, .plain))" } ?? "-")")
        lines.append("profit factor \(s.profitFactor.map(Self.number) ?? "-")  max drawdown \(Self.number(s.maxDrawdownPercent))%  Sharpe \(s.sharpe.map(Self.number) ?? "-")")
        lines.append("equity \(s.startingBalance) -> \(s.finalEquity.rounded(2, .plain))")
        if rejectedEntries > 0 { lines.append("entries refused by risk: \(rejectedEntries) (last: \(lastRejection ?? ""))") }
        if let haltReason { lines.append(haltReason) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double) -> String { NumberText.hundredths(value) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
