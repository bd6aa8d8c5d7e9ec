import ArgumentParser
import Foundation

/// Options and work of `trading-engine backtest`: one strategy over candles from a CSV file or
/// from the database, through the same risk manager, paper execution and ledger as the engine.
/// The account, fee, slippage, stake and exit settings come from the environment like the
/// engine's (`PAPER_STARTING_BALANCE`, `TAKER_FEE_PERCENT`, `STOP_LOSS_PERCENT`, ...).
public struct BacktestOptions: ParsableArguments {
    @OptionGroup public var source: CandleSourceOptions

    @Option(help: "Strategy: \(StrategyCatalog.kinds.joined(separator: ", ")).")
    public var strategy: String

    @Option(name: .customLong("param"), help: "name=value for the strategy or its exits (stop_loss, take_profit, stop_loss_atr, take_profit_atr, cooldown); repeatable.")
    public var parameters: [String] = []

    @Flag(help: "Print JSON (trades and stats) instead of text.")
    public var json = false

    @Option(name: .customLong("trades"), help: "Trades listed in the text report: the last N (default 50), or 'all'.")
    public var tradesShown = "50"

    @Option(help: "Also write a self-contained HTML report (charts, statistics, every trade) to this file.")
    public var html: String?

    @Option(name: .customLong("trades-csv"), help: "Also write every closed trade as CSV to this file.")
    public var tradesCSV: String?

    public init() {}

    public func validate() throws {
        _ = try tradeLimit()
    }

    static func write(_ text: String, to path: String) throws {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("cannot write \(path): \(error.localizedDescription)")
        }
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
        let trading = try TradingConfiguration.forCommand(settings)
        let (candles, pairName, minutes) = try await source.load(settings: settings)
        let parameters: [String: Double]
        let result: BacktestResult
        do {
            parameters = try StrategyCatalog.parseParameters(self.parameters, strategy: strategy)
            let configuration = BacktestConfiguration(trading: trading, strategy: strategy, pair: pairName, intervalMinutes: minutes)
            result = try Backtester.run(kind: strategy, parameters: parameters, candles: candles, configuration: configuration)
        } catch let error as StrategyParameter.Invalid {
            throw ValidationError("\(error)")
        }
        let report = BacktestReport(strategy: strategy, parameters: parameters, pair: pairName, intervalMinutes: minutes, result: result)
        if let html {
            let page = BacktestHTML.page(report: report, result: result, summary: report.summary, candles: candles, generatedAt: Date())
            try Self.write(page, to: html)
        }
        if let tradesCSV { try Self.write(report.tradesCSV(), to: tradesCSV) }
        if json {
            try report.writeJSON { FileHandle.standardOutput.write(Data($0.utf8)) }
        } else {
            print(report.text(tradeLimit: try tradeLimit()), terminator: "")
        }
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
    public var summary: BacktestSummary
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
        summary = BacktestSummary(result, intervalMinutes: intervalMinutes)
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

    /// Every closed trade as CSV (RFC 4180 quoting for the exit reason).
    public func tradesCSV() -> String {
        var text = "entry_time,exit_time,entry_price,exit_price,quantity,fees,pnl,exit_reason\n"
        for trade in trades {
            let reason = trade.exitReason.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline })
                ? "\"" + trade.exitReason.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : trade.exitReason
            text += "\(trade.entryTime),\(trade.exitTime),\(trade.entryPrice),\(trade.exitPrice),\(trade.quantity),\(trade.fees),\(trade.pnl),\(reason)\n"
        }
        return text
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
        let m = summary
        func percent(_ value: Double?) -> String { value.map { Self.number($0) + "%" } ?? "-" }
        lines.append("return \(percent(m.totalReturnPercent))  buy and hold \(percent(m.buyAndHoldReturnPercent))  CAGR \(percent(m.cagrPercent))  Sortino \(m.sortino.map(Self.number) ?? "-")  Calmar \(m.calmar.map(Self.number) ?? "-")")
        lines.append("longest drawdown \(BacktestHTML.duration(m.maxDrawdownDurationSeconds))  exposure \(percent(m.exposurePercent))  expectancy \(m.expectancy.map { "\($0.rounded(2, .plain))" } ?? "-") per trade")
        if rejectedEntries > 0 { lines.append("entries refused by risk: \(rejectedEntries) (last: \(lastRejection ?? ""))") }
        if let haltReason { lines.append(haltReason) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double) -> String { NumberText.hundredths(value) }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
